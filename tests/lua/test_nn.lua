-- lundi.nn modules, lundi.optim, checkpoints and memory-flat training from Lua.
local dir = arg[0]:match("(.*/)") or ""
local T = dofile(dir .. "check.lua")
local L = lundi
local nn, optim = L.nn, L.optim

local function shape(t) return T.fmt(t:shape()) end

local cases = {}

function cases.modules_forward()
  local rng = L.rng(7)
  local lin = nn.Linear(4, 3, {rng = rng})
  T.eq(lin:type(), "Linear", "type")
  T.eq(shape(lin(L.ones(2, 4))), "{2, 3}", "Linear forward via __call")
  T.eq(shape(lin:forward(L.ones(5, 4))), "{5, 3}", "Linear :forward")
  T.eq(#lin:parameters(), 2, "weight and bias")
  T.eq(lin:numel(), 15, "numel")
  T.eq(tostring(lin), "Linear(2 tensors, 15 parameters)", "tostring")
  local named = lin:named_parameters()
  T.eq(shape(named.weight), "{3, 4}", "named weight")
  T.eq(shape(named.bias), "{3}", "named bias")
  T.eq(#nn.Linear(4, 3, {bias = false}):parameters(), 1, "bias = false")
  -- Linear really computes x W^T + b
  local x = L.tensor({{1, 2, 3, 4}})
  T.near(lin(x), (x:matmul(named.weight:transpose()) + named.bias):tolist())

  T.eq(shape(nn.Conv2d(2, 4, 3, {padding = 1, rng = rng})(L.ones(1, 2, 5, 5))), "{1, 4, 5, 5}", "Conv2d")
  T.eq(shape(nn.Conv2d(2, 4, 3, {stride = 2, padding = 1})(L.ones(1, 2, 5, 5))), "{1, 4, 3, 3}", "Conv2d stride")
  T.eq(#nn.Conv2d(2, 4, 3, {bias = false}):parameters(), 1, "Conv2d bias = false")
  T.eq(shape(nn.Conv1d(2, 3, 3)(L.ones(1, 2, 8))), "{1, 3, 6}", "Conv1d")
  T.eq(shape(nn.GroupNorm(2, 4)(L.ones(1, 4, 3, 3))), "{1, 4, 3, 3}", "GroupNorm")
  T.eq(shape(nn.LayerNorm(4)(L.ones(2, 4))), "{2, 4}", "LayerNorm")
  T.eq(#nn.LayerNorm(4, {affine = false}):parameters(), 0, "LayerNorm affine = false")
  T.eq(shape(nn.RMSNorm(4, {eps = 1e-5})(L.ones(2, 4))), "{2, 4}", "RMSNorm")
  local emb = nn.Embedding(10, 4)
  T.eq(shape(emb(L.tensor({{1, 2, 3}, {4, 5, 6}}, "i32"))), "{2, 3, 4}", "Embedding")
  T.near(emb(L.tensor({3}, "i32")), {emb:param("weight"):slice(1, 4, 4):tolist()[1]})
  local mha = nn.MultiheadAttention(8, 2)
  local xs = L.randn(rng, 2, 5, 8)
  T.eq(shape(mha(xs)), "{2, 5, 8}", "self attention")
  T.eq(shape(mha(xs, nil, nil, true)), "{2, 5, 8}", "causal")
  local cross = nn.MultiheadAttention(8, 2, {kv_dim = 6, bias = false})
  T.eq(shape(cross(xs, L.randn(rng, 2, 3, 6))), "{2, 5, 8}", "cross attention")
  T.eq(#cross:parameters(), 4, "no biases")
  -- causal attention: the first position only sees itself, so changing later tokens leaves it alone
  local a = mha(xs, nil, nil, true):slice(2, 1, 1):tolist()
  local xs2 = L.concat({xs:slice(2, 1, 1), L.randn(rng, 2, 4, 8)}, 2)
  T.near(mha(xs2, nil, nil, true):slice(2, 1, 1), a, 1e-5)

  -- children are borrowed: they outlive the parent's userdata and are never freed twice
  local q = mha:child("q_proj")
  T.eq(tostring(q), "Linear(2 tensors, 72 parameters, borrowed)", "child tostring")
  mha = nil
  collectgarbage()
  collectgarbage()
  T.eq(shape(q(L.ones(1, 8))), "{1, 8}", "child works after the parent's userdata is dropped")
  T.fails(function() local c = lin:child("nope") end, "child: ")

  -- train / eval
  T.truthy(lin:training(), "training by default")
  T.truthy(not lin:eval():training(), "eval")
  T.truthy(lin:train():training(), "train")

  -- rng option: same seed same weights; default rng: deterministic stream, layers differ
  local w1 = nn.Linear(3, 3, {rng = L.rng(1)}):param("weight"):tolist()
  local w2 = nn.Linear(3, 3, {rng = L.rng(1)}):param("weight"):tolist()
  T.near(w1, w2, 0, "same rng seed")
  local d1 = nn.Linear(3, 3):param("weight"):totable()
  local d2 = nn.Linear(3, 3):param("weight"):totable()
  T.truthy(d1[1] ~= d2[1], "default rng advances between layers")

  T.fails(function() local m = nn.Linear(4, 3, {bais = true}) end,
          "bad argument #3 to 'Linear' (unknown option 'bais' (valid: bias, rng))")
  T.fails(function() local m = nn.Linear(4, 3, {rng = 1}) end, "option 'rng': rng expected, got number")
  T.fails(function() local m = nn.Linear({}, 3) end, "bad argument #1 to 'Linear' (number expected, got table)")
  T.fails(function() local m = nn.MultiheadAttention(6, 4) end, "MultiheadAttention: mha_new: ")
  T.fails(function() local y = lin(L.ones(2, 5)) end, "forward: ")
  T.fails(function() local y = lin:forward("x") end, "bad argument #1 to 'forward' (tensor expected, got string)")
end

function cases.module_save_load()
  local path = os.tmpname()
  local a = nn.Linear(4, 3, {rng = L.rng(1)})
  a:save(path)
  local b = nn.Linear(4, 3, {rng = L.rng(2)})
  T.truthy(b:param("weight"):totable()[1] ~= a:param("weight"):totable()[1], "different before load")
  T.eq(b:load(path), b, "load returns the module")
  T.near(b:param("weight"), a:param("weight"):tolist(), 0)
  T.near(b:param("bias"), a:param("bias"):tolist(), 0)
  T.fails(function() nn.Linear(4, 2):load(path) end, "load: ")
  T.fails(function() nn.Linear(4, 3):load(path .. ".missing") end, "load: ")
  os.remove(path)
end

-- A checkpoint whose last bytes were overwritten with 0xff (NaN) is refused naming the tensor;
-- nonfinite = "warn" loads it anyway.
function cases.module_load_nonfinite()
  local path = os.tmpname()
  local a = nn.Linear(4, 3, {rng = L.rng(1)})
  a:save(path)
  local f = assert(io.open(path, "r+b"))
  f:seek("end", -4)
  f:write(string.rep("\255", 4))
  f:close()
  local b = nn.Linear(4, 3, {rng = L.rng(2)})
  local before = b:param("weight"):tolist()
  T.fails(function() b:load(path) end, "holds 1 NaN or Inf value(s)")
  T.fails(function() b:load(path, {strict = false}) end, "tensor '")
  T.near(b:param("weight"), before, 0) -- a refused file changes nothing
  T.fails(function() b:load(path, {nonfinite = "maybe"}) end, "nonfinite")
  T.fails(function() b:load(path, {nonfinit = "warn"}) end, "did you mean 'nonfinite'")
  T.eq(b:load(path, {nonfinite = "warn"}), b, "loaded with a warning")
  T.near(b:param("bias"):slice(1, 1, 2), a:param("bias"):slice(1, 1, 2):tolist(), 0)
  os.remove(path)
end

-- Fits y = x . (1, -2, 3) + 0.5 with a Linear layer and AdamW.
function cases.adamw_regression()
  local rng = L.rng(3)
  local x = L.randn(rng, 64, 3)
  local y = x:matmul(L.tensor({{1}, {-2}, {3}})) + 0.5
  local model = nn.Linear(3, 1, {rng = rng})
  local opt = optim.AdamW(model, {lr = 0.05, weight_decay = 0})
  local first, loss
  for step = 1, 400 do
    opt:zero_grad()
    loss = L.mse_loss(model(x), y)
    loss:backward()
    opt:step()
    first = first or loss:item()
  end
  print(string.format("adamw: loss %.3g -> %.3g", first, loss:item()))
  T.truthy(loss:item() < 1e-3, "regression converges")
  T.near(model:param("weight"), {{1, -2, 3}}, 2e-2)
  T.near(model:param("bias"), {0.5}, 2e-2)
  T.eq(opt:step_count(), 400, "step_count")
end

function cases.optim_misc()
  local m = nn.Linear(2, 1, {rng = L.rng(4)})
  local opt = optim.AdamW(m:parameters(), {lr = 0.1, betas = {0.8, 0.9}, eps = 1e-6})
  T.near(opt:lr(), 0.1, 1e-6)
  opt:set_lr(0.01)
  T.near(opt:lr(), 0.01, 1e-6)
  L.mse_loss(m(L.ones(1, 2)), L.zeros(1, 1)):backward()
  T.truthy(m:param("weight"):grad() ~= nil, "grad after backward")
  opt:step()
  opt:zero_grad()
  T.eq(m:param("weight"):grad(), nil, "optimiser zero_grad")
  local sd = opt:state_dict()
  T.truthy(sd.step ~= nil and sd["exp_avg.1"] ~= nil, "state dict keys")
  local path = os.tmpname()
  opt:save(path)
  local opt2 = optim.AdamW(m:parameters())
  opt2:load(path)
  T.eq(opt2:step_count(), 1, "optimiser state round trip")
  T.near(opt2:state_dict()["exp_avg_sq.1"], sd["exp_avg_sq.1"]:tolist(), 0)
  os.remove(path)
  T.fails(function() local o = optim.AdamW(m, {learning_rate = 1}) end,
          "bad argument #2 to 'AdamW' (unknown option 'learning_rate' (valid: lr, betas, eps, weight_decay))")
  T.fails(function() local o = optim.AdamW(m, {betas = 0.9}) end, "option 'betas': table {b1, b2} expected, got number")
  T.fails(function() local o = optim.AdamW(m, {lr = -1}) end, "AdamW: ")
  T.fails(function() local o = optim.AdamW(42) end, "bad argument #1 to 'AdamW' (module or table of tensors expected, got number)")

  -- schedules: warm-up from 0, then cosine down to min_lr
  local s = optim.lr_schedule{kind = "cosine", base_lr = 1, min_lr = 0.1, warmup_steps = 10, total_steps = 110}
  T.near(s:at(0), 0)
  T.near(s:at(5), 0.5)
  T.near(s:at(10), 1)
  T.near(s:at(60), 0.55, 1e-5)
  T.near(s:at(110), 0.1, 1e-5)
  T.near(optim.lr_schedule{base_lr = 0.3}:at(1000), 0.3, 1e-6)
  T.fails(function() local q = optim.lr_schedule{kind = "cosine", base_lr = 1} end, "option 'total_steps' (> 0) is required")
  T.fails(function() local q = optim.lr_schedule{kind = "step", base_lr = 1} end, "option 'kind' must be")
  T.fails(function() local q = optim.lr_schedule{base_lr = 1, warmup = 3} end, "unknown option 'warmup'")

  -- clipping: grads (3, 4) have norm 5; clipped to 1 they become (0.6, 0.8)
  local p = L.zeros(2):requires_grad(true)
  ;(p * L.tensor({3, 4})):sum():backward()
  T.near(L.clip_grad_norm({p}, 1), 5, 1e-5)
  T.near(p:grad(), {0.6, 0.8}, 1e-4)
  T.near(optim.clip_grad_norm({w = p}, 10), 1, 1e-4)

  -- EMA with decay 0.5: shadow = (old + new) / 2
  local w = L.tensor({2, 4})
  local ema = optim.EMA({w = w}, 0.5)
  w:fill_(0)
  ema:update({w = w})
  T.near(ema:shadow().w, {1, 2})
  ema:copy_to({w = w})
  T.near(w, {1, 2})
  local mod = nn.Linear(2, 2)
  local e2 = optim.EMA(mod, 0.9)
  e2:update(mod)
  T.fails(function() e2:update(nn.Linear(2, 3)) end, "update: ")
end

-- Training loop without any manual close: live tensors/bytes after step 500 equal those
-- at the end (after a collection), and stay bounded in between.
local function mlp_run(steps, use_close)
  -- one thread: these ops are tiny, and OpenMP barriers on a busy machine cost more than the math
  local threads = L.get_threads()
  L.set_threads(1)
  local rng = L.rng(11)
  local l1, l2 = nn.Linear(8, 32, {rng = rng}), nn.Linear(32, 1, {rng = rng})
  local params = {}
  for _, m in ipairs({l1, l2}) do
    for _, t in ipairs(m:parameters()) do params[#params + 1] = t end
  end
  local opt = optim.AdamW(params, {lr = 1e-2})
  local sched = optim.lr_schedule{kind = "cosine", base_lr = 1e-2, min_lr = 1e-3, warmup_steps = 50, total_steps = steps}
  local x = L.randn(rng, 64, 8)
  local y = (x:sum(2, true) * 0.5):tanh()
  local mid_t, mid_b, max_live, first_loss, last_loss
  local lua_mid
  for step = 1, steps do
    opt:set_lr(sched:at(step))
    opt:zero_grad()
    if use_close then
      local h <close> = l1(x)
      local a <close> = h:silu()
      local p <close> = l2(a)
      local loss <close> = L.mse_loss(p, y)
      loss:backward()
      last_loss = loss:item()
    else
      local loss = L.mse_loss(l2(l1(x):silu()), y)
      loss:backward()
      last_loss = loss:item()
    end
    L.clip_grad_norm(params, 1.0)
    opt:step()
    first_loss = first_loss or last_loss
    if step == 500 then
      L.collect()
      mid_t, mid_b = L.live_tensors(), L.live_bytes()
      collectgarbage() -- finalised userdata are freed one cycle after their __gc ran
      lua_mid = collectgarbage("count")
    end
    if step > 500 then max_live = math.max(max_live or 0, L.live_tensors()) end
  end
  L.collect()
  local end_t, end_b = L.live_tensors(), L.live_bytes()
  collectgarbage()
  local lua_end = collectgarbage("count")
  print(string.format("memory_flat%s: %d steps, loss %.3g -> %.3g; live tensors step 500 = %d, end = %d, "
                        .. "max between = %d; live bytes step 500 = %d, end = %d; Lua heap %.0f KiB -> %.0f KiB",
                      use_close and " (<close>)" or "", steps, first_loss, last_loss, mid_t, end_t, max_live,
                      mid_b, end_b, lua_mid, lua_end))
  L.set_threads(threads)
  T.eq(end_t, mid_t, "live tensors flat")
  T.eq(end_b, mid_b, "live bytes flat")
  T.truthy(math.abs(lua_end - lua_mid) < 64, "Lua heap flat")
  T.truthy(last_loss < first_loss * 0.5, "it trains")
  return max_live - end_t
end

function cases.memory_flat()
  local spread = mlp_run(3000, false)
  T.truthy(spread < 20000, "garbage between collections stays bounded")
end

function cases.memory_flat_close()
  local spread = mlp_run(3000, true)
  -- every step's tensors are closed at once; only the graph of nothing is left
  T.truthy(spread <= 2, "with <close> nothing piles up between collections")
end

T.run(cases)
