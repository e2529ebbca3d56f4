/* Tensor creation: lundi.tensor(nested [, dtype]), zeros, ones, full, arange. */
#include "lbind.h"
#include "lua_tensor.h"
#include "lundi/device.h"

/* The shape of a nested table, read along the first elements. */
static int nested_shape(lua_State *L, int arg, int64_t shape[LUNDI_MAX_DIMS]) {
  int ndim = 0;
  lua_pushvalue(L, arg);
  while (lua_istable(L, -1)) {
    if (ndim == LUNDI_MAX_DIMS)
      luaL_argerror(L, arg, lua_pushfstring(L, "nested deeper than %d levels", LUNDI_MAX_DIMS));
    lua_Integer n = luaL_len(L, -1);
    shape[ndim++] = n;
    if (n == 0) break;
    lua_geti(L, -1, 1);
    lua_remove(L, -2);
  }
  lua_pop(L, 1);
  return ndim;
}

/* Copies the nested table on the stack top (already checked to have shape[d] entries)
 * into v, row-major. Errors name the depth and the index of the ragged entry. */
static float *fill(lua_State *L, int arg, float *v, int d, int ndim, const int64_t *shape) {
  for (lua_Integer i = 1; i <= shape[d]; i++) {
    lua_geti(L, -1, i);
    if (d + 1 == ndim) {
      if (lua_type(L, -1) != LUA_TNUMBER)
        luaL_argerror(L, arg, lua_pushfstring(L, "number expected at depth %d, index %I, got %s", d + 1,
                                              (LUAI_UACINT)i, luaL_typename(L, -1)));
      *v++ = (float)lua_tonumber(L, -1);
    } else {
      if (!lua_istable(L, -1))
        luaL_argerror(L, arg, lua_pushfstring(L, "ragged nesting: table expected at depth %d, index %I, got %s",
                                              d + 1, (LUAI_UACINT)i, luaL_typename(L, -1)));
      lua_Integer n = luaL_len(L, -1);
      if (n != shape[d + 1])
        luaL_argerror(L, arg, lua_pushfstring(L, "ragged nesting: the table at depth %d, index %I has %I entries, "
                                                 "expected %I like the first one", d + 1, (LUAI_UACINT)i,
                                              (LUAI_UACINT)n, (LUAI_UACINT)shape[d + 1]));
      v = fill(L, arg, v, d + 1, ndim, shape);
    }
    lua_pop(L, 1);
  }
  return v;
}

static int m_tensor(lua_State *L) {
  if (lua_type(L, 1) != LUA_TNUMBER) luaL_checktype(L, 1, LUA_TTABLE);
  lundi_dtype dt = lua_isnoneornil(L, 2) ? LUNDI_F32 : lundi_lua_check_dtype(L, 2);
  int64_t shape[LUNDI_MAX_DIMS], n = 1;
  int ndim = nested_shape(L, 1, shape);
  for (int i = 0; i < ndim; i++) n *= shape[i];
  float *v = lua_newuserdatauv(L, (size_t)(n ? n : 1) * sizeof *v, 0); /* GC-owned scratch */
  if (ndim == 0) {
    v[0] = (float)lua_tonumber(L, 1);
  } else {
    lua_pushvalue(L, 1);
    fill(L, 1, v, 0, ndim, shape);
    lua_pop(L, 1);
  }
  return lundi_lua_return_tensor(L, lundi_to_default_device(lundi_from_f32_as(ndim, shape, v, dt)), "tensor");
}

LB_FN(m_zeros, LB_SHAPE(nd, shape, 1); LB_RET_T_AS(lundi_to_default_device(lundi_zeros(nd, shape)), "zeros"))
LB_FN(m_ones, LB_SHAPE(nd, shape, 1); LB_RET_T_AS(lundi_to_default_device(lundi_full(nd, shape, 1.0f)), "ones"))
LB_FN(m_full, LB_SHAPE(nd, shape, 0); LB_FLOAT(v); LB_RET_T_AS(lundi_to_default_device(lundi_full(nd, shape, v)), "full"))

/* arange(stop) or arange(start, stop [, step]); stop is exclusive, as in numpy. */
static int m_arange(lua_State *L) {
  float a = 0, b, step = 1;
  if (lua_isnoneornil(L, 2)) {
    b = (float)luaL_checknumber(L, 1);
  } else {
    a = (float)luaL_checknumber(L, 1);
    b = (float)luaL_checknumber(L, 2);
    step = (float)luaL_optnumber(L, 3, 1);
  }
  return lundi_lua_return_tensor(L, lundi_to_default_device(lundi_arange(a, b, step)), "arange");
}

void lundi_lua_open_tensor_new(lua_State *L, int mod) {
  static const luaL_Reg fns[] = {
    {"tensor", m_tensor}, {"zeros", m_zeros}, {"ones", m_ones}, {"full", m_full}, {"arange", m_arange}, {NULL, NULL},
  };
  lundi_lua_setfuncs_at(L, mod, fns);
}
