-- cfg_rescale: a sampler plugin written in Lua.
--
-- The reverse-diffusion loop with classifier-free guidance and guidance rescale (Lin et al.
-- 2023, "Common Diffusion Noise Schedules and Sample Steps are Flawed", section 3.4). Plain
-- CFG, u + s (c - u), inflates the per-sample standard deviation of the model output at high
-- guidance scales and over-saturates; rescale pulls the guided output's std back toward the
-- conditional output's: out = phi * out * std(c) / std(out) + (1 - phi) * out.
--
-- Load it with dofile("plugins/examples/lua_sampler/cfg_rescale.lua") (it registers itself
-- and returns its name), then use lundi.sampler("cfg_rescale", {...}) or name it in
-- lundi.pipeline{sampler = ...}. It drives the scheduler, denoiser and conditioner only
-- through their plugin methods, so C and Lua parts work alike. Step indices are 0-based.

local function per_sample_std(t)
  local axes = {}
  for a = 2, t:ndim() do axes[#axes + 1] = a end
  if #axes == 0 then return nil end
  local centred = t - t:mean(axes, true)
  return ((centred * centred):mean(axes, true) + 1e-12):sqrt()
end

local function conditions(C, req)
  if not C then return nil, nil end
  local cond
  if req.cond_input then cond = C:encode(req.cond_input)
  elseif req.prompts then cond = C:encode_text(req.prompts)
  else cond = C:null(req.batch) end
  return cond, C:null(req.batch)
end

lundi.register{
  kind = "sampler",
  name = "cfg_rescale",
  version = "1.0",
  description = "reverse loop with classifier-free guidance and guidance rescale (Lua example)",
  params = {
    {name = "num_inference_steps", type = "int", default = 50, min = 1, max = 10000,
     help = "denoising steps (the scheduler's set_timesteps)"},
    {name = "guidance_scale", type = "float", default = 1.0, min = 0, max = 100,
     help = "classifier-free guidance u + s (c - u); 1 = plain conditional sampling"},
    {name = "guidance_rescale", type = "float", default = 0.0, min = 0, max = 1,
     help = "phi: 0 = plain CFG, 1 = guided output rescaled to the conditional std"},
  },

  create = function(p)
    return {steps = p.num_inference_steps, scale = p.guidance_scale, phi = p.guidance_rescale}
  end,

  sample = function(self, parts, req)
    local S, D, C = parts.scheduler, parts.denoiser, parts.conditioner
    assert(S and D, "cfg_rescale: the pipeline needs a scheduler and a denoiser")
    local guided = self.scale ~= 1
    if guided and not C then
      error(string.format("cfg_rescale: guidance_scale = %g needs a conditioner (set it to 1 without one)", self.scale))
    end
    return lundi.no_grad(function()
      S:set_timesteps(self.steps)
      local n = S:num_steps()
      local x
      if req.init then
        x = req.init:clone()
      else
        x = req.rng:randn({req.batch, table.unpack(req.shape)}) * S:init_noise_sigma()
      end
      local cond, uncond = conditions(C, req)
      for i = 0, n - 1 do
        local t = S:timestep(i)
        local xin = S:scale_model_input(x, i)
        local tt = lundi.full({req.batch}, t)
        local out = D:forward(xin, tt, cond, req.rng)
        if guided then
          local u = D:forward(xin, tt, uncond, req.rng)
          local g = u + (out - u) * self.scale
          if self.phi > 0 then
            local sc, sg = per_sample_std(out), per_sample_std(g)
            if sc then g = g * (sc / sg) * self.phi + g * (1 - self.phi) end
          end
          out = g
        end
        local nx = S:step(out, i, x, req.rng)
        local stop = req.callback(i, n, t, nx, S:predict_x0(out, i, x))
        x = nx
        if stop then break end
      end
      return x
    end)
  end,
}

return "cfg_rescale"
