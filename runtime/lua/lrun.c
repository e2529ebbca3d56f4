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
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cjson/cJSON.h>

#include "core/atomic_file.h"
#include "lua_internal.h"
#include "lua_module.h"
#include "lua_run.h"
#include "lundi/image.h"
#include "lundi/store.h"
#include "store/store_internal.h"

#define LUNDI_LUA_RUN "lundi.Run"
#define CURRENT_KEY "lundi.current_run"
#define EXIT_KEY "lundi.exit_status"
#define NOTED_KEY "lundi.plugins_noted"

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

static const char *opt_string_field(lua_State *L, int t, const char *k) {
  int ty = lua_getfield(L, t, k);
  const char *s = NULL;
  if (ty == LUA_TSTRING) s = lua_tostring(L, -1);
  else if (ty != LUA_TNIL) luaL_error(L, "lundi.run: '%s' must be a string, got %s", k, luaL_typename(L, -1));
  lua_pop(L, 1); /* the string stays alive in the table */
  return s;
}

static int l_run(lua_State *L) {
  if (lua_isnoneornil(L, 1)) {
    lua_settop(L, 0);
    lua_newtable(L);
  }
  luaL_checktype(L, 1, LUA_TTABLE);
  const char *name = opt_string_field(L, 1, "name");
  const char *db = opt_string_field(L, 1, "db");
  const char *device = opt_string_field(L, 1, "device");
  lua_Integer seed = 0;
  if (lua_getfield(L, 1, "seed") != LUA_TNIL) {
    int ok = 0;
    seed = lua_tointegerx(L, -1, &ok);
    if (!ok) luaL_error(L, "lundi.run: 'seed' must be an integer, got %s", luaL_typename(L, -1));
  }
  lua_pop(L, 1);
  if (!device) device = lundi_device_name(lundi_default_device());
  lrun_ud *u = lua_newuserdatauv(L, sizeof *u, 0);
  memset(u, 0, sizeof *u);
  luaL_setmetatable(L, LUNDI_LUA_RUN);
  u->store = lundi_store_open(db, 0);
  if (!u->store) return lundi_lua_error(L, "lundi.run");
  lundi_run_info info = {.name = name, .device = device, .seed = (int64_t)seed};
  u->run = lundi_run_begin(u->store, &info);
  if (!u->run) {
    lundi_store_close(u->store);
    u->store = NULL;
    return lundi_lua_error(L, "lundi.run");
  }
  u->id = lundi_run_id(u->run);
  snprintf(u->uuid, sizeof u->uuid, "%s", lundi_run_uuid(u->run));
  return 1;
}

void lundi_lua_set_current_run(lua_State *L, lundi_run *run) {
  lrun_ud *u = lua_newuserdatauv(L, sizeof *u, 0);
  memset(u, 0, sizeof *u);
  u->run = run;
  u->borrowed = 1;
  u->id = lundi_run_id(run);
  snprintf(u->uuid, sizeof u->uuid, "%s", lundi_run_uuid(run));
  luaL_setmetatable(L, LUNDI_LUA_RUN);
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

/* ---- plugins used ---- */

void lundi_lua_note_plugin(lua_State *L, const lundi_instance *inst) {
  if (lua_getfield(L, LUA_REGISTRYINDEX, CURRENT_KEY) != LUA_TUSERDATA) {
    lua_pop(L, 1);
    return;
  }
  lrun_ud *u = lua_touserdata(L, -1);
  lua_pop(L, 1);
  if (!u || !u->run) return;
  const lundi_plugin *p = lundi_instance_plugin(inst);
  const lundi_plugin_desc *d = lundi_plugin_info(p);
  char *json = lundi_params_to_json(lundi_instance_params(inst));
  const char *kind = lundi_plugin_kind_name(d->kind);
  /* Once per (kind, name, params): a sampler built in a loop is one row, not thousands. */
  luaL_getsubtable(L, LUA_REGISTRYINDEX, NOTED_KEY);
  lua_pushfstring(L, "%s\n%s\n%s", kind, d->name, json ? json : "");
  lua_pushvalue(L, -1);
  int seen = lua_rawget(L, -3) != LUA_TNIL;
  lua_pop(L, 1);
  if (!seen) {
    lua_pushboolean(L, 1);
    lua_rawset(L, -3);
    if (lundi_run_plugin(u->run, kind, d->name, d->version, json, lundi_plugin_origin(p)) != 0)
      fprintf(stderr, "lundi: warning: could not record the %s '%s' in the run: %s\n", kind, d->name,
              lundi_last_error());
  } else {
    lua_pop(L, 1);
  }
  lua_pop(L, 1);
  free(json);
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
  lua_pushnil(L);
  while (lua_next(L, 2)) {
    if (lua_type(L, -2) != LUA_TSTRING)
      luaL_argerror(L, 2, lua_pushfstring(L, "metric names must be strings, got a %s key", luaL_typename(L, -2)));
    const char *k = lua_tostring(L, -2);
    if (strcmp(k, "step") && lua_type(L, -1) != LUA_TNUMBER)
      luaL_argerror(L, 2, lua_pushfstring(L, "metric '%s' must be a number, got %s", k, luaL_typename(L, -1)));
    lua_pop(L, 1);
  }
  int flush_failed = 0;
  char why[512] = "";
  lua_pushnil(L);
  while (lua_next(L, 2)) {
    const char *k = lua_tostring(L, -2);
    if (strcmp(k, "step")) {
      int rc = lundi_run_log(u->run, k, step, (double)lua_tonumber(L, -1));
      if (rc == LUNDI_EINVAL || rc == LUNDI_ENOMEM) return lundi_lua_error(L, "log");
      if (rc != 0 && !flush_failed) {
        flush_failed = 1;
        snprintf(why, sizeof why, "%s", lundi_last_error());
      }
    }
    lua_pop(L, 1);
  }
  u->next_step = step + 1;
  if (flush_failed && !u->warned) {
    fprintf(stderr, "lundi: warning: %s\n", why);
    u->warned = 1;
  } else if (!flush_failed) {
    u->warned = 0;
  }
  return 0;
}

static int m_param(lua_State *L) {
  lrun_ud *u = check_run(L, 1);
  const char *k = luaL_checkstring(L, 2);
  const char *type;
  char buf[64];
  const char *v = buf;
  switch (lua_type(L, 3)) {
  case LUA_TNUMBER:
    if (lua_isinteger(L, 3)) {
      type = "int";
      snprintf(buf, sizeof buf, "%lld", (long long)lua_tointeger(L, 3));
    } else {
      type = "float";
      snprintf(buf, sizeof buf, "%.17g", (double)lua_tonumber(L, 3));
    }
    break;
  case LUA_TBOOLEAN:
    type = "bool";
    v = lua_toboolean(L, 3) ? "true" : "false";
    break;
  case LUA_TSTRING:
    type = "string";
    v = lua_tostring(L, 3);
    break;
  default:
    return luaL_typeerror(L, 3, "number, boolean or string");
  }
  if (lundi_run_param(u->run, k, v, type) != 0) return lundi_lua_error(L, "param");
  return 0;
}

static int m_tag(lua_State *L) {
  lrun_ud *u = check_run(L, 1);
  const char *k = luaL_checkstring(L, 2);
  const char *v = luaL_checkstring(L, 3);
  if (lundi_run_tag(u->run, k, v) != 0) return lundi_lua_error(L, "tag");
  return 0;
}

static int m_flush(lua_State *L) {
  lrun_ud *u = check_run(L, 1);
  if (lundi_run_flush(u->run) != 0) return lundi_lua_error(L, "flush");
  u->warned = 0;
  return 0;
}

/* ---- outputs ---- */

static int store_output(lua_State *L, lrun_ud *u, const char *kind, const char *name, const char *mime,
                        const void *data, size_t n, const char *meta, const char *fn) {
  int64_t id = 0;
  if (lundi_run_output(u->run, kind, name, mime, data, n, meta, &id) != 0) return lundi_lua_error(L, fn);
  lua_pushinteger(L, (lua_Integer)id);
  return 1;
}

static int m_save_text(lua_State *L) {
  lrun_ud *u = check_run(L, 1);
  const char *name = luaL_checkstring(L, 2);
  size_t n;
  const char *text = luaL_checklstring(L, 3, &n);
  return store_output(L, u, "text", name, "text/plain; charset=utf-8", text, n, NULL, "save_text");
}

/* Appends "Key: value" to the parameters line when opts.parameters[field] is set. */
static void add_param(lua_State *L, int t, luaL_Buffer *b, int *first, const char *field, const char *label) {
  int ty = lua_getfield(L, t, field);
  if (ty == LUA_TNIL) {
    lua_pop(L, 1);
    return;
  }
  char num[64];
  const char *v;
  if (ty == LUA_TNUMBER) {
    if (lua_isinteger(L, -1)) snprintf(num, sizeof num, "%lld", (long long)lua_tointeger(L, -1));
    else snprintf(num, sizeof num, "%.10g", (double)lua_tonumber(L, -1));
    v = num;
  } else if (ty == LUA_TSTRING) {
    v = lua_tostring(L, -1);
  } else {
    luaL_error(L, "save_image: parameters.%s must be a number or a string, got %s", field, luaL_typename(L, -1));
    return;
  }
  /* The value is copied before the pop: the buffer may sit on the stack. */
  char line[512];
  snprintf(line, sizeof line, "%s%s: %s", *first ? "" : ", ", label, v);
  lua_pop(L, 1);
  luaL_addstring(b, line);
  *first = 0;
}

/* The "parameters" text of the common image-generation convention: an optional prompt line,
 * then "Steps: 50, Sampler: ddim, CFG scale: 3, Seed: 42, Size: 28x28, Model hash: ..."
 * (missing fields left out; Size is the size of one image). Pushes the string. */
static void push_parameters(lua_State *L, int opts, int w, int h) {
  int t = 0;
  if (opts && lua_getfield(L, opts, "parameters") == LUA_TTABLE) t = lua_gettop(L);
  else if (opts && !lua_isnil(L, -1)) luaL_error(L, "save_image: opts.parameters must be a table");
  luaL_Buffer b;
  luaL_buffinit(L, &b);
  int first = 1;
  if (t) {
    if (lua_getfield(L, t, "prompt") == LUA_TSTRING) {
      char line[1024];
      snprintf(line, sizeof line, "%s\n", lua_tostring(L, -1));
      lua_pop(L, 1);
      luaL_addstring(&b, line);
    } else {
      lua_pop(L, 1);
    }
    add_param(L, t, &b, &first, "steps", "Steps");
    add_param(L, t, &b, &first, "sampler", "Sampler");
    add_param(L, t, &b, &first, "cfg_scale", "CFG scale");
    add_param(L, t, &b, &first, "seed", "Seed");
  }
  char size[64];
  snprintf(size, sizeof size, "%sSize: %dx%d", first ? "" : ", ", w, h);
  luaL_addstring(&b, size);
  first = 0;
  if (t) add_param(L, t, &b, &first, "model_hash", "Model hash");
  luaL_pushresult(&b);
  if (opts) lua_remove(L, -2); /* opts.parameters (or nil) */
}

static float opt_range(lua_State *L, int opts, int i, float dflt) {
  float v = dflt;
  if (!opts) return v;
  if (lua_getfield(L, opts, "range") == LUA_TTABLE) {
    lua_rawgeti(L, -1, i);
    if (!lua_isnumber(L, -1)) luaL_error(L, "save_image: opts.range must be {lo, hi} numbers");
    v = (float)lua_tonumber(L, -1);
    lua_pop(L, 1);
  } else if (!lua_isnil(L, -1)) {
    luaL_error(L, "save_image: opts.range must be {lo, hi}");
  }
  lua_pop(L, 1);
  return v;
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
  float lo = opt_range(L, opts, 1, -1.0f), hi = opt_range(L, opts, 2, 1.0f);
  int n = nd == 4 ? (int)lundi_dim(t, 0) : 1;
  int nrow = (int)ceil(sqrt((double)n));
  if (opts && lua_getfield(L, opts, "nrow") != LUA_TNIL) {
    int ok = 0;
    nrow = (int)lua_tointegerx(L, -1, &ok);
    if (!ok || nrow < 1) luaL_error(L, "save_image: opts.nrow must be a positive integer");
  }
  if (opts) lua_pop(L, 1);
  const char *file = opts ? (lua_getfield(L, opts, "file"), lua_tostring(L, -1)) : NULL;
  if (opts) lua_pop(L, 1); /* still referenced by opts */
  int w1 = (int)lundi_dim(t, -1), h1 = (int)lundi_dim(t, -2);
  push_parameters(L, opts, w1, h1);
  int params_idx = lua_gettop(L);

  lundi_image im = {0};
  int rc = nd == 4 ? lundi_image_grid(t, nrow, 2, 0, lo, hi, &im) : lundi_image_from_tensor(t, lo, hi, &im);
  if (rc != 0) return lundi_lua_error(L, "save_image");
  cJSON *tag = cJSON_CreateObject();
  cJSON_AddStringToObject(tag, "run", u->uuid);
  cJSON_AddStringToObject(tag, "output", name);
  char *tag_json = cJSON_PrintUnformatted(tag);
  cJSON_Delete(tag);
  lundi_png_text texts[2] = {{"parameters", lua_tostring(L, params_idx)}, {"lundi", tag_json}};
  uint8_t *png = NULL;
  size_t png_n = 0;
  rc = lundi_png_encode(&im, texts, 2, &png, &png_n);
  free(tag_json);
  cJSON *meta = cJSON_CreateObject();
  cJSON_AddNumberToObject(meta, "width", im.width);
  cJSON_AddNumberToObject(meta, "height", im.height);
  cJSON_AddNumberToObject(meta, "channels", im.channels);
  cJSON_AddNumberToObject(meta, "images", n);
  cJSON_AddStringToObject(meta, "parameters", lua_tostring(L, params_idx));
  char *meta_json = cJSON_PrintUnformatted(meta);
  cJSON_Delete(meta);
  lundi_image_free(&im);
  if (rc != 0) {
    free(meta_json);
    return lundi_lua_error(L, "save_image");
  }
  int64_t id = 0;
  rc = lundi_run_output(u->run, "image", name, "image/png", png, png_n, meta_json, &id);
  free(meta_json);
  if (rc == 0 && file) rc = lundi__write_file_atomic(file, png, png_n, "save_image");
  free(png);
  if (rc != 0) return lundi_lua_error(L, "save_image");
  lua_pushinteger(L, (lua_Integer)id);
  return 1;
}

/* Saves l as safetensors bytes: through a temporary file beside the DB (the safetensors
 * writer works on paths), read back, then removed. */
static int store_safetensors(lua_State *L, lrun_ud *u, const lundi_param_list *l, const char *kind,
                             const char *name, const char *fn) {
  lundi_store *s = u->run->s;
  char tmp[4200];
  snprintf(tmp, sizeof tmp, "%s/.%s.tmp-XXXXXX", s->dir, s->base);
  int fd = mkstemp(tmp);
  if (fd < 0) {
    lundi_set_error(LUNDI_EIO, "cannot create a temporary file in %s", s->dir);
    return lundi_lua_error(L, fn);
  }
  close(fd);
  uint8_t *data = NULL;
  size_t n = 0;
  int rc = lundi_safetensors_save(tmp, l, NULL);
  if (rc == 0) rc = lundi_file_read_all(tmp, &data, &n);
  unlink(tmp);
  if (rc != 0) return lundi_lua_error(L, fn);
  cJSON *meta = cJSON_CreateObject();
  cJSON_AddNumberToObject(meta, "tensors", l->n);
  cJSON_AddNumberToObject(meta, "numel", (double)lundi_param_list_numel(l));
  char *meta_json = cJSON_PrintUnformatted(meta);
  cJSON_Delete(meta);
  int64_t id = 0;
  rc = lundi_run_output(u->run, kind, name, "application/x-safetensors", data, n, meta_json, &id);
  free(meta_json);
  free(data);
  if (rc != 0) return lundi_lua_error(L, fn);
  lua_pushinteger(L, (lua_Integer)id);
  return 1;
}

/* A parameter list inside a userdata, so a Lua error while it is filled cannot leak it. */
#define LIST_BOX "lundi.Run.list"
static int list_box_gc(lua_State *L) {
  lundi_param_list_free(luaL_checkudata(L, 1, LIST_BOX));
  return 0;
}
static lundi_param_list *push_list_box(lua_State *L) {
  lundi_param_list *l = lua_newuserdatauv(L, sizeof *l, 0);
  memset(l, 0, sizeof *l);
  luaL_setmetatable(L, LIST_BOX);
  return l;
}

/* run:save_trajectory(name, x): one tensor (saved as "x") or an array of tensors (saved as
 * "x.0", "x.1", ...), as safetensors. Returns the output id. */
static int m_save_trajectory(lua_State *L) {
  lrun_ud *u = check_run(L, 1);
  const char *name = luaL_checkstring(L, 2);
  lundi_param_list *l = push_list_box(L);
  if (lua_type(L, 3) == LUA_TTABLE) {
    lua_Integer n = luaL_len(L, 3);
    if (n < 1) return luaL_argerror(L, 3, "empty array of tensors");
    for (lua_Integer i = 1; i <= n; i++) {
      lua_rawgeti(L, 3, i);
      if (!luaL_testudata(L, -1, LUNDI_LUA_TENSOR))
        return luaL_argerror(L, 3, lua_pushfstring(L, "element %d is not a tensor", (int)i));
      char key[32];
      snprintf(key, sizeof key, "x.%d", (int)(i - 1));
      if (lundi_param_list_push(l, key, lundi_lua_check_tensor(L, -1)) != 0)
        return lundi_lua_error(L, "save_trajectory");
      lua_pop(L, 1);
    }
  } else if (lundi_param_list_push(l, "x", lundi_lua_check_tensor(L, 3)) != 0) {
    return lundi_lua_error(L, "save_trajectory");
  }
  store_safetensors(L, u, l, "trajectory", name, "save_trajectory");
  lundi_param_list_free(l);
  return 1;
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
  lua_settop(L, 3);
  lundi_param_list *l = push_list_box(L);
  if (lundi_module_parameters(m, l) != 0) return lundi_lua_error(L, "checkpoint");
  store_safetensors(L, u, l, "checkpoint", name, "checkpoint");
  lundi_param_list_free(l);
  return 1;
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

/* __close(run, err): 'finished', or 'failed' / 'interrupted' when the block raised. */
static int m_close(lua_State *L) {
  lrun_ud *u = luaL_checkudata(L, 1, LUNDI_LUA_RUN);
  if (!u->run || u->borrowed) return 0;
  lundi_run_status st = LUNDI_RUN_FINISHED;
  const char *msg = NULL;
  if (!lua_isnoneornil(L, 2)) {
    msg = lua_tostring(L, 2);
    if (!msg) msg = "(error object is not a string)";
    st = strcmp(msg, "interrupted") == 0 ? LUNDI_RUN_INTERRUPTED : LUNDI_RUN_FAILED;
  }
  if (end_owned(u, st, msg) != 0) fprintf(stderr, "lundi: warning: ending run %s: %s\n", u->uuid, lundi_last_error());
  return 0;
}

static int m_gc(lua_State *L) {
  lrun_ud *u = luaL_checkudata(L, 1, LUNDI_LUA_RUN);
  if (!u->run || u->borrowed) return 0;
  lundi_run_status st = LUNDI_RUN_INTERRUPTED;
  const char *msg = "the Run object was collected before run:finish()";
  if (lua_getfield(L, LUA_REGISTRYINDEX, EXIT_KEY) == LUA_TNUMBER) {
    st = (lundi_run_status)lua_tointeger(L, -1);
    msg = st == LUNDI_RUN_FINISHED ? NULL : "the script of `lundi run` did not finish";
  }
  lua_pop(L, 1);
  if (end_owned(u, st, msg) != 0) fprintf(stderr, "lundi: warning: ending run %s: %s\n", u->uuid, lundi_last_error());
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
  else if (!strcmp(k, "db")) lua_pushstring(L, u->run ? lundi_store_path(u->run->s) : NULL);
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
    {"finish", m_finish},     {NULL, NULL}};

void lundi_lua_open_run(lua_State *L, int mod) {
  if (luaL_newmetatable(L, LUNDI_LUA_RUN)) {
    lua_pushcfunction(L, m_index);
    lua_setfield(L, -2, "__index");
    lua_pushcfunction(L, m_gc);
    lua_setfield(L, -2, "__gc");
    lua_pushcfunction(L, m_close);
    lua_setfield(L, -2, "__close");
    lua_pushcfunction(L, m_tostring);
    lua_setfield(L, -2, "__tostring");
    luaL_newlib(L, methods);
    lua_setfield(L, -2, "methods");
  }
  lua_pop(L, 1);
  if (luaL_newmetatable(L, LIST_BOX)) {
    lua_pushcfunction(L, list_box_gc);
    lua_setfield(L, -2, "__gc");
  }
  lua_pop(L, 1);
  lua_pushcfunction(L, l_run);
  lua_setfield(L, mod, "run");
  lua_pushcfunction(L, l_current_run);
  lua_setfield(L, mod, "current_run");
}
