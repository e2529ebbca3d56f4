-- img2img (SDEdit) with a trained MNIST model (scripts/image/mnist.lua): held-out digits are
-- noised to an intermediate step chosen by --strength and denoised towards another class.
-- Row k of the picture starts from one test digit of class k (shown first); column j asks
-- for class j, so the diagonal keeps the digit's class and the rest show how far the
-- strength lets the model redraw it. Small strengths keep the strokes; near 1 little is kept.
--
--   lundi run scripts/image/img2img.lua --checkpoint=out/mnist/checkpoint --strength=0.6
--
-- Parameters (--key=value): DEFAULTS below; `lundi run scripts/image/img2img.lua --help` lists them.

local DEFAULTS = {
  checkpoint = {"out/mnist/checkpoint", "a .safetensors file of the denoiser, or a checkpoint directory\n"
                                        .. "(its ema.safetensors, else model.safetensors)"},
  preset = {"mnist-tiny", "the unet2d preset the weights belong to"},
  objective = {"eps", "as the model was trained (eps | v | x0)"},
  beta_schedule = {"linear", "as the model was trained"},
  strength = {0.6, "in (0, 1]: the share of the DDIM steps that run"},
  steps = {50, "DDIM steps"},
  guidance = {3, "classifier-free guidance scale", type = "number"},
  seed = {0, "seed of the noise"},
  out = {"out/mnist/img2img.png", "the PNG written; also saved in the run store"},
}
local O = lundi.options(DEFAULTS, params, "img2img (SDEdit) with a trained MNIST model.")
local PRED = {eps = "epsilon", v = "v_prediction", x0 = "sample"}
if not PRED[O.objective] then error("img2img.lua: --objective must be eps, v or x0", 0) end

local function exists(path)
  local f = io.open(path, "rb")
  if f then f:close() end
  return f ~= nil
end
local weights = O.checkpoint
if not weights:match("%.safetensors$") then
  weights = exists(O.checkpoint .. "/ema.safetensors") and O.checkpoint .. "/ema.safetensors"
            or O.checkpoint .. "/model.safetensors"
end
if not exists(weights) then
  error("img2img.lua: no weights at " .. weights .. " (train first: lundi run scripts/image/mnist.lua)", 0)
end

local den = lundi.denoiser("unet2d", {preset = O.preset})
den:module():load(weights)
local sched = lundi.scheduler("ddim", {beta_schedule = O.beta_schedule, prediction_type = PRED[O.objective],
                                       use_clipped_model_output = true})
local pipe = lundi.pipeline{scheduler = sched, denoiser = den,
  conditioner = lundi.conditioner("class", {num_classes = 10}),
  sampler = lundi.sampler("image", {num_inference_steps = O.steps, guidance_scale = O.guidance})}

-- The first test digit of each class, repeated across its row; the requested class varies
-- along the row.
local x_test, y_test = lundi.data.mnist{split = "test"}
local picked = {}
for i, y in ipairs(y_test:totable()) do
  if picked[y] == nil then picked[y] = i - 1 end
end
for k = 0, 9 do
  if picked[k] == nil then error("img2img.lua: the test split has no digit of class " .. k, 0) end
end
local rows, want = {}, {}
for k = 0, 9 do
  for j = 0, 9 do
    rows[#rows + 1] = picked[k]
    want[#want + 1] = j
  end
end
local init = lundi.embedding(x_test:reshape({-1, 784}), lundi.tensor(rows):to("i32")):reshape({100, 1, 28, 28})
local x = pipe:sample{batch = 100, shape = {1, 28, 28}, cond = lundi.tensor(want):to("i32"), init = init,
                      strength = O.strength, seed = O.seed}

-- The source digits as a first column, then the ten requests.
local originals = lundi.embedding(x_test:reshape({-1, 784}),
                                  lundi.tensor({picked[0], picked[1], picked[2], picked[3], picked[4], picked[5],
                                                picked[6], picked[7], picked[8], picked[9]}):to("i32"))
local tiles = {}
for k = 0, 9 do
  tiles[#tiles + 1] = originals:slice(1, k + 1, k + 1):reshape({1, 1, 28, 28})
  tiles[#tiles + 1] = x:slice(1, 10 * k + 1, 10 * k + 10)
end
local grid = lundi.concat(tiles, 1)
os.execute(string.format("mkdir -p '%s'", O.out:match("^(.*)/") or "."))
lundi.save_image(O.out, grid, {nrow = 11, range = {-1, 1}})
local run = lundi.current_run()
if run then
  for k, v in pairs(O) do run:param(k, v) end
  run:save_image("img2img", grid, {nrow = 11, range = {-1, 1},
    parameters = {steps = O.steps, sampler = "ddim", cfg_scale = O.guidance, seed = O.seed, strength = O.strength}})
end
print(string.format("img2img: strength %.2f (%d of %d DDIM steps), guidance %g -> %s", O.strength,
                    math.floor(O.steps * O.strength), O.steps, O.guidance, O.out))
print("rows: a test digit of class 0..9 (first column), then the same digit redrawn as class 0..9")
