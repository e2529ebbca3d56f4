/* lundi.metrics: the numeric helpers of the evaluation scripts (include/lundi/metrics.h),
 * and lundi.save_tensors / lundi.load_tensors for caching named tensors with metadata.
 *
 *   lundi.metrics.frechet(a, b) -> number
 *     a [Na, D], b [Nb, D] feature tensors; Gaussians fitted to each (mean, unbiased
 *     covariance), Fréchet distance between them in double precision.
 *   lundi.metrics.frechet_gaussians(mu1, s1, mu2, s2) -> number     mu [D], s [D, D] tensors
 *   lundi.metrics.discretized_gaussian_nll(x, mean, log_scale) -> array of numbers
 *     x, mean [N, ...] (x: data 2k/255 - 1), log_scale a number, a table or a tensor of N
 *     per-sample log standard deviations; element i is -log p(x_i) in nats, summed over
 *     the sample's elements.
 *   lundi.metrics.log_normal_interval(lo, hi) -> log P(lo < Z < hi), Z standard normal
 *   lundi.metrics.now() -> seconds of a monotonic wall clock (for timing evaluation parts)
 *   lundi.save_tensors(path, tensors [, metadata])   tensors: map name -> tensor (or an
 *     array); metadata: a flat table of strings/numbers stored in the safetensors header
 *   lundi.load_tensors(path) -> map name -> tensor, metadata table (strings) */
#include <stdlib.h>
#include <time.h>

#include "lbind.h"
#include "lua_tensor.h"
#include "lundi/metrics.h"

static lundi_tensor *check_2d(lua_State *L, int idx, const char *what) {
  lundi_tensor *t = lundi_lua_check_tensor(L, idx);
  if (lundi_ndim(t) != 2)
    luaL_argerror(L, idx, lua_pushfstring(L, "%s must be [N, D], got %d dimensions", what, lundi_ndim(t)));
  return t;
}

static int l_frechet(lua_State *L) {
  lundi_tensor *a = check_2d(L, 1, "features"), *b = check_2d(L, 2, "features");
  double out;
  if (lundi_frechet_tensors(a, b, &out) != 0) return lundi_lua_error(L, "frechet");
  LB_RET_NUM(out);
}

static int l_frechet_gaussians(lua_State *L) {
  lundi_tensor *t[4];
  for (int i = 0; i < 4; i++) t[i] = lundi_lua_check_tensor(L, i + 1);
  double out;
  if (lundi_frechet_gaussians_tensors(t[0], t[1], t[2], t[3], &out) != 0)
    return lundi_lua_error(L, "frechet_gaussians");
  LB_RET_NUM(out);
}

/* log_scale: a number (every sample), a table of N numbers or a tensor of N values. */
static int l_discretized_nll(lua_State *L) {
  const char *fn = "discretized_gaussian_nll";
  lundi_tensor *x = lundi_lua_check_tensor(L, 1), *m = lundi_lua_check_tensor(L, 2);
  double *out = NULL, one;
  int64_t n = 0;
  int rc, bad = 0; /* the first table entry that is not a number, raised after C's shape checks */
  if (lua_type(L, 3) == LUA_TNUMBER) {
    one = lua_tonumber(L, 3);
    rc = lundi_discretized_gaussian_nll_scales(x, m, &one, LUNDI_NLL_ONE_SCALE, &out, &n);
  } else if (lua_type(L, 3) == LUA_TTABLE) {
    lua_Integer len = luaL_len(L, 3);
    double *ls = lua_newuserdatauv(L, sizeof *ls * (size_t)(len > 0 ? len : 1), 0);
    for (lua_Integer i = 0; i < len && !bad; i++) {
      int ok;
      ls[i] = (lua_geti(L, 3, i + 1), lua_tonumberx(L, -1, &ok));
      bad = ok ? 0 : (int)i + 1;
      lua_pop(L, 1);
    }
    rc = lundi_discretized_gaussian_nll_scales(x, m, bad ? NULL : ls, len, &out, &n);
  } else {
    rc = lundi_discretized_gaussian_nll_tensors(x, m, lundi_lua_check_tensor(L, 3), &out, &n);
  }
  if (rc != 0) return lundi_lua_error(L, fn);
  if (bad) return luaL_error(L, "%s: log_scale[%d] is not a number", fn, bad);
  lua_createtable(L, (int)n, 0);
  for (int64_t i = 0; i < n; i++) lua_pushnumber(L, out[i]), lua_rawseti(L, -2, i + 1);
  free(out);
  return 1;
}

static int l_now(lua_State *L) {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  LB_RET_NUM((double)ts.tv_sec + 1e-9 * (double)ts.tv_nsec);
}

LB_FN(l_log_normal_interval, LB_NUM(lo); LB_NUM(hi); LB_RET_NUM(lundi_log_normal_interval(lo, hi)))

/* ---- named tensors with metadata ---- */

static int l_save_tensors(lua_State *L) {
  const char *path = luaL_checkstring(L, 1);
  lundi_param_list *l = lundi_lua_check_params(L, 2);
  const char **keys = NULL, **values = NULL;
  int n = 0;
  if (!lua_isnoneornil(L, 3)) {
    luaL_checktype(L, 3, LUA_TTABLE);
    n = lundi_lua_string_pairs(L, 3, &keys, &values, "%s: metadata must map strings to strings or numbers",
                               "save_tensors");
  }
  LB_RET_OK(lundi_safetensors_save_meta(path, l, keys, values, n), "save_tensors");
}

static int l_load_tensors(lua_State *L) {
  const char *path = luaL_checkstring(L, 1);
  lundi_param_list *l = lundi_lua_new_params(L);
  if (lundi_safetensors_load(path, l) != 0) return lundi_lua_error(L, "load_tensors");
  lundi_lua_push_param_map(L, l);
  lundi_safetensors_meta meta;
  if (lundi_safetensors_read_meta(path, &meta) != 0) return lundi_lua_error(L, "load_tensors");
  lua_createtable(L, 0, meta.n);
  for (int i = 0; i < meta.n; i++) lua_pushstring(L, meta.values[i]), lua_setfield(L, -2, meta.keys[i]);
  lundi_safetensors_meta_free(&meta);
  return 2;
}

void lundi_lua_open_metrics(lua_State *L, int mod) {
  mod = lua_absindex(L, mod);
  static const luaL_Reg fns[] = {{"frechet", l_frechet},
                                 {"frechet_gaussians", l_frechet_gaussians},
                                 {"discretized_gaussian_nll", l_discretized_nll},
                                 {"log_normal_interval", l_log_normal_interval},
                                 {"now", l_now},
                                 {NULL, NULL}};
  luaL_newlib(L, fns);
  lua_setfield(L, mod, "metrics");
  lua_pushcfunction(L, l_save_tensors);
  lua_setfield(L, mod, "save_tensors");
  lua_pushcfunction(L, l_load_tensors);
  lua_setfield(L, mod, "load_tensors");
}
