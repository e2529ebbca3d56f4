/* Elementwise ops, reductions, matmul, activations, attention, losses and dropout, each as a
 * method and as lundi.<name>. Index tensors (class targets, ids) hold 0-based values: they
 * are data handed to C unchanged; only axes are 1-based. */
#include <math.h>

#include "lua_tensor.h"

typedef lundi_tensor *(*unary_fn)(lundi_tensor *);
static const struct {
  const char *name;
  unary_fn fn;
} unary_ops[] = {
  {"exp", lundi_exp},   {"log", lundi_log},         {"sqrt", lundi_sqrt}, {"rsqrt", lundi_rsqrt},
  {"abs", lundi_abs},   {"tanh", lundi_tanh},       {"sigmoid", lundi_sigmoid}, {"silu", lundi_silu},
  {"mish", lundi_mish},
};

static int unary(lua_State *L) {
  int i = (int)lua_tointeger(L, lua_upvalueindex(1));
  lundi_lua_push_tensor(L, unary_ops[i].fn(lundi_lua_check_tensor(L, 1)), unary_ops[i].name);
  return 1;
}

static int o_gelu(lua_State *L) {
  lundi_tensor *x = lundi_lua_check_tensor(L, 1);
  int approx = 0;
  if (!lua_isnoneornil(L, 2)) {
    luaL_checktype(L, 2, LUA_TBOOLEAN);
    approx = lua_toboolean(L, 2);
  }
  lundi_lua_push_tensor(L, lundi_gelu(x, approx), "gelu");
  return 1;
}

/* clamp(x, lo, hi); nil leaves that side open. */
static int o_clamp(lua_State *L) {
  lundi_tensor *x = lundi_lua_check_tensor(L, 1);
  float lo = lua_isnoneornil(L, 2) ? -INFINITY : (float)luaL_checknumber(L, 2);
  float hi = lua_isnoneornil(L, 3) ? INFINITY : (float)luaL_checknumber(L, 3);
  lundi_lua_push_tensor(L, lundi_clamp(x, lo, hi), "clamp");
  return 1;
}

/* A tensor argument (checked by the caller), or a number made into a 0-dim tensor on dev; a
 * new reference either way. */
static lundi_tensor *tensor_or_number(lua_State *L, int arg, lundi_device *dev) {
  if (lua_type(L, arg) == LUA_TNUMBER) {
    lundi_tensor *h = lundi_scalar((float)lua_tonumber(L, arg)), *s = h ? lundi_to_device(h, dev) : NULL;
    lundi_release(h);
    return s; /* NULL with the error set */
  }
  return lundi_retain(lundi_lua_check_tensor(L, arg));
}

static int o_where(lua_State *L) {
  lundi_tensor *c = lundi_lua_check_tensor(L, 1);
  if (lua_type(L, 2) != LUA_TNUMBER) lundi_lua_check_tensor(L, 2);
  if (lua_type(L, 3) != LUA_TNUMBER) lundi_lua_check_tensor(L, 3);
  lundi_device *dev = lundi_tensor_device(c);
  lundi_tensor *a = tensor_or_number(L, 2, dev), *b = a ? tensor_or_number(L, 3, dev) : NULL;
  lundi_tensor *out = a && b ? lundi_where(c, a, b) : NULL;
  lundi_release(a);
  lundi_release(b);
  lundi_lua_push_tensor(L, out, "where");
  return 1;
}

/* sum/mean/max(x [, axes [, keepdim]]): axes nil (all), an axis or a table of axes. */
static int reduce(lua_State *L) {
  static const char *const names[] = {"sum", "mean", "max"};
  int k = (int)lua_tointeger(L, lua_upvalueindex(1));
  lundi_tensor *x = lundi_lua_check_tensor(L, 1);
  int axes[LUNDI_MAX_DIMS];
  int n = lundi_lua_check_axes(L, 2, lundi_ndim(x), axes);
  int keep = 0;
  if (!lua_isnoneornil(L, 3)) {
    luaL_checktype(L, 3, LUA_TBOOLEAN);
    keep = lua_toboolean(L, 3);
  }
  lundi_tensor *out = k == 0 ? lundi_sum(x, n, axes, keep) : k == 1 ? lundi_mean(x, n, axes, keep) : lundi_max(x, n, axes, keep);
  lundi_lua_push_tensor(L, out, names[k]);
  return 1;
}

static int o_sum_to(lua_State *L) {
  lundi_tensor *x = lundi_lua_check_tensor(L, 1);
  int64_t shape[LUNDI_MAX_DIMS];
  int ndim = lundi_lua_check_shape(L, 2, 1, shape);
  lundi_lua_push_tensor(L, lundi_sum_to(x, ndim, shape), "sum_to");
  return 1;
}

static int o_matmul(lua_State *L) {
  lundi_tensor *a = lundi_lua_check_tensor(L, 1), *b = lundi_lua_check_tensor(L, 2);
  lundi_lua_push_tensor(L, lundi_matmul(a, b), "matmul");
  return 1;
}

static int o_linear(lua_State *L) {
  lundi_tensor *x = lundi_lua_check_tensor(L, 1), *w = lundi_lua_check_tensor(L, 2);
  lundi_lua_push_tensor(L, lundi_linear(x, w, lundi_lua_opt_tensor(L, 3)), "linear");
  return 1;
}

static int softmax_k(lua_State *L, int log) {
  lundi_tensor *x = lundi_lua_check_tensor(L, 1);
  int axis = lundi_lua_opt_axis(L, 2, -1, lundi_ndim(x));
  lundi_lua_push_tensor(L, log ? lundi_log_softmax(x, axis) : lundi_softmax(x, axis), log ? "log_softmax" : "softmax");
  return 1;
}
static int o_softmax(lua_State *L) { return softmax_k(L, 0); }
static int o_log_softmax(lua_State *L) { return softmax_k(L, 1); }

/* sdpa(q, k, v [, mask [, causal [, scale]]]); scale nil or <= 0 means 1/sqrt(D). */
static int o_sdpa(lua_State *L) {
  lundi_tensor *q = lundi_lua_check_tensor(L, 1), *k = lundi_lua_check_tensor(L, 2), *v = lundi_lua_check_tensor(L, 3);
  lundi_tensor *mask = lundi_lua_opt_tensor(L, 4);
  int causal = 0;
  if (!lua_isnoneornil(L, 5)) {
    luaL_checktype(L, 5, LUA_TBOOLEAN);
    causal = lua_toboolean(L, 5);
  }
  float scale = (float)luaL_optnumber(L, 6, 0);
  lundi_lua_push_tensor(L, lundi_sdpa(q, k, v, mask, causal, scale), "sdpa");
  return 1;
}

static int o_mse_loss(lua_State *L) {
  lundi_tensor *p = lundi_lua_check_tensor(L, 1), *t = lundi_lua_check_tensor(L, 2);
  lundi_lua_push_tensor(L, lundi_mse_loss(p, t), "mse_loss");
  return 1;
}

/* cross_entropy(logits, target [, {ignore_index=-100, label_smoothing=0, mask=tensor}]). */
static int o_cross_entropy(lua_State *L) {
  static const char *const keys[] = {"ignore_index", "label_smoothing", "mask", NULL};
  lundi_tensor *x = lundi_lua_check_tensor(L, 1), *t = lundi_lua_check_tensor(L, 2);
  lundi_lua_check_options(L, 3, NULL, keys);
  lua_Integer ignore = lundi_lua_opt_int_field(L, 3, NULL, "ignore_index", -100, LUNDI_LUA_ANY_INT);
  float smooth = (float)lundi_lua_opt_num_field(L, 3, NULL, "label_smoothing", 0);
  lundi_tensor *mask = lundi_lua_opt_tensor_field(L, 3, NULL, "mask");
  lundi_lua_push_tensor(L, lundi_cross_entropy(x, t, mask, (int)ignore, smooth), "cross_entropy");
  return 1;
}

/* rope(x [, base=10000 [, pos_offset=0]]). */
static int o_rope(lua_State *L) {
  lundi_tensor *x = lundi_lua_check_tensor(L, 1);
  float base = (float)luaL_optnumber(L, 2, 10000);
  lua_Integer off = luaL_optinteger(L, 3, 0);
  lundi_lua_push_tensor(L, lundi_rope(x, base, (int64_t)off), "rope");
  return 1;
}

/* dropout(x, p, rng [, training=true]). */
static int o_dropout(lua_State *L) {
  lundi_tensor *x = lundi_lua_check_tensor(L, 1);
  float p = (float)luaL_checknumber(L, 2);
  lundi_rng *rng = lundi_lua_check_rng(L, 3);
  int training = 1;
  if (!lua_isnoneornil(L, 4)) {
    luaL_checktype(L, 4, LUA_TBOOLEAN);
    training = lua_toboolean(L, 4);
  }
  lundi_lua_push_tensor(L, lundi_dropout(x, p, training, rng), "dropout");
  return 1;
}

static void set_both(lua_State *L, int mod, int methods, const char *name) {
  lua_pushvalue(L, -1);
  lua_setfield(L, methods, name);
  lua_setfield(L, mod, name);
}

void lundi_lua_open_tensor_ops(lua_State *L, int mod, int methods) {
  for (size_t i = 0; i < sizeof unary_ops / sizeof unary_ops[0]; i++) {
    lua_pushinteger(L, (lua_Integer)i);
    lua_pushcclosure(L, unary, 1);
    set_both(L, mod, methods, unary_ops[i].name);
  }
  static const char *const reductions[] = {"sum", "mean", "max"};
  for (int i = 0; i < 3; i++) {
    lua_pushinteger(L, i);
    lua_pushcclosure(L, reduce, 1);
    set_both(L, mod, methods, reductions[i]);
  }
  static const luaL_Reg fns[] = {
    {"gelu", o_gelu},       {"clamp", o_clamp},         {"where", o_where},
    {"sum_to", o_sum_to},   {"matmul", o_matmul},       {"linear", o_linear},
    {"softmax", o_softmax}, {"log_softmax", o_log_softmax}, {"sdpa", o_sdpa},
    {"mse_loss", o_mse_loss}, {"cross_entropy", o_cross_entropy}, {"rope", o_rope},
    {"dropout", o_dropout}, {NULL, NULL},
  };
  lundi_lua_setfuncs_at(L, mod, fns);
  lundi_lua_setfuncs_at(L, methods, fns);
}
