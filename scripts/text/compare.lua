-- The longer comparison: masked diffusion (LLaDA) against its autoregressive twin on 9x9
-- sudoku and on multi-digit addition, the harder tasks of "Beyond Autoregression" (Ye et al.
-- 2024), at a budget stated up front and printed with the results.
--
--   lundi run scripts/text/compare.lua                       # both tasks, the default budget
--   lundi run scripts/text/compare.lua --tasks=sudoku9 --steps=8000 --preset=base
--
-- Each task trains both twins (same transformer, same parameter count, same steps and batch)
-- as SFT on generated examples, then scores exact match on held-out ones: the diffusion model
-- unmasks one answer token per step, most confident first; the AR model writes them in order
-- (greedy). The paper reports 100% for a 6M-parameter masked-diffusion model against 20.7% for
-- AR on sudoku; the defaults here are far smaller (about 0.9M parameters, minutes of training
-- on two cores), so read the figures as the gap at this budget, not as the paper's numbers.
-- The models go to out_dir/TASK-KIND, for solve.lua.
local here = debug.getinfo(1, "S").source:match("^@(.*[/\\])") or "./"
local lm = dofile(here .. "lib/lm.lua")

local DEFAULTS = {
  tasks = {"sudoku9,add", "comma-separated: sudoku4 | sudoku9 | add"},
  preset = {"small", "model size for both twins: tiny | small | base"},
  steps = {3000, "training steps per model and task"},
  batch = {64, "sequences per step"},
  lr = {1e-3, "peak learning rate", type = "number"},
  digits = {4, "add: operand digits"},
  blanks = {0, "sudoku: blank cells per puzzle (0: as many as keep the solution unique, ~57 of 81)"},
  train_count = {100000, "generated training examples per task"},
  eval_count = {500, "held-out examples scored per task"},
  seed = {0, "seed of weights, batches, masks and samples"},
  out_dir = {"out/text/compare", "where the models and the loss plot go"},
}
local O = lundi.options(DEFAULTS, params, "Masked diffusion against autoregression on 9x9 sudoku and addition.")
local run = lundi.current_run()
if run then for k, v in pairs(O) do run:param(k, v) end end
os.execute(string.format("mkdir -p '%s'", O.out_dir))
local now = lundi.metrics.now
local t_script = now()
local tok = lm.tokenizer("bytes")

local tasks = {}
for name in O.tasks:gmatch("[^,%s]+") do
  if name ~= "sudoku4" and name ~= "sudoku9" and name ~= "add" then
    error("compare.lua: --tasks: unknown task '" .. name .. "' (sudoku4 | sudoku9 | add)", 0)
  end
  tasks[#tasks + 1] = name
end
if #tasks == 0 then error("compare.lua: --tasks names no task (sudoku4 | sudoku9 | add)", 0) end
print(string.format("budget: %d steps of %d sequences per model and task, %s preset, %d training examples per task",
  O.steps, O.batch, O.preset, O.train_count))

local rows, curves = {}, {}
for _, name in ipairs(tasks) do
  local data = lm.load_data({data = name, train_count = O.train_count, digits = O.digits, blanks = O.blanks}, tok)
  print(string.format("%s: %d training examples of %d tokens", name, data.tokens:dim(1), data.seq_len))
  local models, stats, c = lm.train_twins{data = data, steps = O.steps, preset = O.preset, batch = O.batch,
    lr = O.lr, seed = O.seed, run = run, tag = name, out_dir = O.out_dir, tok = tok, digits = O.digits,
    blanks = O.blanks}
  for _, v in ipairs(c) do curves[#curves + 1] = v end
  local gen_len = data.seq_len - (#tok:encode(data.task:generate(0)):totable())
  local row = {task = name, seq_len = data.seq_len}
  for _, kind in ipairs(lm.KINDS) do
    local pipe = lm.pipeline(kind, models[kind].den, models[kind].sched, {steps = gen_len})
    local t0 = now()
    local acc = lm.accuracy(pipe, kind, tok, data.task, O.eval_count, lm.TEST_SEED, gen_len, 100, O.seed)
    row[kind] = {accuracy = acc, params = stats[kind].params, train_seconds = stats[kind].train_seconds,
                 solve_seconds = now() - t0}
    if run then run:log{step = 0, [name .. "_" .. kind .. "_accuracy"] = acc} end
  end
  rows[#rows + 1] = row
  print(string.format("%s exact match: diffusion %.1f%%, ar %.1f%%", name, 100 * row.diffusion.accuracy,
    100 * row.ar.accuracy))
end

local series = {}
for _, c in ipairs(curves) do
  local xs = {}
  for i = 1, #c.losses do xs[i] = i end
  series[#series + 1] = {label = c.label, x = xs, y = c.losses}
end
local plot = O.out_dir .. "/losses.png"
lundi.plot{series = series, path = plot, title = "training loss", log_y = true}
if run then run:save_image("losses", lundi.load_image(plot), {range = {0, 1}, file = plot}) end

local lines = {string.format("%-24s %18s %18s", "", "masked diffusion", "autoregressive")}
for _, r in ipairs(rows) do
  lines[#lines + 1] = string.format("%-24s %17.1f%% %17.1f%%", string.format("%s exact match (%d)", r.task,
    O.eval_count), 100 * r.diffusion.accuracy, 100 * r.ar.accuracy)
  lines[#lines + 1] = string.format("%-24s %17.0fs %17.0fs", "  training", r.diffusion.train_seconds,
    r.ar.train_seconds)
  lines[#lines + 1] = string.format("%-24s %17.0fs %17.0fs", "  solving", r.diffusion.solve_seconds,
    r.ar.solve_seconds)
end
lines[#lines + 1] = string.format("%-24s %18d %18d", "parameters", rows[1].diffusion.params, rows[1].ar.params)
lines[#lines + 1] = ""
lines[#lines + 1] = string.format("budget: %d steps of %d sequences per model and task (%s); all in %.0f s",
  O.steps, O.batch, O.preset, now() - t_script)
lines[#lines + 1] = "losses: " .. plot
local summary = table.concat(lines, "\n")
print(summary)
if run then
  run:log{step = 0, compare_seconds = now() - t_script}
  run:save_text("table", summary .. "\n")
end
