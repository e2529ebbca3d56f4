-- Logs --n values of metric --key.
local run = lundi.current_run()
for i = 0, params.n - 1 do run:log{step = i, [params.key] = i * 0.5} end
print("done")
