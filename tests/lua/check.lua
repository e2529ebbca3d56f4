-- Tiny assertion helpers for the lua suite: local T = dofile(dir .. "check.lua").
local T = {}

local function fmt(v)
  if type(v) == "table" then
    local parts = {}
    for i = 1, #v do parts[i] = fmt(v[i]) end
    return "{" .. table.concat(parts, ", ") .. "}"
  end
  return tostring(v)
end
T.fmt = fmt

function T.eq(got, want, what)
  if got ~= want then
    error(string.format("%s: got %s, want %s", what or "eq", fmt(got), fmt(want)), 2)
  end
end

-- Deep comparison of numbers / nested tables, with tolerance tol (default 1e-5, relative+absolute).
local function near(a, b, tol, path)
  if type(a) == "table" and type(b) == "table" then
    if #a ~= #b then return false, path .. ": length " .. #a .. " vs " .. #b end
    for i = 1, #a do
      local ok, where = near(a[i], b[i], tol, path .. "[" .. i .. "]")
      if not ok then return false, where end
    end
    return true
  end
  if type(a) ~= "number" or type(b) ~= "number" then return false, path .. ": " .. type(a) .. " vs " .. type(b) end
  if a ~= a or b ~= b then return false, path .. ": NaN" end
  if a == b then return true end
  if math.abs(a - b) > tol * (1 + math.abs(b)) then
    return false, string.format("%s: %.8g vs %.8g", path, a, b)
  end
  return true
end

function T.near(got, want, tol, what)
  if type(got) == "userdata" then got = got:tolist() end
  local ok, where = near(got, want, tol or 1e-5, "")
  if not ok then error(string.format("%s: %s (got %s, want %s)", what or "near", where, fmt(got), fmt(want)), 2) end
end

-- Runs fn, expects an error whose message contains `want` (plain text).
function T.fails(fn, want, what)
  local ok, err = pcall(fn)
  if ok then error((what or "fails") .. ": no error raised, expected '" .. want .. "'", 2) end
  err = tostring(err)
  if not err:find(want, 1, true) then
    error(string.format("%s: error '%s' does not contain '%s'", what or "fails", err, want), 2)
  end
  return err
end

function T.truthy(v, what)
  if not v then error((what or "truthy") .. ": expected a true value", 2) end
end

-- Dispatches on arg[1] to cases[name]; unknown names are an error.
function T.run(cases)
  local name = arg[1]
  local fn = cases[name]
  if not fn then
    local names = {}
    for k in pairs(cases) do names[#names + 1] = k end
    table.sort(names)
    error("unknown case '" .. tostring(name) .. "' (cases: " .. table.concat(names, ", ") .. ")")
  end
  fn()
end

-- Map f over a flat list.
function T.map(t, f)
  local r = {}
  for i, v in ipairs(t) do r[i] = type(v) == "table" and T.map(v, f) or f(v) end
  return r
end

return T
