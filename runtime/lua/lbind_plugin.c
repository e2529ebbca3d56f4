/* Script values (lundi/options.h's lundi_opt_value) to and from Lua: what lundi.options and
 * plugin parameters take from a script. See lbind.h. */
#include "lbind.h"
#include "lundi/options.h"

int lundi_lua_to_opt_value(lua_State *L, int idx, lundi_opt_value *v) {
  *v = (lundi_opt_value){0};
  switch (lua_type(L, idx)) {
  case LUA_TNUMBER:
    if (lua_isinteger(L, idx)) *v = (lundi_opt_value){.type = LUNDI_OPT_INT, .i = (int64_t)lua_tointeger(L, idx)};
    else *v = (lundi_opt_value){.type = LUNDI_OPT_NUMBER, .f = (double)lua_tonumber(L, idx)};
    return 1;
  case LUA_TBOOLEAN: *v = (lundi_opt_value){.type = LUNDI_OPT_BOOL, .b = lua_toboolean(L, idx)}; return 1;
  case LUA_TSTRING: *v = (lundi_opt_value){.type = LUNDI_OPT_STRING, .s = lua_tostring(L, idx)}; return 1;
  default: return 0;
  }
}

void lundi_lua_push_opt_value(lua_State *L, const lundi_opt_value *v) {
  switch (v->type) {
  case LUNDI_OPT_INT: lua_pushinteger(L, (lua_Integer)v->i); break;
  case LUNDI_OPT_NUMBER: lua_pushnumber(L, (lua_Number)v->f); break;
  case LUNDI_OPT_BOOL: lua_pushboolean(L, v->b); break;
  case LUNDI_OPT_STRING: lua_pushstring(L, v->s); break;
  }
}
