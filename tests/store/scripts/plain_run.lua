-- lundi.run{} objects in a script (run with --no-record, so there is no current run).
assert(lundi.current_run() == nil)
do
  local r <close> = lundi.run{db = params.db, name = "closed", seed = 3}
  r:log{a = 1}
end
assert(not pcall(function()
  local r <close> = lundi.run{db = params.db, name = "errored"}
  error("bad thing")
end))
local r = lundi.run{db = params.db, name = "explicit"}
r:param("n", 1); r:param("f", 0.5); r:param("b", false); r:param("s", "x")
r:finish("failed", "by hand")
local ok, err = pcall(r.log, r, {a = 1})
assert(not ok and err:find("the run has ended"), err)
ok, err = pcall(lundi.run, {db = params.db, seed = "x"})
assert(not ok and err:find("'seed' must be an integer"), err)
local r2 = lundi.run{db = params.db, name = "args"}
ok, err = pcall(r2.log, r2, {loss = "high"})
assert(not ok and err:find("metric 'loss' must be a number"), err)
ok, err = pcall(r2.log, r2, {step = 1.5, loss = 1})
assert(not ok and err:find("step must be an integer"), err)
ok, err = pcall(r2.param, r2, "k", {})
assert(not ok and err:find("number, boolean or string expected"), err)
ok, err = pcall(r2.save_image, r2, "img", lundi.zeros({8}))
assert(not ok and err:find("%[C, H, W%] or %[N, C, H, W%]"), err)
r2:finish()
leaked = lundi.run{db = params.db, name = "collected"} -- ended by its finaliser
if params.fail then error("script failed") end
print("ok")
