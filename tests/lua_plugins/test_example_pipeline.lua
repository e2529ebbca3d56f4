-- The example pipeline (C ddpm + Lua denoiser + Lua or C sampler) lands on its known data.
local U = dofile(arg[1] .. "/tests/lua_plugins/util.lua")
local r = dofile(arg[1] .. "/scripts/examples/pipeline.lua")
for _, sampler in ipairs({"cfg_rescale", "image"}) do
  local st = U.truthy(r.results[sampler], sampler)
  for j = 1, #r.mu do
    -- 512 samples: the standard error of the mean is sigma / 22, of the std about sigma / 32.
    U.near(st[j].mean, r.mu[j], 4 * r.sigma[j] / 22, sampler .. " mean " .. j)
    U.near(st[j].std, r.sigma[j], 0.15 * r.sigma[j], sampler .. " std " .. j)
  end
end
-- Both samplers drive the same parts with the same seed: the same C loop in Lua and in C.
for j = 1, #r.mu do
  U.near(r.results.cfg_rescale[j].mean, r.results.image[j].mean, 1e-4, "same mean " .. j)
end
print("example pipeline: ok")
