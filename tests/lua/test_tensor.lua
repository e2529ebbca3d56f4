-- Tensor bindings: creation, printing, operators, ops, views, autograd, errors.
local dir = arg[0]:match("(.*/)") or ""
local T = dofile(dir .. "check.lua")
local L = lundi

local function sigmoid(x) return 1 / (1 + math.exp(-x)) end
local function tanh(x) return (math.exp(x) - math.exp(-x)) / (math.exp(x) + math.exp(-x)) end

local cases = {}

function cases.create_print()
  local t = L.tensor({{1, 2, 3}, {4, 5, 6}})
  T.eq(tostring(t), "tensor([[1, 2, 3], [4, 5, 6]], f32 cpu)", "tostring small")
  T.eq(T.fmt(t:shape()), "{2, 3}", "shape")
  T.eq(t:ndim(), 2, "ndim")
  T.eq(t:numel(), 6, "numel")
  T.eq(t:dim(1), 2, "dim 1")
  T.eq(t:dim(-1), 3, "dim -1")
  T.eq(t:dtype(), "f32", "dtype")
  T.eq(t:device(), "cpu", "device")
  T.eq(#t, 2, "__len")
  T.near(t:totable(), {1, 2, 3, 4, 5, 6})
  T.eq(tostring(L.tensor(2.5)), "tensor(2.5, f32 cpu)", "0-dim")
  T.eq(L.tensor(2.5):item(), 2.5, "item")
  T.eq(tostring(L.zeros(5, 5)), "tensor(f32[5,5] cpu)", "large tensors print their description")
  T.near(L.zeros({2, 2}), {{0, 0}, {0, 0}})
  T.near(L.ones(3), {1, 1, 1})
  T.near(L.full({2}, 7), {7, 7})
  T.near(L.arange(4), {0, 1, 2, 3})
  T.near(L.arange(1, 2, 0.25), {1, 1.25, 1.5, 1.75})
  local i = L.tensor({1, 2, 3}, "i32")
  T.eq(i:dtype(), "i32", "i32 dtype")
  T.eq(tostring(i), "tensor([1, 2, 3], i32 cpu)", "i32 print")
  T.eq(math.type(i:tolist()[1]), "integer", "i32 tolist gives integers")
  local g = L.ones(2):requires_grad(true)
  T.eq(tostring(g), "tensor([1, 1], f32 cpu, requires_grad)", "requires_grad shown")
  local e = L.tensor({{}})
  T.eq(T.fmt(e:shape()), "{1, 0}", "empty inner")
  T.fails(function() local x = L.tensor({{1, 2}, {3}}) end,
          "bad argument #1 to 'tensor' (ragged nesting: the table at depth 1, index 2 has 1 entries, expected 2")
  T.fails(function() local x = L.tensor({{1, 2}, 3}) end, "table expected at depth 1, index 2, got number")
  T.fails(function() local x = L.tensor({1, "a"}) end, "number expected at depth 1, index 2, got string")
  T.fails(function() local x = L.tensor({1}, "f64") end, "bad argument #2 to 'tensor' (invalid option 'f64')")
end

function cases.operators()
  local a, b = L.tensor({1, 2, 4}), L.tensor({2, 4, 8})
  T.near(a + b, {3, 6, 12})
  T.near(a - b, {-1, -2, -4})
  T.near(a * b, {2, 8, 32})
  T.near(a / b, {0.5, 0.5, 0.5})
  T.near(-a, {-1, -2, -4})
  T.near(a + 1, {2, 3, 5})
  T.near(1 + a, {2, 3, 5})
  T.near(a - 1, {0, 1, 3})
  T.near(10 - a, {9, 8, 6})
  T.near(a * 3, {3, 6, 12})
  T.near(3 * a, {3, 6, 12})
  T.near(a / 2, {0.5, 1, 2})
  T.near(8 / a, {8, 4, 2})
  T.near(a ^ 2, {1, 4, 16})
  T.near(a:add(b), {3, 6, 12})
  T.near(L.mul(a, 2), {2, 4, 8})
  T.near(L.pow(a, 0.5), {1, math.sqrt(2), 2})
  -- broadcasting
  T.near(L.tensor({{1}, {2}}) + L.tensor({10, 20}), {{11, 21}, {12, 22}})
  T.truthy(a == a, "__eq identity")
  T.truthy(a ~= L.tensor({1, 2, 4}), "__eq is identity, not value equality")
  T.fails(function() local x = a + "x" end, "number expected, got string")
  T.fails(function() local x = a + L.ones(2) end, "add: ")
end

function cases.elementwise()
  local xs = {-2, -0.5, 0.3, 1.7}
  local x = L.tensor(xs)
  T.near(x:exp(), T.map(xs, math.exp))
  T.near(x:abs(), T.map(xs, math.abs))
  T.near(L.tanh(x), T.map(xs, tanh))
  T.near(x:sigmoid(), T.map(xs, sigmoid))
  T.near(x:silu(), T.map(xs, function(v) return v * sigmoid(v) end))
  T.near(x:mish(), T.map(xs, function(v) return v * tanh(math.log(1 + math.exp(v))) end))
  T.near(x:gelu(true), T.map(xs, function(v)
    return 0.5 * v * (1 + tanh(math.sqrt(2 / math.pi) * (v + 0.044715 * v ^ 3))) end), 1e-4)
  T.near(L.tensor({-1, 0, 1}):gelu(), {-0.15865525, 0, 0.84134475}, 1e-5)
  local p = L.tensor({0.25, 1, 4})
  T.near(p:log(), {math.log(0.25), 0, math.log(4)})
  T.near(p:sqrt(), {0.5, 1, 2})
  T.near(p:rsqrt(), {2, 1, 0.5})
  T.near(x:clamp(-1, 1), {-1, -0.5, 0.3, 1})
  T.near(x:clamp(nil, 0), {-2, -0.5, 0, 0})
  T.near(x:clamp(0), {0, 0, 0.3, 1.7})
  local c = L.tensor({1, 0, 0, 1})
  T.near(L.where(c, x, L.zeros(4)), {-2, 0, 0, 1.7})
  T.near(c:where(x, -1), {-2, -1, -1, 1.7})
end

function cases.reductions()
  local t = L.tensor({{1, 5, 3}, {4, 2, 6}})
  T.near(t:sum(), 21)
  T.near(t:sum(1), {5, 7, 9})
  T.near(t:sum(2), {9, 12})
  T.near(t:sum(-1, true), {{9}, {12}})
  T.near(t:mean({1, 2}), 3.5)
  T.near(L.mean(t, 1), {2.5, 3.5, 4.5})
  T.near(t:max(2), {5, 6})
  T.near(t:max(), 6)
  T.near(L.tensor({{1, 2}, {3, 4}}):sum_to({1, 2}), {{4, 6}})
  T.fails(function() local x = t:sum(3) end, "bad argument #1 to 'sum' (axis 3 out of range for 2 dims (axes are 1..2, or -1..-2 from the end))")
  T.fails(function() local x = t:sum(0) end, "axis 0 out of range")
end

function cases.linalg()
  local a = L.tensor({{1, 2}, {3, 4}, {5, 6}})
  local b = L.tensor({{1, 0, 2}, {0, 1, 3}})
  T.near(a:matmul(b), {{1, 2, 8}, {3, 4, 18}, {5, 6, 28}})
  T.near(L.matmul(a, b), {{1, 2, 8}, {3, 4, 18}, {5, 6, 28}})
  local w = L.tensor({{1, 1}, {2, -1}})
  T.near(L.linear(a, w, L.tensor({10, 20})), {{13, 20}, {17, 22}, {21, 24}})
  T.near(a:linear(w), {{3, 0}, {7, 2}, {11, 4}})
  T.fails(function() local x = b:matmul(b) end, "matmul: ")
end

function cases.softmax()
  local xs = {1, 2, 3}
  local t = L.tensor({xs, {0, 0, 0}})
  local z = math.exp(1) + math.exp(2) + math.exp(3)
  local want = {math.exp(1) / z, math.exp(2) / z, math.exp(3) / z}
  T.near(t:softmax(), {want, {1 / 3, 1 / 3, 1 / 3}})
  T.near(t:log_softmax(-1), {T.map(want, math.log), T.map({1 / 3, 1 / 3, 1 / 3}, math.log)})
  T.near(t:softmax(1), {{sigmoid(1), sigmoid(2), sigmoid(3)}, {sigmoid(-1), sigmoid(-2), sigmoid(-3)}})
end

function cases.nn_functional()
  -- conv2d: a 1x1 kernel scales, a 2x2 box sums windows
  local x = L.arange(9):reshape(1, 1, 3, 3)
  T.near(L.conv2d(x, L.full({1, 1, 1, 1}, 2)), {{{{0, 2, 4}, {6, 8, 10}, {12, 14, 16}}}})
  T.near(x:conv2d(L.ones(1, 1, 2, 2), L.tensor({1})), {{{{9, 13}, {21, 25}}}})
  T.near(x:conv2d(L.ones(1, 1, 2, 2), nil, {stride = 2, padding = 1}), {{{{0, 3}, {9, 24}}}})
  T.near(L.conv1d(L.tensor({{{1, 2, 3, 4}}}), L.tensor({{{1, -1}}})), {{{-1, -1, -1}}})
  T.near(L.conv_transpose1d(L.tensor({{{1, 2}}}), L.tensor({{{1, 1}}})), {{{1, 3, 2}}})
  T.near(L.conv_transpose2d(L.ones(1, 1, 1, 1), L.ones(1, 1, 2, 2), nil, {stride = 2}), {{{{1, 1}, {1, 1}}}})
  T.fails(function() local y = x:conv2d(L.ones(1, 1, 1, 1), nil, {strid = 2}) end,
          "bad argument #3 to 'conv2d' (unknown option 'strid' (valid: stride, padding, dilation, groups, output_padding))")
  T.fails(function() local y = x:conv2d(L.ones(1, 1, 1, 1), nil, {stride = "2"}) end,
          "option 'stride': integer or {h, w} expected, got string")
  -- norms against plain-Lua values
  local v = {1, 2, 3, 4}
  local mean, var = 2.5, 1.25
  local ln = T.map(v, function(a) return (a - mean) / math.sqrt(var + 1e-5) end)
  T.near(L.tensor({v}):layer_norm(), {ln}, 1e-4)
  T.near(L.layer_norm(L.tensor({v}), L.full({4}, 2), L.ones(4)), {T.map(ln, function(a) return 2 * a + 1 end)}, 1e-4)
  local ms = (1 + 4 + 9 + 16) / 4
  T.near(L.tensor({v}):rms_norm(), {T.map(v, function(a) return a / math.sqrt(ms + 1e-6) end)}, 1e-4)
  T.near(L.tensor({{v}}):group_norm(1), {{ln}}, 1e-4)
  T.near(L.tensor({{v}}):group_norm_silu(1), {{T.map(ln, function(a) return a * sigmoid(a) end)}}, 1e-4)
  -- indexing, resampling, pooling
  local w = L.tensor({{1, 2}, {3, 4}, {5, 6}})
  T.near(L.embedding(w, L.tensor({2, 0}, "i32")), {{5, 6}, {1, 2}})
  T.near(L.tensor({{{{1, 2}}}}):upsample_nearest(2), {{{{1, 1, 2, 2}, {1, 1, 2, 2}}}})
  -- the fused forms equal their compositions
  local g = L.rng(3)
  local xu, wu, bu = g:randn({2, 3, 4, 5}), g:randn({4, 3, 3, 3}), g:randn({4})
  local ref = xu:upsample_nearest(2):conv2d(wu, bu, {padding = 1})
  T.near(L.upsample_conv2d(xu, wu, bu, {scale = 2, padding = 1}), ref:tolist(), 1e-4)
  T.fails(function() local y = L.upsample_conv2d(xu, wu, bu, {scal = 2}) end, "unknown option 'scal'")
  local e = g:randn({2, 3})
  T.near(L.add_group_norm_silu(xu, e, 3), (xu + e:reshape(2, 3, 1, 1)):group_norm_silu(3):tolist(), 1e-4)
  T.near(x:avg_pool2d(2, 1), {{{{2, 3}, {5, 6}}}})
  T.near(L.tensor({{{1, 3, 5, 7}}}):avg_pool1d(2), {{{2, 6}}})
  -- attention: uniform scores average the values; causal keeps the first row on v[1]
  local q = L.zeros(1, 2, 2)
  local vv = L.tensor({{{1, 2}, {3, 4}}})
  T.near(L.sdpa(q, q, vv), {{{2, 3}, {2, 3}}})
  T.near(L.sdpa(q, q, vv, nil, true), {{{1, 2}, {2, 3}}})
  T.near(L.sdpa(q, q, vv, L.tensor({{0, -math.huge}, {0, -math.huge}})), {{{1, 2}, {1, 2}}})
  -- rope at position 0 is the identity; at pos 1 rotates pair (x0, x1) by 1 rad with D=2
  local r = L.tensor({{1, 0}, {1, 0}}):rope()
  T.near(r, {{1, 0}, {math.cos(1), math.sin(1)}}, 1e-5)
  -- losses
  T.near(L.mse_loss(L.tensor({1, 2}), L.tensor({0, 4})), 2.5)
  local logits = L.tensor({{0, 0}, {1, 3}})
  local ce1, ce2 = math.log(2), -math.log(math.exp(3) / (math.exp(1) + math.exp(3)))
  T.near(L.cross_entropy(logits, L.tensor({0, 1}, "i32")), (ce1 + ce2) / 2, 1e-5)
  T.near(logits:cross_entropy(L.tensor({0, -100}, "i32")), ce1, 1e-5)
  T.near(logits:cross_entropy(L.tensor({0, 1}, "i32"), {ignore_index = 0}), ce2, 1e-5)
  T.near(logits:cross_entropy(L.tensor({0, 1}, "i32"), {mask = L.tensor({0, 1})}), ce2, 1e-5)
  T.fails(function() local y = logits:cross_entropy(L.tensor({0, 1}, "i32"), {ignore = 1}) end,
          "unknown option 'ignore' (valid: ignore_index, label_smoothing, mask)")
  -- dropout: p=0 is identity, training=false is identity, p=0.5 zeroes some and doubles the rest
  local rng = L.rng(1)
  local ones = L.ones(100)
  T.near(ones:dropout(0, rng), ones:tolist())
  T.near(ones:dropout(0.5, rng, false), ones:tolist())
  local d = ones:dropout(0.5, rng):totable()
  local zeros, twos = 0, 0
  for _, e in ipairs(d) do if e == 0 then zeros = zeros + 1 elseif e == 2 then twos = twos + 1 end end
  T.eq(zeros + twos, 100, "dropout values are 0 or 2")
  T.truthy(zeros > 20 and twos > 20, "dropout drops about half")
  -- timestep embedding: t = 0 gives cos 1, sin 0
  T.near(L.timestep_embedding(L.tensor({0}), 4), {{1, 1, 0, 0}})
end

function cases.views()
  local t = L.arange(6):reshape({2, 3})
  T.near(t, {{0, 1, 2}, {3, 4, 5}})
  T.near(t:view(3, 2), {{0, 1}, {2, 3}, {4, 5}})
  T.near(t:reshape(-1), {0, 1, 2, 3, 4, 5})
  T.near(t:transpose(), {{0, 3}, {1, 4}, {2, 5}})
  T.near(t:transpose(1, 2), {{0, 3}, {1, 4}, {2, 5}})
  T.near(t:permute({2, 1}), {{0, 3}, {1, 4}, {2, 5}})
  T.near(t:permute(-1, 1), {{0, 3}, {1, 4}, {2, 5}})
  T.truthy(not t:transpose():is_contiguous(), "transpose is a strided view")
  T.truthy(t:transpose():contiguous():is_contiguous(), "contiguous")
  -- slice: 1-based inclusive, negatives from the end, like string.sub
  T.near(t:slice(2, 2, 3), {{1, 2}, {4, 5}})
  T.near(t:slice(2, 2), {{1, 2}, {4, 5}})
  T.near(t:slice(2, -1), {{2}, {5}})
  T.near(t:slice(2, 1, -1, 2), {{0, 2}, {3, 5}})
  T.near(t:slice(1, 2, 2), {{3, 4, 5}})
  T.eq(T.fmt(t:slice(2, 3, 2):shape()), "{2, 0}", "empty slice")
  T.near(L.tensor({{1, 2}}):expand(3, 2), {{1, 2}, {1, 2}, {1, 2}})
  T.eq(T.fmt(t:unsqueeze(1):shape()), "{1, 2, 3}", "unsqueeze 1")
  T.eq(T.fmt(t:unsqueeze(-1):shape()), "{2, 3, 1}", "unsqueeze -1")
  T.eq(T.fmt(L.zeros(1, 2, 1):squeeze():shape()), "{2}", "squeeze all")
  T.eq(T.fmt(L.zeros(1, 2, 1):squeeze(3):shape()), "{1, 2}", "squeeze 3")
  -- views share storage, clone does not
  local base = L.zeros(2, 2)
  local v, c = base:view(4), base:clone()
  v:fill_(3)
  T.near(base, {{3, 3}, {3, 3}})
  T.near(c, {{0, 0}, {0, 0}})
  c:copy_(L.ones(2, 2))
  T.near(c, {{1, 1}, {1, 1}})
  T.eq(t:to("i32"):dtype(), "i32", "to dtype")
  T.near(t:to("f16"):to("f32"), t:tolist())
  T.eq(t:to("cpu"):device(), "cpu", "to device")
  T.fails(function() local x = t:to("gpu") end, "unknown dtype or device 'gpu'")
  T.truthy(not L.ones(2):requires_grad(true):detach():requires_grad(), "detach")
  T.near(L.concat({L.ones(1, 2), L.zeros(2, 2)}), {{1, 1}, {0, 0}, {0, 0}})
  T.near(L.concat({L.ones(1, 1), L.zeros(1, 2)}, -1), {{1, 0, 0}})
  local parts = L.arange(5):split(1, {2, 3})
  T.eq(#parts, 2, "split count")
  T.near(parts[2], {2, 3, 4})
  local halves = L.arange(4):split(1, 2)
  T.near(halves[1], {0, 1})
  T.near(halves[2], {2, 3})
  T.fails(function() local x = L.arange(5):split(1, 2) end, "2 pieces do not divide length 5")
  T.fails(function() local x = t:slice(3, 1) end, "axis 3 out of range for 2 dims")
  T.fails(function() local x = t:reshape(4, 2) end, "reshape: ")
end

function cases.rng()
  local r = L.rng(42)
  T.eq(r.seed, 42, "seed")
  T.eq(r.offset, 0, "offset")
  local a = r:randn(8)
  T.eq(r.offset, 2, "offset advances ceil(n/4)")
  local a2 = L.randn(L.rng(42), {8})
  T.near(a, a2:tolist(), 0, "same seed, same stream")
  local u = L.rand(L.rng(3), 1000):totable()
  local lo, hi, sum = 1, 0, 0
  for _, v in ipairs(u) do lo, hi, sum = math.min(lo, v), math.max(hi, v), sum + v end
  T.truthy(lo >= 0 and hi < 1 and math.abs(sum / 1000 - 0.5) < 0.05, "uniform in [0,1)")
  local ints = L.randint(L.rng(5), {200}, 3, 6):totable()
  for _, v in ipairs(ints) do T.truthy(v >= 3 and v < 6, "randint range") end
  local c = r:clone()
  T.near(c:rand(3), r:rand(3):tolist(), 0, "clone continues the same stream")
  local z = L.zeros(1000):normal_(L.rng(9), 5, 2):totable()
  local m = 0
  for _, v in ipairs(z) do m = m + v end
  T.truthy(math.abs(m / 1000 - 5) < 0.3, "normal_ mean")
  T.fails(function() local x = L.randn({2}, {2}) end, "bad argument #1 to 'randn' (lundi.Rng expected, got table)")
end

function cases.autograd()
  -- f = sum(x * x * w + 3 * x) ; df/dx = 2 x w + 3, df/dw = x^2
  local x = L.tensor({1, 2, 3}):requires_grad(true)
  local w = L.tensor({0.5, -1, 2}):requires_grad(true)
  T.truthy(x:requires_grad() and x:is_leaf(), "leaf with grad")
  T.eq(x:grad(), nil, "no grad yet")
  local f = (x * x * w + 3 * x):sum()
  T.truthy(f:requires_grad() and not f:is_leaf(), "f is recorded")
  f:backward()
  T.near(x:grad(), {2 * 1 * 0.5 + 3, 2 * 2 * -1 + 3, 2 * 3 * 2 + 3})
  T.near(w:grad(), {1, 4, 9})
  -- gradients accumulate, zero_grad clears
  ;(x:sum() * 2):backward()
  T.near(x:grad(), {6, 1, 17})
  x:zero_grad()
  T.eq(x:grad(), nil, "zero_grad")
  -- non-scalar backward needs a grad
  local y = x * 2
  y:backward(L.tensor({1, 0, 1}))
  T.near(x:grad(), {2, 0, 2})
  -- matmul + softmax chain against a finite difference
  local a = L.tensor({{0.1, 0.2}, {0.3, -0.4}}):requires_grad(true)
  local function loss(m) return (m:matmul(L.tensor({{1, 2}, {3, 4}})):softmax() * L.tensor({{1, 2}, {3, 4}})):sum() end
  loss(a):backward()
  local g = a:grad():tolist()
  local base = a:detach():tolist()
  for i = 1, 2 do
    for j = 1, 2 do
      local p, m = T.map(base, function(v) return v end), T.map(base, function(v) return v end)
      p[i][j], m[i][j] = p[i][j] + 1e-2, m[i][j] - 1e-2
      local fd = (loss(L.tensor(p)):item() - loss(L.tensor(m)):item()) / 2e-2
      T.near(g[i][j], fd, 2e-2, "finite difference")
    end
  end
  T.fails(function() L.ones(2):backward() end, "backward: ")
  T.fails(function() L.tensor({1}, "i32"):requires_grad(true) end, "requires_grad: ")
end

function cases.no_grad()
  local x = L.ones(2):requires_grad(true)
  T.truthy(L.grad_enabled(), "enabled at start")
  local y, n = L.no_grad(function(a, b)
    T.truthy(not L.grad_enabled(), "disabled inside")
    return a * 2, b
  end, x, 7)
  T.truthy(not y:requires_grad(), "nothing recorded in no_grad")
  T.eq(n, 7, "results pass through")
  T.truthy(L.grad_enabled(), "enabled after")
  -- the scope exits even when fn raises
  local ok, err = pcall(L.no_grad, function() error("boom") end)
  T.truthy(not ok and tostring(err):find("boom"), "error propagates")
  T.truthy(L.grad_enabled(), "enabled after an error")
  -- closable scope
  do
    local g <close> = L.no_grad()
    T.truthy(not L.grad_enabled(), "disabled in <close> scope")
    T.truthy(not (x * 2):requires_grad(), "no record in scope")
  end
  T.truthy(L.grad_enabled(), "enabled after the scope")
  pcall(function()
    local g <close> = L.no_grad()
    error("inside")
  end)
  T.truthy(L.grad_enabled(), "<close> scope exits on error")
  T.truthy((x * 2):requires_grad(), "recording again")
end

function cases.arg_errors()
  local t = L.ones(2, 3)
  T.fails(function() local x = L.reshape(t, "a") end, "bad argument #2 to 'reshape' (table or integers expected, got string)")
  T.fails(function() local x = t:reshape("a") end, "bad argument #1 to 'reshape' (table or integers expected, got string)")
  T.fails(function() local x = L.exp("a") end, "bad argument #1 to 'exp' (tensor expected, got string)")
  T.fails(function() local x = L.matmul(t, 3) end, "bad argument #2 to 'matmul' (tensor expected, got number)")
  T.fails(function() local x = L.full(2, 1) end, "bad argument #1 to 'full' (table expected, got number)")
  T.fails(function() local x = L.zeros({2, "x"}) end, "bad argument #1 to 'zeros' (shape entry 2: integer expected, got string)")
  T.fails(function() local x = t:sum({1}, "yes") end, "bad argument #2 to 'sum' (boolean expected, got string)")
  T.fails(function() local x = L.softmax(t, 2.5) end, "bad argument #2 to 'softmax' (number has no integer representation)")
  T.fails(function() local x = L.reshape(t, 4, 2) end, "reshape: ")
  T.fails(function() local x = L.concat({t, 3}) end, "bad argument #1 to 'concat' (entry 2: tensor expected, got number)")
end

function cases.closed()
  local t = L.ones(2)
  local n0 = L.live_tensors()
  t:close()
  T.eq(L.live_tensors(), n0 - 1, "close releases at once")
  T.eq(tostring(t), "tensor(closed)", "tostring closed")
  T.fails(function() local x = t + 1 end, "tensor was closed")
  T.fails(function() local x = L.exp(t) end, "bad argument #1 to 'exp' (tensor was closed)")
  t:close() -- closing twice is fine
  local before = L.live_tensors()
  do
    local a <close> = L.ones(3)
    local b <close> = a * 2
    T.eq(L.live_tensors(), before + 2, "two live in scope")
  end
  T.eq(L.live_tensors(), before, "<close> releases at scope end")
end

function cases.memory()
  L.collect()
  local n0, b0 = L.live_tensors(), L.live_bytes()
  for _ = 1, 100 do local x = L.ones(256) * 2 end
  L.collect()
  T.eq(L.live_tensors(), n0, "collect frees unreachable tensors")
  T.eq(L.live_bytes(), b0, "and their bytes")
  -- pressure: 200 x 1 MiB tensors dropped on the floor without a manual collect stay bounded
  collectgarbage("stop") -- only the binding's pressure rule may collect now
  local peak = 0
  for _ = 1, 200 do
    local x = L.zeros(256, 1024)
    peak = math.max(peak, L.live_bytes() - b0)
  end
  collectgarbage("restart")
  print(string.format("memory: peak %.1f MiB over 200 MiB allocated", peak / 2 ^ 20))
  T.truthy(peak < 140 * 2 ^ 20, "the external-memory pressure rule collected")
  local th = L.get_threads()
  L.set_threads(1)
  T.eq(L.get_threads(), 1, "set_threads")
  L.set_threads(th)
end

T.run(cases)
