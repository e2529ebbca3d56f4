print("device " .. lundi.device() .. " " .. lundi.zeros(1):device())
