/* lundi.run{...}, lundi.current_run() and the "lundi.Run" object.
 *
 * Ending: run:finish([status, message]) ends a run explicitly. A run made by lundi.run{}
 * and used as a to-be-closed variable (`local run <close> = lundi.run{...}`) ends when the
 * block exits: 'finished', or 'failed' with the error's message ('interrupted' when the
 * error is Ctrl-C's "interrupted"). One never finished is ended by its finaliser: with the
 * status of the `lundi run` that ran the script when there is one, else 'interrupted'
 * ("the Run object was collected before run:finish()"). The run of `lundi run` itself
 * (lundi.current_run()) is ended by `lundi run`; finish() refuses it.
 *
 * Metrics: run:log{} buffers (see store.h). A flush that fails inside log (a full disk)
 * keeps the values and prints one warning; the next flush retries. run:flush() and
 * run:finish() raise the error instead. */
#include <limits.h>
#include <stdio.h>
#include <string.h>

#include "lbind.h"
#include "lplugin.h"
#include "lua_module.h"
#include "lua_run.h"
#include "lundi/session.h"
#include "lundi/store.h"

#define LUNDI_LUA_RUN "lundi.Run"
#define CURRENT_KEY "lundi.current_run"
#define EXIT_KEY "lundi.exit_status"

typedef struct lrun_ud {
  lundi_run *run;     /* NULL once ended */
  lundi_store *store; /* owned when the run is (lundi.run{}); NULL when borrowed */
  int borrowed;       /* the run of `lundi run` */
  int warned;         /* a flush warning was printed */
  int64_t next_step;  /* log's default step */
  int64_t id;
  char uuid[37];
} lrun_ud;

static lrun_ud *check_run(lua_State *L, int idx) {
  lrun_ud *u = luaL_checkudata(L, idx, LUNDI_LUA_RUN);
  if (!u->run) luaL_argerror(L, idx, "the run has ended");
  return u;
}

/* Ends an owned run and closes its store; returns the lundi status. */
static int end_owned(lrun_ud *u, lundi_run_status st, const char *msg) {
  int rc = lundi_run_end(u->run, st, msg);
  u->run = NULL;
  lundi_store_close(u->store);
  u->store = NULL;
  return rc;
}

/* ---- creating ---- */

static lrun_ud *new_ud(lua_State *L) {
  lrun_ud *u = lua_newuserdatauv(L, sizeof *u, 0);
  memset(u, 0, sizeof *u);
  luaL_setmetatable(L, LUNDI_LUA_RUN);
  return u;
}

static void set_run(lrun_ud *u, lundi_run *run) {
  u->run = run;
  u->id = lundi_run_id(run);
  snprintf(u->uuid, sizeof u->uuid, "%s", lundi_run_uuid(run));
}

static int l_run(lua_State *L) {
  if (lua_isnoneornil(L, 1)) {
    lua_settop(L, 0);
    lua_newtable(L);
  }
  static const char *const keys[] = {"name", "db", "device", "seed", NULL};
  lundi_lua_check_options(L, 1, "lundi.run", keys);
  const char *name = lundi_lua_opt_string_field(L, 1, "lundi.run", "name", NULL);
  const char *db = lundi_lua_opt_string_field(L, 1, "lundi.run", "db", NULL);
  const char *device = lundi_lua_opt_string_field(L, 1, "lundi.run", "device", NULL);
  lua_Integer seed = lundi_lua_opt_int_field(L, 1, "lundi.run", "seed", 0, LUNDI_LUA_ANY_INT);
  if (!device) device = lundi_device_name(lundi_default_device());
  lrun_ud *u = new_ud(L);
  u->store = lundi_store_open(db, 0);
  if (!u->store) return lundi_lua_error(L, "lundi.run");
  lundi_run_info info = {.name = name, .device = device, .seed = (int64_t)seed};
  u->run = lundi_run_begin(u->store, &info);
  if (!u->run) {
    lundi_store_close(u->store);
    u->store = NULL;
    return lundi_lua_error(L, "lundi.run");
  }
  set_run(u, u->run);
  return 1;
}

void lundi_lua_set_current_run(lua_State *L, lundi_run *run) {
  lrun_ud *u = new_ud(L);
  set_run(u, run);
  u->borrowed = 1;
  lua_setfield(L, LUA_REGISTRYINDEX, CURRENT_KEY);
}

void lundi_lua_detach_current_run(lua_State *L) {
  if (lua_getfield(L, LUA_REGISTRYINDEX, CURRENT_KEY) == LUA_TUSERDATA) {
    lrun_ud *u = lua_touserdata(L, -1);
    u->run = NULL;
  }
  lua_pop(L, 1);
  lua_pushnil(L);
  lua_setfield(L, LUA_REGISTRYINDEX, CURRENT_KEY);
}

void lundi_lua_set_exit_status(lua_State *L, lundi_run_status st) {
  lua_pushinteger(L, (lua_Integer)st);
  lua_setfield(L, LUA_REGISTRYINDEX, EXIT_KEY);
}

static int l_current_run(lua_State *L) {
  lua_getfield(L, LUA_REGISTRYINDEX, CURRENT_KEY);
  return 1;
}

/* ---- params, tags, metrics ---- */

static int m_log(lua_State *L) {
  lrun_ud *u = check_run(L, 1);
  luaL_checktype(L, 2, LUA_TTABLE);
  int64_t step = u->next_step;
  if (lua_getfield(L, 2, "step") != LUA_TNIL) {
    int ok = 0;
    step = (int64_t)lua_tointegerx(L, -1, &ok);
    if (!ok) luaL_argerror(L, 2, lua_pushfstring(L, "step must be an integer, got %s", luaL_typename(L, -1)));
  }
  lua_pop(L, 1);
  /* Check everything first, so a bad entry logs nothing of the call. */
  int n = 0;
  lua_pushnil(L);
  while (lua_next(L, 2)) {
    if (lua_type(L, -2) != LUA_TSTRING)
      luaL_argerror(L, 2, lua_pushfstring(L, "metric names must be strings, got a %s key", luaL_typename(L, -2)));
    const char *k = lua_tostring(L, -2);
    if (strcmp(k, "step") && lua_type(L, -1) != LUA_TNUMBER)
      luaL_argerror(L, 2, lua_pushfstring(L, "metric '%s' must be a number, got %s", k, luaL_typename(L, -1)));
    n += strcmp(k, "step") != 0;
    lua_pop(L, 1);
  }
  const char **names = lua_newuserdatauv(L, (size_t)(n ? n : 1) * (sizeof *names + sizeof(double)), 0);
  double *values = (double *)(names + n);
  int i = 0;
  lua_pushnil(L);
  while (lua_next(L, 2)) {
    const char *k = lua_tostring(L, -2); /* anchored by the table */
    if (strcmp(k, "step")) {
      names[i] = k;
      values[i++] = (double)lua_tonumber(L, -1);
    }
    lua_pop(L, 1);
  }
  if (lundi_session_log(u->run, names, values, n, step, &u->warned) != 0) return lundi_lua_error(L, "log");
  u->next_step = step + 1;
  return 0;
}

static int m_param(lua_State *L) {
  lrun_ud *u = check_run(L, 1);
  const char *k = luaL_checkstring(L, 2);
  const char *type;
  char buf[64];
  const char *v = lpv_value_text(L, 3, buf, &type);
  if (!v) return luaL_typeerror(L, 3, "number, boolean or string");
  if (lundi_run_param(u->run, k, v, type) != 0) return lundi_lua_error(L, "param");
  return 0;
}

LB_FN(m_tag, LB_UD(lrun_ud *, u, check_run); LB_STR(k); LB_STR(v); LB_RET_OK(lundi_run_tag(u->run, k, v), "tag"))

static int m_flush(lua_State *L) {
  lrun_ud *u = check_run(L, 1);
  if (lundi_run_flush(u->run) != 0) return lundi_lua_error(L, "flush");
  u->warned = 0;
  return 0;
}

/* ---- outputs (lundi/session.h does the work) ---- */

/* id is read after rc's call has filled it (an argument `id` could be read before). */
static int push_id(lua_State *L, int rc, const int64_t *id, const char *fn) {
  if (rc != 0) return lundi_lua_error(L, fn);
  lua_pushinteger(L, (lua_Integer)*id);
  return 1;
}

LB_FN(m_save_text, LB_UD(lrun_ud *, u, check_run); LB_STR(name); LB_LSTR(text, n); int64_t id = 0;
      return push_id(L, lundi_session_save_text(u->run, name, text, n, &id), &id, "save_text"))

/* opts.parameters[field] as the text to show (lundi_image_param_*), or NULL. */
static const char *param_field(lua_State *L, int t, const char *field, char num[64]) {
  int ty = lua_getfield(L, t, field);
  const char *v = NULL;
  if (ty == LUA_TNUMBER) {
    v = lua_isinteger(L, -1) ? lundi_image_param_int(num, (int64_t)lua_tointeger(L, -1))
                             : lundi_image_param_float(num, (double)lua_tonumber(L, -1));
  } else if (ty == LUA_TSTRING) {
    v = lua_tostring(L, -1); /* stays alive in the table */
  } else if (ty != LUA_TNIL) {
    luaL_error(L, "save_image: parameters.%s must be a number or a string, got %s", field, luaL_typename(L, -1));
  }
  lua_pop(L, 1);
  return v;
}

/* opts.parameters into ps (strings borrowed from the table or held in num); 0 when absent. */
static int parameters_opt(lua_State *L, int opts, lundi_image_params *ps, char num[5][64]) {
  int ty = opts ? lua_getfield(L, opts, "parameters") : LUA_TNIL;
  if (ty != LUA_TTABLE) {
    if (ty != LUA_TNIL) luaL_error(L, "save_image: opts.parameters must be a table");
    if (opts) lua_pop(L, 1);
    return 0;
  }
  int t = lua_gettop(L);
  memset(ps, 0, sizeof *ps);
  if (lua_getfield(L, t, "prompt") == LUA_TSTRING) ps->prompt = lua_tostring(L, -1);
  lua_pop(L, 1);
  ps->steps = param_field(L, t, "steps", num[0]);
  ps->sampler = param_field(L, t, "sampler", num[1]);
  ps->cfg_scale = param_field(L, t, "cfg_scale", num[2]);
  ps->seed = param_field(L, t, "seed", num[3]);
  ps->model_hash = param_field(L, t, "model_hash", num[4]);
  lua_pop(L, 1);
  return 1;
}

/* opts.range = {lo, hi} into *lo, *hi (left as they are when absent). */
static void opt_range(lua_State *L, int opts, float *lo, float *hi) {
  if (!opts) return;
  int ty = lua_getfield(L, opts, "range");
  if (ty == LUA_TTABLE && !lundi_lua_number_pair(L, -1, lo, hi))
    luaL_error(L, "save_image: opts.range must be {lo, hi} numbers");
  else if (ty != LUA_TTABLE && ty != LUA_TNIL)
    luaL_error(L, "save_image: opts.range must be {lo, hi}");
  lua_pop(L, 1);
}

/* run:save_image(name, tensor [, opts]): tensor [C, H, W] or [N, C, H, W] (a grid with
 * opts.nrow per row, default ceil(sqrt(N))), values opts.range = {lo, hi} (default
 * {-1, 1}) mapped to 0..255. opts.parameters fills the PNG's "parameters" chunk;
 * opts.file also writes the PNG there. Returns the output id. */
static int m_save_image(lua_State *L) {
  lrun_ud *u = check_run(L, 1);
  const char *name = luaL_checkstring(L, 2);
  lundi_tensor *t = lundi_lua_check_tensor(L, 3);
  int opts = 0;
  if (!lua_isnoneornil(L, 4)) {
    luaL_checktype(L, 4, LUA_TTABLE);
    opts = 4;
  }
  int nd = lundi_ndim(t);
  if (nd != 3 && nd != 4)
    return luaL_argerror(L, 3, lua_pushfstring(L, "image tensor must be [C, H, W] or [N, C, H, W], got %d dims", nd));
  lundi_save_image_opts o = LUNDI_SAVE_IMAGE_OPTS_INIT;
  opt_range(L, opts, &o.lo, &o.hi);
  if (opts && lua_getfield(L, opts, "nrow") != LUA_TNIL) {
    int ok = 0;
    o.nrow = (int)lua_tointegerx(L, -1, &ok);
    if (!ok || o.nrow < 1) luaL_error(L, "save_image: opts.nrow must be a positive integer");
  }
  if (opts) lua_pop(L, 1);
  if (opts) {
    lua_getfield(L, opts, "file");
    o.file = lua_tostring(L, -1);
    lua_pop(L, 1); /* still referenced by opts */
  }
  lundi_image_params ps;
  char num[5][64];
  if (parameters_opt(L, opts, &ps, num)) o.parameters = &ps;
  int64_t id = 0;
  return push_id(L, lundi_session_save_image(u->run, name, t, &o, &id), &id, "save_image");
}

/* run:save_trajectory(name, x): one tensor (saved as "x") or an array of tensors (saved as
 * "x.0", "x.1", ...), as safetensors. Returns the output id. */
static int m_save_trajectory(lua_State *L) {
  lrun_ud *u = check_run(L, 1);
  const char *name = luaL_checkstring(L, 2);
  int64_t id = 0;
  if (lua_type(L, 3) != LUA_TTABLE)
    return push_id(L, lundi_session_save_trajectory(u->run, name, lundi_lua_check_tensor(L, 3), &id), &id,
                   "save_trajectory");
  lua_Integer n = luaL_len(L, 3);
  if (n < 1) return luaL_argerror(L, 3, "empty array of tensors");
  if (n > INT_MAX) return luaL_argerror(L, 3, "too many tensors");
  lundi_tensor **steps = lua_newuserdatauv(L, sizeof *steps * (size_t)n, 0); /* freed by the GC */
  for (lua_Integer i = 1; i <= n; i++) {
    lua_rawgeti(L, 3, i);
    if (!luaL_testudata(L, -1, LUNDI_LUA_TENSOR))
      return luaL_argerror(L, 3, lua_pushfstring(L, "element %d is not a tensor", (int)i));
    steps[i - 1] = lundi_lua_check_tensor(L, -1); /* borrowed: the array keeps it alive */
    lua_pop(L, 1);
  }
  return push_id(L, lundi_session_save_trajectory_steps(u->run, name, steps, (int)n, &id), &id,
                 "save_trajectory");
}

/* run:save_animation(name, frames [, {fps = 10, range = {0, 1}}]): an array of image
 * tensors [C, H, W] or [H, W] of one size (env:render's frames) as an animated GIF, an
 * output of kind "file" (image/gif). Returns the output id. */
static int m_save_animation(lua_State *L) {
  static const char fn[] = "save_animation";
  lrun_ud *u = check_run(L, 1);
  const char *name = luaL_checkstring(L, 2);
  luaL_checktype(L, 3, LUA_TTABLE);
  float lo = 0, hi = 1;
  int fps = 10;
  if (!lua_isnoneornil(L, 4)) {
    static const char *const keys[] = {"fps", "range", NULL};
    luaL_checktype(L, 4, LUA_TTABLE);
    lundi_lua_check_options(L, 4, fn, keys);
    fps = (int)lundi_lua_opt_int_field(L, 4, fn, "fps", 10, 1, 100);
    int ty = lua_getfield(L, 4, "range");
    if (ty != LUA_TNIL && !(ty == LUA_TTABLE && lundi_lua_number_pair(L, -1, &lo, &hi)))
      return luaL_error(L, "%s: option 'range' must be {lo, hi}, two numbers", fn);
    lua_pop(L, 1);
  }
  lua_Integer n = luaL_len(L, 3);
  if (n < 1) return luaL_argerror(L, 3, "empty array of frames");
  if (n > INT_MAX) return luaL_argerror(L, 3, "too many frames");
  lundi_tensor **frames = lua_newuserdatauv(L, sizeof *frames * (size_t)n, 0); /* freed by the GC */
  for (lua_Integer i = 1; i <= n; i++) {
    lua_rawgeti(L, 3, i);
    if (!luaL_testudata(L, -1, LUNDI_LUA_TENSOR))
      return luaL_argerror(L, 3, lua_pushfstring(L, "frame %d is a %s, not a tensor", (int)i, luaL_typename(L, -1)));
    frames[i - 1] = lundi_lua_check_tensor(L, -1); /* borrowed: the array keeps it alive */
    lua_pop(L, 1);
  }
  int64_t id = 0;
  int delay_cs = (100 + fps / 2) / fps; /* hundredths per frame, rounded */
  return push_id(L, lundi_session_save_animation_tensors(u->run, name, frames, (int)n, lo, hi, delay_cs, &id), &id,
                 fn);
}

/* run:checkpoint(module [, name]): the module's parameters as safetensors (kind
 * checkpoint, default name "checkpoint"). module may be a lundi.Module or anything with a
 * :module() method (a denoiser or conditioner plugin). Returns the output id. */
static int m_checkpoint(lua_State *L) {
  lrun_ud *u = check_run(L, 1);
  const char *name = luaL_optstring(L, 3, "checkpoint");
  if (!luaL_testudata(L, 2, LUNDI_LUA_MODULE) && luaL_getmetafield(L, 2, "__index") != LUA_TNIL) {
    lua_pop(L, 1);
    lua_getfield(L, 2, "module"); /* plugin:module() */
    if (lua_isfunction(L, -1)) {
      lua_pushvalue(L, 2);
      lua_call(L, 1, 1);
      lua_replace(L, 2);
    } else {
      lua_pop(L, 1);
    }
  }
  lundi_module *m = lundi_lua_check_module(L, 2);
  int64_t id = 0;
  return push_id(L, lundi_session_save_checkpoint(u->run, m, name, &id), &id, "checkpoint");
}

/* ---- ending ---- */

static int parse_status(lua_State *L, int idx) {
  static const char *const names[] = {"finished", "failed", "interrupted", NULL};
  static const lundi_run_status st[] = {LUNDI_RUN_FINISHED, LUNDI_RUN_FAILED, LUNDI_RUN_INTERRUPTED};
  return (int)st[luaL_checkoption(L, idx, "finished", names)];
}

static int m_finish(lua_State *L) {
  lrun_ud *u = check_run(L, 1);
  lundi_run_status st = (lundi_run_status)parse_status(L, 2);
  const char *msg = luaL_optstring(L, 3, NULL);
  if (u->borrowed)
    return luaL_error(L, "finish: this is the run of `lundi run`, which ends it when the script ends "
                         "(error() to fail it)");
  if (end_owned(u, st, msg) != 0) return lundi_lua_error(L, "finish");
  return 0;
}

/* Ending from __close or __gc, where there is no one to raise to. */
static void end_or_warn(lrun_ud *u, lundi_run_status st, const char *msg) {
  if (end_owned(u, st, msg) != 0) fprintf(stderr, "lundi: warning: ending run %s: %s\n", u->uuid, lundi_last_error());
}

/* __close(run, err): 'finished', or 'failed' / 'interrupted' when the block raised. */
static int m_close(lua_State *L) {
  lrun_ud *u = luaL_checkudata(L, 1, LUNDI_LUA_RUN);
  if (!u->run || u->borrowed) return 0;
  const char *msg = lua_isnoneornil(L, 2) ? NULL : lua_tostring(L, 2);
  if (!msg && !lua_isnoneornil(L, 2)) msg = "(error object is not a string)";
  end_or_warn(u, lundi_session_error_status(msg), msg);
  return 0;
}

static int m_gc(lua_State *L) {
  lrun_ud *u = luaL_checkudata(L, 1, LUNDI_LUA_RUN);
  if (!u->run || u->borrowed) return 0;
  int known = lua_getfield(L, LUA_REGISTRYINDEX, EXIT_KEY) == LUA_TNUMBER;
  const char *msg;
  lundi_run_status st = lundi_session_unfinished_status(known, (lundi_run_status)lua_tointeger(L, -1), &msg);
  lua_pop(L, 1);
  end_or_warn(u, st, msg);
  return 0;
}

static int m_tostring(lua_State *L) {
  lrun_ud *u = luaL_checkudata(L, 1, LUNDI_LUA_RUN);
  lua_pushfstring(L, "lundi.Run %d (%s%s)", (int)u->id, u->uuid, u->run ? "" : ", ended");
  return 1;
}

static int m_index(lua_State *L) {
  lrun_ud *u = luaL_checkudata(L, 1, LUNDI_LUA_RUN);
  const char *k = luaL_checkstring(L, 2);
  if (!strcmp(k, "id")) lua_pushinteger(L, (lua_Integer)u->id);
  else if (!strcmp(k, "uuid")) lua_pushstring(L, u->uuid);
  else if (!strcmp(k, "db")) lua_pushstring(L, u->run ? lundi_store_path(lundi_run_store(u->run)) : NULL);
  else {
    lua_getmetatable(L, 1);
    lua_getfield(L, -1, "methods");
    lua_getfield(L, -1, k);
  }
  return 1;
}

static const luaL_Reg methods[] = {
    {"log", m_log},           {"param", m_param},
    {"tag", m_tag},           {"flush", m_flush},
    {"save_image", m_save_image}, {"save_text", m_save_text},
    {"save_trajectory", m_save_trajectory}, {"checkpoint", m_checkpoint},
    {"save_animation", m_save_animation},
    {"finish", m_finish},     {NULL, NULL}};

void lundi_lua_open_run(lua_State *L, int mod) {
  static const luaL_Reg meta[] = {
      {"__index", m_index}, {"__gc", m_gc}, {"__close", m_close}, {"__tostring", m_tostring}, {NULL, NULL}};
  lundi_lua_new_class(L, LUNDI_LUA_RUN, meta, methods);
  lua_pushcfunction(L, l_run);
  lua_setfield(L, mod, "run");
  lua_pushcfunction(L, l_current_run);
  lua_setfield(L, mod, "current_run");
}
