-- A Lua plugin file for `lundi --plugin lua_file_plugin.lua` (tests/cli/test_cli.py).
lundi.register{
  kind = "scheduler", name = "lua_file_sched", version = "0.2", description = "a scheduler from a .lua file",
  params = {{name = "scale", type = "float", default = 0.5, min = 0, max = 1, help = "step size"}},
  create = function(p) return {scale = p.scale} end,
  num_train_timesteps = function(self) return 10 end,
  add_noise = function(self, x0, noise, t) return x0 + noise end,
  target = function(self, x0, noise, t) return noise end,
  set_timesteps = function(self, n) self.n = n end,
  num_steps = function(self) return self.n end,
  timestep = function(self, i) return 9 - i end,
  step = function(self, out, i, x, rng) return x - out * self.scale end,
}
