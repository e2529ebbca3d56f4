-- Logs 100 values (still buffered), says so, and loops until Ctrl-C.
local run = lundi.current_run()
for i = 1, 100 do run:log{x = i} end
io.stdout:write("started\n")
io.stdout:flush()
while true do end
