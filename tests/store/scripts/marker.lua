-- Writes --marker=FILE: proof that the script ran.
local f = assert(io.open(assert(params.marker), "w"))
f:write("ran")
f:close()
