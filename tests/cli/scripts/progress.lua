-- A short loop with a progress bar; each step busy-waits params.step_ms.
local n = params.steps or 20
local wait = (params.step_ms or 10) / 1000
local bar <close> = lundi.progress{total = n, label = "train"}
for step = 1, n do
  local t = os.clock()
  while os.clock() - t < wait do end
  bar:update(step, {loss = 1 / (step + 10), lr = 1e-4})
end
bar:finish()
