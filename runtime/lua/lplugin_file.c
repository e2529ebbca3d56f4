/* Lua plugin files loaded like .so ones (--plugin x.lua, LUNDI_PLUGIN_PATH): each registry
 * gets one Lua state of its own, made at the first file, in which every such file runs with
 * the lundi module open on that registry; its lundi.register{} calls add the plugins. The
 * state closes when the registry is freed, after the plugins are released (lregister.c's
 * sentinel makes any late call fail cleanly). */
#include <lualib.h>
#include <stdlib.h>

#include "lplugin.h"

typedef struct plugin_state {
  lua_State *L;
} plugin_state;

static int load_lua_file(void *ud, lundi_registry *r, const char *path) {
  plugin_state *ps = ud;
  if (!ps->L) {
    if (!(ps->L = luaL_newstate())) return lundi_set_error(LUNDI_ENOMEM, "%s: cannot create a Lua state", path);
    luaL_openlibs(ps->L);
    lundi_lua_open(ps->L, r);
    lua_setglobal(ps->L, "lundi");
  }
  lua_State *L = ps->L;
  int base = lua_gettop(L);
  lua_pushcfunction(L, lpv_traceback);
  int rc = luaL_loadfile(L, path);
  if (rc == LUA_OK) rc = lua_pcall(L, 0, 0, base + 1);
  if (rc != LUA_OK) {
    const char *msg = lua_tostring(L, -1);
    lundi_set_error(LUNDI_EINVAL, "%s", msg ? msg : "error in Lua");
    lua_settop(L, base);
    return LUNDI_EINVAL;
  }
  lua_settop(L, base);
  return 0;
}

static void close_state(void *ud) {
  plugin_state *ps = ud;
  if (ps->L) lua_close(ps->L);
  free(ps);
}

int lundi_lua_add_plugin_loader(lundi_registry *r) {
  plugin_state *ps = calloc(1, sizeof *ps);
  if (!ps) return lundi_set_error(LUNDI_ENOMEM, "lundi_lua_add_plugin_loader: out of memory");
  lundi_file_loader l = {".lua", load_lua_file, close_state, ps};
  int rc = lundi_registry_add_loader(r, &l);
  if (rc) free(ps);
  return rc;
}
