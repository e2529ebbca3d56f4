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

-- Generates the answers to prompts (strings of the same length) in batches: returns the
-- answers, answer_len characters each (decoded; specials dropped).
function M.answer(pipe, kind, tok, prompts, answer_len, gen_len, batch, seed, steps)
  local out = {}
  for i = 1, #prompts, batch do
    local rows = {}
    for j = i, math.min(#prompts, i + batch - 1) do rows[#rows + 1] = tok:encode(prompts[j]):totable() end
    local prompt = lundi.tensor(rows, "i32")
    local plen = #rows[1]
    local x = pipe:sample{batch = #rows, shape = {plen + gen_len}, cond = prompt, seed = seed + i}
    for r = 1, #rows do
      local ids = x:slice(1, r, r):slice(2, plen + 1, plen + answer_len):contiguous()
      out[#out + 1] = tok:decode(ids, {skip_special = true})
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

return M
