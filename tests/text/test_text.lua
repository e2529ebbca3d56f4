-- lundi.text in Lua (suite 'text'): the binding's conversions and its messages, word for word
-- (the work itself has C tests: test_tokenizer.c, test_bpe.c, test_task.c, test_corpus.c,
-- test_text_calls.c).
local dir = arg[0]:match("(.*/)") or ""
local T = dofile(dir .. "../lua/check.lua")
local L = lundi

local function tmpdir()
  local d = os.tmpname()
  os.remove(d)
  assert(os.execute("mkdir -p '" .. d .. "'"))
  return d
end
local function write(path, s)
  local f = assert(io.open(path, "wb"))
  f:write(s)
  f:close()
end
-- The whole message, without the chunk's position.
local function msg(fn)
  local ok, err = pcall(fn)
  assert(not ok, "expected an error")
  return (tostring(err):gsub("^[^:]*:%d+: ", ""))
end

local cases = {}

function cases.tokenizer()
  local tok = L.text.tokenizer("bytes")
  T.eq(tostring(tok), "Tokenizer(bytes, vocab 260)")
  T.eq(tok:kind(), "bytes")
  T.eq(tok:vocab_size(), 260)
  T.eq(tok:special("eos"), 257)
  T.eq(tok:piece(65), "A")
  local ids = tok:encode("hi\0!")
  T.eq(ids:dtype(), "i32")
  T.eq(T.fmt(ids:tolist()), "{104, 105, 0, 33}")
  T.eq(tok:encode(""):numel(), 0)
  T.eq(tok:decode(ids), "hi\0!")
  T.eq(tok:decode({259, 104, 105, 257}), "<|bos|>hi<|endoftext|>")
  T.eq(tok:decode({259, 104, 105, 257}, {skip_special = true}), "hi")
  T.eq(tok:decode(L.tensor({{104, 105}, {106, 107}})), "hijk")
  T.eq(msg(function() tok:decode({1.5}) end), "decode: ids[1] must be an integer")
  T.eq(msg(function() tok:decode(L.tensor({999})) end),
       "decode: tokenizer_decode: id 999 at position 0 is outside the bytes vocabulary (0..259)")
  T.eq(msg(function() tok:decode({-1}) end),
       "decode: tokenizer_decode: id -1 at position 0 is outside the bytes vocabulary (0..259)")
  T.eq(msg(function() tok:decode({1}, {skp = true}) end), "decode: unknown option 'skp' (valid: skip_special)")
  T.eq(msg(function() tok:piece(999) end), "piece: id 999 is outside the vocabulary (0..259)")
  T.eq(msg(function() tok:special("foo") end), "bad argument #1 to 'special' (invalid option 'foo')")
  T.eq(msg(function() L.text.tokenizer("/nonexistent.json") end),
       "text.tokenizer: tokenizer_load: cannot open '/nonexistent.json': No such file or directory")
end

function cases.train_bpe()
  local d = tmpdir()
  local corpus = "the quick brown fox jumps over the lazy dog the the the quick\n"
  write(d .. "/a.txt", corpus)
  local a = L.text.train_bpe{texts = {corpus, corpus}, vocab_size = 270}
  local b = L.text.train_bpe{files = {d .. "/a.txt", d .. "/a.txt"}, vocab_size = 270}
  T.eq(tostring(b), "Tokenizer(bpe, vocab 270)")
  T.eq(T.fmt(b:encode("the quick"):tolist()), T.fmt(a:encode("the quick"):tolist()))
  b:save(d .. "/tok.json")
  local c = L.text.tokenizer(d .. "/tok.json")
  T.eq(T.fmt(c:encode(corpus):tolist()), T.fmt(a:encode(corpus):tolist()))
  T.eq(msg(function() L.text.train_bpe{files = {d .. "/a.txt", "/nonexistent"}} end),
       "text.train_bpe: cannot open '/nonexistent': No such file or directory")
  T.eq(msg(function() L.text.train_bpe{files = {d .. "/a.txt", 3}} end),
       "text.train_bpe: files[2] must be a string, got number")
  T.eq(msg(function() L.text.train_bpe{} end), "text.train_bpe: texts must be an array of strings")
  T.eq(msg(function() L.text.train_bpe{texts = {}, vocab_size = 10} end),
       "text.train_bpe: option 'vocab_size' = 10 is outside 260..1048576")
  os.execute("rm -rf '" .. d .. "'")
end

function cases.task()
  local t = L.text.task("add", {digits = 18})
  T.eq(tostring(t), "Task(add, prompt 38, answer 19)")
  local p, a = t:generate(7)
  T.eq(#p, 38)
  T.eq(#a, 19)
  T.eq(t:prompt(p), p)
  local s, n = t:solve("123+456")
  T.eq(s, "0000000000000000579")
  T.eq(n, 1)
  T.eq(t:check(p, a), true)
  local s9 = L.text.task("sudoku9")
  local _, k = s9:solve(string.rep("0", 81))
  T.eq(k, 2)
  T.eq(msg(function() L.text.task("add"):solve("garbage") end),
       "solve: add input must be a+b with 1 to 4 digits each, got \"garbage\"")
  T.eq(msg(function() L.text.task("nope") end),
       "text.task: unknown text task \"nope\" (tasks: sudoku4, sudoku9, add)")
end

function cases.datasets()
  local tok = L.text.tokenizer("bytes")
  local tk, pl = L.text.task("add"):dataset{tokenizer = tok, seed = 1, count = 3}
  T.eq(T.fmt(tk:shape()), "{3, 16}")
  T.eq(T.fmt(pl:tolist()), "{10, 10, 10}")
  local d = tmpdir()
  write(d .. "/lines.txt", "hello world\nq\ta\n\nlast line\n")
  tk, pl = L.text.lines{tokenizer = tok, path = d .. "/lines.txt", seq_len = 16}
  T.eq(T.fmt(tk:shape()), "{3, 16}")
  T.eq(T.fmt(pl:tolist()), "{1, 1, 1}")
  T.eq(msg(function() L.text.task("add"):dataset{tokenizer = tok, seq_len = 3} end),
       "dataset: dataset_task: pair 0 (seed 0) is 16 tokens with its EOS, more than seq_len 3")
  T.eq(msg(function() L.text.lines{tokenizer = tok} end), "text.lines: path is required")
  T.eq(msg(function() L.text.lines{path = "x"} end),
       "text.lines: tokenizer is required (lundi.text.tokenizer(\"bytes\"))")
  os.execute("rm -rf '" .. d .. "'")
end

T.run(cases, arg[1])
