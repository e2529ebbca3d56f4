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
#include <cjson/cJSON.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "lua_tensor.h"
#include "lundi/metrics.h"

/* The values of t in row-major order as floats, in a Lua-owned userdata left on the stack. */
static float *read_all(lua_State *L, lundi_tensor *t, const char *fn) {
  int64_t n = lundi_numel(t);
  float *buf = lua_newuserdatauv(L, sizeof(float) * (size_t)(n ? n : 1), 0);
  if (lundi_read_f32(t, buf, n) != 0) lundi_lua_error(L, fn);
  return buf;
}

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
  lua_pushnumber(L, out);
  return 1;
}

static int l_frechet_gaussians(lua_State *L) {
  lundi_tensor *t[4];
  for (int i = 0; i < 4; i++) t[i] = lundi_lua_check_tensor(L, i + 1);
  double out;
  if (lundi_frechet_gaussians_tensors(t[0], t[1], t[2], t[3], &out) != 0)
    return lundi_lua_error(L, "frechet_gaussians");
  lua_pushnumber(L, out);
  return 1;
}

static int l_discretized_nll(lua_State *L) {
  const char *fn = "discretized_gaussian_nll";
  lundi_tensor *x = lundi_lua_check_tensor(L, 1), *m = lundi_lua_check_tensor(L, 2);
  if (lundi_ndim(x) < 1 || lundi_ndim(x) != lundi_ndim(m) ||
      memcmp(lundi_shape(x), lundi_shape(m), sizeof(int64_t) * (size_t)lundi_ndim(x)))
    return luaL_error(L, "%s: x and mean must have the same shape [N, ...]", fn);
  int64_t n = lundi_dim(x, 0), d = n ? lundi_numel(x) / n : 0;
  double *ls = lua_newuserdatauv(L, sizeof(double) * (size_t)(n ? n : 1), 0);
  if (lua_type(L, 3) == LUA_TNUMBER) {
    for (int64_t i = 0; i < n; i++) ls[i] = lua_tonumber(L, 3);
  } else if (lua_type(L, 3) == LUA_TTABLE) {
    if (luaL_len(L, 3) != n) return luaL_error(L, "%s: log_scale has %d entries for %d samples", fn, (int)luaL_len(L, 3), (int)n);
    for (int64_t i = 0; i < n; i++) {
      lua_geti(L, 3, i + 1);
      int ok;
      ls[i] = lua_tonumberx(L, -1, &ok);
      if (!ok) return luaL_error(L, "%s: log_scale[%d] is not a number", fn, (int)i + 1);
      lua_pop(L, 1);
    }
  } else {
    lundi_tensor *t = lundi_lua_check_tensor(L, 3);
    if (lundi_numel(t) != n) return luaL_error(L, "%s: log_scale has %d values for %d samples", fn, (int)lundi_numel(t), (int)n);
    float *f = read_all(L, t, fn);
    for (int64_t i = 0; i < n; i++) ls[i] = f[i];
  }
  float *fx = read_all(L, x, fn), *fm = read_all(L, m, fn);
  double *out = lua_newuserdatauv(L, sizeof(double) * (size_t)(n ? n : 1), 0);
  if (lundi_discretized_gaussian_nll(fx, fm, ls, n, d, out) != 0) return lundi_lua_error(L, fn);
  lua_createtable(L, (int)n, 0);
  for (int64_t i = 0; i < n; i++) {
    lua_pushnumber(L, out[i]);
    lua_rawseti(L, -2, i + 1);
  }
  return 1;
}

static int l_now(lua_State *L) {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  lua_pushnumber(L, (double)ts.tv_sec + 1e-9 * (double)ts.tv_nsec);
  return 1;
}

static int l_log_normal_interval(lua_State *L) {
  lua_pushnumber(L, lundi_log_normal_interval(luaL_checknumber(L, 1), luaL_checknumber(L, 2)));
  return 1;
}

/* ---- named tensors with metadata ---- */

static int l_save_tensors(lua_State *L) {
  const char *path = luaL_checkstring(L, 1);
  lundi_param_list *l = lundi_lua_check_params(L, 2);
  char *json = NULL;
  if (!lua_isnoneornil(L, 3)) {
    luaL_checktype(L, 3, LUA_TTABLE);
    cJSON *o = cJSON_CreateObject();
    if (!o) return luaL_error(L, "save_tensors: out of memory");
    lua_pushnil(L);
    while (lua_next(L, 3)) {
      if (lua_type(L, -2) != LUA_TSTRING || (lua_type(L, -1) != LUA_TSTRING && lua_type(L, -1) != LUA_TNUMBER)) {
        cJSON_Delete(o);
        return luaL_error(L, "save_tensors: metadata must map strings to strings or numbers");
      }
      lua_pushvalue(L, -1);
      cJSON_AddStringToObject(o, lua_tostring(L, -3), lua_tostring(L, -1));
      lua_pop(L, 2);
    }
    json = cJSON_PrintUnformatted(o);
    cJSON_Delete(o);
    if (!json) return luaL_error(L, "save_tensors: out of memory");
  }
  int rc = lundi_safetensors_save(path, l, json);
  free(json);
  if (rc != 0) return lundi_lua_error(L, "save_tensors");
  return 0;
}

static int l_load_tensors(lua_State *L) {
  const char *path = luaL_checkstring(L, 1);
  lundi_param_list *l = lundi_lua_new_params(L);
  if (lundi_safetensors_load(path, l) != 0) return lundi_lua_error(L, "load_tensors");
  lundi_lua_push_param_map(L, l);
  char *json = NULL;
  if (lundi_safetensors_metadata(path, &json) != 0) return lundi_lua_error(L, "load_tensors");
  cJSON *o = cJSON_Parse(json);
  free(json);
  lua_newtable(L);
  const cJSON *it;
  cJSON_ArrayForEach(it, o) {
    if (cJSON_IsString(it)) {
      lua_pushstring(L, it->valuestring);
      lua_setfield(L, -2, it->string);
    }
  }
  cJSON_Delete(o);
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
