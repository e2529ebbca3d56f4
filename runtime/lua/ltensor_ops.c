/* Elementwise ops, reductions, matmul, activations, attention, losses and dropout, each as a
 * method and as lundi.<name>. Index tensors (class targets, ids) hold 0-based values: they
 * are data handed to C unchanged; only axes are 1-based. */
#include <math.h>

#include "lbind.h"
#include "lua_tensor.h"

LB_OP(gelu, LB_T(x); LB_BOOL_OPT(tanh_approx, 0); LB_RET_T(lundi_gelu(x, tanh_approx)))

/* clamp(x, lo, hi); nil leaves that side open. */
LB_OP(clamp, LB_T(x); LB_NUM_OPT(lo, -INFINITY); LB_NUM_OPT(hi, INFINITY);
      LB_RET_T(lundi_clamp(x, (float)lo, (float)hi)))

/* A tensor argument (checked by the caller), or a number made into a 0-dim tensor on dev; a
 * new reference either way. */
static lundi_tensor *tensor_or_number(lua_State *L, int arg, lundi_device *dev) {
  if (lua_type(L, arg) == LUA_TNUMBER) return lundi_scalar_on((float)lua_tonumber(L, arg), dev);
  return lundi_retain(lundi_lua_check_tensor(L, arg));
}

static int where(lua_State *L, const lundi_lua_op *op) {
  lundi_tensor *c = lundi_lua_check_tensor(L, 1);
  if (lua_type(L, 2) != LUA_TNUMBER) lundi_lua_check_tensor(L, 2);
  if (lua_type(L, 3) != LUA_TNUMBER) lundi_lua_check_tensor(L, 3);
  lundi_device *dev = lundi_tensor_device(c);
  lundi_tensor *a = tensor_or_number(L, 2, dev), *b = a ? tensor_or_number(L, 3, dev) : NULL;
  lundi_tensor *out = a && b ? lundi_where(c, a, b) : NULL;
  lundi_release(a);
  lundi_release(b);
  return lundi_lua_return_tensor(L, out, op->name);
}

/* sum/mean/max(x [, axes [, keepdim]]): axes nil (all), an axis or a table of axes. */
LB_OP(reduce, LB_T(x); int axes[LUNDI_MAX_DIMS];
      int n = lundi_lua_check_axes(L, ++lb_, lundi_ndim(x), axes); LB_BOOL_OPT(keep, 0);
      LB_RET_T(op->reduce(x, n, axes, keep)))

LB_OP(linear, LB_T(x); LB_T(w); LB_T_OPT(b); LB_RET_T(lundi_linear(x, w, b)))

/* softmax/log_softmax(x [, axis=-1]). */
LB_OP(softmax, LB_T(x); LB_RET_T(op->ti(x, lundi_lua_opt_axis(L, 2, -1, lundi_ndim(x)))))

/* sdpa(q, k, v [, mask [, causal [, scale]]]); scale nil or <= 0 means 1/sqrt(D). */
LB_OP(sdpa, LB_T(q); LB_T(k); LB_T(v); LB_T_OPT(mask); LB_BOOL_OPT(causal, 0);
      LB_FLOAT_OPT(scale, 0); LB_RET_T(lundi_sdpa(q, k, v, mask, causal, scale)))

/* cross_entropy(logits, target [, {ignore_index=-100, label_smoothing=0, mask=tensor}]). */
static int cross_entropy(lua_State *L, const lundi_lua_op *op) {
  static const char *const keys[] = {"ignore_index", "label_smoothing", "mask", NULL};
  lundi_tensor *x = lundi_lua_check_tensor(L, 1), *t = lundi_lua_check_tensor(L, 2);
  lundi_lua_check_options(L, 3, NULL, keys);
  lua_Integer ignore = lundi_lua_opt_int_field(L, 3, NULL, "ignore_index", -100, LUNDI_LUA_ANY_INT);
  float smooth = (float)lundi_lua_opt_num_field(L, 3, NULL, "label_smoothing", 0);
  lundi_tensor *mask = lundi_lua_opt_tensor_field(L, 3, NULL, "mask");
  return lundi_lua_return_tensor(L, lundi_cross_entropy(x, t, mask, (int)ignore, smooth), op->name);
}

/* rope(x [, base=10000 [, pos_offset=0]]). */
LB_OP(rope, LB_T(x); LB_FLOAT_OPT(base, 10000); LB_INTEGER_OPT(off, 0);
      LB_RET_T(lundi_rope(x, base, (int64_t)off)))

/* dropout(x, p, rng [, training=true]). */
LB_OP(dropout, LB_T(x); LB_FLOAT(p); LB_RNG(rng);
      LB_BOOL_OPT(training, 1); LB_RET_T(lundi_dropout(x, p, training, rng)))

static const lundi_lua_op ops[] = {
    {"exp", lundi_lua_call_T, .t = lundi_exp},
    {"log", lundi_lua_call_T, .t = lundi_log},
    {"sqrt", lundi_lua_call_T, .t = lundi_sqrt},
    {"rsqrt", lundi_lua_call_T, .t = lundi_rsqrt},
    {"abs", lundi_lua_call_T, .t = lundi_abs},
    {"tanh", lundi_lua_call_T, .t = lundi_tanh},
    {"sigmoid", lundi_lua_call_T, .t = lundi_sigmoid},
    {"silu", lundi_lua_call_T, .t = lundi_silu},
    {"mish", lundi_lua_call_T, .t = lundi_mish},
    {"sum", reduce, .reduce = lundi_sum},
    {"mean", reduce, .reduce = lundi_mean},
    {"max", reduce, .reduce = lundi_max},
    {"sum_to", lundi_lua_call_TS, .shape = lundi_sum_to},
    {"matmul", lundi_lua_call_TT, .tt = lundi_matmul},
    {"mse_loss", lundi_lua_call_TT, .tt = lundi_mse_loss},
    {"softmax", softmax, .ti = lundi_softmax},
    {"log_softmax", softmax, .ti = lundi_log_softmax},
    {"gelu", .invoke = gelu},
    {"clamp", .invoke = clamp},
    {"where", .invoke = where},
    {"linear", .invoke = linear},
    {"sdpa", .invoke = sdpa},
    {"cross_entropy", .invoke = cross_entropy},
    {"rope", .invoke = rope},
    {"dropout", .invoke = dropout},
    {0},
};

void lundi_lua_open_tensor_ops(lua_State *L, int mod, int methods) {
  lundi_lua_set_ops(L, mod, methods, ops);
}
