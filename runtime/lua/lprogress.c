/* lundi.progress{total=N, label="train"} -> a bar with :update(step, extra) and :finish().
 * extra is a string or a table {loss=0.04, lr=1e-4}, shown as "loss 0.04 lr 0.0001" (keys
 * sorted, numbers with %.4g). __gc and __close finish and free the bar.
 * lundi.isatty([stream]) -> whether "stdin", "stdout" or "stderr" (default) is a terminal. */
#include <unistd.h>

#include "lua_internal.h"
#include "lundi/progress.h"

#define LUNDI_LUA_PROGRESS "lundi.Progress"

static lundi_progress **check_bar(lua_State *L) {
  return luaL_checkudata(L, 1, LUNDI_LUA_PROGRESS);
}

static int progress_new(lua_State *L) {
  luaL_checktype(L, 1, LUA_TTABLE);
  static const char *const keys[] = {"total", "label", NULL};
  lundi_lua_check_options(L, 1, "lundi.progress", keys);
  lua_Integer total = lundi_lua_opt_int_field(L, 1, "lundi.progress", "total", 0, LUNDI_LUA_ANY_INT);
  const char *label = lundi_lua_opt_string_field(L, 1, "lundi.progress", "label", NULL);
  lundi_progress **box = lua_newuserdatauv(L, sizeof *box, 0);
  *box = NULL;
  luaL_setmetatable(L, LUNDI_LUA_PROGRESS);
  *box = lundi_progress_new(label, (int64_t)total, stderr);
  if (!*box) return lundi_lua_error(L, "lundi.progress");
  return 1;
}

/* Formats the table at idx into buf (lundi_progress_format_pairs): values other than numbers
 * go through tostring, their strings anchored in a scratch table. */
static void format_extra(lua_State *L, int idx, char *buf, size_t cap) {
  int n = 0;
  lua_pushnil(L);
  while (lua_next(L, idx)) {
    if (lua_type(L, -2) != LUA_TSTRING)
      luaL_error(L, "bad argument #2 to 'update' (keys of the extra table must be strings)");
    n++;
    lua_pop(L, 1);
  }
  lundi_progress_pair *p = lua_newuserdatauv(L, sizeof *p * (size_t)(n ? n : 1), 0);
  lua_createtable(L, n, 0);
  int i = 0;
  lua_pushnil(L);
  while (lua_next(L, idx)) {
    p[i] = (lundi_progress_pair){.key = lua_tostring(L, -2), .is_int = lua_isinteger(L, -1)};
    if (p[i].is_int) p[i].i = (int64_t)lua_tointeger(L, -1);
    else if (lua_type(L, -1) == LUA_TNUMBER) p[i].d = lua_tonumber(L, -1);
    else {
      p[i].text = luaL_tolstring(L, -1, NULL);
      lua_rawseti(L, -4, i + 1); /* into the scratch table below key and value */
    }
    i++;
    lua_pop(L, 1);
  }
  lundi_progress_format_pairs(buf, cap, p, n);
  lua_pop(L, 2);
}

static int progress_update(lua_State *L) {
  lundi_progress **box = check_bar(L);
  lua_Integer step = luaL_checkinteger(L, 2);
  char extra[256];
  const char *text = NULL;
  int t = lua_type(L, 3);
  if (t == LUA_TTABLE) {
    format_extra(L, 3, extra, sizeof extra);
    text = extra;
  } else if (t == LUA_TSTRING) {
    text = lua_tostring(L, 3);
  } else if (t != LUA_TNIL && t != LUA_TNONE) {
    return luaL_typeerror(L, 3, "table, string or nil");
  }
  if (*box) lundi_progress_update(*box, (int64_t)step, text);
  return 0;
}

static int progress_finish(lua_State *L) {
  lundi_progress **box = check_bar(L);
  if (*box) lundi_progress_finish(*box);
  return 0;
}

static int progress_close(lua_State *L) {
  lundi_progress **box = check_bar(L);
  lundi_progress_free(*box);
  *box = NULL;
  return 0;
}

static int progress_tostring(lua_State *L) {
  lundi_progress **box = check_bar(L);
  lua_pushfstring(L, "lundi.Progress%s", *box ? "" : " (closed)");
  return 1;
}

/* lundi.isatty([stream = "stderr"]): whether stdout/stderr is a terminal, for scripts that
 * redraw what they show (a generation developing) only where that can be seen. */
static int l_isatty(lua_State *L) {
  static const char *const names[] = {"stdin", "stdout", "stderr", NULL};
  int fd = luaL_checkoption(L, 1, "stderr", names);
  lua_pushboolean(L, isatty(fd));
  return 1;
}

void lundi_lua_open_progress(lua_State *L, int mod) {
  static const luaL_Reg methods[] = {{"update", progress_update},
                                     {"finish", progress_finish},
                                     {NULL, NULL}};
  static const luaL_Reg meta[] = {
      {"__gc", progress_close}, {"__close", progress_close}, {"__tostring", progress_tostring}, {NULL, NULL}};
  lundi_lua_new_class(L, LUNDI_LUA_PROGRESS, meta, methods);
  lua_pushcfunction(L, progress_new);
  lua_setfield(L, mod, "progress");
  lua_pushcfunction(L, l_isatty);
  lua_setfield(L, mod, "isatty");
}
