/* The files a recorded `lundi run` loads, for plugin_files (lundi/store.h): the plugin
 * files (--plugin, LUNDI_PLUGIN_PATH) once the registry is loaded, and the Lua files the
 * script loads through dofile, loadfile and require while its run is current. A file that
 * cannot be recorded is a warning: the run goes on. */
#include <lauxlib.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "cli.h"
#include "lundi/lundi.h"
#include "lundi/session.h"
#include "lundi/store.h"

static void note(lundi_run *run, const char *path, const char *role) {
  if (run && lundi_run_plugin_file(run, path, role) != 0)
    fprintf(stderr, "lundi: warning: %s\n", lundi_last_error());
}

static int is_file(const char *path) {
  struct stat sb;
  return path && stat(path, &sb) == 0 && S_ISREG(sb.st_mode);
}

/* 1 when path names the same file as one of the --plugin options. */
static int given_as_option(const cli_opts *o, const char *path) {
  char *a = realpath(path, NULL);
  int found = 0;
  for (int i = 0; a && !found && i < o->n_plugins; i++) {
    char *b = realpath(o->plugins[i], NULL);
    found = b && !strcmp(a, b);
    free(b);
  }
  free(a);
  return found;
}

void cli_record_plugin_files(lundi_run *run, const cli_opts *o, const lundi_registry *reg) {
  /* In load order: LUNDI_PLUGIN_PATH first, then --plugin (a rerun loads them so). The
   * registry lists shared objects; a plugin's origin also names a file it was registered
   * from that is not one (a Lua plugin file). */
  for (int i = 0; i < lundi_registry_file_count(reg); i++) {
    const char *f = lundi_registry_file(reg, i);
    note(run, f, given_as_option(o, f) ? "plugin" : "path");
  }
  for (int i = 0; i < lundi_registry_count(reg); i++) {
    const char *f = lundi_plugin_origin(lundi_registry_at(reg, i));
    if (f && strcmp(f, "builtin") && is_file(f)) note(run, f, given_as_option(o, f) ? "plugin" : "path");
  }
  for (int i = 0; i < o->n_plugins; i++) note(run, o->plugins[i], "plugin");
}

/* ---- Lua files: the wrappers record, then do what the originals do ---- */

/* The names recorded for the current run, so a loop calling dofile hashes the file once. */
static struct {
  lundi_run *run;
  char **names;
  int n, cap;
} noted;

static int noted_before(lundi_run *run, const char *path) {
  if (run != noted.run) {
    for (int i = 0; i < noted.n; i++) free(noted.names[i]);
    noted.n = 0;
    noted.run = run;
  }
  for (int i = 0; i < noted.n; i++)
    if (!strcmp(noted.names[i], path)) return 1;
  if (noted.n == noted.cap) {
    int cap = noted.cap ? 2 * noted.cap : 16;
    char **g = realloc(noted.names, (size_t)cap * sizeof *g);
    if (!g) return 0;
    noted.names = g;
    noted.cap = cap;
  }
  if ((noted.names[noted.n] = strdup(path))) noted.n++;
  return 0;
}

static void note_lua(const char *path) {
  lundi_run *run = lundi_session_current();
  if (run && !noted_before(run, path)) note(run, path, "lua");
}

static int dofile_done(lua_State *L, int status, lua_KContext ctx) {
  (void)status, (void)ctx;
  return lua_gettop(L) - 1;
}

/* dofile as the base library has it (so tracebacks show one frame), recording the file. */
static int watched_dofile(lua_State *L) {
  const char *name = luaL_optstring(L, 1, NULL);
  lua_settop(L, 1);
  if (name) note_lua(name);
  if (luaL_loadfile(L, name) != LUA_OK) return lua_error(L);
  lua_callk(L, 0, LUA_MULTRET, 0, dofile_done);
  return dofile_done(L, 0, 0);
}

/* loadfile runs nothing: record, then call the original (upvalue 1). */
static int watched_loadfile(lua_State *L) {
  if (lua_type(L, 1) == LUA_TSTRING) note_lua(lua_tostring(L, 1));
  lua_pushvalue(L, lua_upvalueindex(1));
  lua_insert(L, 1);
  lua_call(L, lua_gettop(L) - 1, LUA_MULTRET);
  return lua_gettop(L);
}

/* A package searcher finds a file and returns (loader, file name): record that name. */
static int watched_searcher(lua_State *L) {
  lua_pushvalue(L, lua_upvalueindex(1));
  lua_insert(L, 1);
  lua_call(L, lua_gettop(L) - 1, LUA_MULTRET);
  if (lua_gettop(L) >= 2 && lua_isfunction(L, 1) && lua_type(L, 2) == LUA_TSTRING) note_lua(lua_tostring(L, 2));
  return lua_gettop(L);
}

void cli_watch_lua_files(lua_State *L) {
  int top = lua_gettop(L);
  lua_pushcfunction(L, watched_dofile);
  lua_setglobal(L, "dofile");
  if (lua_getglobal(L, "loadfile") == LUA_TFUNCTION) {
    lua_pushcclosure(L, watched_loadfile, 1);
    lua_setglobal(L, "loadfile");
  } else {
    lua_pop(L, 1);
  }
  /* searchers 2 and 3: Lua files and C libraries on package.path / package.cpath */
  if (lua_getglobal(L, "package") == LUA_TTABLE && lua_getfield(L, -1, "searchers") == LUA_TTABLE) {
    for (int i = 2; i <= 3; i++) {
      if (lua_rawgeti(L, -1, i) == LUA_TFUNCTION) {
        lua_pushcclosure(L, watched_searcher, 1);
        lua_rawseti(L, -2, i);
      } else {
        lua_pop(L, 1);
      }
    }
  }
  lua_settop(L, top);
}
