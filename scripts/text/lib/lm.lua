-- What the text scripts share: the two language models (a masked-diffusion model, LLaDA, and
-- its autoregressive twin: the same `transformer`, bidirectional or causal), their losses,
-- training, generation, task accuracy and bits per byte. Each script puts these together;
-- none of them holds the maths, which lives in the C plugins (`masked`, `llada`, `ar`) and
-- in lundi.text.
local M = {}

-- Model sizes. Both kinds use the same numbers, so the twins have the same parameter count.
M.PRESETS = {
  tiny = {d_model = 64, n_layers = 2, n_heads = 4},
  small = {d_model = 128, n_layers = 4, n_heads = 4},
  base = {d_model = 256, n_layers = 6, n_heads = 8},
}

-- The transformer's parameters for a kind ("diffusion" or "ar") and preset.
function M.model_config(kind, preset, tok, max_len, seed)
  local p = M.PRESETS[preset]
  if not p then error("lm: unknown preset '" .. tostring(preset) .. "' (tiny | small | base)", 0) end
  local cfg = {vocab_size = tok:vocab_size(), max_len = max_len, causal = kind == "ar", seed = seed or 0}
  for k, v in pairs(p) do cfg[k] = v end
  return cfg
end

function M.check_kind(kind)
  if kind ~= "diffusion" and kind ~= "ar" then
    error("lm: --model must be diffusion or ar, got '" .. tostring(kind) .. "'", 0)
  end
end

-- 1 at positions < plen[b], else 0: f32 [B, L].
function M.prompt_mask(plen, L)
  local pos = lundi.arange(0, L):reshape(1, L)
  return (plen:to("f32"):reshape(-1, 1) - pos):clamp(0, 1)
end

-- LLaDA's loss for a batch: t ~ U(0, 1), every token masked with probability p_mask(t)
-- (the scheduler's add_noise), cross-entropy on the masked ones divided by p_mask (the
-- scheduler's loss). sft: the prompt is never masked (a noise of 2 there), and the scheduler
-- normalises by answer length (its normalize = "answer").
function M.diffusion_loss(den, sched, tokens, plen, rng, sft)
  local B, L = tokens:dim(1), tokens:dim(2)
  local t = rng:rand{B}
  local noise = rng:rand{B, L}
  if sft then noise = noise + M.prompt_mask(plen, L) * 2 end
  local xt = sched:add_noise(tokens, noise, t)
  local logits = den:forward(xt, t, nil, rng)
  return sched:loss(logits, tokens, noise, t)
end

-- Next-token cross-entropy; sft: only the answer's tokens count.
function M.ar_loss(den, tokens, plen, rng, sft)
  local B, L = tokens:dim(1), tokens:dim(2)
  local inp = tokens:slice(2, 1, L - 1):contiguous()
  local tgt = tokens:slice(2, 2, L):contiguous()
  local logits = den:forward(inp, lundi.zeros(B), nil, rng)
  local opts = {}
  if sft then
    -- target j (0-based, predicted from position j - 1) is the answer's when j >= plen
    opts.mask = 1 - M.prompt_mask(plen, L):slice(2, 2, L)
  end
  return logits:cross_entropy(tgt, opts)
end

-- Trains one model. o: {kind, den, sched (diffusion), tokens, plen, steps, batch, lr, warmup,
-- seed, sft, run, prefix (metric names), label (progress bar), clip}. Returns the losses.
function M.train(o)
  local model = o.den:module()
  local opt = lundi.optim.AdamW(model, {lr = o.lr, weight_decay = o.weight_decay or 0.0, betas = {0.9, 0.98}})
  local sch = lundi.optim.lr_schedule{kind = "cosine", base_lr = o.lr, min_lr = o.lr / 10,
                                      warmup_steps = o.warmup, total_steps = o.steps}
  local rng = lundi.rng(o.seed)
  local n = o.tokens:dim(1)
  local losses, step, avg = {}, 0, nil
  local bar = lundi.progress{total = o.steps, label = o.label}
  model:train()
  while step < o.steps do
    for xb, pb in lundi.data.batches(o.tokens, o.plen, o.batch, rng, {drop_last = n >= o.batch}) do
      step = step + 1
      local lr = sch:at(step - 1)
      opt:set_lr(lr)
      local loss
      if o.kind == "diffusion" then
        loss = M.diffusion_loss(o.den, o.sched, xb, pb, rng, o.sft)
      else
        loss = M.ar_loss(o.den, xb, pb, rng, o.sft)
      end
      opt:zero_grad()
      loss:backward()
      local gn = lundi.clip_grad_norm(model, o.clip or 1.0)
      opt:step()
      local v = loss:item()
      losses[step] = v
      avg = avg and 0.98 * avg + 0.02 * v or v
      if o.run then o.run:log{step = step, [o.prefix .. "loss"] = v, [o.prefix .. "lr"] = lr,
                              [o.prefix .. "grad_norm"] = gn} end
      bar:update(step, {loss = avg})
      if step >= o.steps then break end
    end
  end
  bar:finish()
  model:eval()
  return losses
end

-- Trains the twins on one data set with the same budget: for each kind, a transformer of
-- o.preset, o.steps steps of o.batch, saved to o.out_dir/DATA-KIND. o: {data (load_data's),
-- steps, preset, batch, lr, seed, run, tag (metric prefix), out_dir, tok, digits, blanks}. Returns models
-- [kind] = {den, sched}, stats [kind] = {params, train_seconds}, curves {label, losses}.
M.KINDS = {"diffusion", "ar"}
function M.train_twins(o)
  local models, stats, curves = {}, {}, {}
  local data = o.data
  local normalize = data.sft and "answer" or "tokens"
  for _, kind in ipairs(M.KINDS) do
    local cfg = M.model_config(kind, o.preset, o.tok, data.seq_len, o.seed)
    local den = lundi.denoiser("transformer", cfg)
    local sched = M.scheduler(o.tok, normalize)
    local t0 = lundi.metrics.now()
    local losses = M.train{kind = kind, den = den, sched = sched, tokens = data.tokens, plen = data.plen,
      steps = o.steps, batch = o.batch, lr = o.lr, warmup = math.min(100, o.steps // 10), seed = o.seed,
      sft = data.sft, run = o.run, prefix = o.tag .. "_" .. kind .. "_", label = o.tag .. " " .. kind}
    stats[kind] = {train_seconds = lundi.metrics.now() - t0, params = den:module():numel()}
    curves[#curves + 1] = {label = o.tag .. " " .. kind, losses = losses}
    M.save_model(o.out_dir .. "/" .. data.name .. "-" .. kind, den, {kind = kind, model = cfg, tokenizer = "bytes",
      data = data.name, seq_len = data.seq_len, digits = o.digits, blanks = o.blanks, normalize = normalize,
      schedule = "linear"})
    models[kind] = {den = den, sched = sched}
  end
  return models, stats, curves
end

-- The sampler for a kind: llada (one block over the answer, one token per step by default)
-- or ar (greedy).
function M.pipeline(kind, den, sched, sopts)
  sopts = sopts or {}
  if kind == "diffusion" then
    return lundi.pipeline{scheduler = sched, denoiser = den,
      sampler = {"llada", {steps = sopts.steps, block_length = sopts.block_length or 0,
                           remasking = sopts.remasking or "low_confidence",
                           temperature = sopts.temperature or 0, cfg_scale = sopts.cfg_scale or 0}}}
  end
  return lundi.pipeline{scheduler = sched, denoiser = den,
    sampler = {"ar", {temperature = sopts.temperature or 0, top_k = sopts.top_k or 0, top_p = sopts.top_p or 1}}}
end

-- The text of ids[from..to] up to the first special token (EOS ends an answer).
function M.decode_until_special(tok, ids, from, to)
  local specials = {}
  for _, k in ipairs({"mask", "eos", "pad", "bos"}) do specials[tok:special(k)] = true end
  local keep = {}
  for j = from, math.min(to, #ids) do
    if specials[ids[j]] then break end
    keep[#keep + 1] = ids[j]
  end
  return tok:decode(keep)
end

-- Generates the answers to prompts (strings of the same length) in batches: returns the
-- answers, answer_len characters each (decoded; specials dropped).
function M.answer(pipe, kind, tok, prompts, answer_len, gen_len, batch, seed)
  local out = {}
  for i = 1, #prompts, batch do
    local rows = {}
    for j = i, math.min(#prompts, i + batch - 1) do rows[#rows + 1] = tok:encode(prompts[j]):totable() end
    local prompt = lundi.tensor(rows, "i32")
    local plen = #rows[1]
    local x = pipe:sample{batch = #rows, shape = {plen + gen_len}, cond = prompt, seed = seed + i}
    local all = x:tolist()
    for r = 1, #rows do
      out[#out + 1] = M.decode_until_special(tok, all[r], plen + 1, plen + gen_len):sub(1, answer_len)
    end
  end
  return out
end

-- Exact-match accuracy of a model on count held-out puzzles of a task (seeds from
-- test_seed): the fraction the task's checker accepts, and the answers.
function M.accuracy(pipe, kind, tok, task, count, test_seed, gen_len, batch, seed)
  local prompts = {}
  for i = 1, count do prompts[i] = task:generate(test_seed + i - 1) end
  local _, alen = task:widths()
  local answers = M.answer(pipe, kind, tok, prompts, alen, gen_len, batch, seed)
  local right = 0
  for i = 1, count do
    if task:check(prompts[i], answers[i]) then right = right + 1 end
  end
  return right / count, prompts, answers
end

-- Bits per byte of token windows (tokens i32 [N, L], plen i32 [N], each window's first
-- plen tokens given): the diffusion model's Monte-Carlo ELBO (an upper bound) or the AR
-- model's exact NLL, over the same positions, divided by the bytes those tokens decode to.
function M.bits_per_byte(kind, den, sched, tok, tokens, plen, n_mc, seed)
  local nll, se
  if kind == "diffusion" then
    nll, se = lundi.text.elbo(den, sched, tokens, plen, {n_mc = n_mc, rng = lundi.rng(seed)})
  else
    nll = lundi.text.ar_nll(den, tokens, plen)
  end
  local total, var, bytes = 0, 0, 0
  local specials = {}
  for _, k in ipairs({"mask", "eos", "pad", "bos"}) do specials[tok:special(k)] = true end
  local rows, lens = tokens:tolist(), plen:totable()
  for i = 1, #rows do
    total = total + nll[i]
    if se then var = var + se[i] ^ 2 end
    local ids = {}
    for j = math.max(lens[i], 1) + 1, #rows[i] do
      local id = rows[i][j]
      if specials[id] then bytes = bytes + 1 else ids[#ids + 1] = id end -- EOS stands for the newline between entries
    end
    bytes = bytes + #tok:decode(ids)
  end
  local k = 1 / (math.log(2) * bytes)
  return total * k, se and math.sqrt(var) * k or 0, bytes
end

-- ---- data ----

M.TEST_SEED = 1000000000 -- held-out task examples come from seeds 10^9 on; training from 0 on

-- The training data named by O.data: {name, tokens i32 [N, L], plen i32 [N], seq_len, sft,
-- task (for tasks), prompt_len / answer_len (characters, tasks)}.
function M.load_data(O, tok)
  local d = {}
  if O.data == "sudoku4" or O.data == "sudoku9" or O.data == "add" then
    d.name, d.sft = O.data, true
    d.task = lundi.text.task(O.data, {digits = O.digits, blanks = O.blanks})
    d.prompt_len, d.answer_len = d.task:widths()
    d.tokens, d.plen = d.task:dataset{tokenizer = tok, seed = 0, count = O.train_count}
  elseif O.data == "fortunes" then
    d.name, d.sft = "fortunes", false
    d.tokens, d.plen = lundi.text.fortunes{tokenizer = tok, split = "train", seq_len = O.seq_len}
  else
    d.name = O.data:match("([^/]+)$"):gsub("%.[^.]*$", "")
    d.tokens, d.plen = lundi.text.lines{tokenizer = tok, path = O.data, seq_len = O.seq_len}
    d.sft = d.plen:to("f32"):max():item() > 1
  end
  d.seq_len = d.tokens:dim(2)
  return d
end

-- ---- saved models: DIR/model.safetensors and DIR/model.cfg (a Lua table: what built it) ----

local function serialize(v)
  if type(v) == "string" then return string.format("%q", v) end
  if type(v) ~= "table" then return tostring(v) end
  local keys = {}
  for k in pairs(v) do keys[#keys + 1] = k end
  table.sort(keys)
  local parts = {}
  for _, k in ipairs(keys) do parts[#parts + 1] = string.format("%s = %s", k, serialize(v[k])) end
  return "{" .. table.concat(parts, ", ") .. "}"
end

-- info: {kind, model (the transformer's params), tokenizer (its spec), data, seq_len, ...}.
function M.save_model(dir, den, info)
  os.execute(string.format("mkdir -p '%s'", dir))
  den:module():save(dir .. "/model.safetensors")
  local f = assert(io.open(dir .. "/model.cfg.tmp", "w"))
  f:write("return ", serialize(info), "\n")
  f:close()
  assert(os.rename(dir .. "/model.cfg.tmp", dir .. "/model.cfg"))
end

-- The tokenizer a spec names: "bytes", "gpt2" or a saved JSON file.
function M.tokenizer(spec) return lundi.text.tokenizer(spec) end

-- Loads DIR: returns den (eval mode), info, tok. The cfg is read as data (no globals).
function M.load_model(dir)
  local f, err = io.open(dir .. "/model.cfg", "r")
  if not f then error("lm: " .. dir .. " holds no saved model (" .. tostring(err) .. "); train one with scripts/text/train.lua", 0) end
  local text = f:read("a")
  f:close()
  local chunk, perr = load(text, "=" .. dir .. "/model.cfg", "t", {})
  if not chunk then error("lm: " .. perr, 0) end
  local ok, info = pcall(chunk)
  if not ok or type(info) ~= "table" or type(info.model) ~= "table" then
    error("lm: " .. dir .. "/model.cfg is not a saved model description", 0)
  end
  local den = lundi.denoiser("transformer", info.model)
  den:module():load(dir .. "/model.safetensors")
  den:module():eval()
  return den, info, M.tokenizer(info.tokenizer)
end

-- The masked scheduler the text scripts use (mask id from the tokenizer).
function M.scheduler(tok, normalize, schedule)
  return lundi.scheduler("masked", {mask_id = tok:special("mask"), normalize = normalize or "tokens",
                                    schedule = schedule or "linear"})
end

-- ---- watching a generation: the step at which each position was committed ----

-- Samples like pipe:sample(req), and returns the result and order[b][j] (1-based j): 0 for a
-- token given in the prompt, k for one committed at step k (1..n), nil if never filled.
-- on_step(i, n, x) is called after each step (x borrowed).
function M.sample_traced(pipe, req, mask_id, on_step)
  local order, prev = {}, nil
  local function note(x, step)
    local rows = x:tolist()
    for b, row in ipairs(rows) do
      order[b] = order[b] or {}
      for j, id in ipairs(row) do
        if id ~= mask_id and order[b][j] == nil and (prev == nil or prev[b][j] == mask_id) then
          order[b][j] = step
        end
      end
    end
    prev = rows
  end
  local r = {}
  for k, v in pairs(req) do r[k] = v end
  local start = req.start -- the tokens before sampling (prompt and masks), to mark the given ones
  r.start = nil
  if start then note(start, 0) end
  r.callback = function(i, n, _, x)
    note(x, i + 1)
    if on_step then on_step(i, n, x) end
  end
  local x = pipe:sample(r)
  return x, order
end

-- A colour for step k of n (0: given): a dark-to-light blue-green-yellow ramp, given in grey.
local function ramp(k, n)
  if k == nil then return 1, 0, 0 end
  if k == 0 then return 0.55, 0.55, 0.55 end
  local u = (k - 1) / math.max(1, n - 1)
  return 0.27 + 0.7 * u ^ 1.5, 0.0 + 0.9 * u, 0.33 + 0.3 * math.sin(math.pi * u) - 0.2 * u
end

-- An HTML page: each row's tokens as text, coloured by the step that committed them (hover:
-- the step), with a legend. pieces(id) gives the token's text.
function M.order_html(path, title, tok, rows, orders, n)
  local function esc(s)
    return (s:gsub("&", "&amp;"):gsub("<", "&lt;"):gsub(">", "&gt;"):gsub("\n", "&#8629;<br>"))
  end
  local out = {"<!doctype html><meta charset=utf-8><title>", esc(title), "</title>",
    "<style>body{font:15px/1.7 monospace;background:#111;color:#eee;max-width:60em;margin:2em auto}",
    "span{padding:1px 0;border-radius:2px}.row{margin:1em 0;padding:.5em;border:1px solid #333}</style>",
    "<h3>", esc(title), "</h3><p>colour: the step at which a token was unmasked, ",
    "grey = given (the prompt); dark = early, light = late. Hover for the step.</p>"}
  for b, row in ipairs(rows) do
    out[#out + 1] = "<div class=row>"
    for j, id in ipairs(row) do
      local k = orders[b] and orders[b][j]
      local r, g, bl = ramp(k, n)
      local fg = (k ~= nil and k > 0 and (k - 1) / math.max(1, n - 1) > 0.6) and "#000" or "#fff"
      out[#out + 1] = string.format("<span title='step %s' style='background:rgb(%d,%d,%d);color:%s'>%s</span>",
        k == 0 and "given" or tostring(k), math.floor(255 * r), math.floor(255 * g), math.floor(255 * bl), fg,
        esc(tok:decode({id})))
    end
    out[#out + 1] = "</div>"
  end
  local f = assert(io.open(path, "w"))
  f:write(table.concat(out))
  f:close()
  return path
end

-- Sudoku grids as a picture [N, 3, H, W]: each cell filled by the step that committed it
-- (grey: given), cell positions from the answer's part of the order (offset: the prompt's
-- length), side cells per row.
function M.order_grids(orders, offset, side, n, cell)
  cell = cell or 10
  local N = #orders
  local H = side * cell
  local img = {}
  for b = 1, N do
    local chans = {{}, {}, {}}
    for y = 0, H - 1 do
      for c = 1, 3 do chans[c][y + 1] = {} end
      for x = 0, H - 1 do
        local ci, cj = y // cell, x // cell
        local k = orders[b][offset + ci * side + cj + 1]
        local r, g, bl = ramp(k, n)
        local edge = (y % cell == 0) or (x % cell == 0)
        local box = math.floor(math.sqrt(side) + 0.5)
        local thick = (y % (cell * box) == 0) or (x % (cell * box) == 0)
        local v = {r, g, bl}
        for c = 1, 3 do chans[c][y + 1][x + 1] = thick and 0 or (edge and 0.8 * v[c] or v[c]) end
      end
    end
    img[b] = chans
  end
  return lundi.tensor(img)
end

return M
