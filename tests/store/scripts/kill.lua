-- Logs forever, flushing every 500 values and printing how many are flushed.
local run = lundi.current_run()
local i = 0
while true do
  run:log{step = i, loss = i}
  i = i + 1
  if i % 500 == 0 then
    run:flush()
    io.stdout:write(i, "\n")
    io.stdout:flush()
  end
end
