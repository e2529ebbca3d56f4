-- Parameter validation from Lua, for a C plugin (the built-in ddpm) and a Lua plugin alike.
local U = dofile(arg[1] .. "/tests/lua_plugins/util.lua")

lundi.register{
  kind = "scheduler", name = "lua_sched",
  params = {
    {name = "scale", type = "float", default = 0.5, min = 0, max = 1},
    {name = "steps", type = "int", default = 10, min = 1, max = 100},
    {name = "mode", type = "choice", choices = "plain|fancy"},
    {name = "verbose", type = "bool"},
  },
  num_train_timesteps = function() return 1 end,
  add_noise = function(self, x0) return x0 end,
  target = function(self, x0) return x0 end,
  set_timesteps = function() end,
  num_steps = function() return 1 end,
  timestep = function() return 0 end,
  step = function(self, out, i, x) return x end,
}

-- Unknown parameter: names the function and the plugin, and lists the valid names.
U.raises(function() lundi.scheduler("ddpm", {num_train_timestep = 10}) end,
  "scheduler 'ddpm': unknown parameter 'num_train_timestep'", "num_train_timesteps", "beta_schedule")
U.raises(function() lundi.scheduler("lua_sched", {scales = 1}) end,
  "scheduler 'lua_sched': unknown parameter 'scales'", "scale", "steps", "mode", "verbose")
-- ... also when the value has a type no parameter takes
U.raises(function() lundi.scheduler("lua_sched", {nope = {}}) end, "unknown parameter 'nope'", "scale")

-- Wrong types.
U.raises(function() lundi.scheduler("ddpm", {num_train_timesteps = 10.5}) end,
  "scheduler 'ddpm'", "num_train_timesteps", "int")
U.raises(function() lundi.scheduler("ddpm", {clip_sample = 1}) end, "scheduler 'ddpm'", "clip_sample", "bool")
U.raises(function() lundi.scheduler("ddpm", {beta_start = "abc"}) end, "scheduler 'ddpm'", "beta_start", "float")
U.raises(function() lundi.scheduler("lua_sched", {steps = "many"}) end, "scheduler 'lua_sched'", "steps", "int")
U.raises(function() lundi.scheduler("lua_sched", {verbose = "maybe"}) end, "lua_sched", "verbose", "bool")
U.raises(function() lundi.scheduler("lua_sched", {scale = {1}}) end,
  "scheduler 'lua_sched': parameter 'scale' expects float, got table")
U.raises(function() lundi.scheduler("ddpm", {beta_start = lundi.rng(0)}) end,
  "parameter 'beta_start' expects float, got Rng")
U.raises(function() lundi.scheduler("ddpm", {[1] = 2}) end, "parameter names must be strings")
U.raises(function() lundi.scheduler("ddpm", 5) end, "table of parameters")

-- Out of range.
U.raises(function() lundi.scheduler("ddpm", {beta_end = 2}) end, "scheduler 'ddpm'", "beta_end", "range")
U.raises(function() lundi.scheduler("lua_sched", {scale = 1.5}) end, "lua_sched", "scale", "range [0, 1]")
U.raises(function() lundi.scheduler("lua_sched", {steps = 0}) end, "lua_sched", "steps", "range")

-- Bad choice: lists the choices.
U.raises(function() lundi.scheduler("ddpm", {beta_schedule = "quadratic"}) end,
  "scheduler 'ddpm'", "beta_schedule", "linear")
U.raises(function() lundi.scheduler("lua_sched", {mode = "odd"}) end, "lua_sched", "mode", "plain", "fancy")

-- Valid values of every kind pass, as Lua values and as command-line text.
local s = lundi.scheduler("lua_sched", {scale = 1, steps = "100", mode = "fancy", verbose = "yes"})
local p = s:params()
U.eq(p.scale, 1, "scale")
U.eq(p.steps, 100, "steps")
U.eq(p.mode, "fancy", "mode")
U.eq(p.verbose, true, "verbose")
local d = lundi.scheduler("ddpm", {num_train_timesteps = 500, beta_schedule = "scaled_linear", clip_sample = false})
U.eq(d:num_train_timesteps(), 500, "ddpm params reach the C plugin")
U.eq(d:params().clip_sample, false, "ddpm bool")

-- Unknown plugin names list the available ones.
U.raises(function() lundi.scheduler("dpm") end, "scheduler: no scheduler named 'dpm'", "ddpm", "lua_sched")

-- Bad schemas are refused at registration with the registry's message.
U.raises(function()
  lundi.register{kind = "sampler", name = "bad_default", sample = function() end,
    params = {{name = "n", type = "int", default = 5, min = 10, max = 20}}}
end, "register: cannot register sampler 'bad_default'", "n")
U.raises(function()
  lundi.register{kind = "sampler", name = "bad_type", sample = function() end, params = {{name = "n", type = "integer"}}}
end, "int, float, bool, string, choice")
U.raises(function()
  lundi.register{kind = "sampler", name = "bad_name", sample = function() end, params = {{name = "N", type = "int"}}}
end, "register", "'N'")
U.raises(function() lundi.register{kind = "sampler", name = "no_sample"} end, "sample")
U.raises(function() lundi.register{kind = "sampler", name = "not_fn", sample = 3} end, "sample must be a function")
U.raises(function() lundi.register{kind = "planner", name = "x"} end, "kind must be scheduler, denoiser")
U.raises(function() lundi.register{kind = "sampler", name = "Bad Name", sample = function() end} end, "[a-z0-9_.-]+")
U.eq(U.find(lundi.plugins(), "bad_default"), nil, "a refused plugin is not listed")
print("schema: ok")
