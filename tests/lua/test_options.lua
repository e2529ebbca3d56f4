-- The one options-table helper of the bindings (runtime/lua/lutil.c), seen through bindings
-- that use it, and lundi.options for scripts (runtime/lua/loptions.c).
local dir = arg[0]:match("(.*/)") or ""
local T = dofile(dir .. "check.lua")
local L = lundi

local cases = {}

-- Unknown keys: the function, the key, the valid keys and, when one is close, "did you mean".
function cases.option_keys()
  local e = T.fails(function() L.nn.Linear(4, 3, {bais = true}) end,
                    "bad argument #3 to 'Linear' (unknown option 'bais' (valid: bias, rng))")
  T.truthy(e:find("; did you mean 'bias'?", 1, true), "argerror form suggests: " .. e)
  e = T.fails(function() L.nn.Linear(4, 3, {colour = 1}) end, "unknown option 'colour' (valid: bias, rng))")
  T.truthy(not e:find("did you mean", 1, true), "nothing close, no suggestion: " .. e)
  e = T.fails(function() L.save_image("/tmp/x.png", L.zeros(1, 2, 2), {nrows = 2}) end,
              "lundi.save_image: unknown option 'nrows' (valid: nrow, range, padding, pad_value, text); did you mean 'nrow'?")
  T.fails(function() L.pipeline{sheduler = "ddpm"} end, "pipeline: unknown part 'sheduler' (valid: scheduler, denoiser, "
          .. "conditioner, sampler); did you mean 'scheduler'?")
  T.fails(function() L.nn.Linear(4, 3, {[1] = true}) end, "unknown option '1'")
  T.fails(function() L.nn.Linear(4, 3, "bias") end, "bad argument #3 to 'Linear' (options table expected, got string)")
end

-- Typed fields: each type's message names the function and the key.
function cases.option_fields()
  T.fails(function() L.save_image("/tmp/x.png", L.zeros(1, 3, 2, 2), {nrow = 0}) end,
          "lundi.save_image: option 'nrow' = 0 is outside 1..4096")
  T.fails(function() L.save_image("/tmp/x.png", L.zeros(1, 3, 2, 2), {nrow = 1.5}) end,
          "lundi.save_image: option 'nrow' must be an integer (got a fraction)")
  T.fails(function() L.save_image("/tmp/x.png", L.zeros(1, 3, 2, 2), {nrow = "2"}) end,
          "option 'nrow' must be an integer (got string)")
  T.fails(function() L.plot{series = {}, path = "/tmp/x.png", log_y = 1} end,
          "lundi.plot: option 'log_y' must be true or false (got number)")
  T.fails(function() L.plot{series = {}, path = "/tmp/x.png", title = 3} end,
          "lundi.plot: option 'title' must be a string (got number)")
  T.fails(function() L.nn.LayerNorm(4, {eps = "small"}) end,
          "bad argument #2 to 'LayerNorm' (option 'eps' must be a number (got string))")
  T.fails(function() L.optim.lr_schedule{kind = "cosin", base_lr = 1} end,
          "option 'kind' must be one of constant, linear, cosine (got 'cosin')); did you mean 'cosine'?")
  T.fails(function() L.cross_entropy(L.zeros(2, 3), L.zeros(2), {mask = 1}) end,
          "option 'mask' must be a tensor (got number)")
end

local c = arg[1]
if not cases[c] then error("unknown case " .. tostring(c)) end
cases[c]()
print(c .. ": ok")
