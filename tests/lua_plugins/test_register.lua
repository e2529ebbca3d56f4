-- lundi.register for each kind: listing, schema, instances and the call wrappers.
local U = dofile(arg[1] .. "/tests/lua_plugins/util.lua")

local sched_line = debug.getinfo(1, "l").currentline + 1
lundi.register{
  kind = "scheduler", name = "lua_sched", version = "0.3", description = "x <- x - scale * out",
  params = {
    {name = "scale", type = "float", default = 0.5, min = 0, max = 1, help = "step size"},
    {name = "steps", type = "int", default = 10, min = 1},
    {name = "mode", type = "choice", choices = {"plain", "fancy"}, help = "a choice"},
    {name = "verbose", type = "bool"},
    {name = "tag", type = "string", default = "none"},
  },
  create = function(p) return {p = p, n = 0} end,
  num_train_timesteps = function(self) return 100 end,
  add_noise = function(self, x0, noise, t) return x0 + noise end,
  target = function(self, x0, noise, t) return noise * 2 end,
  set_timesteps = function(self, n) self.n = n end,
  num_steps = function(self) return self.n end,
  timestep = function(self, i) return 99 - i end,
  step = function(self, out, i, x, rng) return x - out * self.p.scale end,
}

lundi.register{
  kind = "denoiser", name = "lua_den",
  params = {{name = "gain", type = "float", default = 2}},
  create = function(p) return {gain = p.gain, net = lundi.nn.Linear(3, 3)} end,
  forward = function(self, x, t, cond, rng)
    if cond and cond.vector then return x * self.gain + cond.vector end
    return x * self.gain
  end,
  module = function(self) return self.net end,
}

lundi.register{
  kind = "conditioner", name = "lua_cond",
  encode = function(self, input) return {vector = input * 10} end,
  null_cond = function(self, n) return {vector = lundi.zeros(n, 3)} end,
  drop = function(self, cond, rng) return {vector = cond.vector * 0} end,
}

lundi.register{
  kind = "sampler", name = "lua_samp",
  sample = function(self, parts, req)
    return lundi.full({req.batch, table.unpack(req.shape)}, 7)
  end,
}

-- Listing: each kind, with its schema and where it was registered.
local all = lundi.plugins()
for _, n in ipairs({"lua_sched", "lua_den", "lua_cond", "lua_samp"}) do U.truthy(U.find(all, n), "listed " .. n) end
local scheds = lundi.plugins("scheduler")
for _, p in ipairs(scheds) do U.eq(p.kind, "scheduler", "plugins('scheduler') filters") end
U.eq(U.find(lundi.plugins("denoiser"), "lua_sched"), nil, "a scheduler is not listed as a denoiser")
local info = U.find(scheds, "lua_sched")
U.eq(info.version, "0.3", "version")
U.eq(info.description, "x <- x - scale * out", "description")
U.truthy(info.origin:find("test_register.lua:" .. sched_line, 1, true), "origin is file:line, got " .. info.origin)
U.eq(#info.params, 5, "params listed")
local scale, steps, mode, verbose, tag = table.unpack(info.params)
U.eq(scale.name, "scale", "schema order")
U.eq(scale.type, "float", "type")
U.eq(scale.default, 0.5, "float default")
U.eq(scale.min, 0, "min")
U.eq(scale.max, 1, "max")
U.eq(scale.help, "step size", "help")
U.eq(math.type(steps.default), "integer", "int default is an integer")
U.eq(steps.min, 1, "min alone")
U.truthy(steps.max > 1e300, "max open when only min is given")
U.eq(mode.default, "plain", "choice defaults to the first choice")
U.eq(#mode.choices, 2, "choices listed")
U.eq(mode.choices[2], "fancy", "choices")
U.eq(verbose.default, false, "bool defaults to false")
U.eq(tag.default, "none", "string default")
U.eq(U.find(lundi.plugins("sampler"), "lua_samp").origin:match("test_register.lua:%d+") ~= nil, true, "origin")

-- Instances: fields, params, tostring.
local s = lundi.scheduler("lua_sched", {scale = 0.25, steps = "12", mode = "fancy", verbose = true})
U.eq(s.kind, "scheduler", ".kind")
U.eq(s.name, "lua_sched", ".name")
U.eq(s.version, "0.3", ".version")
local p = s:params()
U.eq(p.scale, 0.25, "params().scale")
U.eq(p.steps, 12, "a string is parsed by the parameter's type")
U.eq(math.type(p.steps), "integer", "int param comes back as an integer")
U.eq(p.mode, "fancy", "choice")
U.eq(p.verbose, true, "bool")
local str = tostring(s)
U.truthy(str:find('scheduler lua_sched 0.3 {scale=0.25, steps=12, mode="fancy", verbose=true, tag="none"}', 1, true),
  "tostring: " .. str)

-- Scheduler calls go through the C wrappers to the Lua functions.
U.eq(s:num_train_timesteps(), 100, "num_train_timesteps")
s:set_timesteps(5)
U.eq(s:num_steps(), 5, "num_steps")
U.eq(s:timestep(0), 99, "timestep(0) is the first step (0-based)")
U.eq(s:timestep(4), 95, "timestep(4)")
U.eq(s:init_noise_sigma(), 1, "init_noise_sigma defaults to 1 when the plugin has none")
local x = lundi.tensor({1, 2, 3})
U.eq(U.values(s:scale_model_input(x, 0))[3], 3, "scale_model_input defaults to identity")
U.eq(s:predict_x0(x, 0, x), nil, "predict_x0 is nil when the plugin has none")
local y = s:step(lundi.tensor({4, 4, 4}), 0, x, lundi.rng(1))
U.eq(U.values(y)[1], 0, "step: 1 - 0.25 * 4")
U.eq(U.values(s:add_noise(x, x, lundi.tensor({1, 1, 1})))[2], 4, "add_noise")
U.eq(U.values(s:target(x, x, lundi.tensor({1, 1, 1})))[3], 6, "target")
U.raises(function() return s:forward(x, x) end) -- not a denoiser method
U.raises(function() return s:timestep(-1) end, "0-based")

-- Denoiser: cond tables and the borrowed module.
local d = lundi.denoiser("lua_den", {gain = 3})
U.eq(U.values(d:forward(x, lundi.tensor({0})))[2], 6, "forward")
U.eq(U.values(d:forward(x, lundi.tensor({0}), {vector = lundi.tensor({1, 1, 1})}))[1], 4, "forward with cond")
local m = d:module()
U.truthy(m, "module")
U.truthy(tostring(m):find("Linear") or tostring(m):find("Module"), "a Module: " .. tostring(m))
d = nil
collectgarbage()
U.truthy(tostring(m), "the module keeps its instance alive")
m = nil

-- Conditioner: encode / null / drop give cond tables; encode_text is absent.
local c = lundi.conditioner("lua_cond")
U.eq(U.values(c:encode(lundi.tensor({1, 2, 3})).vector)[3], 30, "encode")
U.eq(c:null(2).vector:shape()[1], 2, "null(n)")
U.eq(U.values(c:drop({vector = x}, lundi.rng(0)).vector)[1], 0, "drop")
U.raises(function() return c:encode_text({"a cat"}) end, "encode_text")
U.eq(c:module(), nil, "no module")

-- Sampler: the parts as a table.
local sa = lundi.sampler("lua_samp")
local out = sa:sample({scheduler = s, denoiser = lundi.denoiser("lua_den")}, {batch = 2, shape = {3}})
U.eq(out:shape()[1], 2, "sample batch")
U.eq(U.values(out)[6], 7, "sample value")

-- __close frees the instance; later use is an error, not a crash.
do
  local tmp <close> = lundi.scheduler("lua_sched")
  U.eq(tmp:num_train_timesteps(), 100, "before close")
  s = tmp
end
U.raises(function() return s:num_steps() end, "no longer usable")
U.eq(tostring(s), "plugin (released)", "tostring after close")
print("register: ok")
