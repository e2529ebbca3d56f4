-- The example Lua sampler (cfg_rescale) driving C and Lua parts, the parts it is lent, and
-- the rng and callback it shares with its C caller.
local U = dofile(arg[1] .. "/tests/lua_plugins/util.lua")
U.eq(dofile(arg[1] .. "/plugins/examples/lua_sampler/cfg_rescale.lua"), "cfg_rescale", "registers itself")

local info = U.find(lundi.plugins("sampler"), "cfg_rescale")
U.truthy(info, "listed")
U.truthy(info.origin:find("cfg_rescale.lua:%d+"), "origin " .. info.origin)
U.eq(#info.params, 3, "params")

lundi.register{kind = "denoiser", name = "half",
  forward = function(self, x, t, cond)
    if cond and cond.vector then return x * 0.5 + cond.vector end
    return x * 0.5
  end}
lundi.register{kind = "conditioner", name = "vec",
  encode = function(self, input) return {vector = input} end,
  null_cond = function(self, n) return {vector = lundi.zeros(n, 3)} end}

-- Against the C image sampler on the same parts and seed: identical results, with the C
-- ddpm scheduler (whose step draws noise from the rng the Lua sampler passes on).
local function run(sampler, params, extra)
  local p = lundi.pipeline{scheduler = "ddpm", denoiser = "half", conditioner = extra and "vec" or nil,
    sampler = {sampler, params}}
  local rng = lundi.rng(21)
  local req = {batch = 2, shape = {3}, rng = rng}
  if extra then req.cond = lundi.tensor({{0.1, 0.2, 0.3}, {-0.1, 0, 0.1}}) end
  return p:sample(req), rng
end
local a, ra = run("cfg_rescale", {num_inference_steps = 5})
local b, rb = run("image", {num_inference_steps = 5})
local va, vb = U.values(a), U.values(b)
for i = 1, 6 do U.near(va[i], vb[i], 1e-5, "cfg_rescale = image, element " .. i) end
U.truthy(ra.offset > 2, "the Lua sampler's draws (and the C scheduler's) advanced the caller's rng")
U.eq(ra.offset, rb.offset, "same number of draws as the C sampler")

-- Guidance without rescale equals the C sampler's CFG; with rescale it differs.
a = run("cfg_rescale", {num_inference_steps = 4, guidance_scale = 3}, true)
b = run("image", {num_inference_steps = 4, guidance_scale = 3}, true)
va, vb = U.values(a), U.values(b)
for i = 1, 6 do U.near(va[i], vb[i], 1e-4, "CFG matches the C sampler, element " .. i) end
local c = run("cfg_rescale", {num_inference_steps = 4, guidance_scale = 3, guidance_rescale = 0.7}, true)
local diff = 0
for i, v in ipairs(U.values(c)) do diff = math.max(diff, math.abs(v - va[i])) end
U.truthy(diff > 1e-3, "guidance_rescale changes the result (max diff " .. diff .. ")")
U.raises(function() run("cfg_rescale", {guidance_scale = 2}) end,
  "sampler 'cfg_rescale' (", "cfg_rescale.lua:", "needs a conditioner")

-- The caller's callback reaches through the Lua sampler (C callback -> Lua -> C -> Lua).
local steps = {}
local p = lundi.pipeline{scheduler = "ddpm", denoiser = "half", sampler = {"cfg_rescale", {num_inference_steps = 6}}}
p:sample{batch = 1, shape = {3}, callback = function(i, n, t, x, x0)
  steps[#steps + 1] = i
  U.eq(n, 6, "n")
  U.truthy(x0, "ddpm offers an x0 estimate")
  return i == 3
end}
U.eq(#steps, 4, "stopped at step 3")
U.eq(steps[1], 0, "0-based")

-- Parts are lent for the call only: a sampler that keeps them cannot use them later.
local kept
lundi.register{kind = "sampler", name = "hoarder", sample = function(self, parts, req)
  kept = {parts = parts, cb = req.callback}
  U.eq(parts.scheduler.kind, "scheduler", "lent scheduler works during the call")
  return req.rng:randn({req.batch, table.unpack(req.shape)})
end}
lundi.pipeline{scheduler = "ddpm", denoiser = "half", sampler = "hoarder"}:sample{batch = 1, shape = {2}}
U.raises(function() kept.parts.scheduler:num_steps() end, "no longer usable")
U.raises(function() kept.cb(0, 1, 0, lundi.zeros(1)) end, "the sample call it belongs to has returned")
U.eq(tostring(kept.parts.denoiser), "plugin (released)", "lent parts show as released")
-- A request's img2img strength reaches a Lua sampler; without one the field is absent.
local seen = {}
lundi.register{kind = "sampler", name = "strength_probe", sample = function(self, parts, req)
  seen[#seen + 1] = req.strength or "none"
  return req.init
end}
local probe = lundi.pipeline{scheduler = "ddpm", denoiser = "half", sampler = "strength_probe"}
probe:sample{batch = 1, shape = {2}, init = lundi.zeros(1, 2), strength = 0.25}
probe:sample{batch = 1, shape = {2}, init = lundi.zeros(1, 2)}
U.eq(seen[1], 0.25, "strength passed on")
U.eq(seen[2], "none", "no strength when the request has none")
-- Plugin:sample with a table of parts works too.
local sa = lundi.sampler("cfg_rescale", {num_inference_steps = 2})
local out = sa:sample({scheduler = lundi.scheduler("ddpm"), denoiser = lundi.denoiser("half")}, {batch = 3, shape = {2}})
U.eq(out:shape()[1], 3, "Plugin:sample")
print("lua sampler: ok")
