-- Devices from Lua: lundi.device / set_device, constructors and layers following the default
-- device, m:to, and one small training loop run on the CPU and on Vulkan (lavapipe in CI).
local dir = arg[0]:match("(.*/)") or ""
local T = dofile(dir .. "check.lua")
local L = lundi
local nn, optim = L.nn, L.optim

local function need_vulkan()
  local ok = pcall(L.set_device, "vulkan")
  if not ok then
    print("skipped: no Vulkan device")
    os.exit(77)
  end
  L.set_device("cpu")
end

local cases = {}

function cases.names()
  T.eq(L.set_device("cpu"), "cpu", "set_device returns the name")
  T.eq(L.device(), "cpu", "device()")
  T.eq(L.zeros(2):device(), "cpu", "constructors follow")
  T.fails(function() L.set_device("gpu") end, "device 'gpu': unknown device 'gpu' (expected cpu, vulkan, vulkan:N or auto)")
  T.fails(function() L.zeros(1):to("banana") end, "unknown dtype or device 'banana'")
  T.fails(function() nn.Linear(2, 2):to("vulkan:99") end, "vulkan:99")
  T.eq(L.device(), "cpu", "a failed set_device keeps the old device")
end

function cases.devices_list()
  local list = L.devices()
  T.eq(list[1].name, "cpu", "the CPU comes first")
  T.eq(list[1].backend, "cpu", "its backend")
  T.truthy(list[1].description:match("^%d+ threads$"), "the CPU's description")
  for i = 2, #list do
    T.truthy(list[i].name:match("^vulkan:%d+$") and list[i].backend == "vulkan", "a Vulkan device: " .. list[i].name)
    T.eq(L.set_device(list[i].name), list[i].name, "every listed device opens")
  end
  L.set_device("cpu")
end

function cases.constructors()
  need_vulkan()
  local cpu_noise = L.randn(L.rng(5), 3, 7):tolist()
  local dev = L.set_device("vulkan")
  T.truthy(dev:match("^vulkan:%d+$"), "vulkan:N, got " .. dev)
  for _, t in ipairs({L.zeros(2, 3), L.ones(4), L.full({2}, 3), L.tensor({1, 2}), L.arange(5), L.randn(L.rng(1), 2)}) do
    T.eq(t:device(), dev, "constructor on the default device")
  end
  local noise = L.randn(L.rng(5), 3, 7)
  T.eq(noise:device(), dev, "randn placed")
  T.near(noise, cpu_noise, 0, "the same seed gives the same noise bit for bit")
  local m = nn.Linear(3, 2, {rng = L.rng(2)})
  T.eq(m:device(), dev, "layers are placed")
  for _, p in ipairs(m:parameters()) do T.eq(p:device(), dev, "parameter placed") end
  -- an optimiser made before a move follows the parameters
  local opt = optim.AdamW(m, {lr = 0.1})
  m:to("cpu")
  T.eq(m:device(), "cpu", "m:to moves")
  L.set_device("cpu")
  local x = L.ones(4, 3)
  L.mse_loss(m(x), L.zeros(4, 2)):backward()
  opt:step()
  T.eq(m:param("weight"):device(), "cpu", "still on the CPU after a step")
  m:to(dev)
  T.fails(function() return m(x) end, "different devices")
end

-- Gradients of ops whose backward makes its own tensors (max, where) on each device.
function cases.backward_places()
  need_vulkan()
  local function grads(device)
    L.set_device(device)
    local x = L.tensor({{1, 5, 5}, {-2, 0, 3}})
    x:requires_grad(true)
    local c = L.tensor({{1, 0, 1}, {0, 0, 1}})
    local y = x:max(2) + L.where(c, x * 2, 0.5):sum() + c:where(-1, x):sum()
    y:sum():backward()
    local g = x:grad():tolist()
    L.set_device("cpu")
    return g
  end
  T.near(grads("vulkan"), grads("cpu"), 0, "max and where gradients on Vulkan equal the CPU's")
end

-- A 2-layer MLP, 200 AdamW steps with clipping and a cosine schedule, on one device.
local function run(device, steps)
  L.set_device(device)
  local rng = L.rng(11)
  local l1, l2 = nn.Linear(8, 32, {rng = rng}), nn.Linear(32, 1, {rng = rng})
  local params = {}
  for _, m in ipairs({l1, l2}) do
    for _, t in ipairs(m:parameters()) do params[#params + 1] = t end
  end
  local opt = optim.AdamW(params, {lr = 1e-2})
  local sched = optim.lr_schedule{kind = "cosine", base_lr = 1e-2, min_lr = 1e-3, warmup_steps = 20, total_steps = steps}
  local x = L.randn(rng, 64, 8)
  local y = (x:sum(2, true) * 0.5):tanh()
  local losses, bytes = {}, {}
  for step = 1, steps do
    opt:set_lr(sched:at(step))
    opt:zero_grad()
    local loss = L.mse_loss(l2(l1(x):silu()), y)
    loss:backward()
    L.clip_grad_norm(params, 1.0)
    opt:step()
    losses[step] = loss:item()
    if step % 100 == 0 then
      L.collect()
      bytes[#bytes + 1] = L.live_bytes()
    end
  end
  L.set_device("cpu")
  return losses, bytes
end

function cases.train_matches_cpu()
  need_vulkan()
  local steps = 200
  local cpu = run("cpu", steps)
  local gpu, bytes = run("vulkan", steps)
  local worst = 0
  for i = 1, steps do worst = math.max(worst, math.abs(gpu[i] - cpu[i]) / cpu[i]) end
  print(string.format("train_matches_cpu: loss %.4g -> %.4g (cpu) vs %.4g -> %.4g (vulkan); worst relative gap %.2e; "
                      .. "live bytes at steps 100/200: %d / %d", cpu[1], cpu[steps], gpu[1], gpu[steps], worst,
                      bytes[1], bytes[2]))
  -- Only the summation order of GEMMs and reductions differs; AdamW's normalised steps keep
  -- such rounding from growing beyond a few ulps per step over 200 steps.
  T.truthy(worst < 1e-3, "loss curves agree within 1e-3 relative, worst " .. worst)
  T.truthy(gpu[steps] < gpu[1] * 0.5, "it trains on Vulkan")
  T.eq(bytes[2], bytes[1], "device memory flat between steps 100 and 200")
end

-- A reduced mnist-unet (every kind of layer: convs, GroupNorm+SiLU, attention, class and time
-- embeddings, up/down sampling) trained on a fixed batch of 12x12 blobs, on one device.
local function unet_parts(device)
  L.set_device(device)
  local den = L.denoiser("unet2d", {preset = "mnist-unet", base_channels = 8, channel_mult = "1,2",
                                    attention_levels = "0,1", layers_per_block = 1, heads = 2, groups = 4, seed = 3})
  local sched = L.scheduler("ddpm", {})
  local cond = L.conditioner("class", {num_classes = 10, cond_drop_prob = 0.1})
  local model = den:module()
  local opt = optim.AdamW(model, {lr = 2e-3, weight_decay = 0})
  local ema = optim.EMA(model, 0.99)
  local data_rng = L.rng(21)
  local x0 = (L.randn(data_rng, 4, 1, 12, 12) * 0.5):tanh()
  local y = L.tensor({0, 3, 7, 9}):to("i32")
  local rng = L.rng(9)
  local function step()
    local noise = rng:randn({4, 1, 12, 12})
    local t = rng:randint({4}, 0, sched:num_train_timesteps())
    local xt = sched:add_noise(x0, noise, t)
    local c = cond:drop(cond:encode(y), rng)
    local loss = L.mse_loss(den:forward(xt, t, c, rng), sched:target(x0, noise, t))
    opt:zero_grad()
    loss:backward()
    L.clip_grad_norm(model, 1.0)
    opt:step()
    ema:update(model)
    return loss:item()
  end
  return step, model
end

-- Device memory after collecting garbage: used by live buffers, reserved from the driver.
local function memory()
  L.collect()
  return L.device_memory()
end

function cases.unet_step_on_gpu()
  need_vulkan()
  local step, model = unet_parts("vulkan")
  T.truthy(model:device():match("^vulkan"), "the model is on Vulkan")
  step() -- first step: pipelines, optimiser state
  local host0, dev0 = L.kernel_calls()
  local loss = step()
  local host1, dev1 = L.kernel_calls()
  L.set_device("cpu")
  print(string.format("unet_step_on_gpu: loss %.4f; kernels in one step: %d on Vulkan, %d on the CPU", loss,
                      dev1 - dev0, host1 - host0))
  T.truthy(dev1 - dev0 > 100, "the step ran its kernels on Vulkan")
  T.eq(host1 - host0, 0, "no kernel of the training step ran on the CPU")
end

function cases.unet_train_matches_cpu()
  need_vulkan()
  local steps = tonumber(os.getenv("LUNDI_TEST_UNET_STEPS") or "200")
  local curves = {}
  for _, device in ipairs({"cpu", "vulkan"}) do
    local step = unet_parts(device)
    local c, mem = {}, {}
    for i = 1, steps do
      c[i] = step()
      if i == steps // 2 or i == steps then mem[#mem + 1] = {memory()} end
    end
    curves[device] = c
    print(string.format("%s memory at steps %d / %d: used %d / %d bytes, reserved %d / %d bytes", device, steps // 2,
                        steps, mem[1][1], mem[2][1], mem[1][2], mem[2][2]))
    T.eq(mem[2][1], mem[1][1], device .. ": memory in use is flat over the second half")
    T.eq(mem[2][2], mem[1][2], device .. ": memory reserved from the driver is flat over the second half")
  end
  L.set_device("cpu")
  -- Window means of 20 steps: single-step losses depend on the sampled t and noise, which are
  -- identical on both devices, so the curves differ only by rounding carried through training.
  local worst, cpu, gpu = 0, curves.cpu, curves.vulkan
  local w = math.min(20, steps)
  for i = 1, steps - w + 1, w do
    local a, b = 0, 0
    for j = i, i + w - 1 do a, b = a + cpu[j], b + gpu[j] end
    worst = math.max(worst, math.abs(a - b) / a)
  end
  print(string.format("unet_train_matches_cpu: %d steps, loss %.4f -> %.4f (cpu), %.4f -> %.4f (vulkan); "
                      .. "worst 20-step window gap %.2e", steps, cpu[1], cpu[steps], gpu[1], gpu[steps], worst))
  T.truthy(math.abs(cpu[1] - gpu[1]) / cpu[1] < 1e-4, "the first step's loss agrees within 1e-4")
  T.truthy(worst < 0.02, "loss curves agree within 2% per 20-step window, worst " .. worst)
end

T.run(cases)
