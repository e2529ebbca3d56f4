-- Where new tensors go, and that one round-trips through the device.
local t = lundi.zeros(3)
print("device " .. lundi.device() .. " " .. t:device())
