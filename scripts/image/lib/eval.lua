-- Evaluation of an MNIST diffusion model (issue 6, item 8): classifier agreement, a
-- Fréchet distance on classifier features, and the variational bound in bits/dim.
--
--   local eval = dofile(DIR .. "lib/eval.lua")
--   local r = eval.run_all{
--     denoiser = den, scheduler = ddpm,      -- the trained model and its training scheduler
--     conditioner = cond,                    -- the class conditioner (nil: unconditional)
--     pipeline = pipe,                       -- what draws the samples (its sampler's guidance)
--     run = run,                             -- optional: the numbers go to the run store
--     quick = false,                         -- a cheap pass for tests (fewer samples)
--   }
--   -> {agreement=, frechet=, frechet_real=, bits_per_dim=, bits_per_dim_se=, n_samples=,
--       bits_per_dim_parts={L_T=, L_mid=, L_0=}, classifier_accuracy=, classifier_key=,
--       guidance=, steps=, seconds={classifier=, sampling=, classifier_scores=, bits_per_dim=},
--       samples = the [n_samples,1,28,28] tensor, grouped by class}
--   With a run, the numbers are logged as metrics eval/agreement, eval/frechet,
--   eval/frechet_real, eval/bits_per_dim, eval/bits_per_dim_se, eval/classifier_accuracy
--   (at `step`), with tags eval/setup and eval/summary.
--   Cost: sampling dominates. With mnist-tiny one network evaluation of 100 images takes
--   ~0.1 s on 2 cores, so 1,000 samples x 50 steps x 2 (guidance) is ~100 s; the bound
--   (1,000 digits) takes a few seconds and the classifier trains once (~20 s), then loads.
--
-- Options of run_all besides the parts (defaults in M.DEFAULTS, quick ones in M.QUICK):
--   per_class    samples drawn per class (agreement and Fréchet use the same samples)
--   bpd_images   held-out digits in the bound;  t_per_image  Monte-Carlo draws of t each
--   pilot_images, pilot_steps   the pilot that shapes the importance sampling of t
--   batch        sampling batch;  seed         seed of the samples and of the bound's noise
--   guidance, steps   when given, the samples come from a fresh `image` sampler with this
--                     guidance scale / step count over the pipeline's own parts
--   log          function(msg), default: stderr;  step   the run step the metrics go to
--   classifier_cache_dir   where the classifier is cached (default: beside the MNIST cache)
--
-- What the three numbers mean:
--
-- * Classifier agreement: the share of class-conditional samples that a small MNIST
--   classifier (lib/classifier.lua, trained by lundi, cached) labels as the class they were
--   asked for. It is capped by the classifier's own test accuracy (~98%).
--
-- * Fréchet distance: FID-style, but on the 128 penultimate features of *our* classifier
--   instead of Inception-v3's pool features, so the value is only comparable with itself
--   (same classifier key, same sample counts), never with published FIDs. Gaussians are
--   fitted to the features of the samples and of the last 1,000 test digits, and
--   FD = |mu1 - mu2|^2 + tr(S1 + S2 - 2 (S1^1/2 S2 S1^1/2)^1/2), computed in double by
--   lundi.metrics.frechet (LAPACK eigendecompositions). `frechet_real` is the same distance
--   for the first (up to) 1,000 test digits, as many as there are samples: the floor that
--   finite samples leave for a perfect model.
--
-- * Bits/dim: the DDPM variational bound (Ho et al. 2020, eq. 5) on held-out digits,
--     -log p(x0) <= L_T + sum_{t=2..T} L_{t-1} + L_0,
--   in the scheduler's own indexing (k = 0..T-1 are Ho's t = 1..T):
--     L_T     = KL(q(x_T | x0) || N(0, I)), in closed form;
--     L_{t-1} = KL(q(x_{k-1} | x_k, x0) || p(x_{k-1} | x_k)) for k = 1..T-1: two Gaussians,
--               the posterior with mean c0 x0 + c1 x_k and variance beta~_k, the model with
--               mean c0 x0^ + c1 x_k and the scheduler's variance_type (fixed_small:
--               beta~_k, so only the mean term c0^2 |x0 - x0^|^2 / (2 beta~_k) remains;
--               fixed_large: beta_k). x0^ comes from the denoiser's output through the
--               scheduler's prediction_type (epsilon, sample or v_prediction) and is clipped
--               like sampling does when clip_sample is on (thresholding is not applied);
--     L_0     = -log p(x0 | x_1), a discretised Gaussian decoder with mean x0^ (at k = 0
--               the posterior mean is x0^ itself) and variance beta~ of k = 1 (the
--               "clipped" log-variance of Nichol & Dhariwal, because beta~ of k = 0 is 0).
--   The data are 8-bit: each pixel is k/255 stored as 2k/255 - 1 in [-1, 1], and the
--   decoder gives the probability of its bin of width 2/255 (the outer bins reach +-inf),
--   so the bound is a discrete log-likelihood and needs no added dequantisation noise.
--   The sum over k is estimated without bias by Monte Carlo: per image, t_per_image draws
--   of k in 1..T-1, each term divided by the probability of its k. k is drawn by importance
--   sampling from a proposal that a pilot (pilot_images digits, ~pilot_steps values of k)
--   shapes like the mean term, mixed with 10% uniform (M.proposal); pilot_images = 0 gives
--   the plain uniform k weighted by T-1. L_T is exact and L_0 uses one draw of x_1. The reported value is the mean over images and its standard error, in bits/dim
--   (nats / (784 ln 2)). A class-conditional model is scored on p(x0 | its label); the
--   unconditional -log p(x0) is at most log2(10)/784 = 0.004 bits/dim more.
--   alpha_bar comes from the scheduler itself: sqrt(ab) = add_noise(1, 0, k) and
--   sqrt(1 - ab) = add_noise(0, 1, k), so any variance-preserving scheduler works.
local M = {}

local here = debug.getinfo(1, "S").source:match("^@(.*[/\\])") or "./"
local Classifier = dofile(here .. "classifier.lua")
M.classifier_lib = Classifier

M.DEFAULTS = {per_class = 100, bpd_images = 1000, t_per_image = 1, pilot_images = 32, pilot_steps = 24, batch = 250,
              seed = 1234}
M.QUICK = {per_class = 20, bpd_images = 100, t_per_image = 1, pilot_images = 16, pilot_steps = 12, batch = 200,
           seed = 1234}

local LN2 = math.log(2)

local function default_log(msg) io.stderr:write(msg, "\n") end

-- A per-sample column [n,1,1,1] (broadcasts over images) from a Lua array of numbers.
local function column(values, ndim)
  local shape = {#values}
  for i = 2, ndim do shape[i] = 1 end
  return lundi.tensor(values):reshape(shape)
end

-- Per-sample sums of a tensor [n, ...] as a Lua array.
local function row_sums(t)
  return t:reshape(t:shape()[1], -1):sum(2):totable()
end

-- Labels 0..9, each `per_class` times, grouped by class, as i32 [10 * per_class].
local function class_labels(per_class)
  local l = {}
  for c = 0, 9 do
    for _ = 1, per_class do l[#l + 1] = c end
  end
  return lundi.tensor(l, "i32"), l
end

-- The options o over the defaults (M.QUICK when o.quick, else M.DEFAULTS), as a new table.
function M.options(o)
  local opts = {}
  for k, v in pairs(o.quick and M.QUICK or M.DEFAULTS) do opts[k] = v end
  for k, v in pairs(o) do opts[k] = v end
  return opts
end

-- ---------------------------------------------------------------------------------------
-- Samples

-- The pipeline that draws the evaluation samples: the given one, or one with the same
-- scheduler/denoiser/conditioner and an `image` sampler of the requested guidance/steps.
local function sampling_pipeline(o)
  if not o.pipeline then error("eval: pipeline is required to draw samples", 3) end
  if not o.guidance and not o.steps then return o.pipeline end
  local sp = o.pipeline.sampler:params()
  return lundi.pipeline{
    scheduler = o.pipeline.scheduler, denoiser = o.pipeline.denoiser, conditioner = o.pipeline.conditioner,
    sampler = {"image", {guidance_scale = o.guidance or sp.guidance_scale,
                         num_inference_steps = o.steps or sp.num_inference_steps}},
  }
end

-- Draws per_class samples of each class: x [10*per_class,1,28,28], labels (Lua array).
function M.draw_samples(o)
  local pipe = sampling_pipeline(o)
  local per_class, batch = o.per_class, o.batch
  local labels_t, labels = class_labels(per_class)
  local n = #labels
  local parts = {}
  local bar <close> = lundi.progress{total = n, label = "eval samples"}
  for s = 1, n, batch do
    local e = math.min(s + batch - 1, n)
    -- one seed per batch, so a different batch size changes the samples but nothing else does
    parts[#parts + 1] = pipe:sample{batch = e - s + 1, shape = {1, 28, 28}, cond = labels_t:slice(1, s, e),
                                    seed = o.seed + s}
    bar:update(e)
  end
  bar:finish()
  local sp = pipe.sampler:params()
  return lundi.concat(parts, 1), labels, {guidance = sp.guidance_scale, steps = sp.num_inference_steps,
                                          scheduler = pipe.scheduler.name}
end

-- ---------------------------------------------------------------------------------------
-- Classifier agreement and Fréchet distance

-- Share of samples x whose classifier label is the requested one (labels: Lua array).
function M.agreement(clf, x, labels)
  return clf:accuracy(x, labels)
end

-- Fréchet distance between classifier features of x and of the reference images.
function M.frechet(clf, x, ref)
  return lundi.metrics.frechet(clf:features_of(x), clf:features_of(ref))
end

-- ---------------------------------------------------------------------------------------
-- The variational bound

-- alpha_bar and the betas of a variance-preserving scheduler, in double, from its add_noise.
-- Returns {T=, ab={[0..T-1]}, beta={[0..T-1]}, post_var={[1..T-1]}}.
function M.schedule_of(sched)
  local T = sched:num_train_timesteps()
  local g <close> = lundi.no_grad()
  local k = lundi.arange(T)
  local sa = sched:add_noise(lundi.ones(T, 1), lundi.zeros(T, 1), k):totable()
  local sb = sched:add_noise(lundi.zeros(T, 1), lundi.ones(T, 1), k):totable()
  local ab, om, beta, post_var = {}, {}, {}, {}
  for i = 0, T - 1 do
    ab[i], om[i] = sa[i + 1] ^ 2, sb[i + 1] ^ 2
    if math.abs(ab[i] + om[i] - 1) > 1e-5 then
      error(string.format("eval: bits/dim needs a variance-preserving scheduler (alpha_bar + (1 - alpha_bar) = %g at t = %d)",
                          ab[i] + om[i], i), 2)
    end
  end
  -- beta_k = (ab_{k-1} - ab_k) / ab_{k-1}; the difference is taken from whichever of ab and
  -- 1 - ab is the smaller number, where float32 left it the most relative precision.
  beta[0] = om[0]
  for i = 1, T - 1 do
    local d = ab[i] > 0.5 and (om[i] - om[i - 1]) or (ab[i - 1] - ab[i])
    beta[i] = d / ab[i - 1]
    post_var[i] = om[i - 1] / om[i] * beta[i]
  end
  return {T = T, ab = ab, om = om, beta = beta, post_var = post_var}
end

-- KL(N(m1, v1) || N(m2, v2)) of D independent coordinates whose squared mean differences
-- sum to sq, with scalar variances: the closed form, in nats.
function M.gaussian_kl(sq, d, v1, v2)
  return 0.5 * (d * (math.log(v2) - math.log(v1) + v1 / v2 - 1) + sq / v2)
end

-- The x0 estimate from the denoiser's output `out` at per-sample columns sa = sqrt(ab),
-- sb = sqrt(1 - ab), following the scheduler's prediction type and clipping.
local function x0_from_output(out, xt, sa, sb, sp)
  local x0
  if sp.prediction_type == "epsilon" then
    x0 = (xt - sb * out) / sa
  elseif sp.prediction_type == "sample" then
    x0 = out
  elseif sp.prediction_type == "v_prediction" then
    x0 = sa * xt - sb * out
  else
    error("eval: unknown prediction_type '" .. tostring(sp.prediction_type) .. "'")
  end
  if sp.clip_sample then x0 = x0:clamp(-sp.clip_sample_range, sp.clip_sample_range) end
  return x0
end

-- The pieces below share `ctx`: {o = options, sch = schedule_of(...), sp = scheduler params,
-- cond = the encoded labels or nil, x0 = the batch, D = elements per image}.
local function context(o, sch, x0, labels)
  local B = x0:shape()[1]
  local cond = nil
  if o.conditioner then cond = labels and o.conditioner:encode(labels) or o.conditioner:null(B) end
  return {o = o, sch = sch, sp = o.scheduler:params(), cond = cond, x0 = x0, B = B, D = x0:numel() // B}
end

-- x0^ for x_k drawn from q(x_k | x0) at the per-image steps ks (Lua array of integers).
local function predict_x0(ctx, ks, rng)
  local sa, sb = {}, {}
  for i, k in ipairs(ks) do sa[i], sb[i] = math.sqrt(ctx.sch.ab[k]), math.sqrt(ctx.sch.om[k]) end
  local t = lundi.tensor(ks)
  local xt = ctx.o.scheduler:add_noise(ctx.x0, rng:randn(ctx.x0:shape()), t)
  local out = ctx.o.denoiser:forward(xt, t, ctx.cond)
  local nd = ctx.x0:ndim()
  return x0_from_output(out, xt, column(sa, nd), column(sb, nd), ctx.sp)
end

-- L_{k-1} = KL(q(x_{k-1} | x_k, x0) || p(x_{k-1} | x_k)) in nats for each image at its own
-- step ks[i] in 1..T-1, for one draw of x_k each. Both means are c0 x0 + c1 x_k (with x0^
-- for p), so their difference is c0 (x0 - x0^) and c1 never matters.
function M.diffusion_terms(o, sch, x0, labels, rng, ks)
  local ctx = context(o, sch, x0, labels)
  local large = ctx.sp.variance_type == "fixed_large"
  local sqd = row_sums((x0 - predict_x0(ctx, ks, rng)):pow(2))
  local out = {}
  for i, k in ipairs(ks) do
    if k < 1 or k >= sch.T then error("eval: diffusion term at step " .. k .. " is outside 1.." .. sch.T - 1, 2) end
    local c0 = math.sqrt(sch.ab[k - 1]) * sch.beta[k] / sch.om[k]
    local vq = sch.post_var[k]
    out[i] = M.gaussian_kl(c0 * c0 * sqd[i], ctx.D, vq, large and sch.beta[k] or vq)
  end
  return out
end

-- An importance-sampling proposal over k = 1..T-1 for the Monte-Carlo sum: the terms L_{k-1}
-- differ by orders of magnitude across k (large near k = 1 for a good model), so a uniform k
-- gives a heavy-tailed estimate. A pilot measures the mean term on a grid of about n_grid
-- steps (log-spaced, so the small k where the terms change fastest are dense) over the
-- images x0, interpolates it linearly in k, and mixes 10% of the uniform distribution in,
-- so every k keeps probability >= 0.1/(T-1) and the estimate stays unbiased whatever the
-- pilot found. Returns {q = {[k] = prob}, cdf = {[k] = P(K <= k)}, T = T}.
function M.proposal(o, sch, x0, labels, rng, n_grid)
  local T, B = sch.T, x0:shape()[1]
  local grid, seen = {}, {}
  for j = 0, n_grid - 1 do
    local k = math.floor(math.exp(math.log(T - 1) * j / math.max(n_grid - 1, 1)) + 0.5)
    k = math.max(1, math.min(T - 1, k))
    if not seen[k] then seen[k], grid[#grid + 1] = true, k end
  end
  local mean_at = {}
  for _, k in ipairs(grid) do
    local ks = {}
    for i = 1, B do ks[i] = k end
    local kl, m = M.diffusion_terms(o, sch, x0, labels, rng, ks), 0
    for i = 1, B do m = m + kl[i] / B end
    mean_at[k] = m
  end
  local w, total = {}, 0
  for j = 1, #grid do
    local k0, k1 = grid[j], grid[j + 1] or grid[j]
    for k = k0, (j < #grid) and (k1 - 1) or k0 do
      local f = k1 > k0 and (k - k0) / (k1 - k0) or 0
      w[k] = math.max((1 - f) * mean_at[k0] + f * mean_at[k1], 0)
      total = total + w[k]
    end
  end
  local q, cdf, acc = {}, {}, 0
  for k = 1, T - 1 do
    q[k] = 0.1 / (T - 1) + (total > 0 and 0.9 * w[k] / total or 0.9 / (T - 1))
    acc = acc + q[k]
    cdf[k] = acc
  end
  cdf[T - 1] = 1
  return {q = q, cdf = cdf, T = T}
end

-- n draws of k from a proposal (inverse CDF of uniforms from rng), as a Lua array.
local function draw_k(prop, rng, n)
  local u = rng:rand({n}):totable()
  local ks = {}
  for i = 1, n do
    local lo, hi = 1, prop.T - 1
    while lo < hi do -- the first k with cdf[k] >= u
      local mid = (lo + hi) // 2
      if prop.cdf[mid] >= u[i] then hi = mid else lo = mid + 1 end
    end
    ks[i] = lo
  end
  return ks
end

-- Per-image bound terms (nats) for a batch x0 [B,1,28,28] (labels i32 [B] or nil):
-- returns arrays LT, L0, Lmid. Lmid estimates sum_{k=1}^{T-1} L_{k-1} without bias: the mean
-- over t_per_image draws of L_{k-1} / q(k), k ~ q: the proposal `prop` (M.proposal), or
-- uniform (q = 1/(T-1)) when prop is nil.
function M.bound_terms(o, sch, x0, labels, rng, t_per_image, prop)
  local ctx = context(o, sch, x0, labels)
  local B, D, T = ctx.B, ctx.D, sch.T

  -- L_T: KL(N(sqrt(ab) x0, 1 - ab) || N(0, 1)) = 0.5 sum(ab x0^2 + (1 - ab) - 1 - log(1 - ab))
  local sq0 = row_sums(x0 * x0)
  local abT, omT = sch.ab[T - 1], sch.om[T - 1]
  local LT, Lmid = {}, {}
  for i = 1, B do LT[i] = 0.5 * (abT * sq0[i] - D * abT - D * math.log(omT)) end

  -- L_0 at k = 0: decoder mean x0^, variance beta~ of k = 1.
  local zeros = {}
  for i = 1, B do zeros[i] = 0 end
  local L0 = lundi.metrics.discretized_gaussian_nll(x0, predict_x0(ctx, zeros, rng), 0.5 * math.log(sch.post_var[1]))

  for i = 1, B do Lmid[i] = 0 end
  for _ = 1, t_per_image do
    local ks
    if prop then
      ks = draw_k(prop, rng, B)
    else
      ks = rng:randint({B}, 1, T):totable()
      for i = 1, B do ks[i] = math.tointeger(ks[i]) end
    end
    local kl = M.diffusion_terms(o, sch, x0, labels, rng, ks)
    for i = 1, B do
      local q = prop and prop.q[ks[i]] or 1 / (T - 1)
      Lmid[i] = Lmid[i] + kl[i] / q / t_per_image
    end
  end
  return LT, L0, Lmid
end

-- The bound in bits/dim on the first n test digits: {bits_per_dim=, se=, n=, parts={...}}.
function M.bits_per_dim(o)
  o = M.options(o)
  local n, batch = o.bpd_images, math.min(o.batch, 100)
  local x, y = lundi.data.mnist{split = "test"}
  n = math.min(n, x:shape()[1])
  local sch = M.schedule_of(o.scheduler)
  local rng = lundi.rng(o.seed)
  local g0 <close> = lundi.no_grad()
  local prop = nil
  if o.pilot_images > 0 then
    local m = math.min(o.pilot_images, n)
    prop = M.proposal(o, sch, x:slice(1, 1, m), o.conditioner and y:slice(1, 1, m) or nil, lundi.rng(o.seed + 1),
                      o.pilot_steps)
  end
  local D = x:numel() // x:shape()[1]
  local per = 1 / (D * LN2)
  local totals, sums = {}, {LT = 0, L0 = 0, Lmid = 0}
  local bar <close> = lundi.progress{total = n, label = "eval bound"}
  for s = 1, n, batch do
    local e = math.min(s + batch - 1, n)
    local LT, L0, Lmid = M.bound_terms(o, sch, x:slice(1, s, e), o.conditioner and y:slice(1, s, e) or nil, rng,
                                       o.t_per_image, prop)
    for i = 1, #LT do
      totals[#totals + 1] = (LT[i] + L0[i] + Lmid[i]) * per
      sums.LT, sums.L0, sums.Lmid = sums.LT + LT[i] * per, sums.L0 + L0[i] * per, sums.Lmid + Lmid[i] * per
    end
    bar:update(e)
  end
  bar:finish()
  local mean, var = 0, 0
  for _, v in ipairs(totals) do mean = mean + v end
  mean = mean / n
  for _, v in ipairs(totals) do var = var + (v - mean) ^ 2 end
  var = n > 1 and var / (n - 1) or 0
  return {bits_per_dim = mean, se = math.sqrt(var / n), n = n,
          parts = {L_T = sums.LT / n, L_0 = sums.L0 / n, L_mid = sums.Lmid / n}}
end

-- ---------------------------------------------------------------------------------------
-- Everything

local function with_eval_mode(den, fn)
  local m = den.module and den:module() or nil
  local was = m and m:training()
  if m then m:eval() end
  local ok, a = pcall(fn)
  if m and was then m:train() end
  if not ok then error(a, 0) end
  return a
end

function M.run_all(o)
  if type(o) ~= "table" then error("eval.run_all: expected a table of options", 2) end
  for _, k in ipairs({"denoiser", "scheduler", "pipeline"}) do
    if not o[k] then error("eval.run_all: '" .. k .. "' is required", 2) end
  end
  local opts = M.options(o)
  local log = opts.log or default_log
  local now = lundi.metrics.now
  local seconds = {}

  local t0 = now()
  local clf = Classifier.get{log = log, cache_dir = opts.classifier_cache_dir}
  seconds.classifier = now() - t0

  return with_eval_mode(opts.denoiser, function()
    t0 = now()
    local x, labels, how = M.draw_samples(opts)
    seconds.sampling = now() - t0

    t0 = now()
    local agreement = M.agreement(clf, x, labels)
    -- Reference: the second half of the test split. The first half, cut to as many digits as
    -- there are samples, gives the distance of real held-out digits with the same sample
    -- sizes (the training digits would not do: the classifier has memorised them).
    local xt = lundi.data.mnist{split = "test"}
    local half = xt:shape()[1] // 2
    local ref = xt:slice(1, half + 1, -1)
    local frechet = M.frechet(clf, x, ref)
    local frechet_real = M.frechet(clf, xt:slice(1, 1, math.min(#labels, half)), ref)
    seconds.classifier_scores = now() - t0

    t0 = now()
    local b = M.bits_per_dim(opts)
    seconds.bits_per_dim = now() - t0

    local r = {
      agreement = agreement, frechet = frechet, frechet_real = frechet_real,
      bits_per_dim = b.bits_per_dim, bits_per_dim_se = b.se, bits_per_dim_images = b.n,
      bits_per_dim_parts = b.parts, n_samples = #labels, guidance = how.guidance, steps = how.steps,
      sampler_scheduler = how.scheduler, classifier_accuracy = clf.test_accuracy, classifier_key = clf.key,
      classifier_train_seconds = clf.train_seconds, seconds = seconds, samples = x,
    }
    log(string.format("eval: agreement %.1f%% of %d samples (guidance %g, %d %s steps; classifier test accuracy %.2f%%)",
                      100 * agreement, #labels, how.guidance, how.steps, how.scheduler, 100 * clf.test_accuracy))
    log(string.format("eval: Frechet distance %.3f on classifier features (held-out digits against each other: %.3f)", frechet,
                      frechet_real))
    log(string.format("eval: bound %.3f +- %.3f bits/dim on %d test digits (L_T %.4f, sum L_t %.3f, L_0 %.3f)",
                      b.bits_per_dim, b.se, b.n, b.parts.L_T, b.parts.L_mid, b.parts.L_0))
    log(string.format("eval: seconds: classifier %.1f, sampling %.1f, classifier scores %.1f, bound %.1f",
                      seconds.classifier, seconds.sampling, seconds.classifier_scores, seconds.bits_per_dim))
    if opts.run then M.record(opts.run, r, opts.step) end
    return r
  end)
end

-- Puts the numbers into a run: metrics eval/* (logged once, at `step` when given, else the
-- run's next step) and tags that describe how they were measured.
function M.record(run, r, step)
  run:log{step = step, ["eval/agreement"] = r.agreement, ["eval/frechet"] = r.frechet,
          ["eval/frechet_real"] = r.frechet_real, ["eval/bits_per_dim"] = r.bits_per_dim,
          ["eval/bits_per_dim_se"] = r.bits_per_dim_se, ["eval/classifier_accuracy"] = r.classifier_accuracy}
  run:tag("eval/setup", string.format(
    "%d samples (%d %s steps, guidance %g); Frechet on classifier %s features vs 1000 test digits; bound on %d test digits",
    r.n_samples, r.steps, r.sampler_scheduler, r.guidance, r.classifier_key, r.bits_per_dim_images))
  run:tag("eval/summary", string.format("agreement %.1f%%, Frechet %.2f, %.3f +- %.3f bits/dim", 100 * r.agreement,
                                        r.frechet, r.bits_per_dim, r.bits_per_dim_se))
  run:flush()
end

return M
