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
#include <string.h>

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
  lundi_param_list *l = lua_newuserdatauv(L, sizeof *l, 0);
  memset(l, 0, sizeof *l);
  if (luaL_newmetatable(L, "lundi.ParamList")) {
    lua_pushcfunction(L, params_gc);
    lua_setfield(L, -2, "__gc");
  }
  lua_setmetatable(L, -2);
  return l;
}

static void push_param(lua_State *L, lundi_param_list *l, const char *name, lundi_tensor *t) {
  if (lundi_param_list_push(l, name, t) != 0) lundi_lua_error(L, "parameters");
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
      lua_pushfstring(L, "%I", (LUAI_UACINT)i);
      push_param(L, l, lua_tostring(L, -1), *box);
      lua_pop(L, 2);
    }
    return l;
  }
  lua_pushnil(L); /* a map name -> tensor, sorted by name so the order is reproducible */
  while (lua_next(L, arg)) {
    lundi_tensor **box = luaL_testudata(L, -1, LUNDI_LUA_TENSOR);
    if (lua_type(L, -2) != LUA_TSTRING || !box || !*box)
      luaL_argerror(L, arg, "table must map names to live tensors, or list tensors");
    push_param(L, l, lua_tostring(L, -2), *box);
    lua_pop(L, 1);
  }
  for (int i = 1; i < l->n; i++) /* insertion sort: lists are short */
    for (int j = i; j > 0 && strcmp(l->names[j - 1], l->names[j]) > 0; j--) {
      char *s = l->names[j];
      lundi_tensor *t = l->tensors[j];
      l->names[j] = l->names[j - 1];
      l->tensors[j] = l->tensors[j - 1];
      l->names[j - 1] = s;
      l->tensors[j - 1] = t;
    }
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

static int nn_linear(lua_State *L) {
  static const char *const keys[] = {"bias", "rng", NULL};
  int in = lundi_lua_check_int(L, 1), out = lundi_lua_check_int(L, 2);
  lundi_lua_check_options(L, 3, NULL, keys);
  int bias = lundi_lua_opt_bool_field(L, 3, NULL, "bias", 1);
  push_module(L, lundi_linear_new(in, out, bias, opt_rng_field(L, 3)), 1, 0, "Linear");
  return 1;
}

static int conv_k(lua_State *L, int two) {
  static const char *const extra[] = {"bias", "rng", NULL};
  int cin = lundi_lua_check_int(L, 1), cout = lundi_lua_check_int(L, 2), k = lundi_lua_check_int(L, 3);
  lundi_conv_params p;
  lundi_lua_check_conv_params(L, 4, &p, extra);
  int bias = lundi_lua_opt_bool_field(L, 4, NULL, "bias", 1);
  lundi_rng *r = opt_rng_field(L, 4);
  lundi_module *m = two ? lundi_conv2d_new(cin, cout, k, &p, bias, r) : lundi_conv1d_new(cin, cout, k, &p, bias, r);
  push_module(L, m, 1, 0, two ? "Conv2d" : "Conv1d");
  return 1;
}
static int nn_conv2d(lua_State *L) { return conv_k(L, 1); }
static int nn_conv1d(lua_State *L) { return conv_k(L, 0); }

static int nn_group_norm(lua_State *L) {
  int groups = lundi_lua_check_int(L, 1), ch = lundi_lua_check_int(L, 2);
  float eps = (float)luaL_optnumber(L, 3, 1e-5);
  push_module(L, lundi_group_norm_new(groups, ch, eps), 1, 0, "GroupNorm");
  return 1;
}

static int nn_layer_norm(lua_State *L) {
  static const char *const keys[] = {"eps", "affine", NULL};
  int dim = lundi_lua_check_int(L, 1);
  lundi_lua_check_options(L, 2, NULL, keys);
  float eps = (float)lundi_lua_opt_num_field(L, 2, NULL, "eps", 1e-5);
  int affine = lundi_lua_opt_bool_field(L, 2, NULL, "affine", 1);
  push_module(L, lundi_layer_norm_new(dim, eps, affine), 1, 0, "LayerNorm");
  return 1;
}

static int nn_rms_norm(lua_State *L) {
  static const char *const keys[] = {"eps", NULL};
  int dim = lundi_lua_check_int(L, 1);
  lundi_lua_check_options(L, 2, NULL, keys);
  float eps = (float)lundi_lua_opt_num_field(L, 2, NULL, "eps", 1e-6);
  push_module(L, lundi_rms_norm_new(dim, eps), 1, 0, "RMSNorm");
  return 1;
}

static int nn_embedding(lua_State *L) {
  static const char *const keys[] = {"rng", NULL};
  int n = lundi_lua_check_int(L, 1), dim = lundi_lua_check_int(L, 2);
  lundi_lua_check_options(L, 3, NULL, keys);
  push_module(L, lundi_embedding_new(n, dim, opt_rng_field(L, 3)), 1, 0, "Embedding");
  return 1;
}

static int nn_mha(lua_State *L) {
  static const char *const keys[] = {"kv_dim", "bias", "rng", NULL};
  int dim = lundi_lua_check_int(L, 1), heads = lundi_lua_check_int(L, 2);
  lundi_lua_check_options(L, 3, NULL, keys);
  int kv = (int)lundi_lua_opt_int_field(L, 3, NULL, "kv_dim", 0, LUNDI_LUA_ANY_INT);
  int bias = lundi_lua_opt_bool_field(L, 3, NULL, "bias", 1);
  push_module(L, lundi_mha_new(dim, heads, kv, bias, opt_rng_field(L, 3)), 1, 0, "MultiheadAttention");
  return 1;
}

/* ---- methods ---- */

typedef lundi_tensor *(*forward_fn)(lundi_module *, lundi_tensor *);
static const struct {
  const char *type;
  forward_fn fn;
} forwards[] = {
  {"Linear", lundi_linear_forward},       {"Conv2d", lundi_conv2d_forward},   {"Conv1d", lundi_conv1d_forward},
  {"GroupNorm", lundi_group_norm_forward}, {"LayerNorm", lundi_layer_norm_forward},
  {"RMSNorm", lundi_rms_norm_forward},    {"Embedding", lundi_embedding_forward},
};

static int m_forward(lua_State *L) {
  lundi_module *m = lundi_lua_check_module(L, 1);
  lundi_tensor *x = lundi_lua_check_tensor(L, 2);
  const char *type = lundi_module_type(m);
  if (!strcmp(type, "MultiheadAttention")) {
    lundi_tensor *ctx = lundi_lua_opt_tensor(L, 3), *mask = lundi_lua_opt_tensor(L, 4);
    int causal = 0;
    if (!lua_isnoneornil(L, 5)) {
      luaL_checktype(L, 5, LUA_TBOOLEAN);
      causal = lua_toboolean(L, 5);
    }
    lundi_lua_push_tensor(L, lundi_mha_forward(m, x, ctx, mask, causal), "forward");
    return 1;
  }
  for (size_t i = 0; i < sizeof forwards / sizeof forwards[0]; i++)
    if (!strcmp(type, forwards[i].type)) {
      lundi_lua_push_tensor(L, forwards[i].fn(m, x), "forward");
      return 1;
    }
  return luaL_error(L, "forward: a %s module has no forward of its own (only built-in layers do)", type);
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
  lundi_param_list *l = lundi_lua_check_params(L, 1);
  lundi_lua_push_param_map(L, l);
  return 1;
}

static int m_param(lua_State *L) {
  lundi_module *m = lundi_lua_check_module(L, 1);
  const char *path = luaL_checkstring(L, 2);
  lundi_tensor *t = lundi_module_param(m, path);
  if (!t) return lundi_lua_error(L, "param");
  lundi_lua_push_tensor(L, lundi_retain(t), "param");
  return 1;
}

static int m_numel(lua_State *L) {
  lua_pushinteger(L, (lua_Integer)lundi_module_numel(lundi_lua_check_module(L, 1)));
  return 1;
}

static int m_type(lua_State *L) {
  lua_pushstring(L, lundi_module_type(lundi_lua_check_module(L, 1)));
  return 1;
}

/* m:train([on=true]) and m:eval() return m; m:training() queries. */
static int m_train(lua_State *L) {
  lundi_module *m = lundi_lua_check_module(L, 1);
  int on = 1;
  if (!lua_isnoneornil(L, 2)) {
    luaL_checktype(L, 2, LUA_TBOOLEAN);
    on = lua_toboolean(L, 2);
  }
  lundi_module_set_training(m, on);
  lua_settop(L, 1);
  return 1;
}

static int m_eval(lua_State *L) {
  lundi_module_set_training(lundi_lua_check_module(L, 1), 0);
  lua_settop(L, 1);
  return 1;
}

static int m_training(lua_State *L) {
  lua_pushboolean(L, lundi_module_training(lundi_lua_check_module(L, 1)));
  return 1;
}

static int m_zero_grad(lua_State *L) {
  lundi_module_zero_grad(lundi_lua_check_module(L, 1));
  return 0;
}

static int m_save(lua_State *L) {
  lundi_module *m = lundi_lua_check_module(L, 1);
  if (lundi_module_save(m, luaL_checkstring(L, 2)) != 0) return lundi_lua_error(L, "save");
  return 0;
}

/* m:load(path [, strict=true]). */
static int m_load(lua_State *L) {
  lundi_module *m = lundi_lua_check_module(L, 1);
  const char *path = luaL_checkstring(L, 2);
  int strict = 1;
  if (!lua_isnoneornil(L, 3)) {
    luaL_checktype(L, 3, LUA_TBOOLEAN);
    strict = lua_toboolean(L, 3);
  }
  if (lundi_module_load(m, path, strict) != 0) return lundi_lua_error(L, "load");
  lua_settop(L, 1);
  return 1;
}

/* m:to(device) moves the parameters in place (optimisers holding them follow); returns m. */
static int m_to(lua_State *L) {
  lundi_module *m = lundi_lua_check_module(L, 1);
  if (lundi_module_to(m, lundi_lua_check_device(L, 2))) return lundi_lua_error(L, "to");
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
  lundi_module *c = lundi_module_child(m, luaL_checkstring(L, 2));
  push_module(L, c, 0, 1, "child");
  return 1;
}

static int m_tostring(lua_State *L) {
  lmodule *b = luaL_checkudata(L, 1, LUNDI_LUA_MODULE);
  if (!b->m) {
    lua_pushliteral(L, "module(freed)");
    return 1;
  }
  lundi_param_list *l = lundi_lua_check_params(L, 1);
  lua_pushfstring(L, "%s(%d tensors, %I parameters%s)", lundi_module_type(b->m), l->n,
                  (LUAI_UACINT)lundi_module_numel(b->m), b->owned ? "" : ", borrowed");
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

static const luaL_Reg constructors[] = {
  {"Linear", nn_linear},       {"Conv2d", nn_conv2d},       {"Conv1d", nn_conv1d},
  {"GroupNorm", nn_group_norm}, {"LayerNorm", nn_layer_norm}, {"RMSNorm", nn_rms_norm},
  {"Embedding", nn_embedding}, {"MultiheadAttention", nn_mha}, {NULL, NULL},
};

void lundi_lua_open_nn(lua_State *L, int mod) {
  mod = lua_absindex(L, mod);
  lundi_rng *r = lua_newuserdatauv(L, sizeof *r, 0);
  *r = lundi_rng_make(0);
  luaL_setmetatable(L, LUNDI_LUA_RNG);
  lua_rawsetp(L, LUA_REGISTRYINDEX, &default_rng_key);

  luaL_newmetatable(L, LUNDI_LUA_MODULE);
  lua_pushcfunction(L, mod_gc);
  lua_setfield(L, -2, "__gc");
  lua_pushcfunction(L, m_forward);
  lua_setfield(L, -2, "__call");
  lua_pushcfunction(L, m_tostring);
  lua_setfield(L, -2, "__tostring");
  luaL_newlib(L, module_methods);
  lua_setfield(L, -2, "__index");
  lua_pop(L, 1);

  luaL_newlib(L, constructors);
  lua_setfield(L, mod, "nn");
  lundi_lua_open_optim(L, mod);
}
