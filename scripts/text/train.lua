-- Trains a text model: a masked-diffusion language model (LLaDA) or its autoregressive twin,
-- on a generated task, on Debian's fortunes, or on a file of your own.
--
--   lundi run scripts/text/train.lua --data=sudoku4 --model=diffusion --steps=1500
--   lundi run scripts/text/train.lua --data=sudoku4 --model=ar --steps=1500
--   lundi run scripts/text/train.lua --data=fortunes --seq_len=128 --steps=3000
--   lundi run scripts/text/train.lua --data=my_lines.txt --seq_len=64   # prompt<TAB>answer per line
--
-- Tasks (sudoku4, sudoku9, add) train as LLaDA's SFT: the prompt is never masked and the loss
-- counts only the answer (for the AR twin: next-token loss on the answer). fortunes and a
-- file without tabs train as pre-training: every token can be masked. The model goes to
-- out_dir (model.safetensors + model.cfg), which generate.lua, eval.lua and solve.lua read,
-- and its losses, parameters and held-out accuracy go to the run.
local here = debug.getinfo(1, "S").source:match("^@(.*[/\\])") or "./"
local lm = dofile(here .. "lib/lm.lua")

local DEFAULTS = {
  data = {"sudoku4", "sudoku4 | sudoku9 | add | fortunes | a text file (one example per line,\n"
                     .. "prompt<TAB>answer or plain text)"},
  model = {"diffusion", "diffusion (the masked-diffusion model, LLaDA) | ar (its causal twin)"},
  preset = {"small", "model size: tiny (d 64, 2 layers) | small (d 128, 4 layers) | base (d 256, 6 layers)"},
  tokenizer = {"bytes", "bytes | gpt2 | a tokenizer JSON written by `lundi tokenizer train`"},
  steps = {1500, "training steps"},
  batch = {64, "sequences per step"},
  lr = {1e-3, "peak learning rate (linear warm-up, cosine decay to lr/10)", type = "number"},
  warmup = {100, "warm-up steps"},
  train_count = {50000, "tasks: generated training examples"},
  digits = {4, "add: operand digits"},
  blanks = {0, "sudoku: blank cells per puzzle (0: as many as keep the solution unique)"},
  seq_len = {128, "fortunes and files: tokens per sequence (tasks: their own width)"},
  schedule = {"linear", "masking schedule of the diffusion model: linear | cosine"},
  eval_count = {500, "tasks: held-out examples scored at the end (0: none)"},
  seed = {0, "seed of the weights, the batches and the masks"},
  out_dir = {"", "where the model goes (default out/text/DATA-MODEL)"},
  threads = {0, "CPU threads (0: all cores)"},
}
local O = lundi.options(DEFAULTS, params, "Train a masked-diffusion language model or its autoregressive twin.")
lm.check_kind(O.model)
if O.threads > 0 then lundi.set_threads(O.threads) end
local run = lundi.current_run()
if run then for k, v in pairs(O) do run:param(k, v) end end

local tok = lm.tokenizer(O.tokenizer)
local data = lm.load_data(O, tok)
local out_dir = O.out_dir ~= "" and O.out_dir or string.format("out/text/%s-%s", data.name, O.model)

local cfg = lm.model_config(O.model, O.preset, tok, data.seq_len, O.seed)
local den = lundi.denoiser("transformer", cfg)
local sched = lm.scheduler(tok, data.sft and "answer" or "tokens", O.schedule)
print(string.format("%s: %d sequences of %d tokens, %s transformer (%s, %d parameters), %d steps of %d",
  data.name, data.tokens:dim(1), data.seq_len, O.model, O.preset, den:module():numel(), O.steps, O.batch))

local t0 = lundi.metrics.now()
local losses = lm.train{kind = O.model, den = den, sched = sched, tokens = data.tokens, plen = data.plen,
  steps = O.steps, batch = O.batch, lr = O.lr, warmup = O.warmup, seed = O.seed, sft = data.sft, run = run,
  prefix = "", label = O.model}
local t_train = lundi.metrics.now() - t0
lm.save_model(out_dir, den, {kind = O.model, model = cfg, tokenizer = O.tokenizer, data = data.name,
  seq_len = data.seq_len, digits = O.digits, blanks = O.blanks, schedule = O.schedule, normalize = data.sft and "answer" or "tokens"})
if run then run:checkpoint(den, "model") end

local lines = {string.format("trained %d steps in %.0f s; final loss %.4f", O.steps, t_train, losses[#losses])}
if data.task and O.eval_count > 0 then
  local pipe = lm.pipeline(O.model, den, sched, {steps = data.answer_len + 1})
  local acc = lm.accuracy(pipe, O.model, tok, data.task, O.eval_count, lm.TEST_SEED, data.answer_len + 1, 100, O.seed)
  lines[#lines + 1] = string.format("exact match on %d held-out %s: %.1f%%", O.eval_count, data.name, 100 * acc)
  if run then run:log{step = O.steps, accuracy = acc} end
end
lines[#lines + 1] = "model: " .. out_dir
local summary = table.concat(lines, "\n")
print(summary)
if run then
  run:log{step = O.steps, train_seconds = t_train}
  run:save_text("summary", summary .. "\n")
end
