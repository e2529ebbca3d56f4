-- Loops until Ctrl-C; the to-be-closed guard must run while the script unwinds.
local marker = assert(params.marker, "--marker=FILE")
local guard <close> = setmetatable({}, {__close = function(_, err)
  local f = assert(io.open(marker, "w"))
  f:write("closed: ", tostring(err))
  f:close()
end})
if params.tensors then
  local a = lundi.ones({64, 64})
  local b = lundi.matmul(a, a) -- fails fast here if the API changed
  io.stdout:write("started\n")
  io.stdout:flush()
  while true do b = lundi.matmul(a, a) end
elseif params.swallow then
  io.stdout:write("started\n")
  io.stdout:flush()
  while true do pcall(function() while true do end end) end
else
  io.stdout:write("started\n")
  io.stdout:flush()
  while true do end
end
