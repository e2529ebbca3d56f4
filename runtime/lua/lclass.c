/* Small helpers every binding file shares: userdata classes, optional booleans and the
 * fields of result tables. */
#include "lua_internal.h"

void lundi_lua_new_class(lua_State *L, const char *tname, const luaL_Reg *meta, const luaL_Reg *methods) {
  if (!luaL_newmetatable(L, tname)) {
    lua_pop(L, 1);
    return;
  }
  if (meta) luaL_setfuncs(L, meta, 0);
  if (methods) {
    /* A class with its own __index (properties first) finds its methods under "methods". */
    int own_index = lua_getfield(L, -1, "__index") != LUA_TNIL;
    lua_pop(L, 1);
    lua_newtable(L);
    luaL_setfuncs(L, methods, 0);
    lua_setfield(L, -2, own_index ? "methods" : "__index");
  }
  lua_pop(L, 1);
}

int lundi_lua_opt_bool(lua_State *L, int arg, int def) {
  if (lua_isnoneornil(L, arg)) return def;
  luaL_checktype(L, arg, LUA_TBOOLEAN);
  return lua_toboolean(L, arg);
}

void lundi_lua_set_int(lua_State *L, const char *k, lua_Integer v) {
  lua_pushinteger(L, v);
  lua_setfield(L, -2, k);
}

void lundi_lua_set_num(lua_State *L, const char *k, lua_Number v) {
  lua_pushnumber(L, v);
  lua_setfield(L, -2, k);
}

void lundi_lua_set_str(lua_State *L, const char *k, const char *v) {
  if (!v) return;
  lua_pushstring(L, v);
  lua_setfield(L, -2, k);
}

void lundi_lua_set_bool(lua_State *L, const char *k, int v) {
  lua_pushboolean(L, v);
  lua_setfield(L, -2, k);
}
