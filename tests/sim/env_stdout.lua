-- For sim/cli_stdout: a script that makes both environments and prints one line; `lundi run`'s
-- stdout must be that line alone (no Chipmunk banner).
local p, t = lundi.env("pusht"), lundi.env("two_way")
p:reset(0)
p:step({256, 256})
t:reset(0)
print(p:name() .. " " .. p:obs_dim() .. " " .. t:name())
