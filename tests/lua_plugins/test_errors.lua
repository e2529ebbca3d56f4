-- Errors inside Lua plugin callbacks come back as clear messages naming the plugin, where it
-- was registered and the failing Lua line, and leave everything usable.
local U = dofile(arg[1] .. "/tests/lua_plugins/util.lua")

local function here() return debug.getinfo(2, "l").currentline end

local function scheduler(name, overrides)
  local t = {kind = "scheduler", name = name,
    create = function() return {n = 0} end,
    num_train_timesteps = function() return 1000 end,
    add_noise = function(self, x0) return x0 end,
    target = function(self, x0) return x0 end,
    set_timesteps = function(self, n) self.n = n end,
    num_steps = function(self) return self.n end,
    timestep = function(self, i) return 999 - i end,
    step = function(self, out, i, x) return x - out * 0.1 end}
  for k, v in pairs(overrides or {}) do t[k] = v end
  return t
end

local reg_line = here() + 1
lundi.register(scheduler("bad_step", {step = function(self, out, i, x)
  if i == 2 then error("boom at step " .. i) end -- this line is reported
  return x
end}))
local boom_line = reg_line + 1
lundi.register(scheduler("nil_step", {step = function() return nil end}))
lundi.register(scheduler("str_steps", {num_steps = function() return "three" end}))
lundi.register(scheduler("bad_create", {create = function(p) error({code = 42}) end}))
lundi.register(scheduler("nil_create", {create = function(p) return nil end}))
lundi.register(scheduler("nan_t", {timestep = function() return "soon" end}))
lundi.register{kind = "denoiser", name = "zero", forward = function(self, x) return x * 0 end}
lundi.register{kind = "denoiser", name = "wrong_out", forward = function(self, x) return {x} end}

local function pipe(s, d, steps)
  return lundi.pipeline{scheduler = s, denoiser = d or "zero", sampler = {"image", {num_inference_steps = steps or 4}}}
end
local req = {batch = 2, shape = {3}, seed = 1}

-- An error raised in a Lua scheduler driven by the C image sampler.
local msg = U.raises(function() pipe("bad_step"):sample(req) end,
  "sample: ", "scheduler 'bad_step' (", "test_errors.lua:" .. reg_line .. ")",
  "test_errors.lua:" .. boom_line .. ": boom at step 2", "stack traceback")
U.truthy(not msg:find("%(nil%)"), "no empty parts in: " .. msg)

-- The same through a direct call.
local s = lundi.scheduler("bad_step")
U.raises(function() s:step(lundi.zeros(2), 2, lundi.zeros(2)) end,
  "step: scheduler 'bad_step'", "boom at step 2")
U.eq(U.values(s:step(lundi.zeros(2), 0, lundi.ones(2)))[1], 1, "the plugin still works after an error")

-- Wrong return types name the function and what came back.
U.raises(function() pipe("nil_step"):sample(req) end, "scheduler 'nil_step'", "step must return a tensor, got nil")
U.raises(function() pipe("str_steps"):sample(req) end, "num_steps must return a non-negative integer, got string")
U.raises(function() lundi.scheduler("nan_t"):timestep(0) end, "timestep must return a number, got string")
U.raises(function() pipe("ddpm", "wrong_out"):sample(req) end,
  "denoiser 'wrong_out' (", "test_errors.lua:", "forward must return a tensor, got table")

-- create(): errors (even non-string error values) and a nil instance.
U.raises(function() lundi.scheduler("bad_create") end, "scheduler 'bad_create'", "table: ")
U.raises(function() lundi.scheduler("nil_create") end, "create must return its instance", "got nil")

-- A Lua error in the caller's step callback stops the loop and is reported with its line.
local cb_line
U.raises(function()
  pipe("ddpm"):sample{batch = 1, shape = {2}, callback = function(i)
    cb_line = here()
    if i == 1 then error("callback gave up") end
  end}
end, "sample: callback failed: ", "callback gave up", "stack traceback")
U.truthy(cb_line, "the callback ran")

-- Argument errors of the bindings say which argument and what was expected.
U.raises(function() pipe("ddpm"):sample{batch = 1} end, "shape")
U.raises(function() pipe("ddpm"):sample{batch = 1, shape = {2}, colour = "red"} end,
  "unknown request field 'colour'", "batch, shape")
U.raises(function() s:step("x", 0, lundi.zeros(2)) end, "bad argument #1 to 'step'")
U.raises(function() lundi.denoiser("zero"):forward(lundi.zeros(2), lundi.zeros(1), {labels = 3}) end,
  "cond.labels must be a Tensor, got number")

-- After all that the state is clean and a good pipeline works.
local x = pipe("ddpm", "zero", 3):sample{batch = 2, shape = {2}, seed = 5}
U.eq(x:shape()[1], 2, "a good pipeline still samples")
print("errors: ok")
