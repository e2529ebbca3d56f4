-- Duplicate names: Lua vs Lua and Lua vs a built-in C plugin are refused, naming both origins.
local U = dofile(arg[1] .. "/tests/lua_plugins/util.lua")

local function sampler(name) return {kind = "sampler", name = name, sample = function() end} end
local function scheduler(name)
  return {kind = "scheduler", name = name,
    num_train_timesteps = function() return 1 end, add_noise = function(self, x0) return x0 end,
    target = function(self, x0) return x0 end, set_timesteps = function() end,
    num_steps = function() return 1 end, timestep = function() return 0 end,
    step = function(self, out, i, x) return x end}
end

local first = debug.getinfo(1, "l").currentline + 1
lundi.register(sampler("twice"))
local second = debug.getinfo(1, "l").currentline + 1
local msg = U.raises(function() lundi.register(sampler("twice")) end,
  "register: sampler 'twice' is already registered (from ", "test_duplicates.lua:" .. first,
  "a second one came from ", "test_duplicates.lua:" .. second)

-- Against built-ins (C plugins registered through the same path).
U.raises(function() lundi.register(sampler("image")) end, "sampler 'image' is already registered (from builtin)")
U.raises(function() lundi.register(scheduler("ddpm")) end, "scheduler 'ddpm' is already registered (from builtin)")

-- The same name in another kind is fine.
lundi.register{kind = "denoiser", name = "twice", forward = function(self, x) return x end}
local n = 0
for _, p in ipairs(lundi.plugins()) do if p.name == "twice" then n = n + 1 end end
U.eq(n, 2, "one sampler and one denoiser named twice")
-- The first registration is the one in use.
U.eq(lundi.sampler("twice").origin:match("test_duplicates.lua:(%d+)"), tostring(first), "first one kept")
print("duplicates: ok")
