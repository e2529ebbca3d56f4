#include "lua_internal.h"

void lundi_lua_open_run(lua_State *L, int mod) {
  (void)L;
  (void)mod;
}
