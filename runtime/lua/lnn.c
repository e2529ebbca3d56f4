/* lundi.nn: module userdata ("lundi.Module") and the built-in layer constructors.
 *
 * Constructors: Linear(in, out [, {bias=true, rng=}]), Conv2d/Conv1d(cin, cout, k [, {stride,
 * padding, dilation, groups, bias=true, rng=}]), GroupNorm(groups, channels [, eps=1e-5]),
 * LayerNorm(dim [, {eps=1e-5, affine=true}]), RMSNorm(dim [, {eps=1e-6}]),
 * Embedding(n, dim [, {rng=}]), MultiheadAttention(dim, heads [, {kv_dim, bias=true, rng=}]).
 * Without rng, initialisation draws from one rng per Lua state seeded with 0, so a script
 * builds the same weights on every run while two layers still differ.
 *
 * m(x) / m:forward(x) dispatches on the module's type; MultiheadAttention takes
 * (x [, ctx [, mask [, causal]]]). m:parameters() is an array of tensors in the C order
 * (depth first); m:named_parameters() is a map name -> tensor.
 *
 * Ownership: a module built from Lua is freed by its __gc. A borrowed one (m:child(path), or
 * a module that another object such as a plugin instance owns) is never freed through its
 * userdata; its user value keeps the owner alive. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "lbind.h"
#include "lua_tensor.h"

typedef struct lmodule {
  lundi_module *m;
  int owned;
} lmodule;

static const char default_rng_key = 0;

lundi_module *lundi_lua_check_module(lua_State *L, int idx) {
  lmodule *b = luaL_checkudata(L, idx, LUNDI_LUA_MODULE);
  if (!b->m) luaL_argerror(L, idx, "module was freed");
  return b->m;
}

static void push_module(lua_State *L, lundi_module *m, int owned, int owner_idx, const char *fn) {
  if (!m) lundi_lua_error(L, fn);
  if (owned && lundi_module_to(m, lundi_default_device())) { /* new layers go where lundi.device() says */
    lundi_module_free(m);
    lundi_lua_error(L, fn);
  }
  owner_idx = owner_idx ? lua_absindex(L, owner_idx) : 0;
  lmodule *b = lua_newuserdatauv(L, sizeof *b, 1);
  b->m = m;
  b->owned = owned;
  luaL_setmetatable(L, LUNDI_LUA_MODULE);
  if (owner_idx) {
    lua_pushvalue(L, owner_idx);
    lua_setiuservalue(L, -2, 1);
  }
}

void lundi_lua_push_borrowed_module(lua_State *L, lundi_module *m, int owner_idx) {
  push_module(L, m, 0, owner_idx, "module");
}

static int mod_gc(lua_State *L) {
  lmodule *b = luaL_checkudata(L, 1, LUNDI_LUA_MODULE);
  if (b->owned) lundi_module_free(b->m);
  b->m = NULL;
  return 0;
}

/* ---- parameter lists owned by the GC ---- */

static int params_gc(lua_State *L) {
  lundi_param_list_free(lua_touserdata(L, 1));
  return 0;
}

lundi_param_list *lundi_lua_new_params(lua_State *L) {
  static const luaL_Reg meta[] = {{"__gc", params_gc}, {NULL, NULL}};
  lundi_param_list *l = lua_newuserdatauv(L, sizeof *l, 0);
  memset(l, 0, sizeof *l);
  lundi_lua_new_class(L, "lundi.ParamList", meta, NULL);
  luaL_setmetatable(L, "lundi.ParamList");
  return l;
}

lundi_param_list *lundi_lua_check_params(lua_State *L, int arg) {
  arg = lua_absindex(L, arg);
  if (luaL_testudata(L, arg, LUNDI_LUA_MODULE)) {
    lundi_module *m = lundi_lua_check_module(L, arg);
    lundi_param_list *l = lundi_lua_new_params(L);
    if (lundi_module_parameters(m, l) != 0) lundi_lua_error(L, "parameters");
    return l;
  }
  if (!lua_istable(L, arg)) luaL_typeerror(L, arg, "module or table of tensors");
  lundi_param_list *l = lundi_lua_new_params(L);
  lua_Integer n = luaL_len(L, arg);
  if (n > 0) { /* an array: names "1", "2", ... */
    for (lua_Integer i = 1; i <= n; i++) {
      lua_geti(L, arg, i);
      lundi_tensor **box = luaL_testudata(L, -1, LUNDI_LUA_TENSOR);
      if (!box || !*box) luaL_argerror(L, arg, lua_pushfstring(L, "entry %I is not a live tensor", (LUAI_UACINT)i));
      if (lundi_param_list_push_next(l, *box) != 0) lundi_lua_error(L, "parameters");
      lua_pop(L, 1);
    }
    return l;
  }
  lua_pushnil(L); /* a map name -> tensor, sorted by name so the order is reproducible */
  while (lua_next(L, arg)) {
    lundi_tensor **box = luaL_testudata(L, -1, LUNDI_LUA_TENSOR);
    if (lua_type(L, -2) != LUA_TSTRING || !box || !*box)
      luaL_argerror(L, arg, "table must map names to live tensors, or list tensors");
    if (lundi_param_list_push(l, lua_tostring(L, -2), *box) != 0) lundi_lua_error(L, "parameters");
    lua_pop(L, 1);
  }
  lundi_param_list_sort(l);
  return l;
}

void lundi_lua_push_param_map(lua_State *L, const lundi_param_list *l) {
  lua_createtable(L, 0, l->n);
  for (int i = 0; i < l->n; i++) {
    lundi_lua_push_tensor(L, lundi_retain(l->tensors[i]), "parameters");
    lua_setfield(L, -2, l->names[i]);
  }
}

/* ---- constructors ---- */

static lundi_rng *opt_rng_field(lua_State *L, int arg) {
  if (lundi_lua_get_field(L, arg, "rng") != LUA_TNIL) {
    lundi_rng *r = luaL_testudata(L, -1, LUNDI_LUA_RNG);
    if (!r) luaL_argerror(L, arg, lua_pushfstring(L, "option 'rng': rng expected, got %s", luaL_typename(L, -1)));
    lua_pop(L, 1); /* still referenced by the options table */
    return r;
  }
  lua_pop(L, 1);
  lua_rawgetp(L, LUA_REGISTRYINDEX, &default_rng_key);
  lundi_rng *r = lua_touserdata(L, -1);
  lua_pop(L, 1); /* anchored in the registry */
  return r;
}

/* The constructor of the layer described by upvalue 1: its sizes, then its options. */
static int nn_construct(lua_State *L) {
  const lundi_layer_desc *d = lua_touserdata(L, lua_upvalueindex(1));
  lundi_layer_args a = lundi_layer_defaults(d);
  for (int i = 0; i < d->n_sizes; i++) a.n[i] = lundi_lua_check_int(L, i + 1);
  int opt = d->n_sizes + 1;
  if (d->conv) lundi_lua_check_conv_params(L, opt, &a.conv, d->options);
  else if (d->options) lundi_lua_check_options(L, opt, NULL, d->options);
  if (d->options) a.eps = (float)lundi_lua_opt_num_field(L, opt, NULL, "eps", a.eps);
  else a.eps = (float)luaL_optnumber(L, opt, a.eps);
  a.affine = lundi_lua_opt_bool_field(L, opt, NULL, "affine", a.affine);
  a.kv_dim = (int)lundi_lua_opt_int_field(L, opt, NULL, "kv_dim", a.kv_dim, LUNDI_LUA_ANY_INT);
  a.bias = lundi_lua_opt_bool_field(L, opt, NULL, "bias", a.bias);
  a.rng = opt_rng_field(L, opt);
  push_module(L, lundi_layer_new(d->type, &a), 1, 0, d->type);
  return 1;
}

/* ---- methods ---- */

static int m_forward(lua_State *L) {
  lundi_module *m = lundi_lua_check_module(L, 1);
  lundi_tensor *x = lundi_lua_check_tensor(L, 2), *ctx = NULL, *mask = NULL;
  int causal = 0;
  const lundi_layer_desc *d = lundi_layer_desc_of(lundi_module_type(m));
  if (d && d->context) { /* MultiheadAttention: (x [, ctx [, mask [, causal]]]) */
    ctx = lundi_lua_opt_tensor(L, 3);
    mask = lundi_lua_opt_tensor(L, 4);
    causal = lundi_lua_opt_bool(L, 5, 0);
  }
  return lundi_lua_return_tensor(L, lundi_layer_forward(m, x, ctx, mask, causal), "forward");
}

static int m_parameters(lua_State *L) {
  lundi_param_list *l = lundi_lua_check_params(L, 1);
  lua_createtable(L, l->n, 0);
  for (int i = 0; i < l->n; i++) {
    lundi_lua_push_tensor(L, lundi_retain(l->tensors[i]), "parameters");
    lua_rawseti(L, -2, i + 1);
  }
  return 1;
}

static int m_named_parameters(lua_State *L) {
  lundi_lua_push_param_map(L, lundi_lua_check_params(L, 1));
  return 1;
}

#define LB_MODULE(v) LB_UD(lundi_module *, v, lundi_lua_check_module)
LB_FN(m_param, LB_MODULE(m); LB_STR(path); LB_RET_T_AS(lundi_retain(lundi_module_param(m, path)), "param"))
LB_FN(m_numel, LB_MODULE(m); LB_RET_INT(lundi_module_numel(m)))
LB_FN(m_type, LB_MODULE(m); LB_RET_STR(lundi_module_type(m)))
/* m:train([on=true]) and m:eval() return m; m:training() queries. */
LB_FN(m_train, LB_MODULE(m); LB_BOOL_OPT(on, 1); lundi_module_set_training(m, on); LB_RET_ARG1())
LB_FN(m_eval, LB_MODULE(m); lundi_module_set_training(m, 0); LB_RET_ARG1())
LB_FN(m_training, LB_MODULE(m); LB_RET_BOOL(lundi_module_training(m)))
LB_FN(m_zero_grad, LB_MODULE(m); lundi_module_zero_grad(m); LB_RET_NONE())
LB_FN(m_save, LB_MODULE(m); LB_STR(path); LB_RET_OK(lundi_module_save(m, path), "save"))
/* m:to(device) moves the parameters in place (optimisers holding them follow); returns m. */
LB_FN(m_to, LB_MODULE(m); LB_UD(lundi_device *, dev, lundi_lua_check_device);
      LB_RET_SELF(lundi_module_to(m, dev), "to"))

/* m:load(path [, strict=true | {strict = true, nonfinite = "error" | "warn"}]): NaN or Inf in
 * the file is refused naming the tensor, unless nonfinite = "warn" (loaded, one warning). */
static int m_load(lua_State *L) {
  static const char *const keys[] = {"strict", "nonfinite", NULL};
  lundi_module *m = lundi_lua_check_module(L, 1);
  const char *path = luaL_checkstring(L, 2);
  lundi_load_options o = lundi_load_defaults();
  if (lua_istable(L, 3)) {
    lundi_lua_check_options(L, 3, NULL, keys);
    o.strict = lundi_lua_opt_bool_field(L, 3, NULL, "strict", o.strict);
    o.nonfinite = (lundi_nonfinite)lundi_lua_opt_choice_field(L, 3, NULL, "nonfinite", o.nonfinite,
                                                              lundi_nonfinite_names);
  } else {
    o.strict = lundi_lua_opt_bool(L, 3, o.strict);
  }
  char *warning;
  if (lundi_module_load_opts(m, path, &o, &warning) != 0) return lundi_lua_error(L, "load");
  if (warning) fprintf(stderr, "lundi: warning: %s\n", warning);
  free(warning);
  lua_settop(L, 1);
  return 1;
}

static int m_device(lua_State *L) {
  lundi_device *d = lundi_module_device(lundi_lua_check_module(L, 1));
  if (d) lua_pushstring(L, lundi_device_name(d));
  else lua_pushnil(L);
  return 1;
}

static int m_child(lua_State *L) {
  lundi_module *m = lundi_lua_check_module(L, 1);
  push_module(L, lundi_module_child(m, luaL_checkstring(L, 2)), 0, 1, "child");
  return 1;
}

static int m_tostring(lua_State *L) {
  lmodule *b = luaL_checkudata(L, 1, LUNDI_LUA_MODULE);
  char s[512];
  if (!b->m) lua_pushliteral(L, "module(freed)");
  else if (lundi_module_describe(b->m, b->owned ? NULL : "borrowed", s, sizeof s) != 0)
    lundi_lua_error(L, "parameters");
  else lua_pushstring(L, s);
  return 1;
}

static const luaL_Reg module_methods[] = {
  {"forward", m_forward},     {"parameters", m_parameters}, {"named_parameters", m_named_parameters},
  {"param", m_param},         {"numel", m_numel},           {"type", m_type},
  {"train", m_train},         {"eval", m_eval},             {"training", m_training},
  {"zero_grad", m_zero_grad}, {"save", m_save},             {"load", m_load},
  {"child", m_child},         {"to", m_to},                 {"device", m_device},
  {NULL, NULL},
};

void lundi_lua_open_nn(lua_State *L, int mod) {
  mod = lua_absindex(L, mod);
  lundi_rng *r = lua_newuserdatauv(L, sizeof *r, 0);
  *r = lundi_rng_make(0);
  luaL_setmetatable(L, LUNDI_LUA_RNG);
  lua_rawsetp(L, LUA_REGISTRYINDEX, &default_rng_key);

  static const luaL_Reg meta[] = {{"__gc", mod_gc}, {"__call", m_forward}, {"__tostring", m_tostring}, {NULL, NULL}};
  lundi_lua_new_class(L, LUNDI_LUA_MODULE, meta, module_methods);
  lua_createtable(L, 0, lundi_layer_count());
  for (int i = 0; i < lundi_layer_count(); i++) {
    lua_pushlightuserdata(L, (void *)lundi_layer_desc_at(i));
    lua_pushcclosure(L, nn_construct, 1);
    lua_setfield(L, -2, lundi_layer_desc_at(i)->type);
  }
  lua_setfield(L, mod, "nn");
  lundi_lua_open_optim(L, mod);
}
