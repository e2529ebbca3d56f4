-- Evaluation math (suite 'eval'): the Fréchet distance against closed forms, the normal
-- interval probabilities and the discretised decoder, the Gaussian KL, the schedule read
-- back from a scheduler, and the variational bound with oracle and analytic denoisers.
-- Synthetic inputs only; `full_pipeline` runs the whole evaluation on real digits and is
-- skipped (exit 77) when the MNIST cache is missing. arg[2] is the repository root.
local T = dofile(arg[0]:match("(.*/)") .. "../lua/check.lua")
local L = lundi
local root = arg[2] or "."
local eval = dofile(root .. "/scripts/image/lib/eval.lua")
local M = L.metrics

local cases = {}

-- Row-major [d,d] tensor from a Lua matrix, and small matrix helpers in double.
local function mat(rows) return L.tensor(rows) end
local function mul(a, b)
  local n, m, p = #a, #b, #b[1]
  local c = {}
  for i = 1, n do
    c[i] = {}
    for j = 1, p do
      local s = 0
      for k = 1, m do s = s + a[i][k] * b[k][j] end
      c[i][j] = s
    end
  end
  return c
end
local function transpose(a)
  local t = {}
  for i = 1, #a[1] do
    t[i] = {}
    for j = 1, #a do t[i][j] = a[j][i] end
  end
  return t
end
local function diag(v)
  local d = {}
  for i = 1, #v do
    d[i] = {}
    for j = 1, #v do d[i][j] = i == j and v[i] or 0 end
  end
  return d
end
local function rotation(th) return {{math.cos(th), -math.sin(th)}, {math.sin(th), math.cos(th)}} end

function cases.frechet_closed_forms()
  -- equal Gaussians: 0
  local s = {{2, 0.5, 0}, {0.5, 1, 0.2}, {0, 0.2, 3}}
  T.near(M.frechet_gaussians(L.tensor({1, 2, 3}), mat(s), L.tensor({1, 2, 3}), mat(s)), 0, 1e-6, "equal")
  -- diagonal covariances: |dmu|^2 + sum (sqrt a - sqrt b)^2
  local a, b = {1, 4, 9, 0.25}, {4, 1, 16, 1}
  local want = (1 - 0) ^ 2 + (2 - 0) ^ 2
  for i = 1, 4 do want = want + (math.sqrt(a[i]) - math.sqrt(b[i])) ^ 2 end
  T.near(M.frechet_gaussians(L.tensor({1, 2, 0, 0}), mat(diag(a)), L.zeros(4), mat(diag(b))), want, 1e-6, "diagonal")
  -- both rotated the same way (they commute): the rotation changes nothing
  local R = rotation(0.7)
  local s1 = mul(mul(R, diag({1, 9})), transpose(R))
  local s2 = mul(mul(R, diag({4, 1})), transpose(R))
  T.near(M.frechet_gaussians(L.zeros(2), mat(s1), L.zeros(2), mat(s2)), (1 - 2) ^ 2 + (3 - 1) ^ 2, 1e-5, "rotated")
  -- non-commuting 2x2: tr sqrt(P) = sqrt(tr P + 2 sqrt(det P)) for a 2x2 PSD P, and
  -- P = S1^1/2 S2 S1^1/2 has tr = tr(S1 S2) and det = det S1 det S2.
  local s3 = diag({4, 1})
  local s4 = mul(mul(rotation(0.4), diag({1, 9})), transpose(rotation(0.4)))
  local p = mul(s3, s4)
  local det3, det4 = 4, 9
  local tr_sqrt = math.sqrt(p[1][1] + p[2][2] + 2 * math.sqrt(det3 * det4))
  T.near(M.frechet_gaussians(L.zeros(2), mat(s3), L.zeros(2), mat(s4)), 5 + (s4[1][1] + s4[2][2]) - 2 * tr_sqrt, 1e-5,
         "non-commuting")
  -- errors
  T.fails(function() M.frechet_gaussians(L.zeros(2), L.zeros(3, 3), L.zeros(2), L.zeros(2, 2)) end, "must be [2, 2]")
  T.fails(function() M.frechet(L.zeros(5, 3), L.zeros(5, 4)) end, "differ in width")
  T.fails(function() M.frechet(L.zeros(1, 3), L.zeros(5, 3)) end, "at least 2 feature rows")
end

function cases.frechet_features()
  -- From samples: equals the closed form on the sample mean and unbiased covariance.
  local rng = L.rng(3)
  local a = rng:randn({400, 3})
  local b = rng:randn({300, 3}) * L.tensor({{0.5, 2, 1}}) + L.tensor({{1, 0, -1}})
  local function stats(x)
    local v = x:totable()
    local n, d = x:shape()[1], x:shape()[2]
    local mu, cov = {}, {}
    for j = 1, d do
      mu[j] = 0
      for i = 0, n - 1 do mu[j] = mu[j] + v[i * d + j] end
      mu[j] = mu[j] / n
    end
    for j = 1, d do
      cov[j] = {}
      for k = 1, d do
        local s = 0
        for i = 0, n - 1 do s = s + (v[i * d + j] - mu[j]) * (v[i * d + k] - mu[k]) end
        cov[j][k] = s / (n - 1)
      end
    end
    return mu, cov
  end
  local m1, c1 = stats(a)
  local m2, c2 = stats(b)
  T.near(M.frechet(a, b), M.frechet_gaussians(L.tensor(m1), mat(c1), L.tensor(m2), mat(c2)), 1e-5, "features")
  T.near(M.frechet(a, a), 0, 1e-9, "same features")
  -- large samples approach the population value: dmu^2 = 3, diag (1 - sqrt v)^2
  local big_a, big_b = rng:randn({20000, 3}), rng:randn({20000, 3}) * L.tensor({{0.5, 2, 1}}) + L.tensor({{1, 0, -1}})
  local pop = 2 + (1 - 0.5) ^ 2 + (1 - 2) ^ 2
  T.near(M.frechet(big_a, big_b), pop, 0.03, "population value")
end

-- Standard normal CDF by Simpson integration of the density, as an independent reference.
local function phi_integral(lo, hi)
  local n = 2000
  local h = (hi - lo) / n
  local f = function(x) return math.exp(-0.5 * x * x) / math.sqrt(2 * math.pi) end
  local s = f(lo) + f(hi)
  for i = 1, n - 1 do s = s + (i % 2 == 1 and 4 or 2) * f(lo + i * h) end
  return s * h / 3
end

function cases.normal_interval()
  T.near(M.log_normal_interval(-math.huge, math.huge), 0, 1e-15, "whole line")
  T.near(M.log_normal_interval(0, math.huge), math.log(0.5), 1e-12, "half")
  T.near(M.log_normal_interval(-math.huge, 0), math.log(0.5), 1e-12, "other half")
  for _, iv in ipairs({{-1, 1}, {0.3, 0.9}, {-2.5, -2.4}, {3, 5}, {-0.01, 0.02}, {6, 6.5}}) do
    T.near(math.exp(M.log_normal_interval(iv[1], iv[2])), phi_integral(iv[1], iv[2]), 1e-8,
           "interval " .. iv[1] .. ".." .. iv[2])
  end
  -- far tails stay finite and agree across the erfc / continued-fraction switch at z = 20
  local function logq_asym(z) return -0.5 * z * z - math.log(z * math.sqrt(2 * math.pi)) + math.log(1 - 1 / z ^ 2 + 3 / z ^ 4) end
  T.near(M.log_normal_interval(19.999, math.huge), M.log_normal_interval(20.001, math.huge), 0.001, "continuous at 20")
  T.near(M.log_normal_interval(40, math.huge), logq_asym(40), 1e-6, "tail at 40")
  T.near(M.log_normal_interval(-math.huge, -300), logq_asym(300), 1e-9, "lower tail at -300")
  -- a narrow interval far out: log(Q(a) - Q(b)) with Q(b) << Q(a)
  T.near(M.log_normal_interval(50, 51), logq_asym(50) + math.log(1 - math.exp(logq_asym(51) - logq_asym(50))), 1e-6, "narrow far")
  T.eq(M.log_normal_interval(1, 1), -math.huge, "empty interval")
end

-- The 256 data values 2k/255 - 1 as [256, 1] and the decoder's -log P of each.
local function bin_nll(mean, log_scale)
  local v = {}
  for k = 0, 255 do v[k + 1] = 2 * k / 255 - 1 end
  local x = L.tensor(v):reshape(256, 1)
  return M.discretized_gaussian_nll(x, L.full({256, 1}, mean), log_scale)
end

function cases.decoder_bins()
  for _, c in ipairs({{0, 0}, {0.3, math.log(0.01)}, {-0.99, math.log(0.002)}, {1.5, math.log(0.05)},
                      {-3, 0}, {0.2, math.log(1e-4)}, {0.0039, math.log(1e-6)}}) do
    local nll = bin_nll(c[1], c[2])
    local total = 0
    for _, v in ipairs(nll) do
      T.truthy(v >= 0 and v == v, "finite, >= 0")
      total = total + math.exp(-v)
    end
    T.near(total, 1, 1e-9, string.format("bins sum to 1 (mean %g, scale %g)", c[1], math.exp(c[2])))
  end
  -- a wide decoder gives each interior bin about density * width
  local sigma = 0.5
  local nll = bin_nll(0.1, math.log(sigma))
  local x = 2 * 100 / 255 - 1
  local dens = math.exp(-0.5 * ((x - 0.1) / sigma) ^ 2) / (sigma * math.sqrt(2 * math.pi))
  T.near(math.exp(-nll[101]), dens * 2 / 255, 1e-4, "interior bin")
  -- the outer bins reach infinity: P(bin 0) = Phi((-1 + 1/255 - mean) / sigma)
  T.near(math.exp(-nll[1]), phi_integral(-40, (-1 + 1 / 255 - 0.1) / sigma), 1e-8, "edge bin")
  -- sums over a sample's elements, one scale per sample
  local xs = L.tensor({{-1, 1, 2 * 128 / 255 - 1}, {-1, -1, -1}})
  local two = M.discretized_gaussian_nll(xs, L.zeros(2, 3), {math.log(0.3), math.log(2)})
  local a = bin_nll(0, math.log(0.3))
  local b = bin_nll(0, math.log(2))
  T.near(two, {a[1] + a[256] + a[129], 3 * b[1]}, 1e-9, "per-sample sums")
  T.fails(function() M.discretized_gaussian_nll(L.full({1, 1}, 1.5), L.zeros(1, 1), 0) end, "outside [-1, 1]")
  T.fails(function() M.discretized_gaussian_nll(L.zeros(2, 2), L.zeros(2, 3), 0) end, "same shape")
  T.fails(function() M.discretized_gaussian_nll(L.zeros(2, 2), L.zeros(2, 2), {0}) end, "1 entries for 2 samples")
end

function cases.gaussian_kl()
  -- against the per-coordinate formula 0.5 (log v2/v1 + (v1 + (m1 - m2)^2) / v2 - 1)
  local m1, m2 = {0.1, -0.4, 2}, {0.3, 0.1, 1}
  for _, v in ipairs({{0.5, 0.5}, {0.2, 0.7}, {3, 0.1}}) do
    local want, sq = 0, 0
    for i = 1, 3 do
      want = want + 0.5 * (math.log(v[2] / v[1]) + (v[1] + (m1[i] - m2[i]) ^ 2) / v[2] - 1)
      sq = sq + (m1[i] - m2[i]) ^ 2
    end
    T.near(eval.gaussian_kl(sq, 3, v[1], v[2]), want, 1e-12, "kl")
  end
  T.near(eval.gaussian_kl(0, 784, 0.3, 0.3), 0, 1e-15, "same Gaussian")
end

function cases.schedule_readback()
  -- the linear schedule: beta_k = linspace(1e-4, 0.02, T)[k]
  local T_ = 1000
  local sch = eval.schedule_of(L.scheduler("ddpm", {num_train_timesteps = T_}))
  T.eq(sch.T, T_, "T")
  local ab = 1
  local worst = 0
  for k = 0, T_ - 1 do
    local beta = 1e-4 + (0.02 - 1e-4) * k / (T_ - 1)
    ab = ab * (1 - beta)
    worst = math.max(worst, math.abs(sch.beta[k] - beta) / beta)
    T.near(sch.ab[k], ab, 1e-6, "alpha_bar " .. k)
  end
  T.truthy(worst < 2e-3, "betas within 0.2% (worst " .. worst .. ")")
  -- posterior variance beta~_k = (1 - ab_{k-1}) / (1 - ab_k) beta_k, from the exact schedule
  ab = 1
  local prev
  for k = 0, T_ - 1 do
    local beta = 1e-4 + (0.02 - 1e-4) * k / (T_ - 1)
    prev, ab = ab, ab * (1 - beta)
    if k >= 1 then
      local want = (1 - prev) / (1 - ab) * beta
      T.truthy(math.abs(sch.post_var[k] - want) < 2e-3 * want, "posterior variance at " .. k)
    end
  end
  -- not variance preserving: refused
  L.register{kind = "scheduler", name = "eval_test_ve",
    num_train_timesteps = function() return 10 end,
    add_noise = function(self, x0, noise, t) return x0 + noise end,
    target = function(self, x0, noise) return noise end,
    set_timesteps = function() end, num_steps = function() return 1 end,
    timestep = function() return 0 end, step = function(self, out, i, x) return x end}
  T.fails(function() eval.schedule_of(L.scheduler("eval_test_ve")) end, "variance-preserving")
end

-- A fixed 4x4 "image" of 8-bit values, batched: [B,1,4,4] with values 2k/255 - 1.
local function fixed_image(B)
  local v = {}
  for i = 1, 16 do v[i] = 2 * ((i * 37) % 256) / 255 - 1 end
  v[1], v[2] = -1, 1 -- both outer bins
  local one = L.tensor(v):reshape(1, 1, 4, 4)
  return one:expand(B, 1, 4, 4):contiguous(), v
end

-- Oracle denoisers for the fixed image, one per prediction type, and a zero predictor.
local oracle_sched = L.scheduler("ddpm")
L.register{kind = "denoiser", name = "eval_test_oracle",
  params = {{name = "prediction", type = "choice", choices = {"epsilon", "sample", "v_prediction"}}},
  create = function(p) return {pred = p.prediction, x0 = fixed_image(1)} end,
  forward = function(self, x, t, cond)
    local B = x:shape()[1]
    local x0 = self.x0:expand(B, 1, 4, 4)
    local sa = oracle_sched:add_noise(L.ones(x:shape()), L.zeros(x:shape()), t)
    local sb = oracle_sched:add_noise(L.zeros(x:shape()), L.ones(x:shape()), t)
    local eps = (x - sa * x0) / sb
    if self.pred == "epsilon" then return eps end
    if self.pred == "sample" then return x0 + x * 0 end
    return sa * eps - sb * x0
  end}
L.register{kind = "denoiser", name = "eval_test_zero", forward = function(self, x) return x * 0 end}

local function bound_bpd(den, sched, x0, draws, seed)
  local sch = eval.schedule_of(sched)
  local LT, L0, Lmid = eval.bound_terms({denoiser = den, scheduler = sched}, sch, x0, nil, L.rng(seed or 0), draws)
  local D = x0:numel() // x0:shape()[1]
  local tot, lt, l0, lm = {}, 0, 0, 0
  for i = 1, #LT do
    tot[i] = (LT[i] + L0[i] + Lmid[i]) / (D * math.log(2))
    lt, l0, lm = lt + LT[i], l0 + L0[i], lm + Lmid[i]
  end
  local n = #LT
  return tot, {LT = lt / n, L0 = l0 / n, Lmid = lm / n}
end

function cases.bound_oracle()
  local B = 8
  local x0, v = fixed_image(B)
  local sch = eval.schedule_of(oracle_sched)
  -- what the oracle must give: L_T in closed form, no L_{t-1}, and L_0 the decoder's mass of
  -- the bin around each pixel's own centre with sigma^2 = beta~ of k = 1
  local ab, om = sch.ab[999], sch.om[999]
  local sigma = math.sqrt(sch.post_var[1])
  local want_LT, want_L0 = 0, 0
  local h = 1 / 255 / sigma
  for i = 1, 16 do
    want_LT = want_LT + 0.5 * (ab * v[i] ^ 2 - ab - math.log(om))
    if v[i] == -1 or v[i] == 1 then
      want_L0 = want_L0 - M.log_normal_interval(-math.huge, h)
    else
      want_L0 = want_L0 - M.log_normal_interval(-h, h)
    end
  end
  for _, pred in ipairs({"epsilon", "sample", "v_prediction"}) do
    local sched = L.scheduler("ddpm", {prediction_type = pred})
    local den = L.denoiser("eval_test_oracle", {prediction = pred})
    local tot, parts = bound_bpd(den, sched, x0, 2)
    T.near(parts.LT, want_LT, 1e-6, pred .. ": L_T")
    T.near(parts.L0, want_L0, 1e-4, pred .. ": L_0")
    T.truthy(math.abs(parts.Lmid) < 1e-2, pred .. ": the oracle has (almost) no diffusion terms, got " .. parts.Lmid)
    local zero = bound_bpd(L.denoiser("eval_test_zero"), sched, x0, 2)
    local mo, mz = 0, 0
    for i = 1, B do mo, mz = mo + tot[i] / B, mz + zero[i] / B end
    -- the oracle's bound is all L_T + L_0 (about 1.2 bits/dim: the decoder's fixed sigma
    -- puts only ~40% of the mass in a pixel's own bin); predicting nothing costs much more
    T.near(mo, (want_LT + want_L0) / (16 * math.log(2)), 1e-3, pred .. ": oracle bits/dim")
    if os.getenv("EVAL_TEST_VERBOSE") then print(pred, mo, mz, parts.LT, parts.L0, parts.Lmid) end
    T.truthy(mz > mo + 1.5, string.format("%s: zero model %.3f bits/dim vs oracle %.3f", pred, mz, mo))
  end
end

-- With the zero eps predictor and no clipping, x0 - x0^ = -(sb/sa) eps, so the expected
-- diffusion term at k is E[L_{k-1}] = c0^2 (1 - ab_k)/ab_k D / (2 beta~_k) (fixed_small)
-- with c0 = sqrt(ab_{k-1}) beta_k / (1 - ab_k), in closed form.
local function zero_model_term(sch, k, D, large)
  local c0 = math.sqrt(sch.ab[k - 1]) * sch.beta[k] / sch.om[k]
  local vq = sch.post_var[k]
  local vp = large and sch.beta[k] or vq
  return 0.5 * (D * (math.log(vp / vq) + vq / vp - 1) + c0 * c0 * sch.om[k] / sch.ab[k] * D / vp)
end

local function mean_se(v)
  local n, mean, var = #v, 0, 0
  for i = 1, n do mean = mean + v[i] / n end
  for i = 1, n do var = var + (v[i] - mean) ^ 2 / (n - 1) end
  return mean, math.sqrt(var / n)
end

function cases.diffusion_terms()
  -- each term at a fixed step, averaged over noise, against the closed form (both variances)
  local Tn, B = 50, 4000
  for _, vt in ipairs({"fixed_small", "fixed_large"}) do
    local sched = L.scheduler("ddpm", {num_train_timesteps = Tn, clip_sample = false, beta_end = 0.2, variance_type = vt})
    local sch = eval.schedule_of(sched)
    local x0 = fixed_image(B)
    for _, k in ipairs({1, 2, 10, 30, 49}) do
      local ks = {}
      for i = 1, B do ks[i] = k end
      local kl = eval.diffusion_terms({denoiser = L.denoiser("eval_test_zero"), scheduler = sched}, sch, x0, nil,
                                      L.rng(k), ks)
      local mean, se = mean_se(kl)
      local want = zero_model_term(sch, k, 16, vt == "fixed_large")
      T.truthy(math.abs(mean - want) < 4 * se + 1e-9 * want,
               string.format("%s k=%d: %.5g vs closed form %.5g (se %.2g)", vt, k, mean, want, se))
      T.truthy(se < 0.03 * want, "the test has power at k=" .. k)
    end
  end
end

function cases.bound_unbiased()
  -- The Monte-Carlo estimate over k against the exact sum of the expected terms: uniform k
  -- weighted by T-1 on a short schedule (T = 4, so that a wrong weight such as T is far
  -- off), and importance-sampled k (M.proposal) on T = 50, where it must also beat uniform.
  local function run(Tn, sched_opts, B, with_prop)
    sched_opts.num_train_timesteps, sched_opts.clip_sample = Tn, false
    local sched = L.scheduler("ddpm", sched_opts)
    local sch = eval.schedule_of(sched)
    local want = 0
    for k = 1, Tn - 1 do want = want + zero_model_term(sch, k, 16, false) end
    local o = {denoiser = L.denoiser("eval_test_zero"), scheduler = sched}
    local prop = with_prop and eval.proposal(o, sch, fixed_image(16), nil, L.rng(9), 12) or nil
    local _, _, Lmid = eval.bound_terms(o, sch, fixed_image(B), nil, L.rng(5), 1, prop)
    local mean, se = mean_se(Lmid)
    T.truthy(math.abs(mean - want) < 4 * se,
             string.format("T=%d%s: MC estimate %.4f vs exact %.4f (se %.4f)", Tn, with_prop and " (IS)" or "", mean, want, se))
    return se, want
  end
  local se, want = run(4, {beta_start = 0.01, beta_end = 0.3}, 20000, false)
  T.truthy(se < 0.03 * want, "the test has power: se " .. se .. " vs " .. want)
  local se_u = run(50, {beta_end = 0.2}, 4000, false)
  local se_is, want50 = run(50, {beta_end = 0.2}, 4000, true)
  T.truthy(se_is < 0.5 * se_u, string.format("importance sampling: se %.4g vs uniform %.4g", se_is, se_u))
  T.truthy(se_is < 0.02 * want50, "the IS test has power")
end

function cases.full_pipeline()
  local f = io.open(L.data.mnist_path(), "rb")
  if not f then
    io.stderr:write("MNIST cache missing: skipped\n")
    os.exit(77)
  end
  f:close()
  -- an untrained tiny model and a one-epoch classifier cached in a temporary directory:
  -- checks that the parts fit together and the numbers land in their ranges
  local dir = os.tmpname()
  os.remove(dir)
  os.execute("mkdir -p '" .. dir .. "'")
  eval.classifier_lib.CONFIG.epochs = 1
  local den = L.denoiser("unet2d", {preset = "mnist-tiny"})
  local cond = L.conditioner("class")
  local pipe = L.pipeline{scheduler = L.scheduler("ddim"), denoiser = den, conditioner = cond,
                          sampler = {"image", {guidance_scale = 3, num_inference_steps = 2}}}
  local r = eval.run_all{denoiser = den, scheduler = L.scheduler("ddpm"), conditioner = cond, pipeline = pipe,
                         quick = true, per_class = 3, bpd_images = 20, classifier_cache_dir = dir,
                         log = function() end}
  os.execute("rm -rf '" .. dir .. "'")
  T.eq(r.n_samples, 30, "samples")
  T.truthy(r.agreement >= 0 and r.agreement <= 1, "agreement in [0,1]")
  T.truthy(r.classifier_accuracy > 0.8, "a one-epoch classifier still learns: " .. r.classifier_accuracy)
  T.truthy(r.frechet > r.frechet_real, "noise is further from digits than digits are")
  T.truthy(r.bits_per_dim > 0 and r.bits_per_dim < 20 and r.bits_per_dim_se > 0, "bits/dim " .. r.bits_per_dim)
end

-- lundi.save_tensors / load_tensors (the classifier cache) and the argument errors of
-- discretized_gaussian_nll, whose checks live in C (nn/safetensors_meta.c, metrics_tensor.c).
function cases.tensors_and_nll_errors()
  local p = os.tmpname()
  L.save_tensors(p, {w = L.full({2}, 1.5)}, {classes = 10, name = "clf", scale = 0.5})
  local t, meta = L.load_tensors(p)
  T.near(t.w:tolist(), {1.5, 1.5}, 0, "tensor back")
  T.eq(meta.classes .. " " .. meta.name .. " " .. meta.scale, "10 clf 0.5", "metadata as strings")
  T.fails(function() L.save_tensors(p, {w = t.w}, {bad = {}}) end,
          "save_tensors: metadata must map strings to strings or numbers", "a table value")
  os.remove(p)
  local x = L.full({2, 3}, 0)
  T.eq(#M.discretized_gaussian_nll(x, x, -1), 2, "a number for every sample")
  T.near(M.discretized_gaussian_nll(x, x, {-1, -1}), M.discretized_gaussian_nll(x, x, L.full({2}, -1)), 0,
         "a table and a tensor agree")
  T.fails(function() M.discretized_gaussian_nll(x, L.full({3, 2}, 0), {-1, "a"}) end,
          "discretized_gaussian_nll: x and mean must have the same shape [N, ...]", "shape first")
  T.fails(function() M.discretized_gaussian_nll(x, x, {-1}) end,
          "discretized_gaussian_nll: log_scale has 1 entries for 2 samples", "table count")
  T.fails(function() M.discretized_gaussian_nll(x, x, {-1, "a"}) end,
          "discretized_gaussian_nll: log_scale[2] is not a number", "table entry")
  T.fails(function() M.discretized_gaussian_nll(x, x, L.full({3}, -1)) end,
          "discretized_gaussian_nll: log_scale has 3 values for 2 samples", "tensor count")
end

T.run(cases)
