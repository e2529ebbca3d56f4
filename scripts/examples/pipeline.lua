-- Example pipeline: C and Lua plugins together.
--
--   lundi run scripts/examples/pipeline.lua [--batch=512] [--steps=50] [--seed=0]
--
-- The data are a known Gaussian, x0 ~ N(mu, sigma^2) per coordinate, so the optimal noise
-- prediction has a closed form and no training is needed:
--   eps(x_t, t) = sqrt(1 - ab) / (ab sigma^2 + 1 - ab) * (x_t - sqrt(ab) mu),  ab = alpha_bar(t).
-- Parts:
--   scheduler  ddpm         (C, built in)
--   denoiser   gaussian     (Lua, defined below: the closed form above; it reads sqrt(ab)
--                            from a ddpm instance of its own through add_noise)
--   sampler    cfg_rescale  (Lua, plugins/examples/lua_sampler/cfg_rescale.lua) and, for
--                            comparison, image (C, built in)
-- A correct pipeline turns noise into samples whose mean and std match mu and sigma.

local P = (select("#", ...) > 0 and type((...)) == "table" and (...)) or params or {}
local batch, steps, seed = P.batch or 512, P.steps or 50, P.seed or 0

-- Finds the example sampler next to this script's repository.
local here = debug.getinfo(1, "S").source:match("^@(.*[/\\])") or "./"
dofile(here .. "../../plugins/examples/lua_sampler/cfg_rescale.lua")

local MU, SIGMA = {0.5, -0.25}, {0.5, 0.3}

lundi.register{
  kind = "denoiser",
  name = "gaussian",
  version = "1.0",
  description = "exact eps prediction for Gaussian data N(mu, sigma^2) (Lua example)",
  params = {
    {name = "scheduler", type = "string", default = "ddpm", help = "VP scheduler whose alpha_bar to use"},
  },
  create = function(p)
    return {
      sched = lundi.scheduler(p.scheduler),
      mu = lundi.tensor({MU}),       -- [1, 2], broadcast over the batch
      var = lundi.tensor({{SIGMA[1] ^ 2, SIGMA[2] ^ 2}}),
    }
  end,
  forward = function(self, x, t, cond, rng)
    -- sqrt(ab) per sample: add_noise(1, 0, t) = sqrt(ab) * 1 + sqrt(1 - ab) * 0
    local a = self.sched:add_noise(lundi.ones(x:shape()), lundi.zeros(x:shape()), t)
    local ab = a * a
    local one_minus = 1 - ab
    return (x - a * self.mu) * one_minus:sqrt() / (ab * self.var + one_minus)
  end,
}

local function stats(x)
  local v = x:totable()
  local d = #MU
  local n = #v // d
  local out = {}
  for j = 1, d do
    local s, s2 = 0, 0
    for i = 0, n - 1 do
      local e = v[i * d + j]
      s, s2 = s + e, s2 + e * e
    end
    local mean = s / n
    out[j] = {mean = mean, std = math.sqrt(math.max(s2 / n - mean * mean, 0))}
  end
  return out
end

local results = {}
for _, sampler in ipairs({"cfg_rescale", "image"}) do
  local pipe = lundi.pipeline{
    -- clip_sample off: the data reach past [-1, 1]. fixed_large: with an exact model and 50
    -- strided steps, the posterior variance (fixed_small) leaves out the uncertainty of x0 and
    -- shrinks the std by ~10%; beta overshoots by ~5% on these data.
    scheduler = {"ddpm", {clip_sample = false, variance_type = "fixed_large"}},
    denoiser = "gaussian",
    sampler = {sampler, {num_inference_steps = steps}},
  }
  print(tostring(pipe))
  for _, part in ipairs(pipe:describe()) do
    print(string.format("  %-9s %-12s %-5s %s", part.kind, part.name, part.version, part.origin))
  end
  local last = 0
  local x = pipe:sample{batch = batch, shape = {#MU}, seed = seed,
    callback = function(i, n, t, xi, x0) last = i + 1 end}
  local st = stats(x)
  print(string.format("  %d steps, %d samples", last, batch))
  for j = 1, #MU do
    print(string.format("  coordinate %d: mean %+.4f (data %+.4f)   std %.4f (data %.4f)", j, st[j].mean, MU[j],
                        st[j].std, SIGMA[j]))
  end
  results[sampler] = st
end
return {results = results, mu = MU, sigma = SIGMA}
