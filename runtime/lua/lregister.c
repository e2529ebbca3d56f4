/* lundi.register{...}: a Lua table becomes a plugin registered through lundi_register(), so
 * the rest of the runtime cannot tell it from a C one.
 *
 * Each Lua plugin gets its own heap api table whose optional entries are NULL when the Lua
 * table lacks the function, so the call wrappers' documented defaults apply. Every C entry
 * is a trampoline that calls the Lua function inside lua_pcall (a Lua error must never
 * longjmp over the C caller's frames) and turns errors and wrong return types into a lundi
 * error naming the plugin and where it was registered.
 *
 * Lifetime: the registry may outlive the Lua state (the lundi command frees its registry
 * after lua_close). A sentinel userdata in the state's registry flips lstate.L to NULL when
 * the state closes; from then on create() fails and nothing touches the state. */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "lplugin.h"
#include "lua_module.h"
#include "plugin/api_each.h"
#include "plugin/spec_text.h"

#define STATE_KEY "lundi.lua_plugin_state"
#define SENTINEL "lundi.lua_plugin_sentinel" /* its metatable */

/* One per Lua state that registered plugins; shared by its plugins and the sentinel. */
typedef struct lstate {
  lua_State *L;   /* main thread; NULL once the state is closed */
  lua_State *cur; /* thread now calling into plugins through a binding, or NULL */
  int refs;
} lstate;

typedef struct lplugin {
  lstate *st;
  int table_ref; /* the registration table, in LUA_REGISTRYINDEX */
  lundi_plugin_kind kind;
  char name[64];
  char label[256]; /* "scheduler 'my_sched' (my.lua:12)" */
  union {
    lundi_scheduler_api s;
    lundi_denoiser_api d;
    lundi_conditioner_api c;
    lundi_sampler_api sa;
  } api;
} lplugin;

typedef struct linst {
  lplugin *p;
  int self_ref; /* what create() returned */
} linst;

static void state_unref(lstate *st) {
  if (--st->refs == 0) free(st);
}

static int sentinel_gc(lua_State *L) {
  lstate **box = lua_touserdata(L, 1);
  if (*box) {
    (*box)->L = NULL;
    (*box)->cur = NULL;
    state_unref(*box);
    *box = NULL;
  }
  return 0;
}

static lstate *find_state(lua_State *L) {
  lua_getfield(L, LUA_REGISTRYINDEX, STATE_KEY);
  lstate **box = lua_touserdata(L, -1);
  lua_pop(L, 1);
  return box ? *box : NULL;
}

static lstate *get_state(lua_State *L) {
  lstate *st = find_state(L);
  if (st) return st;
  static const luaL_Reg meta[] = {{"__gc", sentinel_gc}, {NULL, NULL}};
  lundi_lua_new_class(L, SENTINEL, meta, NULL);
  lstate **box = lua_newuserdatauv(L, sizeof *box, 0);
  *box = NULL;
  luaL_setmetatable(L, SENTINEL);
  st = calloc(1, sizeof *st);
  if (!st) luaL_error(L, "register: out of memory");
  lua_rawgeti(L, LUA_REGISTRYINDEX, LUA_RIDX_MAINTHREAD); /* whichever thread registers */
  st->L = lua_tothread(L, -1);
  lua_pop(L, 1);
  st->refs = 1;
  *box = st;
  lua_setfield(L, LUA_REGISTRYINDEX, STATE_KEY);
  return st;
}

void *lreg_enter(lua_State *L) {
  lstate *st = find_state(L);
  if (!st) return NULL;
  lua_State *prev = st->cur;
  st->cur = L;
  return prev;
}

void lreg_leave(lua_State *L, void *saved) {
  lstate *st = find_state(L);
  if (st) st->cur = saved;
}

static lua_State *thread_of(const lstate *st) { return st->cur ? st->cur : st->L; }

/* ---- one protected call of a plugin's Lua function ----
 * Stack from base: [msgh] [rng anchor] [extra anchor] [fn] [self] args... */
typedef struct lcall {
  lua_State *L;
  int base;
  const lplugin *p;
  const char *fn;
  lundi_rng *rng; /* written back from the anchored Rng copy after the call */
} lcall;

/* 0: ready to push arguments; 1: the function is absent (when optional); < 0: error. */
static int lc_begin(lcall *c, const lplugin *p, int self_ref, const char *fn, int optional) {
  memset(c, 0, sizeof *c);
  if (!p->st->L)
    return lundi_set_error(LUNDI_ESTATE, "%s: cannot call %s(): the Lua state that registered it has been closed",
                           p->label, fn);
  lua_State *L = thread_of(p->st);
  if (!lua_checkstack(L, 32)) return lundi_set_error(LUNDI_ENOMEM, "%s: Lua stack overflow", p->label);
  c->L = L;
  c->base = lua_gettop(L);
  c->p = p;
  c->fn = fn;
  lua_pushcfunction(L, lpv_traceback);
  lua_pushnil(L);
  lua_pushnil(L);
  lua_rawgeti(L, LUA_REGISTRYINDEX, p->table_ref);
  lua_pushstring(L, fn);
  lua_rawget(L, -2);
  lua_remove(L, -2);
  if (!lua_isfunction(L, -1)) {
    lua_settop(L, c->base);
    if (optional) return 1;
    return lundi_set_error(LUNDI_EINVAL, "%s: its table has no function '%s' any more", p->label, fn);
  }
  if (self_ref != LUA_NOREF) lua_rawgeti(L, LUA_REGISTRYINDEX, self_ref);
  return 0;
}

static void lc_push_rng(lcall *c, lundi_rng *rng) {
  lpv_push_rng(c->L, rng);
  if (!rng) return;
  lua_pushvalue(c->L, -1);
  lua_replace(c->L, c->base + 2);
  c->rng = rng;
}

/* Calls; on success the one result is on top. On error the stack is restored. */
static int lc_call(lcall *c) {
  int nargs = lua_gettop(c->L) - c->base - 4;
  int st = lua_pcall(c->L, nargs, 1, c->base + 1);
  if (c->rng) lpv_pull_rng(c->L, c->base + 2, c->rng);
  if (st != LUA_OK) {
    const char *msg = lua_tostring(c->L, -1);
    int rc = lundi_set_error(LUNDI_EINVAL, "%s: %s", c->p->label, msg ? msg : "error in Lua");
    lua_settop(c->L, c->base);
    return rc;
  }
  return 0;
}

static void lc_end(lcall *c) { lua_settop(c->L, c->base); }

static int lc_bad(lcall *c, const char *expected) {
  int rc = lundi_set_error(LUNDI_EINVAL, "%s: %s must return %s, got %s", c->p->label, c->fn, expected,
                           lpv_typename(c->L, -1));
  lc_end(c);
  return rc;
}

/* The tensor result on top (a new reference), or NULL with the error set. */
static lundi_tensor *lc_take_tensor(lcall *c) {
  lundi_tensor *t = lpv_to_tensor(c->L, -1);
  if (!t && !luaL_testudata(c->L, -1, LUNDI_LUA_TENSOR)) lc_bad(c, "a tensor");
  lc_end(c);
  return t;
}

static lundi_tensor *lc_tensor_result(lcall *c) { return lc_call(c) != 0 ? NULL : lc_take_tensor(c); }

static int lc_int_result(lcall *c) {
  if (lc_call(c) != 0) return LUNDI_EINVAL;
  int ok;
  lua_Integer v = lua_tointegerx(c->L, -1, &ok);
  if (!ok || lua_type(c->L, -1) != LUA_TNUMBER || v < 0 || v > 0x7fffffff)
    return lc_bad(c, "a non-negative integer");
  lc_end(c);
  return (int)v;
}

static double lc_number_result(lcall *c) {
  if (lc_call(c) != 0) return NAN;
  if (lua_type(c->L, -1) != LUA_TNUMBER) {
    lc_bad(c, "a number");
    return NAN;
  }
  double v = lua_tonumber(c->L, -1);
  lc_end(c);
  return v;
}

static int lc_cond_result(lcall *c, lundi_cond *out) {
  int rc = lc_call(c);
  if (rc != 0) return rc;
  char what[300];
  snprintf(what, sizeof what, "%s: the result of %s", c->p->label, c->fn);
  rc = lpv_to_cond(c->L, -1, out, what);
  lc_end(c);
  return rc;
}

static int check_module_body(lua_State *L) {
  lua_pushlightuserdata(L, lundi_lua_check_module(L, 1));
  return 1;
}

/* A Module result (borrowed: self must keep it alive), nil meaning none. */
static lundi_module *lc_module_result(lcall *c) {
  if (lc_call(c) != 0) return NULL;
  lua_State *L = c->L;
  if (lua_isnil(L, -1)) {
    lc_end(c);
    return NULL;
  }
  if (!luaL_testudata(L, -1, LUNDI_LUA_MODULE)) {
    lc_bad(c, "a Module or nil");
    return NULL;
  }
  lua_pushcfunction(L, check_module_body);
  lua_insert(L, -2);
  lundi_module *m = NULL;
  if (lua_pcall(L, 1, 1, 0) == LUA_OK) m = lua_touserdata(L, -1);
  else lundi_set_error(LUNDI_EINVAL, "%s: module: %s", c->p->label, lua_tostring(L, -1));
  lc_end(c);
  return m;
}

#define SELF_P(self) (((linst *)(self))->p)
#define SELF_REF(self) (((linst *)(self))->self_ref)
#define BEGIN(c, self, fn)                                                                         \
  (lc_begin(&(c), SELF_P(self), SELF_REF(self), (fn), 0) != 0)

/* ---- trampolines generated from lundi/plugin_api.h ----
 * One per function whose lua column is not CUSTOM: push the arguments (by C type), call the
 * Lua function, read the result (by the lua column). */
static void lt_push_tensor(lcall *c, lundi_tensor *t) { lpv_push_tensor(c->L, t); }
static void lt_push_int(lcall *c, int v) { lua_pushinteger(c->L, v); }
static void lt_push_cond(lcall *c, const lundi_cond *v) { lpv_push_cond(c->L, v); }
static void lt_push_none(lcall *c, lundi_cond *out) { (void)c, (void)out; } /* a result, not an argument */
#define LT_PUSH1(c, v)                                                                             \
  _Generic((v), lundi_tensor *: lt_push_tensor, int: lt_push_int, lundi_rng *: lc_push_rng,         \
           const lundi_cond *: lt_push_cond, lundi_cond *: lt_push_none)(c, v);

static int lt_status_result(lcall *c) {
  int rc = lc_call(c);
  if (rc == 0) lc_end(c);
  return rc;
}

#define LT_BODY(kind, ret, name, params, args, fail, finish)                                       \
  static ret lt_##kind##_##name params {                                                           \
    lcall c;                                                                                       \
    if (BEGIN(c, self, #name)) return fail;                                                        \
    LUNDI__EACH_ARG(LT_PUSH1, &c, args)                                                            \
    return finish;                                                                                 \
  }
#define LT_TENSOR(kind, ret, name, params, args) LT_BODY(kind, ret, name, params, args, NULL, lc_tensor_result(&c))
#define LT_COUNT(kind, ret, name, params, args) LT_BODY(kind, ret, name, params, args, LUNDI_EINVAL, lc_int_result(&c))
#define LT_STATUS(kind, ret, name, params, args) LT_BODY(kind, ret, name, params, args, LUNDI_EINVAL, lt_status_result(&c))
#define LT_NUMBER(kind, ret, name, params, args) LT_BODY(kind, ret, name, params, args, NAN, lc_number_result(&c))
#define LT_MODULE(kind, ret, name, params, args) LT_BODY(kind, ret, name, params, args, NULL, lc_module_result(&c))
#define LT_COND(kind, ret, name, params, args) LT_BODY(kind, ret, name, params, args, LUNDI_EINVAL, lc_cond_result(&c, out))
#define LT_CUSTOM(kind, ret, name, params, args) /* hand-written below */
#define LT_DEFINE(kind, ret, name, params, args, need, lua, wrap) LT_##lua(kind, ret, name, params, args)
#define LT_DEFINE_KIND(K, kind, LIST) LIST(LT_DEFINE, void *self)
LUNDI_PLUGIN_KINDS(LT_DEFINE_KIND)

/* ---- hand-written trampolines (the CUSTOM ones) ---- */

/* A Lua scheduler's noise_to_step(self, x0, noise, k) returns the noised sample; sampling
 * then starts at evaluation k (Lua schedulers take one model evaluation per step). */
static lundi_tensor *lt_scheduler_noise_to_step(void *self, lundi_tensor *x0, lundi_tensor *noise, int k, int *begin) {
  lcall c;
  if (BEGIN(c, self, "noise_to_step")) return NULL;
  lpv_push_tensor(c.L, x0);
  lpv_push_tensor(c.L, noise);
  lua_pushinteger(c.L, k);
  lundi_tensor *t = lc_tensor_result(&c);
  if (t && begin) *begin = k;
  return t;
}

static int lt_conditioner_encode_text(void *self, const char *const *prompts, int n, lundi_cond *out) {
  lcall c;
  if (BEGIN(c, self, "encode_text")) return LUNDI_EINVAL;
  lpv_push_strings(c.L, prompts, n);
  return lc_cond_result(&c, out);
}

static int lt_conditioner_drop(void *self, lundi_cond *cond, lundi_rng *rng) {
  lcall c;
  if (BEGIN(c, self, "drop")) return LUNDI_EINVAL;
  lpv_push_cond(c.L, cond);
  lc_push_rng(&c, rng);
  lundi_cond out;
  int rc = lc_cond_result(&c, &out);
  if (rc != 0) return rc;
  lundi_cond_clear(cond);
  *cond = out;
  return 0;
}

/* ---- sampler ---- */

/* request.callback for a Lua sampler: upvalue 1 is a box holding the C request, emptied
 * when the sample call returns. callback(i, n, t, x [, x0]) -> true to stop early. */
static int sample_callback(lua_State *L) {
  const lundi_sample_request **box = lua_touserdata(L, lua_upvalueindex(1));
  if (!*box) return luaL_error(L, "callback: the sample call it belongs to has returned");
  const lundi_sample_request *req = *box;
  lua_Integer i = luaL_checkinteger(L, 1), n = luaL_checkinteger(L, 2);
  double t = luaL_checknumber(L, 3);
  lundi_tensor *x = lundi_lua_check_tensor(L, 4), *x0 = lundi_lua_opt_tensor(L, 5);
  if (!req->callback) {
    lua_pushboolean(L, 0);
    return 1;
  }
  int rc = req->callback(req->callback_ud, (int)i, (int)n, t, x, x0);
  if (rc < 0) return lundi_lua_error(L, "callback");
  lua_pushboolean(L, rc == 1);
  return 1;
}

/* Sets field k of the table on top to a borrowed Plugin for inst (or leaves it out). */
static lplug_ud *lend_part(lua_State *L, lundi_instance *inst, const char *k) {
  if (!inst) return NULL;
  lplug_push(L, inst, 0);
  lplug_ud *u = lua_touserdata(L, -1);
  lua_setfield(L, -2, k);
  return u;
}

static lundi_tensor *lt_sampler_sample(void *self, const lundi_pipeline_parts *parts, const lundi_sample_request *req) {
  lcall c;
  if (BEGIN(c, self, "sample")) return NULL;
  lua_State *L = c.L;
  /* The anchor keeps what we must reset afterwards alive whatever the Lua code drops. */
  lua_createtable(L, 4, 0);
  lua_replace(L, c.base + 3);
  lplug_ud *lent[3];
  lua_createtable(L, 0, 3);
  lent[0] = lend_part(L, parts->scheduler, "scheduler");
  lent[1] = lend_part(L, parts->denoiser, "denoiser");
  lent[2] = lend_part(L, parts->conditioner, "conditioner");
  lua_pushvalue(L, -1);
  lua_rawseti(L, c.base + 3, 1);

  lua_createtable(L, 0, 8);
  lundi_lua_set_int(L, "batch", req->batch);
  lua_createtable(L, req->ndim, 0);
  for (int i = 0; i < req->ndim; i++) {
    lua_pushinteger(L, req->shape[i]);
    lua_rawseti(L, -2, i + 1);
  }
  lua_setfield(L, -2, "shape");
  lpv_push_tensor(L, req->cond_input);
  lua_setfield(L, -2, "cond_input");
  lpv_push_tensor(L, req->init);
  lua_setfield(L, -2, "init");
  if (req->strength > 0) /* img2img strength asked for in the request (0: the sampler's own) */
    lundi_lua_set_num(L, "strength", req->strength);
  if (req->prompts) {
    lpv_push_strings(L, req->prompts, req->batch);
    lua_setfield(L, -2, "prompts");
  }
  lc_push_rng(&c, req->rng);
  lua_setfield(L, -2, "rng");
  const lundi_sample_request **box = lua_newuserdatauv(L, sizeof *box, 0);
  *box = req;
  lua_pushvalue(L, -1);
  lua_rawseti(L, c.base + 3, 2);
  lua_pushcclosure(L, sample_callback, 1);
  lua_setfield(L, -2, "callback");

  int rc = lc_call(&c);
  /* The lent parts and the callback must not outlive this call. Nothing has allocated since
   * the anchor left the stack, so these userdata are still alive. */
  *box = NULL;
  for (int i = 0; i < 3; i++)
    if (lent[i]) lent[i]->inst = NULL;
  return rc != 0 ? NULL : lc_take_tensor(&c);
}

/* ---- create / destroy / release ---- */
static int p_create(void *user, const lundi_params *params, void **self) {
  lplugin *p = user;
  *self = NULL;
  if (!p->st->L)
    return lundi_set_error(LUNDI_ESTATE, "plugin '%s' was registered by a Lua state that has been closed", p->name);
  linst *in = calloc(1, sizeof *in);
  if (!in) return lundi_set_error(LUNDI_ENOMEM, "%s: out of memory", p->label);
  in->p = p;
  lcall c;
  int rc = lc_begin(&c, p, LUA_NOREF, "create", 1);
  lua_State *L = thread_of(p->st);
  if (rc < 0) {
    free(in);
    return rc;
  }
  if (rc == 1) { /* no create(): self is {params = ...} */
    lua_createtable(L, 0, 1);
    lplug_push_params(L, params);
    lua_setfield(L, -2, "params");
  } else {
    lplug_push_params(L, params);
    if ((rc = lc_call(&c)) != 0) {
      free(in);
      return rc;
    }
    if (lua_isnil(L, -1)) {
      rc = lc_bad(&c, "its instance (self, usually a table)");
      free(in);
      return rc;
    }
  }
  in->self_ref = luaL_ref(L, LUA_REGISTRYINDEX);
  if (rc == 0) lc_end(&c);
  *self = in;
  return 0;
}

static void p_destroy(void *self) {
  linst *in = self;
  if (!in) return;
  lstate *st = in->p->st;
  if (st->L) luaL_unref(thread_of(st), LUA_REGISTRYINDEX, in->self_ref);
  free(in);
}

static void p_release(void *user) {
  lplugin *p = user;
  if (p->st->L) luaL_unref(thread_of(p->st), LUA_REGISTRYINDEX, p->table_ref);
  state_unref(p->st);
  free(p);
}

/* ---- lundi.register ---- */

/* Whether the registration table at 1 has function fn as its own field; raises when the
 * field holds something else. */
static int has_fn(lua_State *L, const char *owner, const char *fn) {
  lua_pushstring(L, fn);
  int t = lua_rawget(L, 1); /* raw, like the trampolines' lookups (no __index there) */
  lua_pop(L, 1);
  if (t == LUA_TNIL) return 0;
  if (t != LUA_TFUNCTION)
    luaL_error(L, "register: %s: %s must be a function, got %s", owner, fn, lua_typename(L, t));
  return 1;
}

/* Each function the table has gets its trampoline; the others stay NULL (optional ones get
 * the call wrappers' defaults, required ones make lundi_register refuse the table). */
static void fill_api(lua_State *L, lplugin *p, const char *owner) {
#define FILL(kind, ret, name, params, args, need, lua, wrap)                                             \
  if (has_fn(L, owner, #name)) ((lundi_##kind##_api *)&p->api)->name = lt_##kind##_##name;
#define FILL_KIND(K, kind, LIST)                                                                   \
  case LUNDI_##K:                                                                                  \
    LIST(FILL, void *self)                                                                                 \
    break;
  switch (p->kind) {
    LUNDI_PLUGIN_KINDS(FILL_KIND)
  default: break;
  }
#undef FILL_KIND
#undef FILL
}

/* The string on top, popped and anchored in the scratch table (2) of l_register. */
static const char *anchor(lua_State *L) {
  const char *s = lua_tostring(L, -1);
  lua_rawseti(L, 2, (lua_Integer)luaL_len(L, 2) + 1);
  return s;
}

/* Optional string field k of the table at idx; def when nil. */
static const char *opt_field_string(lua_State *L, int idx, const char *k, const char *def, const char *where) {
  int t = lua_getfield(L, idx, k);
  if (t == LUA_TNIL) {
    lua_pop(L, 1);
    return def;
  }
  if (t != LUA_TSTRING) luaL_error(L, "register: %s%s must be a string, got %s", where, k, lpv_typename(L, -1));
  return anchor(L);
}

/* Reads params[i] (the table on top) into *s; strings are anchored in the scratch table.
 * Only the Lua types are checked here: lundi__param_spec_from_text has the rules. */
static void read_spec(lua_State *L, int i, lundi_param_spec *s) {
  int e = lua_gettop(L);
  char where[96], num[64];
  snprintf(where, sizeof where, "params[%d].", i);
  lundi__spec_text in = {.name = opt_field_string(L, e, "name", NULL, where)};
  if (!in.name) luaL_error(L, "register: params[%d] has no name", i);
  snprintf(where, sizeof where, "params[%d] ('%s'): ", i, in.name);
  in.type = opt_field_string(L, e, "type", NULL, where);
  /* choices: {"a", "b"} or "a|b" */
  int t = lua_getfield(L, e, "choices");
  if (t == LUA_TTABLE) {
    lua_Integer n = luaL_len(L, -1);
    luaL_Buffer b;
    luaL_buffinit(L, &b);
    for (lua_Integer k = 1; k <= n; k++) {
      lua_rawgeti(L, e + 1, k);
      if (lua_type(L, -1) != LUA_TSTRING)
        luaL_error(L, "register: %schoices[%d] must be a string", where, (int)k);
      if (k > 1) luaL_addchar(&b, '|');
      luaL_addvalue(&b);
    }
    luaL_pushresult(&b);
    in.choices = anchor(L);
  } else if (t == LUA_TSTRING) {
    in.choices = anchor(L);
  } else if (t != LUA_TNIL) {
    luaL_error(L, "register: %schoices must be a table of strings or \"a|b\", got %s", where, lua_typename(L, t));
  }
  lua_settop(L, e);
  /* default: a value of the parameter's type, or its text */
  t = lua_getfield(L, e, "default");
  if (t != LUA_TNIL && !lpv_value_text(L, -1, num, NULL))
    luaL_error(L, "register: %sdefault must be a number, boolean or string, got %s", where, lpv_typename(L, -1));
  if (t != LUA_TNIL) {
    lua_pushstring(L, lpv_value_text(L, -1, num, NULL));
    in.default_value = anchor(L);
  }
  lua_settop(L, e);
  int tmin = lua_getfield(L, e, "min"), tmax = lua_getfield(L, e, "max");
  if ((tmin != LUA_TNIL && tmin != LUA_TNUMBER) || (tmax != LUA_TNIL && tmax != LUA_TNUMBER))
    luaL_error(L, "register: %smin and max must be numbers", where);
  for (int k = 0; k < 2; k++) {
    if (lua_isnil(L, e + 1 + k)) continue;
    lua_pushstring(L, lpv_value_text(L, e + 1 + k, num, NULL));
    *(k ? &in.max : &in.min) = anchor(L);
  }
  lua_settop(L, e);
  in.help = opt_field_string(L, e, "help", NULL, where);
  size_t cap = in.choices ? strlen(in.choices) + 1 : 1;
  char *first = lua_newuserdatauv(L, cap, 0);
  lua_rawseti(L, 2, (lua_Integer)luaL_len(L, 2) + 1);
  if (lundi__param_spec_from_text(where, &in, s, first, cap) != 0) lundi_lua_error(L, "register");
}

/* lundi.register{kind=, name=, version=, description=, params={...}, create=, <kind functions>} */
static int l_register(lua_State *L) {
  luaL_checktype(L, 1, LUA_TTABLE);
  lua_settop(L, 1);
  lua_newtable(L); /* 2: scratch table anchoring strings until lundi_register copies them */
  const char *kname = opt_field_string(L, 1, "kind", NULL, "");
  lundi_plugin_kind kind;
  if (!kname || lundi_plugin_kind_parse(kname, &kind) != 0)
    return luaL_error(L, "register: kind must be scheduler, denoiser, conditioner or sampler, got %s",
                      kname ? kname : "nothing");
  const char *name = opt_field_string(L, 1, "name", NULL, "");
  if (!name) return luaL_error(L, "register: the table has no name");
  char owner[128];
  snprintf(owner, sizeof owner, "%s '%s'", kname, name);
  char where[160];
  snprintf(where, sizeof where, "%s: ", owner);
  const char *version = opt_field_string(L, 1, "version", "0.0.0", where);
  const char *desc_s = opt_field_string(L, 1, "description", "", where);
  has_fn(L, owner, "create"); /* optional, but a function when present */

  int n = 0;
  lundi_param_spec *specs = NULL;
  int t = lua_getfield(L, 1, "params"); /* 3 */
  if (t == LUA_TTABLE) {
    n = (int)luaL_len(L, 3);
    specs = lua_newuserdatauv(L, (size_t)(n ? n : 1) * sizeof *specs, 0); /* 4, scratch */
    for (int i = 0; i < n; i++) {
      if (lua_rawgeti(L, 3, i + 1) != LUA_TTABLE)
        return luaL_error(L, "register: %s: params[%d] must be a table {name=, type=, default=, ...}", owner, i + 1);
      read_spec(L, i + 1, &specs[i]);
      lua_pop(L, 1);
    }
  } else if (t != LUA_TNIL) {
    return luaL_error(L, "register: %s: params must be an array of tables, got %s", owner, lua_typename(L, t));
  }

  lua_Debug ar;
  char origin[200] = "lua";
  if (lua_getstack(L, 1, &ar) && lua_getinfo(L, "Sl", &ar) && ar.currentline > 0)
    snprintf(origin, sizeof origin, "%s:%d", ar.short_src, ar.currentline);

  /* Everything that may raise happens before p is allocated, so p cannot leak. */
  lundi_registry *reg = lundi_lua_registry(L);
  lplugin probe;
  memset(&probe, 0, sizeof probe);
  probe.kind = kind;
  fill_api(L, &probe, owner);
  lstate *st = get_state(L);
  lua_pushvalue(L, 1);
  int ref = luaL_ref(L, LUA_REGISTRYINDEX);
  lplugin *p = calloc(1, sizeof *p);
  if (!p) {
    luaL_unref(L, LUA_REGISTRYINDEX, ref);
    return luaL_error(L, "register: out of memory");
  }
  *p = probe;
  p->st = st;
  p->table_ref = ref;
  snprintf(p->name, sizeof p->name, "%s", name);
  snprintf(p->label, sizeof p->label, "%s (%s)", owner, origin);

  lundi_plugin_desc d = {LUNDI_ABI_VERSION, kind, name, version, desc_s, specs, n, p_create, p_destroy,
                         &p->api, p, p_release};
  if (lundi_register(reg, &d, origin) != 0) { /* user stays ours on failure */
    luaL_unref(L, LUA_REGISTRYINDEX, ref);
    free(p);
    return lundi_lua_error(L, "register");
  }
  st->refs++;
  return 0;
}

void lundi_lua_open_register(lua_State *L, int mod) {
  lua_pushcfunction(L, l_register);
  lua_setfield(L, mod, "register");
}
