-- Solves puzzles with a trained text model: one puzzle per line in, one answer per line out.
--
--   lundi run scripts/text/solve.lua --task=sudoku4 --input=puzzles.txt --output=answers.txt
--   lundi run scripts/text/solve.lua --task=add --input=sums.txt --output=- --model_dir=out/text/add-ar
--
-- A sudoku line is the row-major digits with 0 for a blank (16 or 81 of them); an addition
-- line is 123+4567. An answer line is the solved grid's digits, or the sum (leading zeros
-- dropped); a line that could not be read gets "error: <why>" and the others go on. The
-- model is out/text/TASK-diffusion unless --model_dir says otherwise (train it with
-- scripts/text/train.lua --data=TASK). With --check, each answer is also checked against
-- the task's solver and the accuracy printed. The answers go to the run as a text output.
local here = debug.getinfo(1, "S").source:match("^@(.*[/\\])") or "./"
local lm = dofile(here .. "lib/lm.lua")

local DEFAULTS = {
  task = {"sudoku4", "sudoku4 | sudoku9 | add"},
  input = {"", "the puzzles, one per line (- for standard input)"},
  output = {"-", "where the answers go, one per line (- for standard output)"},
  model_dir = {"", "a model saved by train.lua (default out/text/TASK-diffusion)"},
  steps = {0, "diffusion: unmasking steps (0: one per answer token)"},
  remasking = {"low_confidence", "diffusion: low_confidence | random"},
  batch = {100, "puzzles per forward pass"},
  check = {false, "check every answer with the task's solver and print the accuracy"},
  seed = {0, "seed of the sampler"},
}
local O = lundi.options(DEFAULTS, params, "Solve puzzles, one per line, with a trained text model.")
if O.input == "" then error("solve.lua: --input=FILE is required (one puzzle per line; - for standard input)", 0) end
local run = lundi.current_run()
if run then for k, v in pairs(O) do run:param(k, v) end end

local dir = O.model_dir ~= "" and O.model_dir or ("out/text/" .. O.task .. "-diffusion")
local den, info, tok = lm.load_model(dir)
if info.data ~= O.task then
  error(string.format("solve.lua: %s was trained on %s, not %s", dir, tostring(info.data), O.task), 0)
end
local task = lundi.text.task(O.task, {digits = info.digits, blanks = info.blanks})
local _, alen = task:widths()

-- Read and normalise every line first, so a bad line is reported and the rest go on.
local lines = {}
local fin = O.input == "-" and io.stdin or assert(io.open(O.input, "r"))
for line in fin:lines() do lines[#lines + 1] = line:gsub("\r$", "") end
if fin ~= io.stdin then fin:close() end

local prompts, where, errors = {}, {}, {}
for i, line in ipairs(lines) do
  local ok, p = pcall(task.prompt, task, line)
  if ok then
    prompts[#prompts + 1] = p
    where[#prompts] = i
  else
    errors[i] = tostring(p):gsub("^.-: ", "", 1)
  end
end

local sched = lm.scheduler(tok, info.normalize, info.schedule)
local gen_len = info.seq_len - #tok:encode(prompts[1] or task:generate(0)):totable()
local pipe = lm.pipeline(info.kind, den, sched, {steps = O.steps > 0 and O.steps or gen_len, remasking = O.remasking})
local t0 = lundi.metrics.now()
local answers = #prompts > 0 and lm.answer(pipe, info.kind, tok, prompts, alen, gen_len, O.batch, O.seed) or {}
local seconds = lundi.metrics.now() - t0

local out, right = {}, 0
for k, p in ipairs(prompts) do
  local a = answers[k]
  if O.check and task:check(p, a) then right = right + 1 end
  if O.task == "add" then a = a:gsub("^0+(%d)", "%1") end
  out[where[k]] = a
end
for i, e in pairs(errors) do out[i] = "error: " .. e end
local text = table.concat(out, "\n") .. (#out > 0 and "\n" or "")
if O.output == "-" then
  io.write(text)
else
  local f = assert(io.open(O.output, "w"))
  f:write(text)
  f:close()
end
local n_err = 0
for _ in pairs(errors) do n_err = n_err + 1 end
local msg = string.format("solve: %d puzzles with %s (%s) in %.1f s%s", #prompts, dir, info.kind, seconds,
  n_err > 0 and string.format("; %d line%s could not be read", n_err, n_err == 1 and "" or "s") or "")
if O.check then msg = msg .. string.format("; %d of %d right (%.1f%%)", right, #prompts, 100 * right / math.max(1, #prompts)) end
io.stderr:write(msg, "\n")
if run then
  run:save_text("answers", text)
  run:log{step = 0, puzzles = #prompts, unreadable = n_err, seconds = seconds}
  if O.check then run:log{step = 0, accuracy = right / math.max(1, #prompts)} end
end
