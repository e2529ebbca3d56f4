/* lundi.Rng userdata (lrng.c): a lundi_rng held by value inside the userdata. */
#ifndef LUNDI_LUA_RNG_H
#define LUNDI_LUA_RNG_H

#include <lua.h>

#include "lundi/tensor.h"

#define LUNDI_LUA_RNG "lundi.Rng"

lundi_rng *lundi_lua_check_rng(lua_State *L, int idx);
lundi_rng *lundi_lua_opt_rng(lua_State *L, int idx); /* nil -> NULL */

#endif
