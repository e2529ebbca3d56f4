/* Functional nn ops: convolutions, normalisation, embedding, resampling, pooling and the
 * timestep embedding. Convolution options: {stride=, padding=, dilation=, groups=,
 * output_padding=} where each spatial one is an integer or {h, w}. */
#include <string.h>

#include "lbind.h"
#include "lua_tensor.h"

static const char *const conv_keys[] = {"stride", "padding", "dilation", "groups", "output_padding", NULL};

static void pair_field(lua_State *L, int arg, const char *key, int out[2]) {
  int t = lundi_lua_get_field(L, arg, key);
  if (t == LUA_TNUMBER && lua_isinteger(L, -1)) {
    out[0] = out[1] = (int)lua_tointeger(L, -1);
  } else if (t == LUA_TTABLE) {
    for (int i = 0; i < 2; i++) {
      lua_geti(L, -1, i + 1);
      if (!lua_isinteger(L, -1))
        luaL_argerror(L, arg, lua_pushfstring(L, "option '%s' entry %d: integer expected, got %s", key, i + 1,
                                              luaL_typename(L, -1)));
      out[i] = (int)lua_tointeger(L, -1);
      lua_pop(L, 1);
    }
  } else if (t != LUA_TNIL) {
    const char *got = luaL_typename(L, -1);
    luaL_argerror(L, arg, lua_pushfstring(L, "option '%s': integer or {h, w} expected, got %s", key, got));
  }
  lua_pop(L, 1);
}

void lundi_lua_check_conv_params(lua_State *L, int arg, lundi_conv_params *p, const char *const *extra_keys) {
  memset(p, 0, sizeof *p);
  const char *keys[16];
  int n = 0;
  for (int i = 0; conv_keys[i]; i++) keys[n++] = conv_keys[i];
  for (int i = 0; extra_keys && extra_keys[i] && n < 15; i++) keys[n++] = extra_keys[i];
  keys[n] = NULL;
  lundi_lua_check_options(L, arg, NULL, keys);
  pair_field(L, arg, "stride", p->stride);
  pair_field(L, arg, "padding", p->padding);
  pair_field(L, arg, "dilation", p->dilation);
  pair_field(L, arg, "output_padding", p->output_padding);
  p->groups = (int)lundi_lua_opt_int_field(L, arg, NULL, "groups", 0, LUNDI_LUA_ANY_INT);
}

/* convXd(x, w [, bias [, opts]]). */
LB_OP(conv, LB_T(x); LB_T(w); LB_T_OPT(b); lundi_conv_params p; lundi_lua_check_conv_params(L, ++lb_, &p, NULL);
      LB_RET_T(op->conv(x, w, b, &p)))

/* group_norm(x, groups [, gamma [, beta [, eps=1e-5]]]); group_norm_silu likewise. */
LB_OP(group_norm, LB_T(x); LB_INT(groups); LB_T_OPT(g); LB_T_OPT(b); LB_FLOAT_OPT(eps, 1e-5);
      LB_RET_T(op->norm(x, groups, g, b, eps)))

/* add_group_norm_silu(x, e, groups [, gamma [, beta [, eps=1e-5]]]): silu(group_norm(x + e)),
 * e [N, C] broadcast over the spatial dims. */
LB_OP(add_group_norm_silu, LB_T(x); LB_T(e); LB_INT(groups); LB_T_OPT(g); LB_T_OPT(b); LB_FLOAT_OPT(eps, 1e-5);
      LB_RET_T(lundi_add_group_norm_silu(x, e, groups, g, b, eps)))

/* layer_norm(x [, gamma [, beta [, eps=1e-5]]]), rms_norm(x [, gamma [, eps=1e-6]]). */
LB_OP(layer_norm, LB_T(x); LB_T_OPT(g); LB_T_OPT(b); LB_FLOAT_OPT(eps, 1e-5);
      LB_RET_T(lundi_layer_norm(x, g, b, eps)))
LB_OP(rms_norm, LB_T(x); LB_T_OPT(g); LB_FLOAT_OPT(eps, 1e-6); LB_RET_T(lundi_rms_norm(x, g, eps)))

/* upsample_nearest(x [, scale=2]). */
LB_OP(upsample, LB_T(x); LB_INT_OPT(s, 2); LB_RET_T(lundi_upsample_nearest2d(x, s)))

/* upsample_conv2d(x, w [, bias [, {scale=2, padding=0}]]): conv2d of the nearest-upsampled x
 * (stride 1), without building the upsampled image. */
static int upsample_conv2d(lua_State *L, const lundi_lua_op *op) {
  static const char *const keys[] = {"scale", "padding", NULL};
  lundi_tensor *x = lundi_lua_check_tensor(L, 1), *w = lundi_lua_check_tensor(L, 2);
  lundi_tensor *b = lundi_lua_opt_tensor(L, 3);
  lundi_lua_check_options(L, 4, NULL, keys);
  int scale = (int)lundi_lua_opt_int_field(L, 4, NULL, "scale", 2, LUNDI_LUA_ANY_INT);
  int pad = (int)lundi_lua_opt_int_field(L, 4, NULL, "padding", 0, LUNDI_LUA_ANY_INT);
  return lundi_lua_return_tensor(L, lundi_upsample_conv2d(x, scale, w, b, pad), op->name);
}

/* avg_pool2d/1d(x, kernel [, stride=kernel]). */
LB_OP(pool, LB_T(x); LB_INT(k); LB_INT_OPT(s, k); LB_RET_T(op->tii(x, k, s)))

/* timestep_embedding(t, dim [, max_period=10000]). */
LB_OP(timestep_embedding, LB_T(t); LB_INT(dim); LB_FLOAT_OPT(period, 10000);
      LB_RET_T(lundi_timestep_embedding(t, dim, period)))

static const lundi_lua_op ops[] = {
  {"conv2d", conv, .conv = lundi_conv2d},
  {"conv1d", conv, .conv = lundi_conv1d},
  {"conv_transpose2d", conv, .conv = lundi_conv_transpose2d},
  {"conv_transpose1d", conv, .conv = lundi_conv_transpose1d},
  {"group_norm", group_norm, .norm = lundi_group_norm},
  {"group_norm_silu", group_norm, .norm = lundi_group_norm_silu},
  {"avg_pool2d", pool, .tii = lundi_avg_pool2d},
  {"avg_pool1d", pool, .tii = lundi_avg_pool1d},
  {"embedding", lundi_lua_call_TT, .tt = lundi_embedding}, /* (weight, ids): i32 ids of 0-based rows */
  {"add_group_norm_silu", .invoke = add_group_norm_silu},
  {"layer_norm", .invoke = layer_norm},
  {"rms_norm", .invoke = rms_norm},
  {"upsample_nearest", .invoke = upsample},
  {"upsample_conv2d", .invoke = upsample_conv2d},
  {"timestep_embedding", .invoke = timestep_embedding},
  {0},
};

void lundi_lua_open_tensor_nnf(lua_State *L, int mod, int methods) {
  lundi_lua_set_ops(L, mod, methods, ops);
  lundi_lua_alias(L, mod, methods, "upsample_nearest2d", "upsample_nearest");
}
