/* Conversion helpers of the run group (lrun.c, lmetrics.c, limage.c): declared at the end of
 * lbind.h. */
#include "lbind.h"

int lundi_lua_string_pairs(lua_State *L, int idx, const char ***keys, const char ***values, const char *fmt,
                           const char *fn) {
  idx = lua_absindex(L, idx);
  int n = 0;
  lua_pushnil(L);
  while (lua_next(L, idx)) {
    if (lua_type(L, -2) != LUA_TSTRING || (lua_type(L, -1) != LUA_TSTRING && lua_type(L, -1) != LUA_TNUMBER))
      luaL_error(L, fmt, fn, luaL_typename(L, -2), luaL_typename(L, -1));
    n++;
    lua_pop(L, 1);
  }
  const char **kv = lua_newuserdatauv(L, sizeof *kv * 2 * (size_t)(n ? n : 1), 1);
  lua_createtable(L, n, 0); /* anchors the strings that numbers become */
  int i = 0;
  lua_pushnil(L);
  while (lua_next(L, idx)) {
    kv[i] = lua_tostring(L, -2); /* a string key, alive in the table */
    kv[n + i] = lua_tostring(L, -1);
    lua_rawseti(L, -3, ++i);
  }
  lua_setiuservalue(L, -2, 1);
  *keys = kv;
  *values = kv + n;
  return n;
}

int lundi_lua_number_pair(lua_State *L, int idx, float *a, float *b) {
  idx = lua_absindex(L, idx);
  lua_rawgeti(L, idx, 1);
  lua_rawgeti(L, idx, 2);
  int ok = lua_isnumber(L, -2) && lua_isnumber(L, -1);
  if (ok) *a = (float)lua_tonumber(L, -2), *b = (float)lua_tonumber(L, -1);
  lua_pop(L, 2);
  return ok;
}
