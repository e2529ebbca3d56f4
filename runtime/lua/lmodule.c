/* luaopen_lundi: builds the module table from each binding file. */
#include "lua_internal.h"

int lundi_lua_error(lua_State *L, const char *fn) {
  char msg[1400]; /* lundi messages hold at most 1023 bytes */
  return luaL_error(L, "%s", lundi_error_for(fn, msg, sizeof msg));
}

lundi_registry *lundi_lua_registry(lua_State *L) {
  lua_getfield(L, LUA_REGISTRYINDEX, LUNDI_LUA_REGISTRY_KEY);
  lundi_registry *r = lua_touserdata(L, -1);
  lua_pop(L, 1);
  if (!r) luaL_error(L, "lundi: no plugin registry (module not opened through luaopen_lundi)");
  return r;
}

static void build_module(lua_State *L) {
  lua_newtable(L);
  int mod = lua_gettop(L);
  lua_pushstring(L, lundi_version());
  lua_setfield(L, mod, "version");
  static void (*const opens[])(lua_State *, int) = {
    lundi_lua_open_tensor, lundi_lua_open_nn,      lundi_lua_open_plugin, lundi_lua_open_progress,
    lundi_lua_open_run,    lundi_lua_open_history, lundi_lua_open_image,  lundi_lua_open_data,
    lundi_lua_open_metrics, lundi_lua_open_device, lundi_lua_open_options, lundi_lua_open_text,
    lundi_lua_open_env,
  };
  for (size_t i = 0; i < sizeof opens / sizeof opens[0]; i++) opens[i](L, mod);
}

int lundi_lua_open(lua_State *L, lundi_registry *reg) {
  lua_pushlightuserdata(L, reg);
  lua_setfield(L, LUA_REGISTRYINDEX, LUNDI_LUA_REGISTRY_KEY);
  luaL_getsubtable(L, LUA_REGISTRYINDEX, LUA_LOADED_TABLE);
  build_module(L);
  lua_pushvalue(L, -1);
  lua_setfield(L, -3, "lundi");
  lua_pushvalue(L, -1);
  lua_setglobal(L, "lundi");
  lua_remove(L, -2);
  return 1;
}

/* The registry a plain `require "lundi"` owns; freed when the state closes. It is created
 * before any instance userdata, so its finaliser runs after theirs. */
static int owned_registry_gc(lua_State *L) {
  lundi_registry **box = lua_touserdata(L, 1);
  if (*box) lundi_registry_free(*box);
  *box = NULL;
  return 0;
}

int luaopen_lundi(lua_State *L) {
  lundi_registry **box = lua_newuserdatauv(L, sizeof *box, 0);
  *box = NULL;
  lua_newtable(L);
  lua_pushcfunction(L, owned_registry_gc);
  lua_setfield(L, -2, "__gc");
  lua_setmetatable(L, -2);
  lua_setfield(L, LUA_REGISTRYINDEX, "lundi.owned_registry");
  lundi_registry *r = lundi_registry_new();
  if (!r) return lundi_lua_error(L, "require 'lundi'");
  *box = r;
  if (lundi_registry_load_builtins(r) != 0 || lundi_registry_load_path(r, NULL) != 0)
    return lundi_lua_error(L, "require 'lundi'");
  lua_pushlightuserdata(L, r);
  lua_setfield(L, LUA_REGISTRYINDEX, LUNDI_LUA_REGISTRY_KEY);
  build_module(L);
  return 1;
}
