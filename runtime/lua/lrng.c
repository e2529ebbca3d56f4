/* lundi.Rng: a Philox stream (lundi_rng, held by value). rng.seed and rng.offset read the
 * state; draws advance offset. lundi.rand/randn/randint take the rng first; the methods
 * rng:rand(shape), rng:randn(shape), rng:randint(shape, lo, hi) are the same calls. */
#include <string.h>

#include "lbind.h"
#include "lua_tensor.h"
#include "lundi/device.h"

lundi_rng *lundi_lua_check_rng(lua_State *L, int idx) { return luaL_checkudata(L, idx, LUNDI_LUA_RNG); }

lundi_rng *lundi_lua_opt_rng(lua_State *L, int idx) {
  return lua_isnoneornil(L, idx) ? NULL : lundi_lua_check_rng(L, idx);
}

/* A new userdata holding a copy of r. */
static int push_rng(lua_State *L, lundi_rng r) {
  lundi_rng *box = lua_newuserdatauv(L, sizeof *box, 0);
  *box = r;
  luaL_setmetatable(L, LUNDI_LUA_RNG);
  return 1;
}

LB_FN(m_rng, LB_INTEGER(seed); return push_rng(L, lundi_rng_make((uint64_t)seed)))
LB_FN(r_clone, LB_RNG(r); return push_rng(L, *r))

/* Draws are made where lundi.device() is: Philox gives the same numbers on every backend,
 * and a step on the GPU then runs no kernel on the CPU. rand/randn(rng, shape);
 * randint(rng, shape, lo, hi), where the shape is a table. */
LB_FN(r_rand, LB_RNG(r); LB_SHAPE(nd, shape, 1);
      LB_RET_T_AS(lundi_rand_on(r, nd, shape, lundi_default_device()), "rand"))
LB_FN(r_randn, LB_RNG(r); LB_SHAPE(nd, shape, 1);
      LB_RET_T_AS(lundi_randn_on(r, nd, shape, lundi_default_device()), "randn"))
LB_FN(r_randint, LB_RNG(r); LB_SHAPE(nd, shape, 0); LB_INT(lo); LB_INT(hi);
      LB_RET_T_AS(lundi_randint_on(r, nd, shape, lo, hi, lundi_default_device()), "randint"))

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

static const luaL_Reg meta[] = {{"__index", r_index}, {"__tostring", r_tostring}, {NULL, NULL}};

static const luaL_Reg methods[] = {
  {"rand", r_rand}, {"randn", r_randn}, {"randint", r_randint}, {"clone", r_clone}, {NULL, NULL},
};

static const luaL_Reg module_fns[] = {
  {"rng", m_rng}, {"rand", r_rand}, {"randn", r_randn}, {"randint", r_randint}, {NULL, NULL},
};

void lundi_lua_open_rng(lua_State *L, int mod) {
  lundi_lua_new_class(L, LUNDI_LUA_RNG, meta, methods);
  lundi_lua_setfuncs_at(L, mod, module_fns);
}
