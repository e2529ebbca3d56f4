if params.marker then
  local f = assert(io.open(params.marker, "w"))
  f:write("ran")
  f:close()
end
print("ok")
