/* lundi.pipeline{...}: a "lundi.Pipeline" userdata holding its four parts (Plugin userdata)
 * as user values, and the sample-request conversion shared with Plugin:sample. */
#include <stdlib.h>
#include <string.h>

#include "lplugin.h"
#include "lua_rng.h"

static const char *const part_names[] = {"scheduler", "denoiser", "conditioner", "sampler"};
static const lundi_plugin_kind part_kinds[] = {LUNDI_SCHEDULER, LUNDI_DENOISER, LUNDI_CONDITIONER,
                                               LUNDI_SAMPLER};

/* The instance of part k of the Pipeline at idx, or NULL when the pipeline has none. */
static lundi_instance *pipe_part(lua_State *L, int idx, int k) {
  lua_getiuservalue(L, idx, k + 1);
  lundi_instance *inst = NULL;
  if (!lua_isnil(L, -1)) {
    lplug_ud *u = luaL_checkudata(L, -1, LUNDI_LUA_PLUGIN);
    if (!u->inst) luaL_error(L, "pipeline: its %s has been closed", part_names[k]);
    inst = u->inst;
  }
  lua_pop(L, 1);
  return inst;
}

void lpipe_check_parts(lua_State *L, int idx, lundi_pipeline_parts *out) {
  idx = lua_absindex(L, idx);
  lundi_instance **slots[] = {&out->scheduler, &out->denoiser, &out->conditioner};
  memset(out, 0, sizeof *out);
  if (luaL_testudata(L, idx, LUNDI_LUA_PIPELINE)) {
    for (int k = 0; k < 3; k++) *slots[k] = pipe_part(L, idx, k);
    return;
  }
  if (lua_type(L, idx) != LUA_TTABLE) luaL_typeerror(L, idx, "Pipeline or table {scheduler=, denoiser=, conditioner=}");
  for (int k = 0; k < 3; k++) {
    lua_getfield(L, idx, part_names[k]);
    if (!lua_isnil(L, -1)) *slots[k] = lplug_check_kind(L, lua_gettop(L), part_kinds[k]);
    lua_pop(L, 1);
  }
}

/* ---- sample ---- */

/* The sampler may call back from deeper frames (a Lua sampler's), where stack indices of
 * lpipe_sample's frame mean nothing: the callback and its error live in the registry. */
typedef struct cbctx {
  lua_State *L;
  int fn_ref;  /* the Lua callback */
  int err_ref; /* the callback's error message, LUA_NOREF until it fails */
} cbctx;

/* Called by the sampler (C or Lua) on the thread that called sample, above our frame. */
static int call_back(void *ud, int i, int n, double t, lundi_tensor *x, lundi_tensor *x0) {
  cbctx *c = ud;
  lua_State *L = c->L;
  if (!lua_checkstack(L, 8)) return lundi_set_error(LUNDI_ENOMEM, "sample: callback: Lua stack overflow");
  int top = lua_gettop(L);
  lua_pushcfunction(L, lpv_traceback);
  lua_rawgeti(L, LUA_REGISTRYINDEX, c->fn_ref);
  lua_pushinteger(L, i);
  lua_pushinteger(L, n);
  lua_pushnumber(L, t);
  lpv_push_tensor(L, x);
  lpv_push_tensor(L, x0);
  if (lua_pcall(L, 5, 1, top + 1) != LUA_OK) {
    luaL_unref(L, LUA_REGISTRYINDEX, c->err_ref);
    c->err_ref = luaL_ref(L, LUA_REGISTRYINDEX);
    lua_settop(L, top);
    return lundi_set_error(LUNDI_EINVAL, "sample: the callback raised an error");
  }
  int stop = lua_toboolean(L, -1);
  lua_settop(L, top);
  return stop ? 1 : 0;
}

static const char *const req_keys[] = {"batch", "shape", "cond", "cond_input", "prompts", "init",
                                       "strength", "rng", "seed", "callback", NULL};

int lpipe_sample(lua_State *L, lundi_instance *s, const lundi_pipeline_parts *parts, int req_idx,
                 const char *fn) {
  req_idx = lua_absindex(L, req_idx);
  luaL_checktype(L, req_idx, LUA_TTABLE);
  lundi_lua_check_keys(L, req_idx, fn, "request field", req_keys);
  lundi_sample_request req;
  memset(&req, 0, sizeof req);
  /* Only conversions here: lundi_sample_request_sizes() and lundi_sampler_sample() (through
   * lundi_sample_request_check) check the values. */
  lua_getfield(L, req_idx, "batch");
  lua_Integer batch = luaL_optinteger(L, -1, 1);
  if (lua_getfield(L, req_idx, "shape") != LUA_TTABLE)
    return luaL_error(L, "%s: shape must be the per-sample shape as an array, e.g. {1, 28, 28}", fn);
  int shape = lua_gettop(L);
  int st = lua_getfield(L, req_idx, "strength"); /* img2img; nil: the sampler's default */
  if (st != LUA_TNIL && st != LUA_TNUMBER)
    return luaL_error(L, "%s: strength must be a number in (0, 1], got %s", fn, luaL_typename(L, -1));
  double strength = lua_tonumber(L, -1);
  int prompts = lua_getfield(L, req_idx, "prompts") == LUA_TNIL ? 0 : lua_gettop(L);
  if (prompts) luaL_checktype(L, -1, LUA_TTABLE);
  if (lundi_sample_request_sizes(&req, batch, luaL_len(L, shape), st == LUA_TNIL ? NULL : &strength,
                                 prompts ? luaL_len(L, prompts) : -1) != 0)
    return lundi_lua_error(L, fn);
  for (int i = 0; i < req.ndim; i++) {
    lua_rawgeti(L, shape, i + 1);
    int isint;
    req.shape[i] = lua_tointegerx(L, -1, &isint);
    if (!isint) return luaL_error(L, "%s: shape[%d] must be an integer", fn, i + 1);
    lua_pop(L, 1);
  }
  if (prompts) req.prompts = lplug_check_strings(L, prompts, req.batch, fn); /* stays on the stack */
  /* borrowed: the request table holds them */
  req.cond_input = lundi_lua_opt_tensor_field(L, req_idx, fn, "cond");
  if (!req.cond_input) req.cond_input = lundi_lua_opt_tensor_field(L, req_idx, fn, "cond_input");
  req.init = lundi_lua_opt_tensor_field(L, req_idx, fn, "init");

  lundi_rng local;
  if (lua_getfield(L, req_idx, "rng") != LUA_TNIL) {
    req.rng = lundi_lua_check_rng(L, -1); /* draws advance the caller's Rng */
  } else {
    lua_getfield(L, req_idx, "seed");
    local = lundi_rng_make((uint64_t)luaL_optinteger(L, -1, 0));
    req.rng = &local;
  }

  cbctx cb = {L, LUA_NOREF, LUA_NOREF};
  if (lua_getfield(L, req_idx, "callback") != LUA_TNIL) {
    luaL_checktype(L, -1, LUA_TFUNCTION);
    cb.fn_ref = luaL_ref(L, LUA_REGISTRYINDEX);
    req.callback = call_back;
    req.callback_ud = &cb;
  }
  void *sv = lreg_enter(L);
  lundi_tensor *out = lundi_sampler_sample(s, parts, &req);
  lreg_leave(L, sv);
  luaL_unref(L, LUA_REGISTRYINDEX, cb.fn_ref);
  if (cb.err_ref != LUA_NOREF) {
    lua_rawgeti(L, LUA_REGISTRYINDEX, cb.err_ref);
    luaL_unref(L, LUA_REGISTRYINDEX, cb.err_ref);
    if (!out) return luaL_error(L, "%s: callback failed: %s", fn, lua_tostring(L, -1));
    lua_pop(L, 1); /* the sampler went on regardless: its result stands */
  }
  lundi_lua_push_tensor(L, out, fn);
  return 1;
}

/* ---- the Pipeline userdata ---- */

/* Part k from the constructor's table at 1, pushed as a Plugin (or nil for a missing
 * conditioner): a Plugin, a name, or {name, params} / {name=, params=}. */
static void push_part(lua_State *L, int k) {
  const char *fn = "pipeline";
  int t = lua_getfield(L, 1, part_names[k]);
  int v = lua_gettop(L);
  if (t == LUA_TNIL) {
    if (part_kinds[k] != LUNDI_CONDITIONER) luaL_error(L, "pipeline: %s is required", part_names[k]);
    return;
  }
  if (t == LUA_TUSERDATA) {
    lplug_check_kind(L, v, part_kinds[k]);
    return;
  }
  if (t == LUA_TSTRING) {
    lplug_create(L, part_kinds[k], lua_tostring(L, v), 0, fn);
    lua_replace(L, v);
    return;
  }
  if (t == LUA_TTABLE) {
    if (lua_rawgeti(L, v, 1) == LUA_TNIL) {
      lua_pop(L, 1);
      lua_getfield(L, v, "name");
    }
    if (lua_rawgeti(L, v, 2) == LUA_TNIL) {
      lua_pop(L, 1);
      lua_getfield(L, v, "params");
    }
    if (lua_type(L, v + 1) != LUA_TSTRING)
      luaL_error(L, "pipeline: %s = {name, params}: the name must be a string", part_names[k]);
    lplug_create(L, part_kinds[k], lua_tostring(L, v + 1), lua_isnil(L, v + 2) ? 0 : v + 2, fn);
    lua_replace(L, v);
    lua_settop(L, v);
    return;
  }
  luaL_error(L, "pipeline: %s must be a Plugin, a name or {name, params}, got %s", part_names[k], lpv_typename(L, v));
}

static int l_pipeline(lua_State *L) {
  luaL_checktype(L, 1, LUA_TTABLE);
  lua_settop(L, 1);
  static const char *const keys[] = {"scheduler", "denoiser", "conditioner", "sampler", NULL};
  lundi_lua_check_keys(L, 1, "pipeline", "part", keys);
  lua_newuserdatauv(L, 1, 4); /* 2 */
  luaL_setmetatable(L, LUNDI_LUA_PIPELINE);
  for (int k = 0; k < 4; k++) {
    push_part(L, k);
    lua_setiuservalue(L, 2, k + 1);
    lua_settop(L, 2);
  }
  return 1;
}

static void check_pipe(lua_State *L) { luaL_checkudata(L, 1, LUNDI_LUA_PIPELINE); }

static int pipe_sample(lua_State *L) {
  check_pipe(L);
  luaL_checktype(L, 2, LUA_TTABLE);
  lundi_pipeline_parts parts;
  lpipe_check_parts(L, 1, &parts);
  lundi_instance *s = pipe_part(L, 1, 3);
  return lpipe_sample(L, s, &parts, 2, "sample");
}

static int pipe_describe(lua_State *L) {
  check_pipe(L);
  lua_newtable(L);
  int n = 0;
  for (int k = 0; k < 4; k++) {
    lundi_instance *inst = pipe_part(L, 1, k);
    if (!inst) continue;
    const lundi_plugin *p = lundi_instance_plugin(inst);
    const lundi_plugin_desc *d = lundi_plugin_info(p);
    lua_createtable(L, 0, 5);
    lundi_lua_set_str(L, "kind", part_names[k]);
    lundi_lua_set_str(L, "name", d->name);
    lundi_lua_set_str(L, "version", d->version);
    lundi_lua_set_str(L, "origin", lundi_plugin_origin(p));
    lplug_push_params(L, lundi_instance_params(inst));
    lua_setfield(L, -2, "params");
    lua_rawseti(L, -2, ++n);
  }
  return 1;
}

static int pipe_index(lua_State *L) {
  check_pipe(L);
  const char *key = luaL_checkstring(L, 2);
  for (int k = 0; k < 4; k++)
    if (strcmp(key, part_names[k]) == 0) {
      lua_getiuservalue(L, 1, k + 1);
      return 1;
    }
  lua_getmetatable(L, 1); /* its "methods" table, which tests and docs can list */
  lua_getfield(L, -1, "methods");
  lua_getfield(L, -1, key);
  return 1;
}

static int pipe_tostring(lua_State *L) {
  check_pipe(L);
  lundi_pipeline_parts parts;
  lpipe_check_parts(L, 1, &parts);
  char *text = lundi_pipeline_describe(&parts, pipe_part(L, 1, 3));
  if (!text) return lundi_lua_error(L, "tostring");
  lua_pushstring(L, text);
  free(text);
  return 1;
}

void lundi_lua_open_pipeline(lua_State *L, int mod) {
  static const luaL_Reg meta[] = {{"__index", pipe_index}, {"__tostring", pipe_tostring}, {NULL, NULL}};
  static const luaL_Reg methods[] = {{"sample", pipe_sample}, {"describe", pipe_describe}, {NULL, NULL}};
  lundi_lua_new_class(L, LUNDI_LUA_PIPELINE, meta, methods);
  lua_pushcfunction(L, l_pipeline);
  lua_setfield(L, mod, "pipeline");
}
