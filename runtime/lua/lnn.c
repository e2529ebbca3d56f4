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
  static const luaL_Reg meta[] = {{"__gc", params_gc}, {NULL, NULL}};
  lundi_param_list *l = lua_newuserdatauv(L, sizeof *l, 0);
  memset(l, 0, sizeof *l);
  lundi_lua_new_class(L, "lundi.ParamList", meta, NULL);
  luaL_setmetatable(L, "lundi.ParamList");
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

/* What a constructor reads: its positional integers, then the options. */
typedef struct nn_args {
  int n[3];
  lundi_conv_params conv;
  float eps;
  int affine, kv_dim, bias;
  lundi_rng *rng;
} nn_args;

static lundi_module *make_linear(const nn_args *a) { return lundi_linear_new(a->n[0], a->n[1], a->bias, a->rng); }
static lundi_module *make_conv2d(const nn_args *a) {
  return lundi_conv2d_new(a->n[0], a->n[1], a->n[2], &a->conv, a->bias, a->rng);
}
static lundi_module *make_conv1d(const nn_args *a) {
  return lundi_conv1d_new(a->n[0], a->n[1], a->n[2], &a->conv, a->bias, a->rng);
}
static lundi_module *make_group_norm(const nn_args *a) { return lundi_group_norm_new(a->n[0], a->n[1], a->eps); }
static lundi_module *make_layer_norm(const nn_args *a) { return lundi_layer_norm_new(a->n[0], a->eps, a->affine); }
static lundi_module *make_rms_norm(const nn_args *a) { return lundi_rms_norm_new(a->n[0], a->eps); }
static lundi_module *make_embedding(const nn_args *a) { return lundi_embedding_new(a->n[0], a->n[1], a->rng); }
static lundi_module *make_mha(const nn_args *a) {
  return lundi_mha_new(a->n[0], a->n[1], a->kv_dim, a->bias, a->rng);
}

/* One row per constructor: keys NULL takes eps as a plain number after the integers
 * (GroupNorm); conv adds keys to the convolution options. Absent keys read as defaults. */
static const char *const bias_rng[] = {"bias", "rng", NULL};
static const char *const eps_affine[] = {"eps", "affine", NULL};
static const char *const eps_only[] = {"eps", NULL};
static const char *const rng_only[] = {"rng", NULL};
static const char *const mha_keys[] = {"kv_dim", "bias", "rng", NULL};
static const struct nn_ctor {
  const char *name;
  int n_ints, conv;
  double eps;
  const char *const *keys;
  lundi_module *(*make)(const nn_args *);
} ctors[] = {
  {"Linear", 2, 0, 0, bias_rng, make_linear},
  {"Conv2d", 3, 1, 0, bias_rng, make_conv2d},
  {"Conv1d", 3, 1, 0, bias_rng, make_conv1d},
  {"GroupNorm", 2, 0, 1e-5, NULL, make_group_norm},
  {"LayerNorm", 1, 0, 1e-5, eps_affine, make_layer_norm},
  {"RMSNorm", 1, 0, 1e-6, eps_only, make_rms_norm},
  {"Embedding", 2, 0, 0, rng_only, make_embedding},
  {"MultiheadAttention", 2, 0, 0, mha_keys, make_mha},
};

/* The constructor of the row in upvalue 1. */
static int nn_construct(lua_State *L) {
  const struct nn_ctor *c = lua_touserdata(L, lua_upvalueindex(1));
  nn_args a = {0};
  for (int i = 0; i < c->n_ints; i++) a.n[i] = lundi_lua_check_int(L, i + 1);
  int opt = c->n_ints + 1;
  if (c->conv) lundi_lua_check_conv_params(L, opt, &a.conv, c->keys);
  else if (c->keys) lundi_lua_check_options(L, opt, NULL, c->keys);
  if (c->keys) a.eps = (float)lundi_lua_opt_num_field(L, opt, NULL, "eps", c->eps);
  else a.eps = (float)luaL_optnumber(L, opt, c->eps);
  a.affine = lundi_lua_opt_bool_field(L, opt, NULL, "affine", 1);
  a.kv_dim = (int)lundi_lua_opt_int_field(L, opt, NULL, "kv_dim", 0, LUNDI_LUA_ANY_INT);
  a.bias = lundi_lua_opt_bool_field(L, opt, NULL, "bias", 1);
  a.rng = opt_rng_field(L, opt);
  push_module(L, c->make(&a), 1, 0, c->name);
  return 1;
}

/* ---- methods ---- */

static int m_forward(lua_State *L) {
  lundi_module *m = lundi_lua_check_module(L, 1);
  lundi_tensor *x = lundi_lua_check_tensor(L, 2), *ctx = NULL, *mask = NULL;
  int causal = 0;
  if (!strcmp(lundi_module_type(m), "MultiheadAttention")) { /* the one layer with more inputs */
    ctx = lundi_lua_opt_tensor(L, 3);
    mask = lundi_lua_opt_tensor(L, 4);
    causal = lundi_lua_opt_bool(L, 5, 0);
  }
  lundi_lua_push_tensor(L, lundi_layer_forward(m, x, ctx, mask, causal), "forward");
  return 1;
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
  lundi_module_set_training(m, lundi_lua_opt_bool(L, 2, 1));
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

/* m:load(path [, strict=true | {strict = true, nonfinite = "error" | "warn"}]): NaN or Inf in
 * the file is refused naming the tensor, unless nonfinite = "warn" (loaded, one warning). */
static int m_load(lua_State *L) {
  static const char *const keys[] = {"strict", "nonfinite", NULL};
  static const char *const nonfinite[] = {"error", "warn", NULL};
  lundi_module *m = lundi_lua_check_module(L, 1);
  const char *path = luaL_checkstring(L, 2);
  int flags, warn = 0;
  if (lua_istable(L, 3)) { /* {strict = true, nonfinite = "error" | "warn"} */
    lundi_lua_check_options(L, 3, NULL, keys);
    flags = lundi_lua_opt_bool_field(L, 3, NULL, "strict", 1) ? LUNDI_LOAD_STRICT : 0;
    warn = lundi_lua_opt_choice_field(L, 3, NULL, "nonfinite", 0, nonfinite) == 1;
  } else {
    flags = lundi_lua_opt_bool(L, 3, 1) ? LUNDI_LOAD_STRICT : 0;
  }
  if (lundi_module_load(m, path, flags | (warn ? LUNDI_LOAD_ALLOW_NONFINITE : 0)) != 0)
    return lundi_lua_error(L, "load");
  if (warn) { /* loaded anyway: say what is wrong with it */
    lundi_param_list *l = lundi_lua_check_params(L, 1);
    char what[600];
    snprintf(what, sizeof what, "load '%s'", path);
    if (lundi_param_list_check_finite(l, what) != 0) fprintf(stderr, "lundi: warning: %s\n", lundi_last_error());
  }
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

void lundi_lua_open_nn(lua_State *L, int mod) {
  mod = lua_absindex(L, mod);
  lundi_rng *r = lua_newuserdatauv(L, sizeof *r, 0);
  *r = lundi_rng_make(0);
  luaL_setmetatable(L, LUNDI_LUA_RNG);
  lua_rawsetp(L, LUA_REGISTRYINDEX, &default_rng_key);

  static const luaL_Reg meta[] = {{"__gc", mod_gc}, {"__call", m_forward}, {"__tostring", m_tostring}, {NULL, NULL}};
  lundi_lua_new_class(L, LUNDI_LUA_MODULE, meta, module_methods);
  lua_createtable(L, 0, sizeof ctors / sizeof ctors[0]);
  for (size_t i = 0; i < sizeof ctors / sizeof ctors[0]; i++) {
    lua_pushlightuserdata(L, (void *)&ctors[i]);
    lua_pushcclosure(L, nn_construct, 1);
    lua_setfield(L, -2, ctors[i].name);
  }
  lua_setfield(L, mod, "nn");
  lundi_lua_open_optim(L, mod);
}
