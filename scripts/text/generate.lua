-- Generates text with a trained model and shows it developing: the masked-diffusion model
-- unmasks its whole answer over a few steps (LLaDA), the AR twin writes left to right.
--
--   lundi run scripts/text/generate.lua --model_dir=out/text/fortunes-diffusion --prompt="The "
--   lundi run scripts/text/generate.lua --model_dir=out/text/sudoku4-diffusion --prompt=1020030040000210=
--   lundi run scripts/text/generate.lua --model_dir=... --gen_length=64 --steps=32 --block_length=16
--
-- On a terminal, the text is redrawn after each step with masks shown as _; elsewhere only
-- the result is printed. The order in which tokens were unmasked is written as an HTML page
-- (--html, default out_dir/unmask_order.html: each token coloured by its step) and, with
-- the samples, recorded in the run.
local here = debug.getinfo(1, "S").source:match("^@(.*[/\\])") or "./"
local lm = dofile(here .. "lib/lm.lua")

local DEFAULTS = {
  model_dir = {"out/text/fortunes-diffusion", "a model saved by train.lua"},
  prompt = {"", "the text to continue (for a task model: the task's prompt, e.g. 1020030040000210=)"},
  gen_length = {0, "tokens to generate (0: the rest of the model's sequence length)"},
  steps = {0, "diffusion: unmasking steps (0: gen_length, one token per step)"},
  block_length = {0, "diffusion: semi-autoregressive block length (0: one block)"},
  remasking = {"low_confidence", "diffusion: low_confidence | random"},
  temperature = {0, "0: the most likely token; > 0: sampled (Gumbel-max for diffusion)", type = "number"},
  cfg_scale = {0, "diffusion: classifier-free guidance on the prompt (0: off)", type = "number"},
  top_k = {0, "ar: sample among the k most likely (0: all)"},
  top_p = {1, "ar: nucleus sampling mass (1: off)", type = "number"},
  samples = {1, "how many to generate (shown: the first)"},
  seed = {0, "seed of the sampler"},
  html = {"", "where the unmasking-order page goes (default MODEL_DIR/unmask_order.html)"},
  delay = {0, "seconds to pause after each redrawn step, to watch it (terminal only)", type = "number"},
}
local O = lundi.options(DEFAULTS, params, "Generate text with a trained model and watch it develop.")
local run = lundi.current_run()
if run then for k, v in pairs(O) do run:param(k, v) end end

local den, info, tok = lm.load_model(O.model_dir)
local sched = lm.scheduler(tok, info.normalize, info.schedule)
local ids = tok:encode(O.prompt):totable()
if info.kind == "ar" and #ids == 0 then ids = {tok:special("bos")} end
local plen = #ids
local gen = O.gen_length > 0 and O.gen_length or (info.seq_len - plen)
if gen < 1 then error(string.format("generate.lua: the prompt has %d tokens, the model's length is %d", plen, info.seq_len), 0) end
local steps = O.steps > 0 and O.steps or gen
local pipe = lm.pipeline(info.kind, den, sched, {steps = steps, block_length = O.block_length, remasking = O.remasking,
  temperature = O.temperature, cfg_scale = O.cfg_scale, top_k = O.top_k, top_p = O.top_p})

local mask = tok:special("mask")
local rows = {}
for b = 1, O.samples do
  rows[b] = {}
  for j = 1, plen do rows[b][j] = ids[j] end
end
local start_rows = {}
for b = 1, O.samples do
  start_rows[b] = {}
  for j = 1, plen + gen do start_rows[b][j] = rows[b][j] or mask end
end

-- The first sample as text, masks as _ (a special token other than the mask as its name).
local function show(x_row)
  local parts = {}
  for j = 1, #x_row do
    local id = x_row[j]
    parts[#parts + 1] = id == mask and "_" or tok:decode({id})
  end
  return table.concat(parts)
end

local tty = lundi.isatty("stdout")
if tty then io.write("\27[s") end -- save the cursor: each step redraws from here
local function on_step(i, n, x)
  if not tty then return end
  io.write("\27[u\27[J", show(x:slice(1, 1, 1):totable()), string.format("\n\27[2m[step %d/%d]\27[0m", i + 1, n))
  io.flush()
  if O.delay > 0 then os.execute(string.format("sleep %g", O.delay)) end
end

local prompt_t = plen > 0 and lundi.tensor(rows, "i32") or nil
local t0 = lundi.metrics.now()
local x, order = lm.sample_traced(pipe, {batch = O.samples, shape = {plen + gen}, cond = prompt_t, seed = O.seed,
  start = lundi.tensor(start_rows, "i32")}, mask, on_step)
local seconds = lundi.metrics.now() - t0
if tty then io.write("\27[u\27[J") end

local all = x:tolist()
local texts = {}
for b = 1, #all do texts[b] = lm.decode_until_special(tok, all[b], 1, #all[b]) end
print(texts[1])
io.stderr:write(string.format("generate: %d x %d tokens, %s, %d steps, %.2f s (%.0f tokens/s)\n", O.samples, gen,
  info.kind, info.kind == "ar" and gen or steps, seconds, O.samples * gen / seconds))

local html = O.html ~= "" and O.html or (O.model_dir .. "/unmask_order.html")
lm.order_html(html, string.format("%s: the order of unmasking (%s, %d steps)", O.model_dir, info.kind,
  info.kind == "ar" and gen or steps), tok, all, order, info.kind == "ar" and gen or steps)
io.stderr:write("unmasking order: " .. html .. "\n")
if run then
  run:save_text("samples", table.concat(texts, "\n---\n") .. "\n")
  local f = assert(io.open(html, "r"))
  run:save_text("unmask_order.html", f:read("a"))
  f:close()
  run:log{step = 0, seconds = seconds, tokens_per_second = O.samples * gen / seconds}
end
