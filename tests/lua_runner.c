/* Runs a Lua test file with the lundi module preloaded: lua_runner FILE [ARGS...].
 * `arg` holds ARGS (arg[0] = FILE). Exit 0 when the chunk finishes, 1 with a traceback
 * on any error. */
#include <lauxlib.h>
#include <lualib.h>
#include <stdio.h>

#include "lundi/lua.h"

static int traceback(lua_State *L) {
  luaL_traceback(L, L, lua_tostring(L, 1), 1);
  return 1;
}

int main(int argc, char **argv) {
  if (argc < 2) {
    fprintf(stderr, "usage: lua_runner FILE [ARGS...]\n");
    return 2;
  }
  lua_State *L = luaL_newstate();
  luaL_openlibs(L);
  luaL_requiref(L, "lundi", luaopen_lundi, 1);
  lua_pop(L, 1);
  lua_createtable(L, argc, 0);
  for (int i = 1; i < argc; i++) {
    lua_pushstring(L, argv[i]);
    lua_rawseti(L, -2, i - 1);
  }
  lua_setglobal(L, "arg");
  lua_pushcfunction(L, traceback);
  int rc = luaL_loadfile(L, argv[1]);
  if (rc == LUA_OK) {
    for (int i = 2; i < argc; i++) lua_pushstring(L, argv[i]);
    rc = lua_pcall(L, argc - 2, 0, 1);
  }
  if (rc != LUA_OK) fprintf(stderr, "%s\n", lua_tostring(L, -1));
  lua_close(L);
  return rc == LUA_OK ? 0 : 1;
}
