-- A Lua scheduler whose step fails, driven by the built-in C `image` sampler.
lundi.register{kind = "scheduler", name = "fails_at_step_2",
  num_train_timesteps = function() return 1000 end,
  add_noise = function(self, x0) return x0 end,
  target = function(self, x0) return x0 end,
  set_timesteps = function(self, n) self.n = n end,
  num_steps = function(self) return self.n end,
  timestep = function(self, i) return 999 - i end,
  step = function(self, out, i, x)
    if i == 2 then error("no step " .. i) end
    return x - out * 0.1
  end}
lundi.register{kind = "denoiser", name = "zero", forward = function(self, x) return x * 0 end}
local p = lundi.pipeline{scheduler = "fails_at_step_2", denoiser = "zero",
                         sampler = {"image", {num_inference_steps = 4}}}
p:sample{batch = 2, shape = {3}, seed = 1}
print("not reached")
