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

-- lundi.options: typed defaults, values from the command line, "did you mean", --help.
local D = {steps = {2100, "training steps"}, lr = {2e-3, "peak learning rate"}, clip = 1.0,
           guidance = {3, "guidance scale", type = "number"}, out_dir = {"out/x", "where"}, eval = true, tag = ""}

function cases.script_options()
  local O = L.options(D, nil)
  T.eq(O.steps, 2100, "default")
  T.eq(math.type(O.steps), "integer", "an integer default stays one")
  T.eq(O.lr, 2e-3, "float default, bit for bit")
  T.eq(math.type(O.clip), "float", "1.0 stays a float")
  T.eq(math.type(O.guidance), "integer", "type = number keeps the default as written")
  T.eq(O.eval, true, "boolean default")
  T.eq(O.out_dir, "out/x", "string default")
  -- given values, as `lundi run` passes them (numbers, booleans and strings)
  O = L.options(D, {steps = 5, lr = 1, guidance = 1.5, eval = false, tag = 2, out_dir = "/tmp/o", clip = "0.5"})
  T.eq(O.steps, 5, "integer given")
  T.eq(math.type(O.lr), "integer", "number options keep an integer as given")
  T.eq(O.guidance, 1.5, "type = number takes fractions")
  T.eq(O.eval, false, "boolean given")
  T.eq(O.tag, "2", "a string option given a number takes its text")
  T.eq(O.clip, 0.5, "number text is parsed")
  T.eq(L.options(D, {steps = 4.0}).steps, 4, "an integral float is an integer")
  T.eq(math.type(L.options(D, {steps = "7"}).steps), "integer", "integer text (a C host) is parsed")
  T.eq(L.options(D, {eval = "false"}).eval, false, "boolean text")
  -- refusals name the key and the type wanted
  T.fails(function() L.options(D, {stepz = 3}) end, "unknown parameter --stepz (did you mean --steps?) (known: clip, eval")
  T.fails(function() L.options(D, {colour = 3}) end, "unknown parameter --colour (known: ")
  T.fails(function() L.options(D, {steps = "many"}) end, "--steps must be a number, got 'many' (--steps takes an integer)")
  T.fails(function() L.options(D, {steps = 1.5}) end, "--steps must be an integer, got '1.5'")
  T.fails(function() L.options(D, {lr = "abc"}) end, "--lr must be a number, got 'abc'")
  T.fails(function() L.options(D, {eval = "yes"}) end, "--eval must be a boolean (true or false), got 'yes'")
  T.fails(function() L.options(D, {eval = 1}) end, "--eval must be a boolean (true or false), got '1'")
  -- a bad DEFAULTS table is the script's bug, said as such
  T.fails(function() L.options({x = {}}, {}) end, "the default of DEFAULTS.x must be a number, boolean or string")
  T.fails(function() L.options({x = {1, "h", type = "string"}}, {}) end, "the default of DEFAULTS.x is not of type string")
  T.fails(function() L.options({x = {1.5, "h", type = "integer"}}, {}) end, "the default of DEFAULTS.x is not of type integer")
  T.fails(function() L.options({x = {1, "h", kind = "integer"}}, {}) end, "DEFAULTS.x must be a value or {default")
end

-- --help prints the generated text and ends the script through os.exit(0).
function cases.script_help()
  local real = os.exit
  local code
  os.exit = function(c) code = c; error("exited", 0) end
  local ok, err = pcall(L.options, D, {help = true, stepz = 1})
  os.exit = real
  T.eq(ok, false, "does not return")
  T.eq(err, "exited", "through os.exit")
  T.eq(code, 0, "with status 0")
  -- a script that has its own 'help' option gets it as a value
  T.eq(L.options({help = false}, {help = true}).help, true, "help as an ordinary option")
end

local c = arg[1]
if not cases[c] then error("unknown case " .. tostring(c)) end
cases[c]()
print(c .. ": ok")
