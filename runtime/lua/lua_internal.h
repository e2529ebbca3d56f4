/* Shared by the files of the `lundi` Lua module. Bindings hold no logic of their own: they
 * check arguments and call the C API. */
#ifndef LUNDI_LUA_INTERNAL_H
#define LUNDI_LUA_INTERNAL_H

#include <lauxlib.h>
#include <lua.h>

#include "lundi/lua.h"
#include "lundi/lundi.h"

#define LUNDI_LUA_TENSOR "lundi.Tensor"
#define LUNDI_LUA_REGISTRY_KEY "lundi.registry" /* lightuserdata in LUA_REGISTRYINDEX */

/* Raises a Lua error "fn: <lundi_last_error()>". Never returns. */
int lundi_lua_error(lua_State *L, const char *fn);
lundi_registry *lundi_lua_registry(lua_State *L);

/* Tensors (ltensor.c). check: borrowed, argerror when idx is not a tensor. push takes over
 * the reference t; t == NULL raises the pending lundi error under fn's name. */
lundi_tensor *lundi_lua_check_tensor(lua_State *L, int idx);
lundi_tensor *lundi_lua_opt_tensor(lua_State *L, int idx); /* nil/none -> NULL */
void lundi_lua_push_tensor(lua_State *L, lundi_tensor *t, const char *fn);

/* Each file adds its functions to the module table at index mod. */
void lundi_lua_open_tensor(lua_State *L, int mod);
void lundi_lua_open_nn(lua_State *L, int mod);
void lundi_lua_open_plugin(lua_State *L, int mod);
void lundi_lua_open_progress(lua_State *L, int mod);
void lundi_lua_open_run(lua_State *L, int mod);
void lundi_lua_open_history(lua_State *L, int mod);
void lundi_lua_open_image(lua_State *L, int mod);
void lundi_lua_open_data(lua_State *L, int mod); /* ldata.c: lundi.data */
void lundi_lua_open_metrics(lua_State *L, int mod); /* lmetrics.c: lundi.metrics */
void lundi_lua_open_device(lua_State *L, int mod);  /* ldevice.c */

/* Devices (ldevice.c). check: a device name at idx, or a Lua error. placed: a tensor made on
 * the host by a constructor moved to the default device (takes over t; NULL stays NULL). */
struct lundi_device *lundi_lua_check_device(lua_State *L, int idx);
lundi_tensor *lundi_lua_placed(lundi_tensor *t);

#endif
