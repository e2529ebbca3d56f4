-- Assertion helpers for the luaplugin suite: local U = dofile(arg[1] .. "/tests/lua_plugins/util.lua")
local U = {}

function U.eq(got, want, what)
  if got ~= want then
    error(string.format("%s: got %s, want %s", what or "eq", tostring(got), tostring(want)), 2)
  end
end

function U.near(got, want, tol, what)
  if type(got) ~= "number" or math.abs(got - want) > tol then
    error(string.format("%s: got %s, want %s (tol %g)", what or "near", tostring(got), tostring(want), tol), 2)
  end
end

function U.truthy(v, what)
  if not v then error((what or "expected a true value") .. ", got " .. tostring(v), 2) end
  return v
end

-- Calls fn, which must fail; every needle must appear (plainly) in the message. Returns it.
function U.raises(fn, ...)
  local ok, msg = pcall(fn)
  if ok then error("expected an error, but the call succeeded", 2) end
  msg = tostring(msg)
  for _, needle in ipairs({...}) do
    if not msg:find(needle, 1, true) then
      error(string.format("error message lacks %q:\n%s", needle, msg), 2)
    end
  end
  return msg
end

-- Values of a tensor as a flat Lua array.
function U.values(t) return t:totable() end

function U.find(list, name)
  for _, p in ipairs(list) do if p.name == name then return p end end
end

return U
