/* lundi.options(DEFAULTS, params [, about]) -> a table of typed values, for scripts.
 *
 * DEFAULTS maps each key to its default, or to {default, "help text" [, type = T]}. The type
 * is the default's: an integer is "integer", a float "number", then "boolean", "string";
 * type = "number" lets an integer default (guidance = 3) take fractions too. params is the
 * script's `params` (strings, numbers, booleans from `lundi run SCRIPT --key=value`). Keys
 * not given keep their default value exactly as written. params.help == true (--help) prints
 * the generated help and ends the script with status 0 (os.exit, which `lundi run` turns
 * into a finished run), unless DEFAULTS itself has a key "help".
 *
 * The checks and conversions are C (lundi/options.h); this file turns Lua values into
 * lundi_opt_value and back (lbind_plugin.c). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "lbind.h"
#include "lundi/options.h"

/* The calling script's file name ("mnist.lua") for messages and the usage line. */
static const char *caller_name(lua_State *L) {
  lua_Debug ar;
  if (!lua_getstack(L, 1, &ar) || !lua_getinfo(L, "S", &ar) || ar.source[0] != '@') return lua_pushliteral(L, "script");
  const char *slash = strrchr(ar.short_src, '/');
  return lua_pushstring(L, slash ? slash + 1 : ar.short_src);
}

/* The C message as it is: it names the script already, so no position in front. */
static int raise(lua_State *L) {
  lua_pushstring(L, lundi_last_error());
  return lua_error(L);
}

/* Reads entry key = value of DEFAULTS (value on top) into *s; strings stay anchored by DEFAULTS. */
static void read_spec(lua_State *L, const char *owner, lundi_opt_spec *s) {
  int e = lua_gettop(L), d = e;
  s->help = NULL;
  const char *forced = NULL;
  if (lua_type(L, e) == LUA_TTABLE) {
    static const char *const keys[] = {"type", NULL};
    lua_pushnil(L);
    while (lua_next(L, e)) { /* only [1], [2] and type */
      lua_pop(L, 1);
      int pos = lua_isinteger(L, -1) && (lua_tointeger(L, -1) == 1 || lua_tointeger(L, -1) == 2);
      if (!pos && !(lua_type(L, -1) == LUA_TSTRING && !strcmp(lua_tostring(L, -1), keys[0])))
        luaL_error(L, "lundi.options: %s: DEFAULTS.%s must be a value or {default, \"help\" [, type = ...]}", owner,
                   s->name);
    }
    lua_rawgeti(L, e, 1);
    d = lua_gettop(L);
    if (lua_rawgeti(L, e, 2) != LUA_TNIL) {
      if (lua_type(L, -1) != LUA_TSTRING)
        luaL_error(L, "lundi.options: %s: the help of DEFAULTS.%s must be a string", owner, s->name);
      s->help = lua_tostring(L, -1);
    }
    forced = lundi_lua_opt_string_field(L, e, "lundi.options", "type", NULL);
  }
  if (!lundi_lua_to_opt_value(L, d, &s->def))
    luaL_error(L, "lundi.options: %s: the default of DEFAULTS.%s must be a number, boolean or string, got %s", owner,
               s->name, luaL_typename(L, d));
  s->type = s->def.type;
  if (forced && lundi_options_force_type(owner, s, forced) != 0) raise(L);
  lua_settop(L, e);
}

static int l_options(lua_State *L) {
  luaL_checktype(L, 1, LUA_TTABLE);
  if (!lua_isnoneornil(L, 2)) luaL_checktype(L, 2, LUA_TTABLE);
  const char *about = luaL_optstring(L, 3, NULL);
  lua_settop(L, 3);
  const char *owner = caller_name(L); /* 4 */

  int n = 0;
  lua_pushnil(L);
  while (lua_next(L, 1)) {
    if (lua_type(L, -2) != LUA_TSTRING) luaL_error(L, "lundi.options: %s: DEFAULTS keys must be strings", owner);
    n++;
    lua_pop(L, 1);
  }
  lundi_opt_spec *specs = lua_newuserdatauv(L, sizeof *specs * (size_t)(n ? n : 1), 0); /* 5 */
  int k = 0;
  lua_pushnil(L);
  while (lua_next(L, 1)) {
    specs[k].name = lua_tostring(L, -2); /* anchored by DEFAULTS */
    read_spec(L, owner, &specs[k]);
    lua_pop(L, 1);
    k++;
  }
  lundi_options_sort(specs, n); /* the listing order; pairs() has none */
  if (!lundi_options_own_help(specs, n) && lua_istable(L, 2) && lua_getfield(L, 2, "help") == LUA_TBOOLEAN && lua_toboolean(L, -1)) {
    char *text = lundi_options_help(owner, about, specs, n);
    if (!text) return lundi_lua_error(L, "lundi.options");
    fputs(text, stdout);
    fflush(stdout);
    free(text);
    lua_getglobal(L, "os");
    lua_getfield(L, -1, "exit");
    lua_pushinteger(L, 0);
    lua_call(L, 1, 0); /* does not return */
    return 0;
  }
  lua_settop(L, 5);

  lua_createtable(L, 0, n); /* 6: the result, every key at its default as written */
  for (int i = 0; i < n; i++) {
    lundi_lua_push_opt_value(L, &specs[i].def);
    lua_setfield(L, 6, specs[i].name);
  }
  if (lua_istable(L, 2)) {
    lua_pushnil(L);
    while (lua_next(L, 2)) {
      const char *key = lua_type(L, -2) == LUA_TSTRING ? lua_tostring(L, -2) : NULL;
      if (!key) luaL_error(L, "%s: parameter names must be strings, got %s", owner, luaL_typename(L, -2));
      lundi_opt_value given, out;
      char buf[64];
      int ok = lundi_lua_to_opt_value(L, -1, &given);
      if (lundi_options_given(owner, specs, n, key, ok ? &given : NULL, luaL_typename(L, -1), &out, buf,
                              sizeof buf) < 0)
        return raise(L);
      lua_pushvalue(L, -2);
      lundi_lua_push_opt_value(L, &out);
      lua_rawset(L, 6);
      lua_pop(L, 1);
    }
  }
  return 1;
}

void lundi_lua_open_options(lua_State *L, int mod) {
  lua_pushcfunction(L, l_options);
  lua_setfield(L, mod, "options");
}
