/* The text functions of the lundi module (the table lundi.text): tokenizers, the generated
 * tasks and the text datasets of lundi/tokenizer.h and lundi/text_data.h. Datasets come back
 * as two tensors, tokens i32 [N, seq_len] and prompt_len i32 [N], for lundi.data.batches.
 *   lundi.text.tokenizer("bytes" | "gpt2" | FILE.json) -> Tokenizer
 *   lundi.text.train_bpe{texts = {...} | files = {...}, vocab_size = N} -> Tokenizer
 *   tok:encode(s) -> i32 [n]     tok:decode(ids [, {skip_special = false}]) -> string
 *   tok:vocab_size(), tok:kind(), tok:special("mask" | "eos" | "pad" | "bos"), tok:piece(id),
 *   tok:save(path)
 *   lundi.text.task(name [, {digits =, blanks =}]) -> Task
 *   task:generate(seed) -> prompt, answer    task:prompt(line) -> prompt
 *   task:solve(prompt) -> answer, n_solutions    task:check(prompt, answer) -> bool
 *   task:widths() -> prompt_len, answer_len
 *   task:dataset{tokenizer =, seed =, count =, seq_len = 0} -> tokens, prompt_len
 *   lundi.text.lines{tokenizer =, path =, seq_len =} -> tokens, prompt_len
 *   lundi.text.fortunes{tokenizer =, split = "train", seq_len =, dir = nil} -> tokens, prompt_len
 *   lundi.text.fortunes_text{split = "test", dir = nil} -> string */
#include <stdlib.h>
#include <string.h>

#include "lbind.h"
#include "lua_tensor.h"
#include "lundi/text_data.h"
#include "lundi/tokenizer.h"

#define TOKENIZER "lundi.Tokenizer"
#define TASK "lundi.Task"

typedef struct tok_ud {
  lundi_tokenizer *tok;
} tok_ud;

typedef struct task_ud {
  lundi_text_task task;
  lundi_task_opts opts;
} task_ud;

static lundi_tokenizer *check_tok(lua_State *L, int idx) {
  tok_ud *u = luaL_checkudata(L, idx, TOKENIZER);
  return u->tok;
}

static int push_tok(lua_State *L, lundi_tokenizer *tok, const char *fn) {
  if (!tok) lundi_lua_error(L, fn);
  tok_ud *u = lua_newuserdatauv(L, sizeof *u, 0);
  u->tok = tok;
  luaL_setmetatable(L, TOKENIZER);
  return 1;
}

static int tok_gc(lua_State *L) {
  tok_ud *u = luaL_checkudata(L, 1, TOKENIZER);
  lundi_tokenizer_free(u->tok);
  u->tok = NULL;
  return 0;
}

LB_FN(l_tokenizer, LB_STR(spec); return push_tok(L, lundi_tokenizer_open(spec), "text.tokenizer"))

/* The strings of the array field key of the table at arg, as pointers and lengths anchored
 * by the table (which stays on the stack). */
static int64_t string_array(lua_State *L, int arg, const char *key, const char ***out, size_t **lens) {
  if (lua_getfield(L, arg, key) != LUA_TTABLE)
    return luaL_error(L, "text.train_bpe: %s must be an array of strings", key), 0;
  int t = lua_gettop(L);
  int64_t n = (int64_t)luaL_len(L, t);
  const char **s = lua_newuserdatauv(L, sizeof *s * (size_t)(n ? n : 1), 0);
  size_t *l = lua_newuserdatauv(L, sizeof *l * (size_t)(n ? n : 1), 0);
  for (int64_t i = 0; i < n; i++) {
    lua_geti(L, t, i + 1);
    if (lua_type(L, -1) != LUA_TSTRING)
      return luaL_error(L, "text.train_bpe: %s[%d] must be a string, got %s", key, (int)i + 1,
                        luaL_typename(L, -1)), 0;
    s[i] = lua_tolstring(L, -1, &l[i]);
    lua_pop(L, 1); /* the table keeps the string alive */
  }
  *out = s;
  *lens = l;
  return n;
}

static int l_train_bpe(lua_State *L) {
  static const char *const keys[] = {"texts", "files", "vocab_size", NULL};
  luaL_checktype(L, 1, LUA_TTABLE);
  lundi_lua_check_options(L, 1, "text.train_bpe", keys);
  int vocab =
      (int)lundi_lua_opt_int_field(L, 1, "text.train_bpe", "vocab_size", 1000, 260, 1 << 20);
  const char **s = NULL;
  size_t *lens = NULL;
  int files = lundi_lua_get_field(L, 1, "files") != LUA_TNIL;
  lua_pop(L, 1);
  int64_t n = string_array(L, 1, files ? "files" : "texts", &s, &lens);
  return push_tok(L,
                  files ? lundi_tokenizer_train_bpe_files(s, n, vocab)
                        : lundi_tokenizer_train_bpe(s, lens, n, vocab),
                  "text.train_bpe");
}

LB_FN(tok_encode, LB_UD(lundi_tokenizer *, tok, check_tok); LB_LSTR(s, len);
      LB_RET_T_AS(lundi_lua_placed(lundi_tokenizer_encode_tensor(tok, s, len)), "encode"))

/* ids from a Lua array of integers, into a buffer anchored on the stack. */
static int32_t *table_ids(lua_State *L, int idx, int64_t *n) {
  *n = (int64_t)luaL_len(L, idx);
  int32_t *ids = lua_newuserdatauv(L, sizeof *ids * (size_t)(*n ? *n : 1), 0);
  for (int64_t i = 0; i < *n; i++) {
    lua_geti(L, idx, i + 1);
    int isint;
    lua_Integer v = lua_tointegerx(L, -1, &isint);
    if (!isint) return luaL_error(L, "decode: ids[%d] must be an integer", (int)i + 1), NULL;
    ids[i] = (int32_t)v;
    lua_pop(L, 1);
  }
  return ids;
}

static int tok_decode(lua_State *L) {
  lundi_tokenizer *tok = check_tok(L, 1);
  int skip = 0;
  if (lua_istable(L, 3)) {
    static const char *const keys[] = {"skip_special", NULL};
    lundi_lua_check_options(L, 3, "decode", keys);
    skip = lundi_lua_opt_bool_field(L, 3, "decode", "skip_special", 0);
  }
  char *text;
  size_t len;
  int rc;
  if (lua_istable(L, 2)) {
    int64_t n = 0;
    const int32_t *ids = table_ids(L, 2, &n);
    rc = lundi_tokenizer_decode(tok, ids, n, skip, &text, &len);
  } else {
    rc = lundi_tokenizer_decode_tensor(tok, lundi_lua_check_tensor(L, 2), skip, &text, &len);
  }
  if (rc) return lundi_lua_error(L, "decode");
  lua_pushlstring(L, text, len);
  free(text);
  return 1;
}

LB_FN(tok_vocab_size, LB_UD(lundi_tokenizer *, tok, check_tok);
      LB_RET_INT(lundi_tokenizer_vocab_size(tok)))
LB_FN(tok_kind, LB_UD(lundi_tokenizer *, tok, check_tok); LB_RET_STR(lundi_tokenizer_kind(tok)))

static const char *const special_names[] = {"mask", "eos", "pad", "bos", NULL};
LB_FN(tok_special, LB_UD(lundi_tokenizer *, tok, check_tok);
      int which = luaL_checkoption(L, LB_ARG, NULL, special_names);
      LB_RET_INT(lundi_tokenizer_special(tok, (lundi_special_token)which)))

static int tok_piece(lua_State *L) {
  lundi_tokenizer *tok = check_tok(L, 1);
  lua_Integer id = luaL_checkinteger(L, 2);
  size_t len;
  const char *p = id < INT32_MIN || id > INT32_MAX ? NULL : lundi_tokenizer_piece(tok, (int32_t)id, &len);
  if (!p) return luaL_error(L, "piece: id %I is outside the vocabulary (0..%d)", id,
                            lundi_tokenizer_vocab_size(tok) - 1);
  lua_pushlstring(L, p, len);
  return 1;
}

LB_FN(tok_save, LB_UD(lundi_tokenizer *, tok, check_tok); LB_STR(path);
      LB_RET_OK(lundi_tokenizer_save(tok, path), "save"))

static int tok_tostring(lua_State *L) {
  lundi_tokenizer *tok = check_tok(L, 1);
  lua_pushfstring(L, "Tokenizer(%s, vocab %d)", tok ? lundi_tokenizer_kind(tok) : "freed",
                  tok ? lundi_tokenizer_vocab_size(tok) : 0);
  return 1;
}

/* ---- tasks ---- */

static task_ud *check_task(lua_State *L, int idx) { return luaL_checkudata(L, idx, TASK); }

static int l_task(lua_State *L) {
  const char *name = luaL_checkstring(L, 1);
  lundi_text_task task;
  if (lundi_text_task_parse(name, &task)) return lundi_lua_error(L, "text.task");
  lundi_task_opts opts = {0, 0};
  if (lua_istable(L, 2)) {
    static const char *const keys[] = {"digits", "blanks", NULL};
    lundi_lua_check_options(L, 2, "text.task", keys);
    opts.digits = (int)lundi_lua_opt_int_field(L, 2, "text.task", "digits", 0, 0, 18);
    opts.blanks = (int)lundi_lua_opt_int_field(L, 2, "text.task", "blanks", 0, 0, 81);
  } else if (!lua_isnoneornil(L, 2)) {
    return luaL_argerror(L, 2, "expected a table {digits =, blanks =} or nothing");
  }
  int pl, al;
  if (lundi_task_widths(task, &opts, &pl, &al)) return lundi_lua_error(L, "text.task");
  task_ud *u = lua_newuserdatauv(L, sizeof *u, 0);
  u->task = task;
  u->opts = opts;
  luaL_setmetatable(L, TASK);
  return 1;
}

/* Prompt and answer buffers wide enough for every task (lundi/text_data.h). */
typedef struct task_text {
  char prompt[LUNDI_TASK_PROMPT_MAX + 1], answer[LUNDI_TASK_ANSWER_MAX + 1];
} task_text;

static int task_generate(lua_State *L) {
  task_ud *u = check_task(L, 1);
  lua_Integer seed = luaL_checkinteger(L, 2);
  task_text b;
  if (lundi_task_generate(u->task, &u->opts, (uint64_t)seed, b.prompt, b.answer))
    return lundi_lua_error(L, "generate");
  lua_pushstring(L, b.prompt);
  lua_pushstring(L, b.answer);
  return 2;
}

LB_FN(task_prompt, LB_UD(task_ud *, u, check_task); LB_STR(line); task_text b;
      if (lundi_task_prompt(u->task, &u->opts, line, b.prompt)) return lundi_lua_error(L, "prompt");
      LB_RET_STR(b.prompt))

static int task_solve(lua_State *L) {
  task_ud *u = check_task(L, 1);
  const char *prompt = luaL_checkstring(L, 2);
  task_text b;
  int n = 0;
  if (lundi_task_solve(u->task, &u->opts, prompt, b.answer, &n)) return lundi_lua_error(L, "solve");
  lua_pushstring(L, b.answer);
  lua_pushinteger(L, n);
  return 2;
}

LB_FN(task_check, LB_UD(task_ud *, u, check_task); LB_STR(prompt); LB_STR(answer);
      int ok = lundi_task_check(u->task, &u->opts, prompt, answer);
      if (ok < 0) return lundi_lua_error(L, "check");
      LB_RET_BOOL(ok))

static int task_widths(lua_State *L) {
  task_ud *u = check_task(L, 1);
  int pl, al;
  if (lundi_task_widths(u->task, &u->opts, &pl, &al)) return lundi_lua_error(L, "widths");
  lua_pushinteger(L, pl);
  lua_pushinteger(L, al);
  return 2;
}

LB_FN(task_name, LB_UD(task_ud *, u, check_task); LB_RET_STR(lundi_text_task_name(u->task)))

/* Every sample of ds (released here) as its two fields, pushed (on lundi.device()). */
static int push_dataset(lua_State *L, lundi_dataset *ds, const char *fn) {
  if (!ds) return lundi_lua_error(L, fn);
  lundi_tensor *out[2] = {NULL, NULL};
  int rc = lundi_dataset_all(ds, NULL, out);
  lundi_dataset_release(ds);
  if (rc) return lundi_lua_error(L, fn);
  lundi_lua_push_tensor(L, lundi_lua_placed(out[0]), fn);
  lundi_lua_push_tensor(L, lundi_lua_placed(out[1]), fn);
  return 2;
}

static lundi_tokenizer *tok_field(lua_State *L, int arg, const char *fn) {
  if (lua_getfield(L, arg, "tokenizer") == LUA_TNIL)
    return luaL_error(L, "%s: tokenizer is required (lundi.text.tokenizer(\"bytes\"))", fn), NULL;
  lundi_tokenizer *tok = luaL_testudata(L, -1, TOKENIZER) ? check_tok(L, -1) : NULL;
  if (!tok) return lundi_lua_field_error(L, arg, fn, "tokenizer", "a Tokenizer"), NULL;
  lua_pop(L, 1); /* the table keeps it alive */
  return tok;
}

static int task_dataset(lua_State *L) {
  task_ud *u = check_task(L, 1);
  static const char *const keys[] = {"tokenizer", "seed", "count", "seq_len", NULL};
  luaL_checktype(L, 2, LUA_TTABLE);
  lundi_lua_check_options(L, 2, "dataset", keys);
  lundi_tokenizer *tok = tok_field(L, 2, "dataset");
  lua_Integer seed = lundi_lua_opt_int_field(L, 2, "dataset", "seed", 0, 0, INT64_MAX);
  lua_Integer count = lundi_lua_opt_int_field(L, 2, "dataset", "count", 1000, 1, INT32_MAX);
  lua_Integer seq_len = lundi_lua_opt_int_field(L, 2, "dataset", "seq_len", 0, 0, 1 << 20);
  return push_dataset(L, lundi_dataset_task(tok, u->task, &u->opts, (uint64_t)seed, count, (int)seq_len),
                      "dataset");
}

static int task_tostring(lua_State *L) {
  task_ud *u = check_task(L, 1);
  int pl = 0, al = 0;
  lundi_task_widths(u->task, &u->opts, &pl, &al);
  lua_pushfstring(L, "Task(%s, prompt %d, answer %d)", lundi_text_task_name(u->task), pl, al);
  return 1;
}

/* ---- corpora ---- */

static int l_lines(lua_State *L) {
  static const char *const keys[] = {"tokenizer", "path", "seq_len", NULL};
  luaL_checktype(L, 1, LUA_TTABLE);
  lundi_lua_check_options(L, 1, "text.lines", keys);
  lundi_tokenizer *tok = tok_field(L, 1, "text.lines");
  const char *path = lundi_lua_opt_string_field(L, 1, "text.lines", "path", NULL);
  if (!path) return luaL_error(L, "text.lines: path is required");
  lua_Integer seq_len = lundi_lua_opt_int_field(L, 1, "text.lines", "seq_len", 128, 1, 1 << 20);
  return push_dataset(L, lundi_dataset_text_lines(tok, path, (int)seq_len), "text.lines");
}

static const char *split_field(lua_State *L, int arg, const char *fn, const char *def) {
  static const char *const splits[] = {"train", "test", "all", NULL};
  return splits[lundi_lua_opt_choice_field(L, arg, fn, "split", !strcmp(def, "test"), splits)];
}

static int l_fortunes(lua_State *L) {
  static const char *const keys[] = {"tokenizer", "split", "seq_len", "dir", NULL};
  luaL_checktype(L, 1, LUA_TTABLE);
  lundi_lua_check_options(L, 1, "text.fortunes", keys);
  lundi_tokenizer *tok = tok_field(L, 1, "text.fortunes");
  const char *split = split_field(L, 1, "text.fortunes", "train");
  lua_Integer seq_len = lundi_lua_opt_int_field(L, 1, "text.fortunes", "seq_len", 128, 2, 1 << 20);
  const char *dir = lundi_lua_opt_string_field(L, 1, "text.fortunes", "dir", NULL);
  return push_dataset(L, lundi_dataset_fortunes(tok, dir, split, (int)seq_len), "text.fortunes");
}

static int l_fortunes_text(lua_State *L) {
  const char *split = "test", *dir = NULL;
  if (lua_istable(L, 1)) {
    static const char *const keys[] = {"split", "dir", NULL};
    lundi_lua_check_options(L, 1, "text.fortunes_text", keys);
    split = split_field(L, 1, "text.fortunes_text", "test");
    dir = lundi_lua_opt_string_field(L, 1, "text.fortunes_text", "dir", NULL);
  } else if (!lua_isnoneornil(L, 1)) {
    return luaL_argerror(L, 1, "expected a table {split =, dir =} or nothing");
  }
  char *text;
  size_t len;
  if (lundi_fortunes_text(dir, split, &text, &len)) return lundi_lua_error(L, "text.fortunes_text");
  lua_pushlstring(L, text, len);
  free(text);
  return 1;
}

void lundi_lua_open_text(lua_State *L, int mod) {
  mod = lua_absindex(L, mod);
  static const luaL_Reg tok_meta[] = {{"__gc", tok_gc}, {"__close", tok_gc}, {"__tostring", tok_tostring},
                                      {NULL, NULL}};
  static const luaL_Reg tok_methods[] = {{"encode", tok_encode}, {"decode", tok_decode},
                                         {"vocab_size", tok_vocab_size}, {"kind", tok_kind},
                                         {"special", tok_special}, {"piece", tok_piece},
                                         {"save", tok_save}, {NULL, NULL}};
  lundi_lua_new_class(L, TOKENIZER, tok_meta, tok_methods);
  static const luaL_Reg task_meta[] = {{"__tostring", task_tostring}, {NULL, NULL}};
  static const luaL_Reg task_methods[] = {{"generate", task_generate}, {"prompt", task_prompt},
                                          {"solve", task_solve}, {"check", task_check},
                                          {"widths", task_widths}, {"name", task_name},
                                          {"dataset", task_dataset}, {NULL, NULL}};
  lundi_lua_new_class(L, TASK, task_meta, task_methods);
  static const luaL_Reg fns[] = {{"tokenizer", l_tokenizer}, {"train_bpe", l_train_bpe},
                                 {"task", l_task}, {"lines", l_lines},
                                 {"fortunes", l_fortunes}, {"fortunes_text", l_fortunes_text},
                                 {NULL, NULL}};
  luaL_newlib(L, fns);
  lundi_lua_open_text_eval(L);
  lua_setfield(L, mod, "text");
}
