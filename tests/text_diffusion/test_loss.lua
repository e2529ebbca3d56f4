-- The scheduler loss from Lua: sched:loss(out, x0, noise, t) on the masked scheduler (with a
-- gradient), the default (mse against target) for a scheduler without one, and a Lua
-- scheduler that implements loss, called back through the C wrapper.
local function raises(fn, needle)
  local ok, msg = pcall(fn)
  assert(not ok, "expected an error mentioning " .. needle)
  assert(tostring(msg):find(needle, 1, true), "error lacks '" .. needle .. "': " .. tostring(msg))
end
local function near(a, b, tol, what) assert(math.abs(a - b) <= tol, what .. ": " .. a .. " vs " .. b) end

local rng = lundi.rng(3)
-- masked: one row, two masked tokens (noise 0 < p), one kept (noise 2); cross-entropy / p
local m = lundi.scheduler("masked", {mask_id = 9, eps = 0})
local x0 = lundi.tensor({{1, 2, 0}}, "i32")
local noise = lundi.tensor({{0, 0, 2}})
local t = lundi.tensor({0.5})
local logits = rng:randn{1, 3, 4}
logits:requires_grad(true)
local loss = m:loss(logits, x0, noise, t)
local lp = logits:log_softmax(3):totable() -- flat: position j, class v at j * 4 + v + 1
local want = -(lp[0 * 4 + 1 + 1] + lp[1 * 4 + 2 + 1]) / 0.5 / 3 -- tokens: the sum / (N L)
near(loss:item(), want, 1e-5, "masked loss")
loss:backward()
assert(logits:grad() ~= nil, "the loss has a gradient through the logits")
assert(m:add_noise(x0, noise, t):totable()[3] == 0, "noise >= 1 keeps the token")

-- ddpm has no loss: the default is mse(out, target) = mse(out, noise) for epsilon
local d = lundi.scheduler("ddpm")
local out, img, eps = rng:randn{2, 5}, rng:randn{2, 5}, rng:randn{2, 5}
local tt = lundi.tensor({1, 400})
near(d:loss(out, img, eps, tt):item(), out:mse_loss(eps):item(), 1e-7, "default loss")

-- a Lua scheduler's own loss, and one without (the default through target)
local function lua_sched(name, loss_fn)
  return {kind = "scheduler", name = name, num_train_timesteps = function() return 10 end,
    add_noise = function(self, x, n) return x + n end, target = function(self, x, n) return x end,
    set_timesteps = function() end, num_steps = function() return 1 end, timestep = function() return 0 end,
    step = function(self, o, i, x) return x end, loss = loss_fn}
end
lundi.register(lua_sched("with_loss", function(self, o, x, n, tm) return (o - x):abs():sum() end))
lundi.register(lua_sched("without_loss", nil))
lundi.register(lua_sched("bad_loss", function() return 3 end))
local a = lundi.scheduler("with_loss")
near(a:loss(out, img, eps, tt):item(), (out - img):abs():sum():item(), 1e-5, "Lua loss")
near(lundi.scheduler("without_loss"):loss(out, img, eps, tt):item(), out:mse_loss(img):item(), 1e-7,
  "Lua scheduler, default loss")
raises(function() lundi.scheduler("bad_loss"):loss(out, img, eps, tt) end, "loss must return a tensor")
raises(function() m:loss(out, x0, noise, t) end, "must be f32 logits [N, L, V]")
print("loss: ok")
