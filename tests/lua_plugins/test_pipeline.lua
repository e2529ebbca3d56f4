-- lundi.pipeline: construction, parts, describe, sample with callbacks, and the C image
-- sampler driving Lua parts (a C-driven loop over a Lua scheduler and denoiser).
local U = dofile(arg[1] .. "/tests/lua_plugins/util.lua")

lundi.register{kind = "scheduler", name = "shrink",
  params = {{name = "scale", type = "float", default = 0.5}},
  create = function(p) return {scale = p.scale, n = 0} end,
  num_train_timesteps = function() return 1000 end,
  add_noise = function(self, x0) return x0 end,
  target = function(self, x0) return x0 end,
  set_timesteps = function(self, n) self.n = n end,
  num_steps = function(self) return self.n end,
  timestep = function(self, i) return 100 * (self.n - i) end,
  step = function(self, out, i, x, rng) return x - out * self.scale end,
  predict_x0 = function(self, out, i, x) return x * 0 end,
}
-- out = x / 2, plus cond.vector when a condition is given
lundi.register{kind = "denoiser", name = "half",
  forward = function(self, x, t, cond)
    if cond and cond.vector then return x * 0.5 + cond.vector end
    return x * 0.5
  end}
lundi.register{kind = "conditioner", name = "vec",
  encode = function(self, input) return {vector = input} end,
  null_cond = function(self, n) return {vector = lundi.zeros(n, 3)} end}

-- Parts given as instances, names, {name, params} and {name=, params=}.
local sched = lundi.scheduler("shrink", {scale = 0.25})
local p = lundi.pipeline{scheduler = sched, denoiser = "half", sampler = {name = "image", params = {num_inference_steps = 3}}}
U.eq(rawequal(p.scheduler, sched), true, ".scheduler is the instance given")
U.eq(p.denoiser.name, "half", ".denoiser")
U.eq(p.conditioner, nil, "no conditioner")
U.eq(p.sampler:params().num_inference_steps, 3, "sampler params")
U.eq(tostring(p), "pipeline {scheduler=shrink, denoiser=half, sampler=image}", "tostring")
local desc = p:describe()
U.eq(#desc, 3, "describe lists the parts")
U.eq(desc[1].kind, "scheduler", "describe kind")
U.eq(desc[1].name, "shrink", "describe name")
U.eq(desc[1].params.scale, 0.25, "describe params")
U.truthy(desc[1].origin:find("test_pipeline.lua:%d+"), "describe origin")
U.eq(desc[3].name, "image", "describe sampler")
U.eq(desc[3].origin, "builtin", "a C plugin's origin")
U.eq(desc[3].version ~= nil, true, "version")

-- The C image sampler drives the Lua scheduler and denoiser: x_T = randn(seed), then each of
-- the 3 steps does x <- x - 0.25 * x / 2.
local x = p:sample{batch = 2, shape = {3}, seed = 11}
local x0 = lundi.rng(11):randn({2, 3})
local got, want = U.values(x), U.values(x0)
for i = 1, 6 do U.near(got[i], want[i] * 0.875 ^ 3, 1e-5, "C loop over Lua parts, element " .. i) end

-- The callback sees 0-based steps, n, t, x and the scheduler's x0 estimate; true stops.
local seen = {}
local rng = lundi.rng(11)
x = p:sample{batch = 2, shape = {3}, rng = rng, callback = function(i, n, t, xi, x0i)
  seen[#seen + 1] = {i = i, n = n, t = t, x0 = x0i}
  return i == 1
end}
U.eq(#seen, 2, "stopped after the callback returned true at step 1")
U.eq(seen[1].i, 0, "steps are 0-based")
U.eq(seen[1].n, 3, "n")
U.eq(seen[1].t, 300, "t of step 0")
U.eq(seen[2].t, 200, "t of step 1")
U.eq(U.values(seen[1].x0)[1], 0, "x0 estimate from the Lua predict_x0")
for i = 1, 6 do U.near(U.values(x)[i], want[i] * 0.875 ^ 2, 1e-5, "early stop result " .. i) end
U.eq(rng.offset, 2, "the request's rng advanced (randn of 6 values = 2 blocks)")

-- Parts stay alive with the pipeline.
local p2 = lundi.pipeline{scheduler = lundi.scheduler("shrink"), denoiser = lundi.denoiser("half"), sampler = "image"}
collectgarbage()
collectgarbage()
U.eq(p2.scheduler:params().scale, 0.5, "scheduler kept alive")

-- With a conditioner and guidance, the C sampler batches [cond; null] through the Lua
-- denoiser: out = x/2 + s * v, so x <- x - 0.5 * (x/2 + 2 v) after one step.
local pc = lundi.pipeline{scheduler = "shrink", denoiser = "half", conditioner = "vec",
  sampler = {"image", {num_inference_steps = 1, guidance_scale = 2}}}
local v = lundi.tensor({{1, 2, 3}})
x = pc:sample{batch = 1, shape = {3}, cond = v, seed = 3}
want = U.values(lundi.rng(3):randn({1, 3}))
for i = 1, 3 do U.near(U.values(x)[i], want[i] - 0.5 * (want[i] / 2 + 2 * i), 1e-5, "guided " .. i) end

-- Construction errors.
U.raises(function() lundi.pipeline{scheduler = "shrink", denoiser = "half"} end, "pipeline: sampler is required")
U.raises(function() lundi.pipeline{scheduler = "shrink", denoiser = "half", sampler = "image", extra = 1} end,
  "unknown part 'extra'")
U.raises(function() lundi.pipeline{scheduler = lundi.denoiser("half"), denoiser = "half", sampler = "image"} end,
  "scheduler expected, got a denoiser")
U.raises(function() lundi.pipeline{scheduler = "nope", denoiser = "half", sampler = "image"} end,
  "pipeline: no scheduler named 'nope'")
U.raises(function() lundi.pipeline{scheduler = {"shrink", {scale = "big"}}, denoiser = "half", sampler = "image"} end,
  "scheduler 'shrink'", "scale")
-- A closed part is reported, not used.
local s3 = lundi.scheduler("shrink")
local p3 = lundi.pipeline{scheduler = s3, denoiser = "half", sampler = "image"}
getmetatable(s3).__close(s3)
U.raises(function() p3:sample{batch = 1, shape = {1}} end, "its scheduler has been closed")
-- img2img through a Lua scheduler's noise_to_step: it receives x0, the noise and the first
-- kept step k, and the C image sampler then runs the steps from k on.
local seen_k
lundi.register{kind = "scheduler", name = "shrink_i2i",
  num_train_timesteps = function() return 1000 end,
  add_noise = function(self, x0) return x0 end,
  target = function(self, x0) return x0 end,
  set_timesteps = function(self, n) self.n = n end,
  num_steps = function(self) return self.n end,
  timestep = function(self, i) return 100 * (self.n - i) end,
  step = function(self, out, i, x, rng) return x - out * 0.5 end,
  noise_to_step = function(self, x0, noise, k) seen_k = k; return x0 + noise * 0 + 8 end,
}
local steps_run = 0
local y2 = lundi.pipeline{scheduler = "shrink_i2i", denoiser = "half",
  sampler = {"image", {num_inference_steps = 4}}}:sample{batch = 1, shape = {2}, init = lundi.ones(1, 2),
  strength = 0.5, callback = function() steps_run = steps_run + 1 end}
U.eq(seen_k, 2, "noise_to_step gets the first kept step (4 - floor(4 * 0.5))")
U.eq(steps_run, 2, "the last two steps run")
-- (1 + 8) shrunk twice by x - x/2 * 0.5 = 0.75 x
for _, v in ipairs(y2:tolist()[1]) do U.near(v, 9 * 0.75 * 0.75, 1e-6, "the sample starts from noise_to_step's result") end

print("pipeline: ok")
