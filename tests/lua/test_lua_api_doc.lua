-- Keeps docs/lua-api.md and the Lua API in step.
--   api_doc_coverage: every function and value of the lundi module (recursively into its
--     sub-tables) and every method of the Tensor, Module, Rng, Run, Plugin (common and each
--     kind), Pipeline, AdamW, LRSchedule, EMA, Progress, Tokenizer, Task and Env classes, found at run time, is named
--     in the doc (an identifier in a code span or a heading); and every row of the doc's
--     tables names something that exists (a stale entry fails too).
--   api_doc_examples: the example of every row runs, in the doc's order, in one environment
--     (so `local opt = ...` in one row is `opt` in the next), with "/tmp/" meaning a fresh
--     directory.
--   plugin_params_doc: docs/writing-plugins.md's example of a script passing options on to a
--     plugin runs and does so.
-- A row is a table line whose first cell is a code span: `lundi.a.b(...)` names a module
-- member, `recv:name(...)` a method and `recv.name` a field of the object recv stands for
-- (RECEIVERS below, as the doc's introduction lists them). Rows of tables headed "field"
-- (table fields: sample requests, lundi.register) are prose: not checked against the runtime.
local dir = arg[0]:match("(.*/)") or "./"
local DOC = dir .. "../../docs/lua-api.md"
local L = lundi

local function read(path)
  local f = assert(io.open(path, "rb"))
  local s = f:read("a")
  f:close()
  return s
end

-- ---- the doc ----

-- The cells of a table line, split on '|' outside code spans.
local function cells(line)
  local out, cur, code = {}, {}, false
  for ch in line:gmatch(".") do
    if ch == "`" then code = not code end
    if ch == "|" and not code then
      out[#out + 1] = table.concat(cur):match("^%s*(.-)%s*$")
      cur = {}
    else
      cur[#cur + 1] = ch
    end
  end
  table.remove(out, 1) -- before the first '|'
  return out
end

-- rows: {sig=, example=, line=, field=bool}; names: every identifier in a code span or heading.
local function parse(text)
  local rows, names, header = {}, {}, nil
  local n = 0
  for line in (text .. "\n"):gmatch("(.-)\r?\n") do
    n = n + 1
    if line:match("^#") then
      for id in line:gmatch("[%a_][%w_]*") do names[id] = true end
    end
    for span in line:gmatch("`([^`]+)`") do
      for id in span:gmatch("[%a_][%w_]*") do names[id] = true end
    end
    if line:match("^|") then
      local c = cells(line)
      if c[1] and not c[1]:match("^`") and not c[1]:match("^%-") then header = c[1] end
      local sig = c[1] and c[1]:match("^`([^`]+)`")
      if sig then
        rows[#rows + 1] = {sig = sig, example = c[3] and c[3]:match("^`(.+)`$"), line = n, field = header == "field"}
      end
    end
  end
  return rows, names
end

-- ---- the runtime ----

local function sorted_keys(t)
  local k = {}
  for name in pairs(t) do k[#k + 1] = name end
  table.sort(k)
  return k
end

-- Objects to look at: one of each kind of plugin, a pipeline, a run in a scratch store.
local function fixtures(tmp)
  local o = {}
  o.t = L.zeros(1)
  o.m = L.nn.Linear(1, 1)
  o.rng = L.rng(0)
  o.sched = L.scheduler("ddpm")
  o.den = L.denoiser("unet2d", {preset = "mnist-tiny"})
  o.cnd = L.conditioner("class")
  o.smp = L.sampler("image")
  o.p = o.sched
  o.pipe = L.pipeline{scheduler = o.sched, denoiser = o.den, conditioner = o.cnd, sampler = o.smp}
  o.opt = L.optim.AdamW(o.m)
  o.sch = L.optim.lr_schedule{base_lr = 1}
  o.ema = L.optim.EMA(o.m, 0.9)
  o.bar = L.progress{total = 1}
  o.run = L.run{db = tmp .. "/coverage.db"}
  o.tok = L.text.tokenizer("bytes")
  o.task = L.text.task("sudoku4")
  o.env = L.env("pusht")
  return o
end

-- The method tables of a class: its __index when a table, or its "methods" table.
local function methods_of(tname)
  local mt = debug.getregistry()[tname]
  assert(type(mt) == "table", "no metatable " .. tname .. " in the registry (renamed?): update this test")
  if type(mt.__index) == "table" then return mt.__index end
  if type(mt.methods) == "table" then return mt.methods end
  error(tname .. ": neither __index nor methods is a table (the class changed shape?): update this test")
end

-- The Plugin methods: upvalue 1 of its __index holds the common ones, upvalue 2 one table
-- per kind; each kind's table is found by the instance whose methods it gives.
local function plugin_methods(o)
  local idx = debug.getregistry()["lundi.Plugin"].__index
  local _, common = debug.getupvalue(idx, 1)
  local _, per_kind = debug.getupvalue(idx, 2)
  assert(type(common) == "table" and type(per_kind) == "table",
         "lundi.Plugin's __index no longer keeps its method tables as upvalues 1 and 2: update this test")
  local out = {p = common}
  for _, recv in ipairs{"sched", "den", "cnd", "smp"} do
    for _, tbl in pairs(per_kind) do
      local all = next(tbl) ~= nil
      for name, fn in pairs(tbl) do all = all and rawequal(o[recv][name], fn) end
      if all then out[recv] = tbl end
    end
    assert(out[recv], "no Plugin method table matches " .. o[recv].kind .. ": update this test")
  end
  return out
end

-- receiver -> methods table and the object whose fields `recv.name` rows name.
local function receivers(o)
  local r = {
    t = methods_of("lundi.Tensor"), m = methods_of("lundi.Module"), rng = methods_of("lundi.Rng"),
    run = methods_of("lundi.Run"), pipe = methods_of("lundi.Pipeline"), opt = methods_of("lundi.AdamW"),
    sch = methods_of("lundi.LRSchedule"), ema = methods_of("lundi.EMA"), bar = methods_of("lundi.Progress"),
    tok = methods_of("lundi.Tokenizer"), task = methods_of("lundi.Task"), env = methods_of("lundi.Env"),
  }
  for k, v in pairs(plugin_methods(o)) do r[k] = v end
  return r
end

-- Every member of the module: {path=, name=}, depth first.
local function members(t, prefix, out)
  for _, k in ipairs(sorted_keys(t)) do
    local v, path = t[k], prefix .. "." .. k
    if type(v) == "table" then members(v, path, out)
    else out[#out + 1] = {path = path, name = k} end
  end
  return out
end

local function resolve(path)
  local v = _G
  for part in path:gmatch("[^%.]+") do
    if type(v) ~= "table" then return nil end
    v = v[part]
  end
  return v
end

local function tmpdir()
  local base = os.tmpname()
  os.remove(base)
  assert(os.execute("mkdir -p '" .. base .. "'"))
  return base
end

local cases = {}

function cases.api_doc_coverage()
  local rows, named = parse(read(DOC))
  local tmp = tmpdir()
  local o = fixtures(tmp)
  local recv = receivers(o)
  local missing, stale = {}, {}
  for _, e in ipairs(members(L, "lundi", {})) do
    if not named[e.name] then missing[#missing + 1] = e.path end
  end
  for _, r in ipairs(sorted_keys(recv)) do
    for _, name in ipairs(sorted_keys(recv[r])) do
      if not named[name] then missing[#missing + 1] = r .. ":" .. name end
    end
  end
  for _, row in ipairs(rows) do
    if not row.field then
      local path = row.sig:match("^(lundi[%w_%.]*)")
      local r, sep, name = row.sig:match("^([%a_][%w_]*)([:.])([%a_][%w_]*)")
      local ok
      if path then ok = resolve(path) ~= nil
      elseif r and recv[r] and sep == ":" then ok = recv[r][name] ~= nil
      elseif r and o[r] and sep == "." then ok = o[r][name] ~= nil
      else ok = false end
      if not ok then stale[#stale + 1] = string.format("line %d: %s", row.line, row.sig) end
    end
  end
  o.run:finish()
  os.execute("rm -rf '" .. tmp .. "'")
  local msg = {}
  if #missing > 0 then
    msg[#msg + 1] = "docs/lua-api.md does not mention " .. #missing .. " of the API:\n  " .. table.concat(missing, "\n  ")
  end
  if #stale > 0 then
    msg[#msg + 1] = "docs/lua-api.md has " .. #stale .. " entries that no longer exist:\n  " .. table.concat(stale, "\n  ")
  end
  if #msg > 0 then error(table.concat(msg, "\n"), 0) end
  assert(#rows > 200, "the doc parsed to only " .. #rows .. " rows")
end

-- Rows whose example cannot run here, and why.
local SKIP = {
  ["lundi.data.mnist"] = "fetches MNIST over the network on a fresh machine",
  ["lundi.data.mnist_fetch"] = "fetches MNIST (or needs the package file)",
  ["cnd:encode_text"] = "the built-in class conditioner takes no text",
}

local function show(v)
  if type(v) ~= "table" then return tostring(v) end
  local parts = {}
  for i = 1, #v do parts[i] = show(v[i]) end
  return "{" .. table.concat(parts, ", ") .. "}"
end

-- An example ending in "-- VALUE" (a Lua literal) claims its first result; check the claim.
local function check_claim(code, res)
  if not res[1] then return false, res[2] end
  local want = code:match("%s%-%-%s+(.-)%s*$")
  local f = want and load("return " .. want)
  if not f then return true end
  if show(res[2]) ~= show(f()) then return false, "gives " .. show(res[2]) .. ", the doc says " .. want end
  return true
end

function cases.api_doc_examples()
  local rows = parse(read(DOC))
  local tmp = tmpdir()
  local env = setmetatable({}, {__index = _G})
  env.rng = L.rng(0)
  env.x = L.randn(env.rng, {2, 3})
  env.x0 = L.randn(env.rng, 2, 1, 28, 28)
  env.eps = L.randn(env.rng, 2, 1, 28, 28)
  env.ts = L.tensor({10, 500})
  env.lm_den = L.denoiser("transformer", {vocab_size = 260, d_model = 16, n_layers = 1, n_heads = 2, max_len = 40})
  env.msk = L.scheduler("masked", {mask_id = 256})
  local failed, ran = {}, 0
  for _, row in ipairs(rows) do
    local key = row.sig:match("^[%w_%.:]+")
    if row.example and not row.field and not SKIP[key] then
      -- `local a <close> = ...` becomes a global of env, so later rows see it
      local code = row.example:gsub("^local%s+", ""):gsub("%s*<close>", ""):gsub("/tmp/", tmp .. "/")
      local chunk = load("return " .. code, "=" .. DOC .. ":" .. row.line, "t", env)
                    or load(code, "=" .. DOC .. ":" .. row.line, "t", env)
      local ok, err
      if not chunk then ok, err = false, select(2, load(code, "=" .. DOC .. ":" .. row.line, "t", env))
      else ok, err = check_claim(code, table.pack(pcall(chunk))) end
      ran = ran + 1
      if not ok then failed[#failed + 1] = string.format("line %d: %s\n    %s", row.line, code, tostring(err)) end
    end
  end
  if env.run then pcall(env.run.finish, env.run) end
  os.execute("rm -rf '" .. tmp .. "'")
  if #failed > 0 then error(#failed .. " of " .. ran .. " examples failed:\n  " .. table.concat(failed, "\n  "), 0) end
  assert(ran > 200, "only " .. ran .. " examples ran")
end

-- docs/writing-plugins.md shows how a script passes --key=value on to a plugin: the snippet
-- runs, and the sampler gets the values given on the command line.
function cases.plugin_params_doc()
  local text = read(dir .. "../../docs/writing-plugins.md")
  local code
  for block in text:gmatch("```lua\n(.-)```") do
    if block:find("lundi.options(", 1, true) and block:find("lundi.sampler(", 1, true) then code = block end
  end
  assert(code, "docs/writing-plugins.md has no lua block forwarding options to a sampler")
  local env = setmetatable({params = {steps = 20, guidance = 2.5}}, {__index = _G})
  local sampler = assert(load(code .. "\nreturn sampler", "=writing-plugins.md", "t", env))()
  local got = sampler:params()
  assert(got.num_inference_steps == 20 and got.guidance_scale == 2.5,
         "the sampler got " .. got.num_inference_steps .. " steps, guidance " .. got.guidance_scale)
end

-- lua_runner FILE CASE, or lundi run [--no-record] FILE -- CASE
local name = arg[1] == "--" and arg[2] or arg[1]
local fn = cases[name]
if not fn then error("unknown case " .. tostring(name)) end
fn()
