-- The methods of plugin instances come from lundi/plugin_api.h (generated ones) plus the
-- hand-written ones in lplugin.c: every kind has exactly the methods it had by hand.
local want = {
  scheduler = {"ddpm", nil, {"num_train_timesteps", "add_noise", "target", "set_timesteps", "num_steps", "timestep",
                             "init_noise_sigma", "scale_model_input", "step", "predict_x0"}},
  denoiser = {"unet2d", {preset = "mnist-tiny"}, {"forward", "module"}},
  conditioner = {"class", nil, {"encode", "encode_text", "null", "drop", "module"}},
  sampler = {"image", nil, {"sample"}},
}
for kind, w in pairs(want) do
  local p = lundi[kind](w[1], w[2])
  for _, m in ipairs(w[3]) do assert(type(p[m]) == "function", kind .. " lacks " .. m) end
  assert(p.noise_to_step == nil and p.null_cond == nil, kind .. ": no method for table-only functions")
end
-- generated methods convert arguments by C type and results by the lua column
local s = lundi.scheduler("ddpm", {num_train_timesteps = 10})
assert(s:num_train_timesteps() == 10)
s:set_timesteps(2)
assert(s:num_steps() == 2)
local x = lundi.ones(1, 2)
assert(s:step(x, 0, x, lundi.rng(1)):shape()[2] == 2)
assert(s:predict_x0(x, 0, x):shape()[2] == 2)
local ok, err = pcall(s.step, s, x, -1, x)
assert(not ok and err:find("step index must be a non-negative integer", 1, true), err)
ok, err = pcall(function() return s:add_noise(x, "noise", x) end)
assert(not ok and err:find("bad argument #2 to 'add_noise'", 1, true), err)
local c = lundi.conditioner("class", {num_classes = 3})
local e = c:encode(lundi.tensor({0, 2}, "i32"))
assert(e.labels and e.labels:shape()[1] == 2)
assert(c:module() == nil or type(c:module()) == "userdata")
print("methods: ok")
