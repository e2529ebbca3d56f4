-- One bar, one update: shows how an extra table is formatted.
local bar = lundi.progress{total = 4, label = "fmt"}
bar:update(2, {loss = 0.0412345, lr = 1e-4, phase = "warmup", ok = true, n = 7, big = 123456789.5})
bar:finish()
