-- Evaluates a trained MNIST model (scripts/image/mnist.lua) from its checkpoint: classifier
-- agreement, Fréchet distance of classifier features and the variational bound in bits/dim,
-- exactly as mnist.lua does at the end of training (scripts/image/lib/eval.lua says what
-- each number means).
--
--   lundi run scripts/image/eval.lua --checkpoint=out/mnist/checkpoint      # its ema.safetensors
--   lundi run scripts/image/eval.lua --checkpoint=my.safetensors --preset=mnist-tiny --objective=eps
--   lundi run scripts/image/eval.lua --run=12                # the run's "ema" checkpoint and settings
--   lundi run scripts/image/eval.lua --run=12 --run_db=other.db --guidance=5 --quick=true
--
-- Parameters (--key=value): DEFAULTS below; `lundi run scripts/image/eval.lua --help` lists them.
-- With a run store (not --no-record), the numbers are logged as eval/* metrics and a 10x10
-- grid of the evaluation samples (one row per class) is saved as "eval_samples".

local P = params or {}
local here = debug.getinfo(1, "S").source:match("^@(.*[/\\])") or "./"
local eval = dofile(here .. "lib/eval.lua")

local DEFAULTS = {
  checkpoint = {"", "a .safetensors file of the denoiser's weights, or a checkpoint directory\n"
                    .. "(its ema.safetensors, else model.safetensors)"},
  run = {"", "instead: a recorded run (id or any reference `lundi show` takes) whose \"ema\" (else\n"
             .. "\"model\") checkpoint output is evaluated; its recorded parameters (preset, objective,\n"
             .. "beta_schedule, scheduler, sample_steps, guidance, ...) become the defaults here"},
  run_db = {"", "the store of --run (default $LUNDI_DB, else ./lundi.db)"},
  preset = {"mnist-tiny", "the unet2d the weights belong to (with base_channels, channel_mult, layers_per_block)"},
  base_channels = -1, channel_mult = "", layers_per_block = -1,
  objective = {"eps", "eps | v | x0 (the prediction type it was trained with)"},
  beta_schedule = {"linear", "the training schedule (the bound uses it; so does sampling)"},
  scheduler = {"ddim", "the scheduler plugin that draws the evaluation samples (with sample_steps, guidance)"},
  sample_steps = 50, guidance = {3, "classifier-free guidance scale", type = "number"},
  per_class = {-1, "evaluation sizes (lib/eval.lua; -1: its defaults), with bpd_images, t_per_image, seed"},
  bpd_images = -1, t_per_image = -1, seed = -1,
  quick = {false, "small evaluation (tests)"},
  threads = {0, "CPU threads (0: all cores)"},
}
-- The settings that a training run records and that this script reads back with --run.
local FROM_RUN = {"preset", "base_channels", "channel_mult", "layers_per_block", "objective", "beta_schedule",
                  "scheduler", "sample_steps", "guidance"}

-- Values keep their default's type (a string option given as a number is taken as its text);
-- a misspelt option is refused.
if P.sampler ~= nil then
  error("eval.lua: --sampler is now --scheduler (lundi's scheduler plugins are what ComfyUI calls samplers)", 0)
end
local O = lundi.options(DEFAULTS, P, "Evaluates a trained MNIST model from its checkpoint or its recorded run.")

-- Where the weights come from, and the defaults they bring: the command line over the run's
-- settings over DEFAULTS.
local weights, source
if P.run and P.run ~= "" then
  if P.checkpoint and P.checkpoint ~= "" then error("eval.lua: give --checkpoint or --run, not both", 0) end
  local db = (P.run_db and P.run_db ~= "") and P.run_db or os.getenv("LUNDI_DB") or "lundi.db"
  local rec = lundi.history.run(P.run, db)
  for _, k in ipairs(FROM_RUN) do
    -- runs recorded before the rename call the scheduler "sampler"
    local v = rec.params[k]
    if v == nil and k == "scheduler" then v = rec.params.sampler end
    if P[k] == nil and v ~= nil then O[k] = v end
  end
  local pick
  for _, want in ipairs({"ema", "model"}) do
    for _, o in ipairs(rec.outputs) do
      if not pick and o.kind == "checkpoint" and o.name == want then pick = o end
    end
  end
  if not pick then error(string.format("eval.lua: run %s has no 'ema' or 'model' checkpoint output", tostring(P.run)), 0) end
  if not pick.path then
    error(string.format("eval.lua: checkpoint '%s' of run %s is stored inline; write it out with `lundi export %s DIR` "
                        .. "and use --checkpoint=DIR/<file>", pick.name, tostring(P.run), tostring(P.run)), 0)
  end
  local dbdir = db:match("^(.*)/[^/]*$") or "."
  weights = pick.path:sub(1, 1) == "/" and pick.path or (dbdir .. "/" .. pick.path)
  source = string.format("run %s (%s), checkpoint '%s'", tostring(rec.id or P.run), rec.name or "", pick.name)
elseif P.checkpoint and P.checkpoint ~= "" then
  local c = tostring(P.checkpoint)
  if c:match("%.safetensors$") then
    weights = c
  else
    for _, f in ipairs({"/ema.safetensors", "/model.safetensors"}) do
      local h = io.open(c .. f, "rb")
      if h and not weights then weights = c .. f end
      if h then h:close() end
    end
    if not weights then error("eval.lua: " .. c .. " holds neither ema.safetensors nor model.safetensors", 0) end
  end
  source = weights
else
  error("eval.lua: say which model: --checkpoint=FILE.safetensors|DIR or --run=ID", 0)
end

if O.threads > 0 then lundi.set_threads(O.threads) end
local PRED = {eps = "epsilon", v = "v_prediction", x0 = "sample"}
if not PRED[O.objective] then error("eval.lua: --objective must be eps, v or x0, got " .. O.objective, 0) end

-- The parts, built like mnist.lua builds them.
local sched_cfg = {beta_schedule = O.beta_schedule, prediction_type = PRED[O.objective]}
local sched = lundi.scheduler("ddpm", sched_cfg)
local den = lundi.denoiser("unet2d", {preset = O.preset, base_channels = O.base_channels, channel_mult = O.channel_mult,
                                      layers_per_block = O.layers_per_block})
local ok, err = pcall(function() den:module():load(weights) end)
if not ok then
  error(string.format("eval.lua: %s does not fit unet2d preset=%s base_channels=%d channel_mult='%s' "
                      .. "layers_per_block=%d (give the settings it was trained with):\n  %s",
                      weights, O.preset, O.base_channels, O.channel_mult, O.layers_per_block, tostring(err)), 0)
end
local cond = lundi.conditioner("class", {num_classes = 10})
local pipe = lundi.pipeline{scheduler = lundi.scheduler(O.scheduler, sched_cfg), denoiser = den, conditioner = cond,
  sampler = lundi.sampler("image", {num_inference_steps = O.sample_steps, guidance_scale = O.guidance})}

print("evaluating " .. source)
local run = lundi.current_run()
local opts = {denoiser = den, scheduler = sched, conditioner = cond, pipeline = pipe, run = run, quick = O.quick}
for _, k in ipairs({"per_class", "bpd_images", "t_per_image", "seed"}) do
  if O[k] >= 0 then opts[k] = O[k] end
end
local r = eval.run_all(opts)

if run then
  run:tag("eval/checkpoint", source)
  -- the first 10 samples of each class, one row per class
  local per = r.n_samples // 10
  local rows = {}
  for c = 0, 9 do rows[#rows + 1] = r.samples:slice(1, c * per + 1, c * per + math.min(per, 10)) end
  run:save_image("eval_samples", lundi.concat(rows, 1), {range = {-1, 1}, nrow = math.min(per, 10),
    parameters = {steps = r.steps, sampler = r.sampler_scheduler, cfg_scale = r.guidance}})
end
print(string.format("agreement %.1f%% (%d samples, guidance %g, %d %s steps; classifier test accuracy %.2f%%)",
                    100 * r.agreement, r.n_samples, r.guidance, r.steps, r.sampler_scheduler,
                    100 * r.classifier_accuracy))
print(string.format("Frechet distance %.3f on classifier features (held-out digits against each other: %.3f)",
                    r.frechet, r.frechet_real))
print(string.format("bits/dim %.4f +- %.4f (%d test digits)", r.bits_per_dim, r.bits_per_dim_se, r.bits_per_dim_images))
return {agreement = r.agreement, frechet = r.frechet, bits_per_dim = r.bits_per_dim, bits_per_dim_se = r.bits_per_dim_se}
