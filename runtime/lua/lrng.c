/* lundi.Rng: a Philox stream (lundi_rng, held by value). rng.seed and rng.offset read the
 * state; draws advance offset. lundi.rand/randn/randint take the rng first; the methods
 * rng:rand(shape), rng:randn(shape), rng:randint(shape, lo, hi) are the same calls. */
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

/* Draws are made where lundi.device() is: Philox gives the same numbers on every backend,
 * and a step on the GPU then runs no kernel on the CPU. */
static int draw(lua_State *L, int kind) {
  static const char *const names[] = {"rand", "randn", "randint"};
  lundi_rng *r = lundi_lua_check_rng(L, 1);
  int64_t shape[LUNDI_MAX_DIMS];
  int ndim;
  lundi_tensor *t;
  if (kind == 2) {
    ndim = lundi_lua_check_shape(L, 2, 0, shape);
    int lo = lundi_lua_check_int(L, 3), hi = lundi_lua_check_int(L, 4);
    t = lundi_randint_on(r, ndim, shape, lo, hi, lundi_default_device());
  } else {
    ndim = lundi_lua_check_shape(L, 2, 1, shape);
    t = kind ? lundi_randn_on(r, ndim, shape, lundi_default_device())
             : lundi_rand_on(r, ndim, shape, lundi_default_device());
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
