-- lundi.progress argument checks and the bar object's life cycle (run with LUNDI_PROGRESS=0).
local function fails(pattern, f, ...)
  local ok, err = pcall(f, ...)
  assert(not ok, "expected an error matching " .. pattern)
  assert(tostring(err):find(pattern), "error '" .. tostring(err) .. "' lacks '" .. pattern .. "'")
end
fails("unknown option 'totl' %(valid: total, label%)", lundi.progress, {totl = 3})
fails("'total' must be an integer %(got a fraction%)", lundi.progress, {total = 1.5})
fails("'label' must be a string %(got number%)", lundi.progress, {label = 3})
fails("table expected", lundi.progress, 10)
local bar = lundi.progress{total = 3, label = "t"}
assert(tostring(bar) == "lundi.Progress", tostring(bar))
fails("number expected", bar.update, bar, "x")
fails("keys of the extra table must be strings", bar.update, bar, 1, {1, 2})
fails("table, string or nil expected", bar.update, bar, 1, true)
bar:update(1, "a string")
bar:update(2, {loss = 0.5, step_name = "warmup", ok = true, n = 7})
bar:update(3)
bar:finish()
bar:finish()
do
  local closed <close> = lundi.progress{total = 2}
  closed:update(1)
end
getmetatable(bar).__close(bar)
assert(tostring(bar) == "lundi.Progress (closed)", tostring(bar))
bar:update(4) -- ignored once closed
bar:finish()
print("ok")
