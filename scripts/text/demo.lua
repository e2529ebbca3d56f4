-- The text pipeline's demo: a masked-diffusion language model (LLaDA) and its autoregressive
-- twin, the same transformer with the same parameter count and training budget, trained on
-- 4x4 sudoku and on Debian's fortunes, then scored side by side.
--
--   lundi run scripts/text/demo.lua
--
-- It prints one table: exact-match accuracy on held-out puzzles (the diffusion model unmasks
-- the easiest cells first, one per step; the AR twin must write the cells in reading order),
-- and bits per byte on the fortunes test split (the diffusion model's Monte-Carlo ELBO, an
-- upper bound, against the AR model's exact NLL on the same tokens). Pictures: the order in
-- which the diffusion model filled test puzzles (sudoku_order.png), a fortunes sample with
-- its unmasking order (fortunes_order.html) and the loss curves (losses.png). Everything goes
-- to the run and to out_dir; the models to out_dir/<data>-<model>, for generate.lua,
-- eval.lua and solve.lua.
local here = debug.getinfo(1, "S").source:match("^@(.*[/\\])") or "./"
local lm = dofile(here .. "lib/lm.lua")

local DEFAULTS = {
  preset = {"small", "model size for both twins: tiny | small | base"},
  sudoku_steps = {1500, "training steps on sudoku4, each model"},
  fortunes_steps = {400, "training steps on fortunes, each model"},
  batch = {64, "sequences per step"},
  lr = {1e-3, "peak learning rate", type = "number"},
  train_count = {50000, "generated training puzzles"},
  eval_count = {500, "held-out puzzles scored"},
  seq_len = {64, "fortunes: tokens per window"},
  bpb_windows = {64, "fortunes test windows scored for bits per byte"},
  n_mc = {32, "Monte-Carlo draws of the diffusion model's ELBO per window"},
  seed = {0, "seed of weights, batches, masks and samples"},
  out_dir = {"out/text/demo", "where the models and pictures go"},
  fortunes = {true, "also train on fortunes and report bits per byte (needs the fortunes package)"},
}
local O = lundi.options(DEFAULTS, params, "Masked diffusion against autoregression on sudoku and fortunes.")
local run = lundi.current_run()
if run then for k, v in pairs(O) do run:param(k, v) end end
os.execute(string.format("mkdir -p '%s'", O.out_dir))
local now = lundi.metrics.now
local t_script = now()
local tok = lm.tokenizer("bytes")
local KINDS = lm.KINDS
local results = {diffusion = {}, ar = {}}
local curves = {}

local function train_pair(data, steps, tag)
  local models, stats, c = lm.train_twins{data = data, steps = steps, preset = O.preset, batch = O.batch, lr = O.lr,
    seed = O.seed, run = run, tag = tag, out_dir = O.out_dir, tok = tok, digits = 4}
  for _, kind in ipairs(KINDS) do
    results[kind][tag .. "_train_seconds"] = stats[kind].train_seconds
    results[kind].params = stats[kind].params
  end
  for _, v in ipairs(c) do curves[#curves + 1] = v end
  return models
end

-- ---- sudoku4 ----
local sudoku = lm.load_data({data = "sudoku4", train_count = O.train_count, digits = 4}, tok)
print(string.format("sudoku4: %d training puzzles of %d tokens; %s transformer for both twins",
  sudoku.tokens:dim(1), sudoku.seq_len, O.preset))
local sm = train_pair(sudoku, O.sudoku_steps, "sudoku")
local gen_len = sudoku.seq_len - sudoku.prompt_len
for _, kind in ipairs(KINDS) do
  local pipe = lm.pipeline(kind, sm[kind].den, sm[kind].sched, {steps = gen_len})
  local t0 = now()
  results[kind].accuracy = lm.accuracy(pipe, kind, tok, sudoku.task, O.eval_count, lm.TEST_SEED, gen_len, 100, O.seed)
  results[kind].solve_seconds = now() - t0
end

-- The order in which the diffusion model filled 16 test puzzles: one grid each.
do
  local prompts, rows, starts = {}, {}, {}
  local mask = tok:special("mask")
  for i = 1, 16 do
    prompts[i] = sudoku.task:generate(lm.TEST_SEED + i - 1)
    rows[i] = tok:encode(prompts[i]):totable()
    starts[i] = {}
    for j = 1, sudoku.seq_len do starts[i][j] = rows[i][j] or mask end
  end
  local pipe = lm.pipeline("diffusion", sm.diffusion.den, sm.diffusion.sched, {steps = gen_len})
  local _, order = lm.sample_traced(pipe, {batch = 16, shape = {sudoku.seq_len}, cond = lundi.tensor(rows, "i32"),
    seed = O.seed, start = lundi.tensor(starts, "i32")}, mask)
  -- givens of the puzzle: the answer's cell k is given when the prompt's digit k is not 0
  for i = 1, 16 do
    for k = 1, 16 do
      if prompts[i]:sub(k, k) ~= "0" then order[i][sudoku.prompt_len + k] = 0 end
    end
  end
  local img = lm.order_grids(order, sudoku.prompt_len, 4, gen_len, 12)
  local path = O.out_dir .. "/sudoku_order.png"
  if run then run:save_image("sudoku_order", img, {nrow = 8, range = {0, 1}, file = path})
  else lundi.save_image(path, img, {nrow = 8, range = {0, 1}}) end
  results.order_png = path
end

-- ---- fortunes ----
local have_fortunes = O.fortunes and pcall(lundi.text.fortunes_text, {split = "test"})
if O.fortunes and not have_fortunes then
  print("note: fortunes skipped: install Debian's fortunes package (apt-get install fortunes)")
end
if have_fortunes then
  local fort = lm.load_data({data = "fortunes", seq_len = O.seq_len}, tok)
  print(string.format("fortunes: %d training windows of %d tokens", fort.tokens:dim(1), fort.seq_len))
  local fm = train_pair(fort, O.fortunes_steps, "fortunes")
  local test_tokens, test_plen = lundi.text.fortunes{tokenizer = tok, split = "test", seq_len = O.seq_len}
  local n = math.min(O.bpb_windows, test_tokens:dim(1))
  test_tokens, test_plen = test_tokens:slice(1, 1, n):contiguous(), test_plen:slice(1, 1, n):contiguous()
  for _, kind in ipairs(KINDS) do
    local t0 = now()
    results[kind].bpb, results[kind].bpb_se = lm.bits_per_byte(kind, fm[kind].den, fm[kind].sched, tok, test_tokens,
      test_plen, O.n_mc, O.seed)
    results[kind].bpb_seconds = now() - t0
  end
  -- A fortune from the diffusion model, coloured by unmasking order.
  local mask = tok:special("mask")
  local bos = tok:special("bos")
  local start = {bos}
  for j = 2, fort.seq_len do start[j] = mask end
  local pipe = lm.pipeline("diffusion", fm.diffusion.den, fm.diffusion.sched,
    {steps = fort.seq_len - 1, block_length = 0, temperature = 0.8})
  local x, order = lm.sample_traced(pipe, {batch = 1, shape = {fort.seq_len}, cond = lundi.tensor({{bos}}, "i32"),
    seed = O.seed, start = lundi.tensor({start}, "i32")}, mask)
  results.fortune_html = lm.order_html(O.out_dir .. "/fortunes_order.html", "A fortune unmasked by the diffusion model",
    tok, x:tolist(), order, fort.seq_len - 1)
  results.fortune = lm.decode_until_special(tok, x:tolist()[1], 2, fort.seq_len)
  if run then
    run:save_text("fortune_sample", results.fortune .. "\n")
    local f = assert(io.open(results.fortune_html, "r"))
    run:save_text("fortunes_order.html", f:read("a"))
    f:close()
  end
end

-- ---- loss curves ----
do
  local series = {}
  for _, c in ipairs(curves) do
    local xs = {}
    for i = 1, #c.losses do xs[i] = i end
    series[#series + 1] = {label = c.label, x = xs, y = c.losses}
  end
  local path = O.out_dir .. "/losses.png"
  lundi.plot{series = series, path = path, title = "training loss (diffusion: CE / p_mask; ar: CE)",
    log_y = true}
  if run then run:save_image("losses", lundi.load_image(path), {range = {0, 1}, file = path}) end
  results.losses_png = path
end

-- ---- the table ----
local function pct(v) return v and string.format("%.1f%%", 100 * v) or "-" end
local function bpb(r)
  if not r.bpb then return "-" end
  return string.format("%.3f", r.bpb) .. (r.bpb_se and r.bpb_se > 0 and string.format(" +- %.3f", r.bpb_se) or "")
end
local lines = {
  string.format("%-30s %20s %20s", "", "masked diffusion", "autoregressive"),
  string.format("%-30s %20d %20d", "parameters", results.diffusion.params, results.ar.params),
  string.format("%-30s %20s %20s", string.format("sudoku4 exact match (%d)", O.eval_count),
    pct(results.diffusion.accuracy), pct(results.ar.accuracy)),
  string.format("%-30s %20s %20s", "fortunes bits/byte (test)", bpb(results.diffusion) .. " (ELBO)",
    bpb(results.ar) .. " (NLL)"),
  string.format("%-30s %19.0fs %19.0fs", "sudoku training", results.diffusion.sudoku_train_seconds,
    results.ar.sudoku_train_seconds),
}
if have_fortunes then
  lines[#lines + 1] = string.format("%-30s %19.0fs %19.0fs", "fortunes training", results.diffusion.fortunes_train_seconds,
    results.ar.fortunes_train_seconds)
end
lines[#lines + 1] = ""
lines[#lines + 1] = string.format("budget: %d sudoku and %d fortunes steps of %d sequences per model; all in %.0f s",
  O.sudoku_steps, have_fortunes and O.fortunes_steps or 0, O.batch, now() - t_script)
lines[#lines + 1] = "sudoku order:  " .. results.order_png
if results.fortune_html then lines[#lines + 1] = "fortune order: " .. results.fortune_html end
lines[#lines + 1] = "losses:        " .. results.losses_png
if results.fortune then lines[#lines + 1] = "a fortune (diffusion, temperature 0.8): " .. results.fortune:gsub("\n", " / ") end
local summary = table.concat(lines, "\n")
print(summary)
if run then
  for _, kind in ipairs(KINDS) do
    local r = results[kind]
    run:log{step = 0, [kind .. "_sudoku4_accuracy"] = r.accuracy, [kind .. "_fortunes_bpb"] = r.bpb,
      [kind .. "_fortunes_bpb_se"] = r.bpb_se}
  end
  run:log{step = 0, demo_seconds = now() - t_script}
  run:save_text("table", summary .. "\n")
end
return results
