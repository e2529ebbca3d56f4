/* lundi.scheduler / denoiser / conditioner / sampler: plugin instances as "lundi.Plugin"
 * userdata whose methods are the checked call wrappers of plugin.h, and lundi.plugins().
 * Step indices stay 0-based (see lplugin.h). */
#include <stdlib.h>
#include <string.h>

#include "lplugin.h"
#include "lua_module.h"
#include "lua_rng.h"
#include "plugin/api_each.h"

/* ---- the userdata ---- */

void lplug_push(lua_State *L, lundi_instance *inst, int owned) {
  lplug_ud *u = lua_newuserdatauv(L, sizeof *u, 0);
  u->inst = inst;
  u->owned = owned;
  luaL_setmetatable(L, LUNDI_LUA_PLUGIN);
}

lplug_ud *lplug_check(lua_State *L, int idx) {
  lplug_ud *u = luaL_checkudata(L, idx, LUNDI_LUA_PLUGIN);
  if (!u->inst)
    luaL_argerror(L, idx, "plugin instance is no longer usable (closed, or lent to a sample call that returned)");
  return u;
}

lundi_instance *lplug_check_kind(lua_State *L, int idx, lundi_plugin_kind k) {
  lplug_ud *u = lplug_check(L, idx);
  lundi_plugin_kind got = lundi_plugin_info(lundi_instance_plugin(u->inst))->kind;
  if (got != k) {
    const char *msg = lua_pushfstring(L, "%s expected, got a %s", lundi_plugin_kind_name(k),
                                      lundi_plugin_kind_name(got));
    luaL_argerror(L, idx, msg);
  }
  return u->inst;
}

static void push_value(lua_State *L, const lundi_params *p, int i) {
  const lundi_param_spec *s = lundi_params_spec(p, i);
  switch (s->type) {
  case LUNDI_PARAM_INT: lua_pushinteger(L, (lua_Integer)lundi_params_int(p, s->name)); break;
  case LUNDI_PARAM_FLOAT: lua_pushnumber(L, lundi_params_float(p, s->name)); break;
  case LUNDI_PARAM_BOOL: lua_pushboolean(L, lundi_params_bool(p, s->name)); break;
  default: lua_pushstring(L, lundi_params_string(p, s->name)); break;
  }
}

void lplug_push_params(lua_State *L, const lundi_params *p) {
  int n = lundi_params_count(p);
  lua_createtable(L, 0, n);
  for (int i = 0; i < n; i++) {
    push_value(L, p, i);
    lua_setfield(L, -2, lundi_params_spec(p, i)->name);
  }
}

const char **lplug_check_strings(lua_State *L, int idx, int n, const char *fn) {
  const char **out = lua_newuserdatauv(L, (size_t)(n ? n : 1) * sizeof *out, 0);
  for (int i = 0; i < n; i++) {
    if (lua_rawgeti(L, idx, i + 1) != LUA_TSTRING)
      luaL_error(L, "%s: prompts[%d] must be a string, got %s", fn, i + 1, lpv_typename(L, -1));
    out[i] = lua_tostring(L, -1); /* anchored by the table at idx */
    lua_pop(L, 1);
  }
  return out;
}

void lplug_create(lua_State *L, lundi_plugin_kind k, const char *name, int params_idx,
                  const char *fn) {
  if (params_idx) params_idx = lua_absindex(L, params_idx);
  lundi_registry *r = lundi_lua_registry(L);
  const lundi_plugin *p = lundi_registry_find(r, k, name);
  if (!p) lundi_lua_error(L, fn);
  lundi_params *pp = lundi_plugin_params(p);
  if (!pp) lundi_lua_error(L, fn);
  if (params_idx && lua_type(L, params_idx) != LUA_TTABLE) {
    lundi_params_free(pp);
    luaL_typeerror(L, params_idx, "table of parameters");
  }
  if (params_idx && lpv_apply_params(L, params_idx, pp, lundi_plugin_owner(p)) != 0) {
    lundi_params_free(pp);
    lundi_lua_error(L, fn);
  }
  lplug_push(L, NULL, 1); /* before the instance, so a memory error cannot leak it */
  lplug_ud *u = lua_touserdata(L, -1);
  void *sv = lreg_enter(L);
  u->inst = lundi_instance_new(p, pp);
  lreg_leave(L, sv);
  lundi_params_free(pp);
  if (!u->inst) lundi_lua_error(L, fn);
}

static int plug_gc(lua_State *L) {
  lplug_ud *u = luaL_checkudata(L, 1, LUNDI_LUA_PLUGIN);
  if (u->owned && u->inst) {
    void *sv = lreg_enter(L);
    lundi_instance_free(u->inst);
    lreg_leave(L, sv);
  }
  u->inst = NULL;
  return 0;
}

static int plug_tostring(lua_State *L) {
  lplug_ud *u = luaL_checkudata(L, 1, LUNDI_LUA_PLUGIN);
  if (!u->inst) {
    lua_pushliteral(L, "plugin (released)");
    return 1;
  }
  char *text = lundi_instance_describe(u->inst);
  if (!text) return lundi_lua_error(L, "tostring");
  lua_pushstring(L, text);
  free(text);
  return 1;
}

static int plug_params(lua_State *L) {
  lplug_push_params(L, lundi_instance_params(lplug_check(L, 1)->inst));
  return 1;
}

/* Pushes field key of the instance; 0 when key is not a field. */
static int push_field(lua_State *L, lundi_instance *inst, const char *key) {
  const lundi_plugin *p = lundi_instance_plugin(inst);
  const lundi_plugin_desc *d = lundi_plugin_info(p);
  if (strcmp(key, "kind") == 0) lua_pushstring(L, lundi_plugin_kind_name(d->kind));
  else if (strcmp(key, "name") == 0) lua_pushstring(L, d->name);
  else if (strcmp(key, "version") == 0) lua_pushstring(L, d->version);
  else if (strcmp(key, "description") == 0) lua_pushstring(L, d->description);
  else if (strcmp(key, "origin") == 0) lua_pushstring(L, lundi_plugin_origin(p));
  else return 0;
  return 1;
}

/* upvalue 1: methods of every kind; upvalue 2: {[kind + 1] = methods of that kind}. */
static int plug_index(lua_State *L) {
  lplug_ud *u = luaL_checkudata(L, 1, LUNDI_LUA_PLUGIN);
  const char *key = luaL_checkstring(L, 2);
  if (u->inst && push_field(L, u->inst, key)) return 1;
  if (lua_getfield(L, lua_upvalueindex(1), key) != LUA_TNIL) return 1;
  if (!u->inst)
    return luaL_error(L, "plugin instance is no longer usable (closed, or lent to a sample call that "
                         "returned): cannot use '%s'", key);
  lua_pop(L, 1);
  lua_rawgeti(L, lua_upvalueindex(2), lundi_plugin_info(lundi_instance_plugin(u->inst))->kind + 1);
  lua_getfield(L, -1, key);
  return 1;
}

/* ---- calls: each brackets the C call with lreg_enter/leave ---- */

static int check_step(lua_State *L, int idx) {
  lua_Integer i = luaL_checkinteger(L, idx);
  luaL_argcheck(L, i >= 0 && i <= 0x7fffffff, idx, "step index must be a non-negative integer (0-based)");
  return (int)i;
}

#define CALL(type, var, expr)                                                                      \
  type var;                                                                                        \
  do {                                                                                             \
    void *sv_ = lreg_enter(L);                                                                     \
    var = (expr);                                                                                  \
    lreg_leave(L, sv_);                                                                            \
  } while (0)

static int push_int_result(lua_State *L, int v, const char *fn) {
  if (v < 0) return lundi_lua_error(L, fn);
  lua_pushinteger(L, v);
  return 1;
}

static int push_module(lua_State *L, lundi_module *m, const char *fn) {
  if (!m) {
    if (lundi_last_error_code() != 0) return lundi_lua_error(L, fn);
    lua_pushnil(L);
    return 1;
  }
  lundi_lua_push_borrowed_module(L, m, 1);
  return 1;
}

/* Pushes out as a table (taking its references) or raises fn's error when rc < 0. */
static int push_cond_result(lua_State *L, int rc, lundi_cond *out, const char *fn) {
  if (rc < 0) {
    lundi_cond_clear(out);
    return lundi_lua_error(L, fn);
  }
  lpv_push_cond(L, out);
  lundi_cond_clear(out);
  return 1;
}

/* ---- methods generated from lundi/plugin_api.h ----
 * One per function whose wrapper is generated (wrap LIKE, ANY, COUNT, MODULE) and whose lua
 * column is not CUSTOM: arguments read from 2 on by their C type, the checked call, the
 * result pushed by the lua column. */
typedef struct lm_args {
  lua_State *L;
  int idx;       /* the next Lua argument */
  int cond_idx;  /* where a cond table argument is, converted after the others (0: none) */
  lundi_cond in; /* that table's references, cleared after the call */
  lundi_cond out; /* a lundi_cond * result */
} lm_args;
static lundi_tensor *lm_tensor(lm_args *a) { return lundi_lua_check_tensor(a->L, a->idx++); }
static int lm_index(lm_args *a) { return check_step(a->L, a->idx++); }
static lundi_rng *lm_rng(lm_args *a) { return lundi_lua_opt_rng(a->L, a->idx++); }
static const lundi_cond *lm_cond_in(lm_args *a) {
  int i = a->idx++;
  if (lua_isnoneornil(a->L, i)) return NULL;
  a->cond_idx = i;
  return &a->in;
}
static lundi_cond *lm_cond_out(lm_args *a) { return &a->out; } /* takes no Lua argument */
/* Converting a cond table makes references, so it comes after every check that may raise. */
static void lm_finish(lm_args *a, const char *fn) {
  if (a->cond_idx && lpv_to_cond(a->L, a->cond_idx, &a->in, "cond") != 0) lundi_lua_error(a->L, fn);
}

static int lm_tensor_result(lua_State *L, lundi_tensor *r, const char *fn) {
  if (!r && lundi_last_error_code() == 0) { /* an optional function the plugin lacks */
    lua_pushnil(L);
    return 1;
  }
  lundi_lua_push_tensor(L, r, fn);
  return 1;
}
static inline int lm_number_result(lua_State *L, double v, const char *fn) {
  if (v != v) return lundi_lua_error(L, fn);
  lua_pushnumber(L, v);
  return 1;
}
static inline int lm_status_result(lua_State *L, int rc, const char *fn) {
  return rc < 0 ? lundi_lua_error(L, fn) : 0;
}

#define LM_DECL(c, d) d;
#define LM_READ(a, v)                                                                              \
  v = _Generic((v), lundi_tensor *: lm_tensor, int: lm_index, lundi_rng *: lm_rng,                  \
               const lundi_cond *: lm_cond_in, lundi_cond *: lm_cond_out)(a);
#define LM_PUSH_TENSOR(L, r, fn, a) lm_tensor_result(L, r, fn)
#define LM_PUSH_COUNT(L, r, fn, a) push_int_result(L, r, fn)
#define LM_PUSH_STATUS(L, r, fn, a) lm_status_result(L, r, fn)
#define LM_PUSH_NUMBER(L, r, fn, a) lm_number_result(L, r, fn)
#define LM_PUSH_MODULE(L, r, fn, a) push_module(L, r, fn)
#define LM_PUSH_COND(L, r, fn, a) push_cond_result(L, r, &(a)->out, fn)
#define LM_GEN(kind, ret, name, params, args, lua)                                                 \
  static int lm_##kind##_##name(lua_State *L) {                                                    \
    lundi_instance *self = lplug_check_kind(L, 1, KIND_OF_##kind);                                 \
    lm_args a_ = {L, 2, 0, {0}, {0}};                                                              \
    LUNDI__EACH_ARG(LM_DECL, -, params)                                                            \
    LUNDI__EACH_ARG(LM_READ, &a_, args)                                                            \
    lm_finish(&a_, #name);                                                                         \
    lundi_clear_error();                                                                           \
    CALL(ret, r_, lundi_##kind##_##name args);                                                     \
    lundi_cond_clear(&a_.in);                                                                      \
    return LM_PUSH_##lua(L, r_, #name, &a_);                                                       \
  }
#define KIND_OF_scheduler LUNDI_SCHEDULER
#define KIND_OF_denoiser LUNDI_DENOISER
#define KIND_OF_conditioner LUNDI_CONDITIONER
#define KIND_OF_sampler LUNDI_SAMPLER
/* Which functions get one: a generated wrapper (wrap LIKE, ANY, COUNT, MODULE) or a
 * hand-written one taking the table's arguments (LM_C_<name>), and a lua column other than
 * CUSTOM. LM_IF(wrap, lua, name, M) is M for those, LM_SKIP for the others. */
#define LM_W_LIKE(x) LM_L_
#define LM_W_ANY LM_L_
#define LM_W_COUNT(x) LM_L_
#define LM_W_MODULE LM_L_
#define LM_W_CUSTOM LM_C_
#define LM_W_NONE LM_NO_
#define LM_L_(lua, name, M) LM_L_##lua(M)
#define LM_C_(lua, name, M) LM_C_##name(M)
#define LM_NO_(lua, name, M) LM_SKIP
#define LM_L_TENSOR(M) M
#define LM_L_COUNT(M) M
#define LM_L_STATUS(M) M
#define LM_L_NUMBER(M) M
#define LM_L_MODULE(M) M
#define LM_L_COND(M) M
#define LM_L_CUSTOM(M) LM_SKIP
#define LM_C_timestep(M) M
#define LM_C_init_noise_sigma(M) M
#define LM_C_scale_model_input(M) M
#define LM_C_loss(M) M
#define LM_C_set_timesteps(M) LM_SKIP /* its own argument check */
#define LM_C_null_cond(M) LM_SKIP     /* the method is "null" */
#define LM_C_encode_text(M) LM_SKIP
#define LM_C_sample(M) LM_SKIP
#define LM_IF(wrap, lua, name, M) LM_W_##wrap(lua, name, M)
#define LM_SKIP(kind, ret, name, params, args, lua)
#define LM_ONE(kind, ret, name, params, args, need, lua, wrap)                                     \
  LM_IF(wrap, lua, name, LM_GEN)(kind, ret, name, params, args, lua)
#define LM_KIND(K, kind, LIST) LIST(LM_ONE, lundi_instance *inst_unused)
LUNDI_PLUGIN_KINDS(LM_KIND)
/* Their entries in the method tables. */
#define LM_REG_GEN(kind, ret, name, params, args, lua) {#name, lm_##kind##_##name},
#define LM_REG(kind, ret, name, params, args, need, lua, wrap)                                     \
  LM_IF(wrap, lua, name, LM_REG_GEN)(kind, ret, name, params, args, lua)

/* ---- hand-written methods ---- */

static int s_set_timesteps(lua_State *L) {
  lundi_instance *s = lplug_check_kind(L, 1, LUNDI_SCHEDULER);
  lua_Integer n = luaL_checkinteger(L, 2);
  luaL_argcheck(L, n > 0 && n <= 0x7fffffff, 2, "number of steps must be positive");
  CALL(int, rc, lundi_scheduler_set_timesteps(s, (int)n));
  if (rc < 0) return lundi_lua_error(L, "set_timesteps");
  return 0;
}

static int c_encode_text(lua_State *L) {
  lundi_instance *c = lplug_check_kind(L, 1, LUNDI_CONDITIONER);
  luaL_checktype(L, 2, LUA_TTABLE);
  lua_Integer n = luaL_len(L, 2);
  luaL_argcheck(L, n > 0 && n < 0x7fffffff, 2, "expected a non-empty array of prompts");
  const char **prompts = lplug_check_strings(L, 2, (int)n, "encode_text");
  lundi_cond out = {0};
  CALL(int, rc, lundi_conditioner_encode_text(c, prompts, (int)n, &out));
  return push_cond_result(L, rc, &out, "encode_text");
}

static int c_null(lua_State *L) {
  lundi_instance *c = lplug_check_kind(L, 1, LUNDI_CONDITIONER);
  lua_Integer n = luaL_checkinteger(L, 2);
  luaL_argcheck(L, n > 0 && n < 0x7fffffff, 2, "batch size must be positive");
  lundi_cond out = {0};
  CALL(int, rc, lundi_conditioner_null(c, (int)n, &out));
  return push_cond_result(L, rc, &out, "null");
}

static int c_drop(lua_State *L) {
  lundi_instance *c = lplug_check_kind(L, 1, LUNDI_CONDITIONER);
  lundi_rng *rng = lundi_lua_check_rng(L, 3);
  lundi_cond cond;
  if (lpv_to_cond(L, 2, &cond, "cond") != 0) return lundi_lua_error(L, "drop");
  CALL(int, rc, lundi_conditioner_drop(c, &cond, rng));
  return push_cond_result(L, rc, &cond, "drop");
}

static int sa_sample(lua_State *L) {
  lundi_instance *s = lplug_check_kind(L, 1, LUNDI_SAMPLER);
  lundi_pipeline_parts parts;
  lpipe_check_parts(L, 2, &parts);
  luaL_checktype(L, 3, LUA_TTABLE);
  return lpipe_sample(L, s, &parts, 3, "sample");
}

static const luaL_Reg common_methods[] = {{"params", plug_params}, {NULL, NULL}};

static const luaL_Reg scheduler_methods[] = {LUNDI_SCHEDULER_API(LM_REG, void *self)
                                             {"set_timesteps", s_set_timesteps},
                                             {NULL, NULL}};
static const luaL_Reg denoiser_methods[] = {LUNDI_DENOISER_API(LM_REG, void *self){NULL, NULL}};
static const luaL_Reg conditioner_methods[] = {LUNDI_CONDITIONER_API(LM_REG, void *self)
                                               {"encode_text", c_encode_text},
                                               {"null", c_null},
                                               {"drop", c_drop},
                                               {NULL, NULL}};
static const luaL_Reg sampler_methods[] = {{"sample", sa_sample}, {NULL, NULL}};

/* ---- module functions ---- */

static int make_kind(lua_State *L, lundi_plugin_kind k) {
  const char *fn = lundi_plugin_kind_name(k);
  const char *name = luaL_checkstring(L, 1);
  lplug_create(L, k, name, lua_isnoneornil(L, 2) ? 0 : 2, fn);
  return 1;
}
static int l_scheduler(lua_State *L) { return make_kind(L, LUNDI_SCHEDULER); }
static int l_denoiser(lua_State *L) { return make_kind(L, LUNDI_DENOISER); }
static int l_conditioner(lua_State *L) { return make_kind(L, LUNDI_CONDITIONER); }
static int l_sampler(lua_State *L) { return make_kind(L, LUNDI_SAMPLER); }

static void push_spec(lua_State *L, const lundi_params *defaults, int i) {
  const lundi_param_spec *s = lundi_params_spec(defaults, i);
  lua_createtable(L, 0, 7);
  lundi_lua_set_str(L, "name", s->name);
  lundi_lua_set_str(L, "type", lundi_param_type_name(s->type));
  push_value(L, defaults, i);
  lua_setfield(L, -2, "default");
  if (lundi_param_has_range(s)) {
    lundi_lua_set_num(L, "min", s->min);
    lundi_lua_set_num(L, "max", s->max);
  }
  size_t len;
  if (lundi_param_choice(s, 0, &len)) {
    lua_newtable(L);
    const char *c;
    for (int k = 0; (c = lundi_param_choice(s, k, &len)); k++) {
      lua_pushlstring(L, c, len);
      lua_rawseti(L, -2, k + 1);
    }
    lua_setfield(L, -2, "choices");
  }
  lundi_lua_set_str(L, "help", s->help ? s->help : "");
}

/* lundi.plugins([kind]) -> { {kind=, name=, version=, description=, origin=, params={...}}, ... } */
static int l_plugins(lua_State *L) {
  lundi_registry *r = lundi_lua_registry(L);
  int want = -1;
  if (!lua_isnoneornil(L, 1)) {
    lundi_plugin_kind k;
    if (lundi_plugin_kind_parse(luaL_checkstring(L, 1), &k) != 0)
      return luaL_argerror(L, 1, "expected scheduler, denoiser, conditioner or sampler");
    want = (int)k;
  }
  lua_newtable(L);
  int out = 0;
  for (int i = 0; i < lundi_registry_count(r); i++) {
    const lundi_plugin *p = lundi_registry_at(r, i);
    const lundi_plugin_desc *d = lundi_plugin_info(p);
    if (want >= 0 && (int)d->kind != want) continue;
    lua_createtable(L, 0, 6);
    lundi_lua_set_str(L, "kind", lundi_plugin_kind_name(d->kind));
    lundi_lua_set_str(L, "name", d->name);
    lundi_lua_set_str(L, "version", d->version);
    lundi_lua_set_str(L, "description", d->description);
    lundi_lua_set_str(L, "origin", lundi_plugin_origin(p));
    lundi_params *defaults = lundi_plugin_params(p);
    if (!defaults) return lundi_lua_error(L, "plugins");
    int n = lundi_params_count(defaults);
    lua_createtable(L, n, 0);
    for (int j = 0; j < n; j++) {
      push_spec(L, defaults, j);
      lua_rawseti(L, -2, j + 1);
    }
    lundi_params_free(defaults);
    lua_setfield(L, -2, "params");
    lua_rawseti(L, -2, ++out);
  }
  return 1;
}

static void new_methods(lua_State *L, const luaL_Reg *fns) {
  lua_newtable(L);
  luaL_setfuncs(L, fns, 0);
}

void lundi_lua_open_plugin(lua_State *L, int mod) {
  luaL_newmetatable(L, LUNDI_LUA_PLUGIN);
  lua_pushcfunction(L, plug_gc);
  lua_setfield(L, -2, "__gc");
  lua_pushcfunction(L, plug_gc);
  lua_setfield(L, -2, "__close");
  lua_pushcfunction(L, plug_tostring);
  lua_setfield(L, -2, "__tostring");
  new_methods(L, common_methods);
  lua_createtable(L, LUNDI_KIND_COUNT, 0);
  const luaL_Reg *per_kind[LUNDI_KIND_COUNT] = {scheduler_methods, denoiser_methods,
                                                conditioner_methods, sampler_methods};
  for (int k = 0; k < LUNDI_KIND_COUNT; k++) {
    new_methods(L, per_kind[k]);
    lua_rawseti(L, -2, k + 1);
  }
  lua_pushcclosure(L, plug_index, 2);
  lua_setfield(L, -2, "__index");
  lua_pop(L, 1);

  static const luaL_Reg fns[] = {{"scheduler", l_scheduler},     {"denoiser", l_denoiser},
                                 {"conditioner", l_conditioner}, {"sampler", l_sampler},
                                 {"plugins", l_plugins},         {NULL, NULL}};
  lua_pushvalue(L, mod);
  luaL_setfuncs(L, fns, 0);
  lua_pop(L, 1);
  lundi_lua_open_register(L, mod);
  lundi_lua_open_pipeline(L, mod);
}
