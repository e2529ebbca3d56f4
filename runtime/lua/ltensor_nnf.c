/* Functional nn ops: convolutions, normalisation, embedding, resampling, pooling and the
 * timestep embedding. Convolution options: {stride=, padding=, dilation=, groups=,
 * output_padding=} where each spatial one is an integer or {h, w}. */
#include <string.h>

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
        luaL_argerror(L, arg, lua_pushfstring(L, "option '%s' entry %d: integer expected, got %s", key, i + 1, luaL_typename(L, -1)));
      out[i] = (int)lua_tointeger(L, -1);
      lua_pop(L, 1);
    }
  } else if (t != LUA_TNIL) {
    luaL_argerror(L, arg, lua_pushfstring(L, "option '%s': integer or {h, w} expected, got %s", key, luaL_typename(L, -1)));
  }
  lua_pop(L, 1);
}

void lundi_lua_check_conv_params(lua_State *L, int arg, lundi_conv_params *p, const char *const *extra_keys) {
  memset(p, 0, sizeof *p);
  if (!extra_keys) lundi_lua_check_options(L, arg, NULL, conv_keys);
  else {
    const char *keys[16];
    int n = 0;
    for (int i = 0; conv_keys[i]; i++) keys[n++] = conv_keys[i];
    for (int i = 0; extra_keys[i] && n < 15; i++) keys[n++] = extra_keys[i];
    keys[n] = NULL;
    lundi_lua_check_options(L, arg, NULL, keys);
  }
  pair_field(L, arg, "stride", p->stride);
  pair_field(L, arg, "padding", p->padding);
  pair_field(L, arg, "dilation", p->dilation);
  pair_field(L, arg, "output_padding", p->output_padding);
  p->groups = (int)lundi_lua_opt_int_field(L, arg, NULL, "groups", 0, LUNDI_LUA_ANY_INT);
}

typedef lundi_tensor *(*conv_fn)(lundi_tensor *, lundi_tensor *, lundi_tensor *, const lundi_conv_params *);
static const struct {
  const char *name;
  conv_fn fn;
} convs[] = {
  {"conv2d", lundi_conv2d},
  {"conv1d", lundi_conv1d},
  {"conv_transpose2d", lundi_conv_transpose2d},
  {"conv_transpose1d", lundi_conv_transpose1d},
};

/* convXd(x, w [, bias [, opts]]). */
static int f_conv(lua_State *L) {
  int k = (int)lua_tointeger(L, lua_upvalueindex(1));
  lundi_tensor *x = lundi_lua_check_tensor(L, 1), *w = lundi_lua_check_tensor(L, 2);
  lundi_tensor *b = lundi_lua_opt_tensor(L, 3);
  lundi_conv_params p;
  lundi_lua_check_conv_params(L, 4, &p, NULL);
  lundi_lua_push_tensor(L, convs[k].fn(x, w, b, &p), convs[k].name);
  return 1;
}

/* group_norm(x, groups [, gamma [, beta [, eps=1e-5]]]); group_norm_silu likewise. */
static int group_norm_k(lua_State *L, int silu) {
  lundi_tensor *x = lundi_lua_check_tensor(L, 1);
  int groups = lundi_lua_check_int(L, 2);
  lundi_tensor *g = lundi_lua_opt_tensor(L, 3), *b = lundi_lua_opt_tensor(L, 4);
  float eps = (float)luaL_optnumber(L, 5, 1e-5);
  lundi_tensor *out = silu ? lundi_group_norm_silu(x, groups, g, b, eps) : lundi_group_norm(x, groups, g, b, eps);
  lundi_lua_push_tensor(L, out, silu ? "group_norm_silu" : "group_norm");
  return 1;
}
static int f_group_norm(lua_State *L) { return group_norm_k(L, 0); }
static int f_group_norm_silu(lua_State *L) { return group_norm_k(L, 1); }

/* add_group_norm_silu(x, e, groups [, gamma [, beta [, eps=1e-5]]]): silu(group_norm(x + e)),
 * e [N, C] broadcast over the spatial dims. */
static int f_add_group_norm_silu(lua_State *L) {
  lundi_tensor *x = lundi_lua_check_tensor(L, 1), *e = lundi_lua_check_tensor(L, 2);
  int groups = lundi_lua_check_int(L, 3);
  lundi_tensor *g = lundi_lua_opt_tensor(L, 4), *b = lundi_lua_opt_tensor(L, 5);
  float eps = (float)luaL_optnumber(L, 6, 1e-5);
  lundi_lua_push_tensor(L, lundi_add_group_norm_silu(x, e, groups, g, b, eps), "add_group_norm_silu");
  return 1;
}

/* layer_norm(x [, gamma [, beta [, eps=1e-5]]]). */
static int f_layer_norm(lua_State *L) {
  lundi_tensor *x = lundi_lua_check_tensor(L, 1);
  lundi_tensor *g = lundi_lua_opt_tensor(L, 2), *b = lundi_lua_opt_tensor(L, 3);
  float eps = (float)luaL_optnumber(L, 4, 1e-5);
  lundi_lua_push_tensor(L, lundi_layer_norm(x, g, b, eps), "layer_norm");
  return 1;
}

/* rms_norm(x [, gamma [, eps=1e-6]]). */
static int f_rms_norm(lua_State *L) {
  lundi_tensor *x = lundi_lua_check_tensor(L, 1);
  lundi_tensor *g = lundi_lua_opt_tensor(L, 2);
  float eps = (float)luaL_optnumber(L, 3, 1e-6);
  lundi_lua_push_tensor(L, lundi_rms_norm(x, g, eps), "rms_norm");
  return 1;
}

/* embedding(weight, ids): ids an i32 tensor of 0-based rows. */
static int f_embedding(lua_State *L) {
  lundi_tensor *w = lundi_lua_check_tensor(L, 1), *idx = lundi_lua_check_tensor(L, 2);
  lundi_lua_push_tensor(L, lundi_embedding(w, idx), "embedding");
  return 1;
}

static int f_upsample(lua_State *L) {
  lundi_tensor *x = lundi_lua_check_tensor(L, 1);
  int s = lua_isnoneornil(L, 2) ? 2 : lundi_lua_check_int(L, 2);
  lundi_lua_push_tensor(L, lundi_upsample_nearest2d(x, s), "upsample_nearest");
  return 1;
}

/* upsample_conv2d(x, w [, bias [, {scale=2, padding=0}]]): conv2d of the nearest-upsampled x
 * (stride 1), without building the upsampled image. */
static int f_upsample_conv2d(lua_State *L) {
  static const char *const keys[] = {"scale", "padding", NULL};
  lundi_tensor *x = lundi_lua_check_tensor(L, 1), *w = lundi_lua_check_tensor(L, 2);
  lundi_tensor *b = lundi_lua_opt_tensor(L, 3);
  lundi_lua_check_options(L, 4, NULL, keys);
  int scale = (int)lundi_lua_opt_int_field(L, 4, NULL, "scale", 2, LUNDI_LUA_ANY_INT), pad = (int)lundi_lua_opt_int_field(L, 4, NULL, "padding", 0, LUNDI_LUA_ANY_INT);
  lundi_lua_push_tensor(L, lundi_upsample_conv2d(x, scale, w, b, pad), "upsample_conv2d");
  return 1;
}

/* avg_pool2d/1d(x, kernel [, stride=kernel]). */
static int pool_k(lua_State *L, int two) {
  lundi_tensor *x = lundi_lua_check_tensor(L, 1);
  int k = lundi_lua_check_int(L, 2);
  int s = lua_isnoneornil(L, 3) ? k : lundi_lua_check_int(L, 3);
  lundi_lua_push_tensor(L, two ? lundi_avg_pool2d(x, k, s) : lundi_avg_pool1d(x, k, s), two ? "avg_pool2d" : "avg_pool1d");
  return 1;
}
static int f_avg_pool2d(lua_State *L) { return pool_k(L, 1); }
static int f_avg_pool1d(lua_State *L) { return pool_k(L, 0); }

/* timestep_embedding(t, dim [, max_period=10000]). */
static int f_timestep_embedding(lua_State *L) {
  lundi_tensor *t = lundi_lua_check_tensor(L, 1);
  int dim = lundi_lua_check_int(L, 2);
  float period = (float)luaL_optnumber(L, 3, 10000);
  lundi_lua_push_tensor(L, lundi_timestep_embedding(t, dim, period), "timestep_embedding");
  return 1;
}

void lundi_lua_open_tensor_nnf(lua_State *L, int mod, int methods) {
  for (int i = 0; i < 4; i++) {
    lua_pushinteger(L, i);
    lua_pushcclosure(L, f_conv, 1);
    lua_pushvalue(L, -1);
    lua_setfield(L, methods, convs[i].name);
    lua_setfield(L, mod, convs[i].name);
  }
  static const luaL_Reg fns[] = {
    {"group_norm", f_group_norm}, {"group_norm_silu", f_group_norm_silu}, {"layer_norm", f_layer_norm},
    {"add_group_norm_silu", f_add_group_norm_silu}, {"upsample_conv2d", f_upsample_conv2d},
    {"rms_norm", f_rms_norm},     {"embedding", f_embedding},            {"upsample_nearest", f_upsample},
    {"upsample_nearest2d", f_upsample}, {"avg_pool2d", f_avg_pool2d},    {"avg_pool1d", f_avg_pool1d},
    {"timestep_embedding", f_timestep_embedding}, {NULL, NULL},
  };
  lundi_lua_setfuncs_at(L, mod, fns);
  lundi_lua_setfuncs_at(L, methods, fns);
}
