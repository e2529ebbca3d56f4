/* The `lundi` Lua module (Lua 5.4). */
#ifndef LUNDI_LUA_H
#define LUNDI_LUA_H

#include <lua.h>

#include "lundi/plugin.h"

#ifdef __cplusplus
extern "C" {
#endif

/* require "lundi" from a plain Lua interpreter: the module owns a registry holding the
 * built-in plugins and those on $LUNDI_PLUGIN_PATH. Pushes the module table. */
int luaopen_lundi(lua_State *L);
/* For hosts (the lundi command): opens the module over a registry the host owns, sets
 * package.loaded.lundi and the global `lundi`, and pushes the module table. The registry must
 * outlive the state: free it after lua_close(). */
int lundi_lua_open(lua_State *L, lundi_registry *reg);
/* Lets reg load Lua plugin files (a file that calls lundi.register{...}) through
 * lundi_registry_load_file and the plugin path, like .so files. The files run in a Lua state
 * that reg owns and closes when it is freed. */
int lundi_lua_add_plugin_loader(lundi_registry *reg);

#ifdef __cplusplus
}
#endif
#endif
