-- Class-conditional DDPM on MNIST: train, sample with classifier-free guidance, draw the
-- pictures people expect, and evaluate (issue 6).
--
--   lundi run scripts/image/mnist.lua                 # the demo, with the defaults below
--   lundi run scripts/image/mnist.lua --steps=200 --sample_every=100 --out_dir=/tmp/m
--   lundi run scripts/image/mnist.lua --resume=out/mnist/checkpoint --steps=4000
--
-- The demo's budget (issue 6: at most 10 minutes on a 2-core CPU, training, sampling and
-- evaluation included), measured on this project's 2-core machine: mnist-tiny trains at
-- ~0.15 s per step of 64 images (mnist-unet: ~0.7 s, too slow for the budget), so 2,100
-- steps take ~5 min; the pictures ~10 s; the evaluation ~85 s (1,000 guided samples of 50
-- DDIM steps) plus, the first time, training and caching its classifier (43 s measured with another job running). Outputs go to the run
-- (`lundi show`) and to out_dir; the last lines printed give the numbers and the paths.
--
-- Parameters (--key=value): DEFAULTS below, with what each one does; `lundi run
-- scripts/image/mnist.lua --help` lists them.
--
-- Training: x0 from the data, eps ~ N(0, I), t ~ U{0..T-1}, x_t = sqrt(ab) x0 + sqrt(1-ab) eps
-- (the scheduler's add_noise, q(x_t | x_0) in closed form); the network sees x_t, t and the
-- class label, with the label replaced by the null class 10% of the time (the class
-- conditioner's drop) so the same network also learns the unconditional model that
-- classifier-free guidance needs.

-- ema_decay is short: in a run this brief the weights still improve to the end, and a long
-- average lags (measured at 2,300 steps: EMA 0.998 gave 89.1% classifier agreement, the raw
-- weights 93.5%); the cosine decay already smooths the last steps.
local DEFAULTS = {
  steps = {2100, "training steps (AdamW updates) in total, resumed ones included"},
  batch = {64, "images per step"},
  lr = {2e-3, "peak learning rate: linear warm-up over warmup steps, then cosine decay to lr/10"},
  warmup = {200, "warm-up steps"},
  preset = {"mnist-tiny", "unet2d preset (mnist-tiny | mnist-unet); base_channels, channel_mult and\n"
                          .. "layers_per_block override it when given"},
  base_channels = {-1, "unet2d base channels (-1: the preset's)"},
  channel_mult = {"", "unet2d channel multipliers, e.g. 1,2,2 (empty: the preset's)"},
  layers_per_block = {-1, "unet2d layers per block (-1: the preset's)"},
  objective = {"eps", "what the network predicts: eps (noise) | v | x0. The training target comes from\n"
                      .. "the scheduler's target(), and the sampling scheduler gets the same prediction_type"},
  min_snr_gamma = {0, "0 = the plain (simplified) MSE; > 0 = min-SNR-gamma weighting (Hang et al. 2023), e.g. 5",
                   type = "number"},
  beta_schedule = {"linear", "linear | scaled_linear | squaredcos_cap_v2 | sigmoid (training and sampling)"},
  ema_decay = {0.99, "EMA of the weights; samples and evaluation use the EMA weights"},
  clip = {1.0, "gradient-norm clipping threshold"},
  sample_every = {1050, "a 10x10 sample grid every N steps (and always at the end); 0 = only at the end"},
  ckpt_every = {500, "checkpoint files every N steps (and at the end)"},
  scheduler = {"ddim", "the scheduler plugin that samples: ddim, euler, euler_ancestral, heun, dpmpp_2m, ddpm\n"
                       .. "(what ComfyUI and A1111 call the sampler; docs/writing-plugins.md, \"Words\")"},
  sample_steps = {50, "denoising steps of the scheduler"},
  guidance = {3, "classifier-free guidance scale", type = "number"},
  seed = {0, "seed of the weights, the batches, the noise and the samples"},
  out_dir = {"out/mnist", "where the PNGs and checkpoints are also written (printed at the end)"},
  resume = {"", "a checkpoint directory (out_dir/checkpoint) to continue from: model, optimiser\n"
                .. "moments and step, EMA weights and the loss history are restored"},
  threads = {0, "CPU threads (0: all cores)"},
  eval = {true, "run the evaluation at the end (scripts/image/lib/eval.lua)"},
  quick = {false, "small evaluation (tests)"},
}
-- Values keep their default's type; a string option given as a number ("--channel_mult=2")
-- is taken as its text; a misspelt option is refused.
if params.sampler ~= nil then -- the option's name before lundi said what it picks
  error("mnist.lua: --sampler is now --scheduler (lundi's scheduler plugins are what ComfyUI calls samplers)", 0)
end
local O = lundi.options(DEFAULTS, params, "Class-conditional DDPM on MNIST: train, sample, draw and evaluate.")

local PRED = {eps = "epsilon", v = "v_prediction", x0 = "sample"}
assert(PRED[O.objective], "mnist.lua: --objective must be eps, v or x0, got " .. tostring(O.objective))
assert(O.steps >= 1 and O.batch >= 1, "mnist.lua: --steps and --batch must be positive")
if O.threads > 0 then lundi.set_threads(O.threads) end

-- A monotonic wall clock when this lundi has one (lundi.metrics.now), else whole seconds.
local now = (lundi.metrics and lundi.metrics.now) or os.time
local t_script = now()
local here = debug.getinfo(1, "S").source:match("^@(.*[/\\])") or "./"
local run = lundi.current_run() -- nil under --no-record: then only files are written

-- Every effective value goes into the run, not only those given on the command line, so
-- `lundi show` tells the whole configuration.
if run then
  for k, v in pairs(O) do run:param(k, v) end
end

os.execute(string.format("mkdir -p '%s/checkpoint'", O.out_dir))
local function out(name) return O.out_dir .. "/" .. name end

-- ---------------------------------------------------------------------------------------
-- Parts

local x_train, y_train = lundi.data.mnist{split = "train"}
local N = x_train:shape()[1]

local sched_cfg = {beta_schedule = O.beta_schedule, prediction_type = PRED[O.objective]}
local sched = lundi.scheduler("ddpm", sched_cfg) -- training: add_noise, target, alpha_bar
local T = sched:num_train_timesteps()

local den_cfg = {preset = O.preset, seed = O.seed, base_channels = O.base_channels,
                 channel_mult = O.channel_mult, layers_per_block = O.layers_per_block}
local den = lundi.denoiser("unet2d", den_cfg)
-- A second instance holds the EMA weights: the samples and the evaluation read it while
-- training keeps its own weights untouched.
local den_ema = lundi.denoiser("unet2d", den_cfg)
local model, model_ema = den:module(), den_ema:module()
local cond = lundi.conditioner("class", {num_classes = 10, cond_drop_prob = 0.1})

-- No weight decay: a small model trained briefly is far from overfitting.
local opt = lundi.optim.AdamW(model, {lr = O.lr, weight_decay = 0.0})
local lr_at = lundi.optim.lr_schedule{kind = "cosine", base_lr = O.lr, min_lr = O.lr / 10,
                                      warmup_steps = O.warmup, total_steps = O.steps}

-- The sampler: any scheduler with the training's betas and prediction type. DDIM clips its
-- x0 estimate to [-1, 1] by default; use_clipped_model_output then recomputes the noise from
-- the clipped x0, so each step stays on the line from x_t to an image in range. Without it,
-- guidance 3 pushes the early x0 estimates far out of range, the clipped x0 and the unclipped
-- noise disagree, and this small model's samples lose their class (measured: most of the
-- grid turns into scribbles; with it the digits are clean and of the requested class).
local sample_cfg = {}
for k, v in pairs(sched_cfg) do sample_cfg[k] = v end
if O.scheduler == "ddim" then sample_cfg.use_clipped_model_output = true end
local sample_sched = lundi.scheduler(O.scheduler, sample_cfg)
local pipe = lundi.pipeline{scheduler = sample_sched, denoiser = den_ema, conditioner = cond,
  sampler = lundi.sampler("image", {num_inference_steps = O.sample_steps, guidance_scale = O.guidance})}


-- ---------------------------------------------------------------------------------------
-- Resume. A checkpoint directory holds model.safetensors, ema.safetensors,
-- optim.safetensors (the AdamW moments and step count) and losses.txt (the loss of every
-- step so far, one per line, for the loss curve). The batch order after a resume is drawn
-- from a fresh rng seeded with (seed, step): deterministic, though not the order an
-- uninterrupted run would have seen.

local losses, start = {}, 0
local ema
if O.resume ~= "" then
  local dir = O.resume
  -- EMA(m) starts from m's current weights, so it is built while model_ema holds the saved
  -- EMA weights.
  model_ema:load(dir .. "/ema.safetensors")
  ema = lundi.optim.EMA(model_ema, O.ema_decay)
  model:load(dir .. "/model.safetensors")
  opt:load(dir .. "/optim.safetensors")
  start = opt:step_count()
  local f = assert(io.open(dir .. "/losses.txt", "r"))
  for line in f:lines() do losses[#losses + 1] = tonumber(line) end
  f:close()
  if #losses ~= start then
    error(string.format("mnist.lua: %s/losses.txt has %d losses but the optimiser is at step %d", dir, #losses, start), 0)
  end
  print(string.format("resumed from %s at step %d", dir, start))
else
  ema = lundi.optim.EMA(model, O.ema_decay)
end

local function save_checkpoint(step)
  local dir = out("checkpoint")
  ema:copy_to(model_ema)
  model:save(dir .. "/model.safetensors")
  model_ema:save(dir .. "/ema.safetensors")
  opt:save(dir .. "/optim.safetensors")
  -- losses last: a reader that finds it complete finds the rest complete too
  local f = assert(io.open(dir .. "/losses.txt.tmp", "w"))
  for i = 1, step do f:write(string.format("%.9g\n", losses[i])) end
  f:close()
  assert(os.rename(dir .. "/losses.txt.tmp", dir .. "/losses.txt"))
end

-- ---------------------------------------------------------------------------------------
-- Pictures. Each goes into the run (when there is one) and into out_dir.

local written = {during = {}} -- output name -> file; during: the grids made while training
local function picture(name, file, x, opts)
  local path = out(file)
  if run then
    opts.file = path
    run:save_image(name, x, opts)
  else
    lundi.save_image(path, x, {nrow = opts.nrow, range = opts.range})
  end
  written[name] = path
  return path
end

-- One real digit of each class, for the strips.
local first_of = {}
do
  local ys = y_train:totable()
  for i = 1, N do
    if not first_of[ys[i]] then first_of[ys[i]] = i end
  end
end
local STRIP_CLASSES = {2, 3, 5, 8}

-- Forward noising, q(x_t | x_0) in closed form: each row is one digit at t = 0 ... T-1 (10
-- columns), with the same noise along the row so the digit fades rather than flickers.
local function forward_strip()
  local xs, ts, noises = {}, {}, {}
  local rng = lundi.rng(O.seed + 1)
  for _, c in ipairs(STRIP_CLASSES) do
    local i = first_of[c]
    local x0 = x_train:slice(1, i, i)
    local noise = rng:randn({1, 1, 28, 28})
    for k = 0, 9 do
      xs[#xs + 1], noises[#noises + 1] = x0, noise
      ts[#ts + 1] = math.floor((T - 1) * k / 9 + 0.5)
    end
  end
  local xt = sched:add_noise(lundi.concat(xs, 1), lundi.concat(noises, 1), lundi.tensor(ts):to("i32"))
  return picture("forward_noising", "forward_noising.png", xt, {nrow = 10, range = {-1, 1},
    parameters = {seed = O.seed + 1}})
end

-- Labels 0,0,...,1,1,...: a 10x10 grid with one row per class.
local grid_labels = {}
for c = 0, 9 do
  for _ = 1, 10 do grid_labels[#grid_labels + 1] = c end
end
local grid_y = lundi.tensor(grid_labels):to("i32")

local function sample_grid(step, final)
  ema:copy_to(model_ema)
  local x = pipe:sample{batch = 100, shape = {1, 28, 28}, cond = grid_y, seed = O.seed}
  local opts = {nrow = 10, range = {-1, 1},
    parameters = {steps = O.sample_steps, sampler = O.scheduler, cfg_scale = O.guidance, seed = O.seed}}
  if final then return picture("samples", "samples.png", x, opts) end
  local path = picture("samples_step" .. step, string.format("samples_step%06d.png", step), x, opts)
  written.during[#written.during + 1] = path
  return path
end

-- Reverse denoising: the sampler's own trajectory x_T ... x_0 for a few digits, read from its
-- per-step callback (x after each step), as 10 columns spread over the steps.
local function reverse_strip()
  ema:copy_to(model_ema)
  local n = O.sample_steps
  sample_sched:set_timesteps(n)
  n = sample_sched:num_steps()
  local b = #STRIP_CLASSES
  local rng = lundi.rng(O.seed + 2)
  local xT = rng:randn({b, 1, 28, 28}) * sample_sched:init_noise_sigma()
  local keep, cols = {}, {xT}
  for k = 1, 9 do keep[math.floor((n - 1) * k / 9 + 0.5)] = true end
  local labels = {}
  for j, c in ipairs(STRIP_CLASSES) do labels[j] = c end
  pipe:sample{batch = b, shape = {1, 28, 28}, cond = lundi.tensor(labels):to("i32"), init = xT, rng = rng,
    callback = function(i, _, _, x)
      if keep[i] then cols[#cols + 1] = x:clone() end
    end}
  local tiles = {}
  for j = 1, b do
    for _, x in ipairs(cols) do tiles[#tiles + 1] = x:slice(1, j, j) end
  end
  return picture("reverse_denoising", "reverse_denoising.png", lundi.concat(tiles, 1), {nrow = #cols,
    range = {-1, 1}, parameters = {steps = O.sample_steps, sampler = O.scheduler, cfg_scale = O.guidance,
    seed = O.seed + 2}})
end

-- The loss of every step and its running average (bias-corrected EMA over about a 50th of
-- the run, at most 50 steps), on a log axis.
local function smooth(v)
  local beta = 1 - 1 / math.max(1, math.min(50, #v / 50))
  local s, avg = {}, 0
  for i, x in ipairs(v) do
    avg = beta * avg + (1 - beta) * x
    s[i] = avg / (1 - beta ^ i)
  end
  return s
end

local function loss_curve()
  local xs = {}
  for i = 1, #losses do xs[i] = i end
  local path = out("loss.png")
  lundi.plot{series = {{label = "loss", x = xs, y = losses}, {label = "smoothed", x = xs, y = smooth(losses)}},
    path = path, title = "training loss (" .. O.objective .. (O.min_snr_gamma > 0 and ", min-SNR" or "") .. ")",
    log_y = true}
  -- file = path: the file becomes the recorded PNG itself, so `lundi which` finds it
  if run then run:save_image("loss_curve", lundi.load_image(path), {range = {0, 1}, file = path}) end
  written.loss_curve = path
  return path
end

-- ---------------------------------------------------------------------------------------
-- Training

-- min-SNR-gamma: a per-sample weight on the MSE so that easy, low-noise steps do not dominate.
-- With snr = ab / (1 - ab), the weight makes every objective equal to min(snr, gamma) times
-- the x0-error: eps-MSE * min(snr, gamma)/snr, v-MSE * min(snr, gamma)/(snr + 1), x0-MSE *
-- min(snr, gamma).
local function snr_weights(t, b)
  local a = sched:add_noise(lundi.ones(b, 1), lundi.zeros(b, 1), t):totable() -- sqrt(ab)
  local w = {}
  for i = 1, b do
    local ab = a[i] * a[i]
    local snr = ab / (1 - ab)
    local m = math.min(snr, O.min_snr_gamma)
    w[i] = O.objective == "eps" and m / snr or O.objective == "v" and m / (snr + 1) or m
  end
  return lundi.tensor(w)
end

local function train_step(xb, yb, rng)
  local b = xb:shape()[1]
  local noise = rng:randn(xb:shape())
  local t = rng:randint({b}, 0, T)
  local xt = sched:add_noise(xb, noise, t)
  local target = sched:target(xb, noise, t)
  local c = cond:drop(cond:encode(yb), rng) -- 10% null labels: the unconditional model for CFG
  local pred = den:forward(xt, t, c, rng)
  local loss
  if O.min_snr_gamma > 0 then
    local per = ((pred - target) ^ 2):mean({2, 3, 4})
    loss = (per * snr_weights(t, b)):mean()
  else
    loss = lundi.mse_loss(pred, target)
  end
  opt:zero_grad()
  loss:backward()
  local gn = lundi.clip_grad_norm(model, O.clip)
  opt:step()
  ema:update(model)
  return loss:item(), gn
end

local t_start = now()
print(string.format("mnist: %d training digits, unet2d %s (%d parameters), %s objective%s, batch %d, steps %d",
  N, O.preset, model:numel(), O.objective, O.min_snr_gamma > 0 and (", min-SNR gamma " .. O.min_snr_gamma) or "",
  O.batch, O.steps))
forward_strip()

local bar = lundi.progress{total = O.steps, label = "train"}
local step = start
local rng = lundi.rng(O.seed * 1000003 + start)
local avg = nil
while step < O.steps do
  for xb, yb in lundi.data.batches(x_train, y_train, O.batch, rng, {drop_last = N >= O.batch}) do
    step = step + 1
    local lr = lr_at:at(step - 1)
    opt:set_lr(lr)
    local loss, gn = train_step(xb, yb, rng)
    losses[step] = loss
    avg = avg and 0.98 * avg + 0.02 * loss or loss
    if run then run:log{step = step, loss = loss, lr = lr, grad_norm = gn} end
    bar:update(step, {loss = avg, lr = lr})
    if O.ckpt_every > 0 and step % O.ckpt_every == 0 and step < O.steps then save_checkpoint(step) end
    if O.sample_every > 0 and step % O.sample_every == 0 and step < O.steps then sample_grid(step) end
    if step >= O.steps then break end
  end
end
bar:finish()
local t_train = now() - t_start

save_checkpoint(step)
if run then
  run:checkpoint(model_ema, "ema")
  run:checkpoint(model, "model")
end
local t0 = now()
sample_grid(step, true)
reverse_strip()
loss_curve()
local t_sample = now() - t0
if #losses == 0 then losses[1] = 0 / 0 end
local final_loss = smooth(losses)[#losses]

-- ---------------------------------------------------------------------------------------
-- Evaluation (scripts/image/lib/eval.lua): classifier agreement at this guidance scale,
-- Fréchet distance of classifier features, and the variational bound in bits/dim.

local metrics = {}
local t_eval = 0
if O.eval then
  t0 = now()
  ema:copy_to(model_ema)
  local ok, ev = pcall(dofile, here .. "lib/eval.lua")
  local res
  if ok then
    ok, res = pcall(ev.run_all, {denoiser = den_ema, scheduler = sched, conditioner = cond, pipeline = pipe,
                                 run = run, quick = O.quick, step = step})
  else
    res = ev
  end
  if ok and type(res) == "table" then
    metrics = res
  else
    print("note: evaluation skipped: " .. tostring(res))
  end
  t_eval = now() - t0
end

-- ---------------------------------------------------------------------------------------
-- Summary: printed, and stored with the run.

local lines = {
  string.format("steps %d, final loss (smoothed) %.4f", step, final_loss),
  string.format("time: training %.0f s, sampling and pictures %.0f s, evaluation %.0f s, all %.0f s",
                t_train, t_sample, t_eval, now() - t_script),
}
if metrics.agreement then
  lines[#lines + 1] = string.format("classifier agreement at guidance %g: %.1f%%", O.guidance, 100 * metrics.agreement)
end
if metrics.frechet then lines[#lines + 1] = string.format("Frechet distance (classifier features): %.3f", metrics.frechet) end
if metrics.bits_per_dim then
  lines[#lines + 1] = string.format("bits/dim: %.3f +- %.3f", metrics.bits_per_dim, metrics.bits_per_dim_se or 0 / 0)
end
for _, k in ipairs({"samples", "forward_noising", "reverse_denoising", "loss_curve"}) do
  lines[#lines + 1] = string.format("%-18s %s", k, written[k])
end
for _, path in ipairs(written.during) do lines[#lines + 1] = "during training    " .. path end
lines[#lines + 1] = "checkpoint         " .. out("checkpoint") .. " (--resume=" .. out("checkpoint") .. ")"
local summary = table.concat(lines, "\n")
print(summary)
if run then
  run:log{step = step, final_loss = final_loss, train_seconds = t_train}
  run:save_text("summary", summary .. "\n")
end
return {final_loss = final_loss, metrics = metrics, files = written, step = step}
