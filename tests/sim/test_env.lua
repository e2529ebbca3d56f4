-- lundi.env in Lua (suite 'sim'): every method's conversion and every message, word for word,
-- and episodes stored as GIF outputs (run:save_animation). The simulators themselves have C
-- tests (test_sim.c, test_env_calls.c; the GIF output test_session.c).
local dir = arg[0]:match("(.*/)") or ""
local T = dofile(dir .. "../lua/check.lua")
local L = lundi

-- The whole message, without the chunk's position.
local function msg(fn)
  local ok, err = pcall(fn)
  assert(not ok, "expected an error")
  return (tostring(err):gsub("^[^:]*:%d+: ", ""))
end

local function tmpdir()
  local d = os.tmpname()
  os.remove(d)
  assert(os.execute("mkdir -p '" .. d .. "'"))
  return d
end

local cases = {}

function cases.pusht()
  local e = L.env("pusht")
  T.eq(tostring(e), "Env(pusht, obs 20, action 2, max_steps 300)")
  T.eq(e:name(), "pusht")
  T.eq(e:obs_dim(), 20)
  T.eq(e:action_dim(), 2)
  T.eq(e:max_steps(), 300)
  local o = e:reset(7)
  T.eq(o:dtype(), "f32")
  T.eq(T.fmt(o:shape()), "{20}")
  T.eq(e:steps(), 0)
  T.eq(T.fmt(e:reset(7):tolist()), T.fmt(o:tolist()), "the same seed, the same start")
  T.eq(T.fmt(e:reset():tolist()), T.fmt(e:reset(0):tolist()), "seed 0 by default")
  T.eq(T.fmt(e:observe():tolist()), T.fmt(e:reset(0):tolist()))
  -- a table and a tensor (any shape, any dtype) are the same action
  e:reset(7)
  local o1, r1, d1 = e:step({300, 200})
  local s1 = e:state()
  e:reset(7)
  local o2, r2, d2 = e:step(L.tensor({{300, 200}}))
  T.eq(T.fmt(o2:tolist()), T.fmt(o1:tolist()))
  T.eq(r2, r1)
  T.eq(d1, false)
  T.eq(d2, false)
  T.eq(math.type(r1), "float")
  T.eq(T.fmt(e:observe():tolist()), T.fmt(o2:tolist()))
  T.eq(e:steps(), 1)
  T.eq(e:success(), false)
  T.near(e:coverage() / 0.95, r1, 1e-12, "reward = coverage / 0.95 (below success)")
  -- state: agent, block, angle; set_state places it and returns its obs
  local s = e:state()
  T.eq(s.agent_x, s1.agent_x)
  T.truthy(s.block_x and s.block_y and s.angle and s.agent_y)
  local placed = e:set_state{agent_x = 100, agent_y = 120, block_x = 256, block_y = 256, angle = math.pi / 4}
  T.eq(placed:tolist()[19], 100.0, "the agent ends the obs")
  T.eq(placed:tolist()[20], 120.0)
  T.eq(e:steps(), 0)
  T.near(e:coverage(), 1, 1e-9, "the block on the goal")
  T.eq(e:success(), true)
  local st = e:state()
  T.near({st.agent_x, st.agent_y, st.block_x, st.block_y, st.angle}, {100, 120, 256, 256, math.pi / 4}, 1e-6)
  -- a step from a success ends the episode; the next one is refused
  local _, r, done = e:step({100, 120})
  T.eq(done, true)
  T.eq(r, 1.0)
  T.eq(msg(function() e:step({1, 2}) end), "env:step: env_step: the pusht episode is done (after 1 steps); reset it")
  e:reset(1)
  T.eq(select(3, e:step({1, 2})), false)
end

function cases.two_way()
  local e = L.env("two_way")
  T.eq(tostring(e), "Env(two_way, obs 2, action 2, max_steps 50)")
  local o = e:reset(3)
  T.eq(T.fmt(o:shape()), "{2}")
  T.eq(e:side(), "none")
  T.eq(e:hits(), 0)
  T.eq(T.fmt(e:set_agent(-0.5, -0.5):tolist()), "{-0.5, -0.5}")
  -- up the left side into the goal
  local path = {{-0.5, 0.5}, {0, 0.7}}
  local done, r, n = false, 0, 0
  for _, target in ipairs(path) do
    while not done and n < 50 do
      o, r, done = e:step(target)
      n = n + 1
      local x, y = table.unpack(o:tolist())
      if math.abs(x - target[1]) < 1e-6 and math.abs(y - target[2]) < 1e-6 then break end
    end
  end
  T.eq(done, true)
  T.eq(r, 1.0)
  T.eq(e:success(), true)
  T.eq(e:side(), "left")
  T.eq(e:steps(), n)
  -- into the obstacle: a hit
  e:reset(0)
  for _ = 1, 8 do e:step({0, 0}) end
  T.eq(e:hits(), 3, "stopped at the obstacle's edge from the 6th step on")
  T.eq(msg(function() e:set_agent(0, 0) end), "env:set_agent: two_way_set_agent: (0, 0) is inside the obstacle")
  e:set_agent(0.6, 0.3)
  e:step({0.6, 0.5})
  T.eq(e:side(), "right")
end

function cases.render()
  local e = L.env("pusht")
  T.eq(msg(function() e:render() end), "env:render: env_render: pusht has not been reset")
  e:set_state{agent_x = 100, agent_y = 100, block_x = 120, block_y = 380, angle = 0}
  local im = e:render()
  T.eq(im:dtype(), "f32")
  T.eq(T.fmt(im:shape()), "{3, 256, 256}")
  T.eq(T.fmt(e:render(64):shape()), "{3, 64, 64}")
  local wide = e:render(40, 24)
  T.eq(T.fmt(wide:shape()), "{3, 24, 40}")
  T.eq(wide:max():item() <= 1 and (-wide):max():item() <= 0, true, "values in [0, 1]")
  -- the agent's pixel at (50, 50) of 256 is RoyalBlue (65, 105, 225) / 255
  local px = {}
  for c = 1, 3 do px[c] = math.floor(im:slice(1, c, c):slice(2, 51, 51):slice(3, 51, 51):item() * 255 + 0.5) end
  T.eq(T.fmt(px), "{65, 105, 225}")
  -- what lundi.save_image writes is the render, byte for byte
  local d = tmpdir()
  L.save_image(d .. "/frame.png", im)
  local back = L.load_image(d .. "/frame.png")
  T.eq(T.fmt(back:shape()), "{3, 256, 256}")
  T.eq((back - im):abs():max():item(), 0.0)
  os.execute("rm -rf '" .. d .. "'")
  T.eq(msg(function() e:render(4) end), "env:render: env_render: size 4x4 is outside 8x8 .. 4096x4096")
  T.eq(msg(function() e:render(64, 5000) end), "env:render: env_render: size 64x5000 is outside 8x8 .. 4096x4096")
  local t = L.env("two_way")
  t:reset(0)
  T.eq(T.fmt(t:render(32):shape()), "{3, 32, 32}")
end

function cases.errors()
  T.eq(msg(function() L.env("cartpole") end),
       "lundi.env: env_new: unknown environment \"cartpole\"; environments: pusht, two_way")
  T.eq(msg(function() L.env() end), "bad argument #1 to 'env' (string expected, got no value)")
  local e = L.env("pusht")
  T.eq(msg(function() e:step({1, 2}) end), "env:step: env_step: pusht has not been reset")
  T.eq(msg(function() e:success() end), "env:success: env_success: pusht has not been reset")
  T.eq(msg(function() e:observe() end), "env:observe: env_observe: pusht has not been reset")
  T.eq(msg(function() e:coverage() end), "env:coverage: pusht_coverage: pusht has not been reset")
  e:reset(0)
  T.eq(msg(function() e:step({1, 2, 3}) end), "env:step: action has 3 numbers, the pusht environment takes 2")
  T.eq(msg(function() e:step({}) end), "env:step: action has 0 numbers, the pusht environment takes 2")
  T.eq(msg(function() e:step(L.zeros(1)) end), "env:step: action has 1 number, the pusht environment takes 2")
  T.eq(msg(function() e:step(L.zeros(2, 2)) end), "env:step: action has 4 numbers, the pusht environment takes 2")
  T.eq(msg(function() e:step({1, "2"}) end), "env:step: action[2] is a string, not a number")
  T.eq(msg(function() e:step({0 / 0, 1}) end), "env:step: action[1] is NaN, not a finite number")
  T.eq(msg(function() e:step(L.tensor({1, math.huge})) end), "env:step: action[2] is infinite, not a finite number")
  T.eq(msg(function() e:step(3) end), "env:step: the action must be a tensor or a table of 2 numbers (got number)")
  T.eq(msg(function() e:step() end), "env:step: the action must be a tensor or a table of 2 numbers (got no value)")
  T.eq(e:steps(), 0, "a refused action is no step")
  T.eq(msg(function() e:reset(-1) end), "env:reset: seed must be a non-negative integer (got -1)")
  T.eq(msg(function() e:reset(1.5) end), "bad argument #1 to 'reset' (number has no integer representation)")
  T.eq(msg(function() e:side() end), "env:side: two_way_side_of: needs a two_way environment, got pusht")
  T.eq(msg(function() e:hits() end), "env:hits: two_way_hits: needs a two_way environment, got pusht")
  T.eq(msg(function() e:set_agent(0, 0) end),
       "env:set_agent: two_way_set_agent: needs a two_way environment, got pusht")
  T.eq(msg(function() e:set_state{agent_x = 1} end),
       "env:set_state: 'agent_y' must be a number (got nil); the state is {agent_x, agent_y, block_x, block_y, angle}")
  T.eq(msg(function() e:set_state{agent_x = 1, agent_y = 1, block_x = 1, block_y = 1, angel = 0} end),
       "env:set_state: unknown state field 'angel' (valid: agent_x, agent_y, block_x, block_y, angle); did you mean 'angle'?")
  T.eq(msg(function() e:set_state{agent_x = 1, agent_y = 1, block_x = 1, block_y = 1, angle = 0 / 0} end),
       "env:set_state: pusht_set_state: state[4] is not finite")
  T.eq(msg(function() e.step({}, {1, 2}) end), "bad argument #1 to 'step' (lundi.Env expected, got table)")
  local t = L.env("two_way")
  t:reset(0)
  T.eq(msg(function() t:coverage() end), "env:coverage: pusht_coverage: needs a pusht environment, got two_way")
  T.eq(msg(function() t:state() end), "env:state: pusht_get_state: needs a pusht environment, got two_way")
  T.eq(msg(function() t:set_state{} end), "env:set_state: 'agent_x' must be a number (got nil); the state is "
       .. "{agent_x, agent_y, block_x, block_y, angle}")
  T.eq(msg(function() t:step({0.1}) end), "env:step: action has 1 number, the two_way environment takes 2")
  for _ = 1, 50 do
    local _, _, done = t:step({0.9, -0.9})
    if done then break end
  end
  T.eq(msg(function() t:step({0, 0}) end), "env:step: env_step: the two_way episode is done (after 50 steps); reset it")
  -- freed by the collector, many times over, without trouble
  for _ = 1, 200 do L.env("pusht") end
  collectgarbage()
  collectgarbage()
end

function cases.animation()
  local d = tmpdir()
  local run = L.run{db = d .. "/runs.db"}
  local e = L.env("two_way")
  e:reset(0)
  local frames = {e:render(32)}
  for _ = 1, 5 do
    e:step({-0.5, 0})
    frames[#frames + 1] = e:render(32)
  end
  T.eq(run:save_text("note", "first"), 1, "save_* return the output's id")
  local id = run:save_animation("episode", frames, {fps = 4})
  T.eq(id, 2)
  T.eq(run:save_animation("default", frames), 3)
  T.eq(run:save_animation("gray", {L.zeros(8, 8), L.full({8, 8}, -1)}, {range = {-1, 1}}), 4)
  T.eq(msg(function() run:save_animation("x", {}) end), "bad argument #2 to 'save_animation' (empty array of frames)")
  T.eq(msg(function() run:save_animation("x", {frames[1], 3}) end),
       "bad argument #2 to 'save_animation' (frame 2 is a number, not a tensor)")
  T.eq(msg(function() run:save_animation("x", {frames[1], e:render(16)}) end),
       "save_animation: frame 2 (of 2) is 16x16, frame 1 is 32x32")
  T.eq(msg(function() run:save_animation("x", {L.zeros(2, 3, 8, 8)}) end),
       "save_animation: frame 1 (of 1): image_from_tensor: tensor has shape [2,3,8,8]; expected [H,W], "
       .. "[1,H,W] or [3,H,W] (use image_grid for a batch [N,C,H,W])")
  T.eq(msg(function() run:save_animation("x", frames, {fps = 0}) end),
       "save_animation: option 'fps' = 0 is outside 1..100")
  T.eq(msg(function() run:save_animation("x", frames, {fsp = 10}) end),
       "save_animation: unknown option 'fsp' (valid: fps, range); did you mean 'fps'?")
  T.eq(msg(function() run:save_animation("x", frames, {range = 1}) end),
       "save_animation: option 'range' must be {lo, hi}, two numbers")
  T.eq(msg(function() run:save_animation("x", 3) end),
       "bad argument #2 to 'save_animation' (table expected, got number)")
  run:finish()
  local outs = L.history.run("last", d .. "/runs.db").outputs
  T.eq(#outs, 4)
  local o = outs[2]
  T.eq(o.name, "episode")
  T.eq(o.kind, "file")
  T.eq(o.mime, "image/gif")
  T.eq(o.metadata, '{"width":32,"height":32,"frames":6,"delay_cs":25}')
  T.eq(outs[3].metadata, '{"width":32,"height":32,"frames":6,"delay_cs":10}', "10 fps by default")
  T.eq(outs[4].metadata, '{"width":8,"height":8,"frames":2,"delay_cs":10}')
  os.execute("rm -rf '" .. d .. "'")
end

local name = arg[1] == "--" and arg[2] or arg[1]
local fn = cases[name]
if not fn then error("unknown case " .. tostring(name)) end
fn()
