/* lundi.Module userdata (lnn.c). A module made from Lua is freed by its __gc; a borrowed one
 * (a child, or one owned by another object such as a plugin instance) never is. */
#ifndef LUNDI_LUA_MODULE_H
#define LUNDI_LUA_MODULE_H

#include <lua.h>

#include "lundi/nn.h"

#define LUNDI_LUA_MODULE "lundi.Module"

/* Pushes a userdata for m that does not own it; the value at owner_idx is kept alive (as a
 * user value) for as long as the userdata is. */
void lundi_lua_push_borrowed_module(lua_State *L, lundi_module *m, int owner_idx);
lundi_module *lundi_lua_check_module(lua_State *L, int idx);

#endif
