-- lundi.history on the query fixture: test_history.lua QUERY_FIXTURE CASE
local fixture, case = ...
local function eq(got, want, what)
  if got ~= want then error(string.format("%s: got %s, want %s", what, tostring(got), tostring(want)), 2) end
end
local function raises(f, needle, what)
  local ok, err = pcall(f)
  if ok or not tostring(err):find(needle, 1, true) then
    error(string.format("%s: expected an error with %q, got %s", what, needle, ok and "no error" or tostring(err)), 2)
  end
end

local dir = os.tmpname()
os.remove(dir)
assert(os.execute("mkdir -p " .. dir))
local db = dir .. "/runs.db"
local p = io.popen(string.format("%q %q", fixture, db))
local uuids = {}
for line in p:lines() do uuids[#uuids + 1] = line end
assert(p:close(), "query_fixture failed")
eq(#uuids, 5, "fixture uuids")

local H = lundi.history
local cases = {}

function cases.runs()
  local rows = H.runs{where = "metrics.loss < 0.05 and params.sampler = 'ddim'", order_by = "metrics.loss", db = db}
  eq(#rows, 2, "matching runs")
  eq(rows[1].name, "gamma", "best first")
  eq(rows[2].name, "alpha", "second")
  eq(math.type(rows[1].id), "integer", "id is an integer")
  eq(rows[2]["metrics.loss"], 0.03, "metrics.loss column")
  eq(rows[2]["params.sampler"], "ddim", "params.sampler column")
  eq(rows[2].uuid, uuids[1], "uuid")
  rows = H.runs{db = db, limit = 2, columns = "name,params.steps,tags.model", order_by = "id"}
  eq(#rows, 2, "limit")
  eq(rows[1]["params.steps"], 50, "typed param")
  eq(math.type(rows[1]["params.steps"]), "integer", "int param")
  rows = H.runs{db = db, where = "tags.model IS NULL", columns = "name,tags.model"}
  eq(#rows, 1, "IS NULL")
  eq(rows[1]["tags.model"], nil, "NULL is nil")
  eq(#H.runs{db = db}, 4, "deleted runs hidden")
  eq(#H.runs{db = db, deleted = true}, 5, "deleted = true")
  raises(function() H.runs{db = db, where = "metric.loss < 1"} end,
    "lundi.history.runs: where: unknown field 'metric.loss' at column 1", "bad where")
  raises(function() H.runs{db = db, order_by = "nope"} end, "order_by: unknown field 'nope'", "bad order_by")
  raises(function() H.runs{db = db, limit = 0} end, "limit must be a positive integer", "bad limit")
  raises(function() H.runs{db = dir .. "/missing.db"} end, "does not exist", "missing db")
end

function cases.run()
  local r = H.run(1, db)
  eq(r.uuid, uuids[1], "uuid")
  eq(r.name, "alpha", "name")
  eq(r.status, "finished", "status")
  eq(r.params.steps, 50, "int param")
  eq(r.params.lr, 0.001, "float param")
  eq(r.params.ema, true, "bool param")
  eq(r.params.sampler, "ddim", "string param")
  eq(r.params["my key"], "x y", "odd key")
  eq(r.tags.note, "it's", "tag")
  eq(r.metrics.loss.last, 0.03, "last")
  eq(r.metrics.loss.min, 0.03, "min")
  eq(r.metrics.loss.max, 0.5, "max")
  eq(r.metrics.loss.count, 6, "count")
  eq(#r.outputs, 3, "outputs")
  eq(r.outputs[1].name, "sample", "output name")
  eq(r.outputs[3].size, 300000, "output size")
  eq(#r.outputs[3].sha256, 64, "sha256")
  eq(r.plugins[1].name, "ddim", "plugin")
  eq(type(r.script_text), "string", "script text")
  eq(H.run(uuids[2]:sub(1, 8), db).name, "beta", "uuid prefix")
  eq(H.run("last", db).name, "delta", "last")
  eq(H.run(3, db).exit_message, "boom", "exit message")
  raises(function() H.run(99, db) end, "lundi.history.run: no run 99 in", "missing run")
  raises(function() H.run(1.5, db) end, "a run id must be an integer", "fractional id")
end

function cases.metrics()
  local m = H.metrics(1, "loss", db)
  eq(#m.steps, 6, "steps")
  eq(#m.values, 6, "values")
  eq(m.steps[1], 0, "first step")
  eq(m.values[1], 0.5, "first value")
  eq(m.values[6], 0.03, "last value")
  m = H.metrics("beta", "loss", db)
  eq(#m.values, 7, "by name")
  raises(function() H.metrics(1, "nope", db) end, "has no metric 'nope' (it has: acc, loss)", "missing key")
end

local ok, err = pcall(cases[case] or error("unknown case " .. tostring(case)))
os.execute("rm -rf " .. dir)
if not ok then error(err, 0) end
