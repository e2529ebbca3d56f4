-- Scores a saved text model: exact-match accuracy on held-out puzzles for a task model, bits
-- per byte on the fortunes test split (or a file) for a language model. The diffusion model's
-- bits come from its Monte-Carlo ELBO (an upper bound on its NLL, with a standard error), the
-- AR model's from its exact NLL, over the same tokens.
--
--   lundi run scripts/text/eval.lua --model_dir=out/text/sudoku4-diffusion
--   lundi run scripts/text/eval.lua --model_dir=out/text/fortunes-ar --windows=256
--   lundi run scripts/text/eval.lua --model_dir=out/text/sudoku4-diffusion --remasking=random
local here = debug.getinfo(1, "S").source:match("^@(.*[/\\])") or "./"
local lm = dofile(here .. "lib/lm.lua")

local DEFAULTS = {
  model_dir = {"out/text/sudoku4-diffusion", "a model saved by train.lua (or demo.lua)"},
  count = {500, "tasks: held-out examples"},
  steps = {0, "tasks, diffusion: unmasking steps (0: one per answer token)"},
  remasking = {"low_confidence", "tasks, diffusion: low_confidence | random"},
  data = {"", "language models: a text file to score instead of the fortunes test split"},
  windows = {128, "language models: windows scored"},
  n_mc = {64, "diffusion: Monte-Carlo draws per window"},
  seed = {0, "seed of samples and draws"},
}
local O = lundi.options(DEFAULTS, params, "Score a saved text model: task accuracy or bits per byte.")
local run = lundi.current_run()
if run then for k, v in pairs(O) do run:param(k, v) end end
local den, info, tok = lm.load_model(O.model_dir)
local sched = lm.scheduler(tok, info.normalize, info.schedule)
local t0 = lundi.metrics.now()
local report
if info.data == "sudoku4" or info.data == "sudoku9" or info.data == "add" then
  local task = lundi.text.task(info.data, {digits = info.digits, blanks = info.blanks})
  local pl = #tok:encode(task:generate(0)):totable()
  local gen = info.seq_len - pl
  local pipe = lm.pipeline(info.kind, den, sched, {steps = O.steps > 0 and O.steps or gen, remasking = O.remasking})
  local acc = lm.accuracy(pipe, info.kind, tok, task, O.count, lm.TEST_SEED, gen, 100, O.seed)
  report = string.format("%s (%s): exact match %.1f%% on %d held-out %s", O.model_dir, info.kind, 100 * acc, O.count, info.data)
  if run then run:log{step = 0, accuracy = acc} end
else
  local tokens, plen
  if O.data ~= "" then
    tokens, plen = lundi.text.lines{tokenizer = tok, path = O.data, seq_len = info.seq_len}
  else
    tokens, plen = lundi.text.fortunes{tokenizer = tok, split = "test", seq_len = info.seq_len}
  end
  local n = math.min(O.windows, tokens:dim(1))
  tokens, plen = tokens:slice(1, 1, n):contiguous(), plen:slice(1, 1, n):contiguous()
  local bpb, se = lm.bits_per_byte(info.kind, den, sched, tok, tokens, plen, O.n_mc, O.seed)
  report = string.format("%s (%s): %.4f bits/byte%s on %d windows of %s", O.model_dir, info.kind, bpb,
    info.kind == "diffusion" and string.format(" +- %.4f (ELBO, %d draws)", se, O.n_mc) or " (exact NLL)", n,
    O.data ~= "" and O.data or "the fortunes test split")
  if run then run:log{step = 0, bits_per_byte = bpb, bits_per_byte_se = se} end
end
local seconds = lundi.metrics.now() - t0
print(report .. string.format(" (%.1f s)", seconds))
if run then run:save_text("report", report .. "\n") end
