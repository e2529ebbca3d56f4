-- Lua image functions: save_image, load_image, png_text, plot (suite 'image').
local dir = arg[0]:match("(.*/)") or ""
local T = dofile(dir .. "../lua/check.lua")
local L = lundi

local base = os.tmpname() -- a unique prefix; the file itself is removed
os.remove(base)
local made = {}
local function tmp(name)
  local p = base .. "_" .. name
  made[#made + 1] = p
  return p
end
local function cleanup()
  for _, p in ipairs(made) do os.remove(p) end
end

local cases = {}

function cases.save_load()
  -- [3,2,4] in 0..1: a round trip through 8 bits is exact to half a step
  local vals = {}
  for c = 1, 3 do
    vals[c] = {}
    for y = 1, 2 do
      vals[c][y] = {}
      for x = 1, 4 do vals[c][y][x] = ((c * 7 + y * 3 + x) % 11) / 10 end
    end
  end
  local p = tmp("rgb.png")
  L.save_image(p, L.tensor(vals))
  local back = L.load_image(p)
  T.eq(T.fmt(back:shape()), "{3, 2, 4}", "shape")
  T.near(back, vals, 0.5 / 255 + 1e-6, "values")
  -- gray [H,W] and [1,H,W]; range maps -1..1
  local g = tmp("gray.png")
  L.save_image(g, L.tensor({{-1, 0, 1}, {-2, 2, 0.5}}), {range = {-1, 1}})
  local gb = L.load_image(g)
  T.eq(T.fmt(gb:shape()), "{1, 2, 3}", "gray shape")
  T.near(gb, {{{0, 128 / 255, 1}, {0, 1, 191 / 255}}}, 1e-6, "gray values, clamped")
  L.save_image(g, L.tensor({{{0.25}}}))
  T.near(L.load_image(g), {{{64 / 255}}}, 1e-6, "[1,1,1]")
  cleanup()
end

function cases.save_grid()
  -- five 3x4x4 images, 2 per row, padding 1 -> 3 rows: [3, 3*5+1, 2*5+1]
  local t = L.full({5, 3, 4, 4}, 1.0)
  local p = tmp("grid.png")
  L.save_image(p, t, {nrow = 2, padding = 1, pad_value = 0})
  local g = L.load_image(p)
  T.eq(T.fmt(g:shape()), "{3, 16, 11}", "grid shape")
  local v = g:tolist()
  T.eq(v[1][1][1], 0, "border is pad_value")
  T.eq(v[1][2][2], 1, "first tile")
  T.eq(v[2][6][2], 0, "gap between rows")
  T.eq(v[3][12][8], 0, "the empty cell after image 5")
  T.eq(v[3][12][2], 1, "image 5")
  L.save_image(p, t, {nrow = 8, padding = 0, pad_value = 255})
  T.eq(T.fmt(L.load_image(p):shape()), "{3, 4, 20}", "one row, no padding")
  L.save_image(p, L.zeros(2, 1, 2, 2), {padding = 1, pad_value = 255})
  local w = L.load_image(p):tolist()
  T.eq(T.fmt({w[1][1][1], w[1][2][2], w[1][2][4]}), "{1.0, 0.0, 1.0}", "pad_value 255 around gray tiles")
  cleanup()
end

function cases.png_text()
  local p = tmp("text.png")
  L.save_image(p, L.zeros(1, 2, 2), {text = {lundi = "run 1234", parameters = "Steps: 20, Seed: 42", utf = "Grüße"}})
  T.eq(L.png_text(p, "lundi"), "run 1234", "ascii")
  T.eq(L.png_text(p, "parameters"), "Steps: 20, Seed: 42", "parameters")
  T.eq(L.png_text(p, "utf"), "Grüße", "utf-8 (iTXt)")
  T.eq(L.png_text(p, "nope"), nil, "absent key")
  local f = io.open(tmp("notpng.png"), "wb")
  f:write("hello, not a png")
  f:close()
  T.fails(function() L.png_text(made[#made], "k") end, "not a PNG file")
  T.fails(function() L.load_image(made[#made]) end, "notpng.png': png_decode: not a PNG file")
  T.fails(function() L.png_text(base .. "_missing.png", "k") end, "cannot open")
  cleanup()
end

function cases.plot()
  local p = tmp("plot.png")
  local x, y1, y2 = {}, {}, {}
  for i = 1, 200 do
    x[i] = i * 10
    y1[i] = math.exp(-i / 50)
    y2[i] = (i % 50 == 0) and 0 / 0 or 0.5 * math.exp(-i / 80)
  end
  L.plot{series = {{label = "train", x = x, y = y1}, {label = "val", y = L.tensor(y2)}}, path = p,
         width = 320, height = 200, title = "loss", log_y = true}
  local img = L.load_image(p)
  T.eq(T.fmt(img:shape()), "{3, 200, 320}", "plot size")
  local v = img:tolist()
  T.eq(v[1][1][1] + v[2][1][1] + v[3][1][1], 3, "white corner")
  L.plot{series = {}, path = p} -- empty: still an image (640x400 default)
  T.eq(T.fmt(L.load_image(p):shape()), "{3, 400, 640}", "default size")
  T.fails(function() L.plot{series = {}} end, "'path' (a .png file to write) is required")
  T.fails(function() L.plot{series = {{y = {1, 2}, x = {1}}}, path = p} end, "series 1 has 1 x values but 2 y values")
  T.fails(function() L.plot{series = {{y = {1, "a"}}}, path = p} end, "series 1 'y'[2] is string, not a number")
  T.fails(function() L.plot{series = {{label = "a"}}, path = p} end, "series 1 has no 'y'")
  T.fails(function() L.plot{series = {}, path = p, colour = "red"} end, "unknown option 'colour'")
  T.fails(function() L.plot{series = {}, path = p, width = 10} end, "'width' = 10 is outside 160..8192")
  cleanup()
end

function cases.errors()
  local p = tmp("e.png")
  T.fails(function() L.save_image(p, L.zeros(2, 3, 3)) end, "2 channels; expected 1 (gray) or 3 (RGB)")
  T.fails(function() L.save_image(p, L.zeros(4)) end, "expected [H,W], [1,H,W] or [3,H,W]")
  T.fails(function() L.save_image(p, L.zeros(3, 2, 2), {nrows = 2}) end, "unknown option 'nrows'")
  T.fails(function() L.save_image(p, L.zeros(3, 2, 2), {range = {1}}) end, "'range' must be {lo, hi}")
  T.fails(function() L.save_image(p, L.zeros(3, 2, 2), {range = {1, 1}}) end, "need finite lo < hi")
  T.fails(function() L.save_image(p, L.zeros(1, 3, 2, 2), {nrow = 0}) end, "'nrow' = 0 is outside 1..4096")
  T.fails(function() L.save_image(base .. "_no/such/dir.png", L.zeros(3, 2, 2)) end, "cannot create a file in its directory")
  T.fails(function() L.load_image(base .. "_missing.png") end, "cannot open")
  T.eq(io.open(p, "rb"), nil, "no file written on error")
  cleanup()
end

T.run(cases)
