-- Uses the scheduler that lua_file_plugin.lua registered from its own Lua state.
local s = lundi.scheduler("lua_file_sched", {scale = 0.25})
s:set_timesteps(3)
local x = s:step(lundi.ones(2), 0, lundi.ones(2))
print(string.format("steps %d t0 %g x %g", s:num_steps(), s:timestep(0), x:totable()[1]))
