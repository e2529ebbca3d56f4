#include "lua_internal.h"

void lundi_lua_open_image(lua_State *L, int mod) {
  (void)L;
  (void)mod;
}
