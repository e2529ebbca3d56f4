/* lundi.Rng: a Philox stream (lundi_rng, held by value). rng.seed and rng.offset read the
 * state; draws advance offset. lundi.rand/randn/randint take the rng first; the methods
 * rng:rand(shape), rng:randn(shape), rng:randint(shape, lo, hi) are the same calls. */
#include <stdlib.h>
#include <string.h>

#include "lua_tensor.h"

lundi_rng *lundi_lua_check_rng(lua_State *L, int idx) { return luaL_checkudata(L, idx, LUNDI_LUA_RNG); }

lundi_rng *lundi_lua_opt_rng(lua_State *L, int idx) {
  return lua_isnoneornil(L, idx) ? NULL : lundi_lua_check_rng(L, idx);
}

static int m_rng(lua_State *L) {
  lua_Integer seed = luaL_checkinteger(L, 1);
  lundi_rng *r = lua_newuserdatauv(L, sizeof *r, 0);
  *r = lundi_rng_make((uint64_t)seed);
  luaL_setmetatable(L, LUNDI_LUA_RNG);
  return 1;
}

/* Uniform (kind 0) or normal (1) draws made where lundi.device() is: Philox gives the same
 * numbers on every backend, and a step on the GPU then runs no kernel on the CPU. */
static lundi_tensor *fill_on_device(lundi_rng *r, int ndim, const int64_t *shape, int normal) {
  lundi_tensor *t = lundi_empty(ndim, shape, LUNDI_F32, lundi_default_device());
  if (t && (normal ? lundi_normal_(t, r, 0, 1) : lundi_uniform_(t, r, 0, 1))) {
    lundi_release(t);
    return NULL;
  }
  return t;
}

/* lundi_randint's rule on uniforms drawn on the device; the integer step is host bookkeeping. */
static lundi_tensor *randint_on_device(lundi_rng *r, int ndim, const int64_t *shape, int32_t lo, int32_t hi) {
  if (hi <= lo) {
    lundi_set_error(LUNDI_EINVAL, "randint: empty range [%d, %d)", lo, hi);
    return NULL;
  }
  lundi_tensor *u = fill_on_device(r, ndim, shape, 0), *h = NULL, *t = NULL;
  int64_t n = u ? lundi_numel(u) : 0;
  float *f = u ? malloc(sizeof(float) * (size_t)(n ? n : 1)) : NULL;
  int32_t *v = f ? malloc(sizeof(int32_t) * (size_t)(n ? n : 1)) : NULL;
  if (v && !lundi_read_f32(u, f, n)) {
    for (int64_t i = 0; i < n; i++) {
      int32_t k = lo + (int32_t)(f[i] * (float)(hi - lo));
      v[i] = k >= hi ? hi - 1 : k;
    }
    h = lundi_from_i32(ndim, shape, v);
    t = h ? lundi_to_device(h, lundi_tensor_device(u)) : NULL;
  } else if (u && !v) {
    lundi_set_error(LUNDI_ENOMEM, "randint: out of host memory");
  }
  free(f), free(v);
  lundi_release(u), lundi_release(h);
  return t;
}

static int draw(lua_State *L, int kind) {
  static const char *const names[] = {"rand", "randn", "randint"};
  lundi_rng *r = lundi_lua_check_rng(L, 1);
  int64_t shape[LUNDI_MAX_DIMS];
  int ndim;
  lundi_tensor *t;
  if (kind == 2) {
    ndim = lundi_lua_check_shape(L, 2, 0, shape);
    int lo = lundi_lua_check_int(L, 3), hi = lundi_lua_check_int(L, 4);
    t = lundi_default_device() == lundi_cpu() ? lundi_randint(r, ndim, shape, lo, hi)
                                               : randint_on_device(r, ndim, shape, lo, hi);
  } else {
    ndim = lundi_lua_check_shape(L, 2, 1, shape);
    t = fill_on_device(r, ndim, shape, kind);
  }
  lundi_lua_push_tensor(L, t, names[kind]);
  return 1;
}

static int r_rand(lua_State *L) { return draw(L, 0); }
static int r_randn(lua_State *L) { return draw(L, 1); }
static int r_randint(lua_State *L) { return draw(L, 2); }

static int r_clone(lua_State *L) {
  lundi_rng *r = lundi_lua_check_rng(L, 1);
  lundi_rng *c = lua_newuserdatauv(L, sizeof *c, 0);
  *c = *r;
  luaL_setmetatable(L, LUNDI_LUA_RNG);
  return 1;
}

static int r_index(lua_State *L) {
  lundi_rng *r = lundi_lua_check_rng(L, 1);
  const char *k = lua_tostring(L, 2);
  if (k && !strcmp(k, "seed")) lua_pushinteger(L, (lua_Integer)r->seed);
  else if (k && !strcmp(k, "offset")) lua_pushinteger(L, (lua_Integer)r->offset);
  else {
    lua_getmetatable(L, 1);
    lua_getfield(L, -1, "methods");
    lua_pushvalue(L, 2);
    lua_rawget(L, -2);
  }
  return 1;
}

static int r_tostring(lua_State *L) {
  lundi_rng *r = lundi_lua_check_rng(L, 1);
  lua_pushfstring(L, "rng(seed=%I, offset=%I)", (LUAI_UACINT)r->seed, (LUAI_UACINT)r->offset);
  return 1;
}

static const luaL_Reg rng_methods[] = {
  {"rand", r_rand}, {"randn", r_randn}, {"randint", r_randint}, {"clone", r_clone}, {NULL, NULL},
};

void lundi_lua_open_rng(lua_State *L, int mod) {
  mod = lua_absindex(L, mod);
  luaL_newmetatable(L, LUNDI_LUA_RNG);
  lua_pushcfunction(L, r_index);
  lua_setfield(L, -2, "__index");
  lua_pushcfunction(L, r_tostring);
  lua_setfield(L, -2, "__tostring");
  luaL_newlib(L, rng_methods);
  lua_setfield(L, -2, "methods");
  lua_pop(L, 1);
  static const luaL_Reg fns[] = {
    {"rng", m_rng}, {"rand", r_rand}, {"randn", r_randn}, {"randint", r_randint}, {NULL, NULL},
  };
  lundi_lua_setfuncs_at(L, mod, fns);
}
