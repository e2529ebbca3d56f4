-- Uses every writing method of the current run; --fail=MSG makes it fail at the end.
local run = assert(lundi.current_run(), "no current run")
for i = 0, 9 do run:log{loss = 1 / (i + 1), lr = 1e-3} end
run:log{step = 100, loss = 0.01}
run:log{acc = 0.5} -- the default step follows the last one: 101
run:tag("model", "unet")
run:param("from_lua", 2.5)
lundi.scheduler("ddpm", {})
lundi.scheduler("ddpm", {}) -- the same parameters: recorded once
lundi.scheduler("ddpm", {num_train_timesteps = 500})
local x = lundi.rng(1):randn({4, 1, 8, 8})
run:save_image("samples", x, {parameters = {steps = 50, sampler = "ddim", cfg_scale = 7.5,
                                             seed = 42, model_hash = "1a2b3c4d"}})
run:checkpoint(lundi.nn.Linear(3, 2), "lin")
run:save_trajectory("traj", {x, x})
run:save_text("note", "hello")
assert(not pcall(run.finish, run), "finish refuses the run of lundi run")
if params.fail then error("boom " .. params.fail) end
print("ok " .. run.uuid)
