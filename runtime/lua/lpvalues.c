/* Conversions between plugin values (tensors, conditions, rngs, params) and Lua values.
 * None of them raises a Lua error: trampolines call them outside any protected call, where a
 * longjmp would skip the C caller's frames. Checks made by other files' raising helpers
 * (lundi_lua_check_tensor) run inside a small lua_pcall. */
#include <string.h>

#include "lbind.h"
#include "lplugin.h"
#include "lua_module.h"
#include "lua_rng.h"
#include "plugin/spec_text.h"

const char *lpv_typename(lua_State *L, int idx) {
  if (lua_type(L, idx) == LUA_TUSERDATA) {
    int t = luaL_getmetafield(L, idx, "__name");
    if (t == LUA_TSTRING) {
      const char *s = lua_tostring(L, -1); /* kept alive by the metatable */
      lua_pop(L, 1);
      return strncmp(s, "lundi.", 6) == 0 ? s + 6 : s;
    }
    if (t != LUA_TNIL) lua_pop(L, 1);
  }
  return luaL_typename(L, idx);
}

const char *lpv_value_text(lua_State *L, int idx, char buf[64], const char **type) {
  lundi_opt_value v;
  return lundi_lua_to_opt_value(L, idx, &v) ? lundi__value_text(&v, buf, type) : NULL;
}

int lpv_traceback(lua_State *L) {
  const char *msg = lua_tostring(L, 1);
  if (!msg) msg = luaL_tolstring(L, 1, NULL);
  luaL_traceback(L, L, msg, 1);
  return 1;
}

void lpv_push_tensor(lua_State *L, lundi_tensor *t) {
  if (!t) {
    lua_pushnil(L);
    return;
  }
  lundi_lua_push_tensor(L, lundi_retain(t), "plugin");
}

static int check_tensor_body(lua_State *L) {
  lua_pushlightuserdata(L, lundi_lua_check_tensor(L, 1));
  return 1;
}

lundi_tensor *lpv_to_tensor(lua_State *L, int idx) {
  if (!luaL_testudata(L, idx, LUNDI_LUA_TENSOR)) return NULL;
  idx = lua_absindex(L, idx);
  lua_pushcfunction(L, check_tensor_body);
  lua_pushvalue(L, idx);
  if (lua_pcall(L, 1, 1, 0) != LUA_OK) { /* e.g. a tensor already closed */
    lundi_set_error(LUNDI_EINVAL, "%s", lua_tostring(L, -1));
    lua_pop(L, 1);
    return NULL;
  }
  lundi_tensor *t = lua_touserdata(L, -1);
  lua_pop(L, 1);
  return t ? lundi_retain(t) : NULL;
}

static const char *const cond_fields[] = {"labels", "context", "mask", "vector"};

static lundi_tensor **cond_slot(lundi_cond *c, int i) {
  lundi_tensor **slots[] = {&c->labels, &c->context, &c->mask, &c->vector};
  return slots[i];
}

void lpv_push_cond(lua_State *L, const lundi_cond *c) {
  if (!c) {
    lua_pushnil(L);
    return;
  }
  lua_createtable(L, 0, 4);
  for (int i = 0; i < 4; i++) {
    lundi_tensor *t = *cond_slot((lundi_cond *)c, i);
    if (!t) continue;
    lpv_push_tensor(L, t);
    lua_setfield(L, -2, cond_fields[i]);
  }
}

int lpv_to_cond(lua_State *L, int idx, lundi_cond *out, const char *what) {
  memset(out, 0, sizeof *out);
  if (lua_type(L, idx) != LUA_TTABLE)
    return lundi_set_error(LUNDI_EINVAL, "%s must be a table {labels=, context=, mask=, vector=}, got %s",
                           what, lpv_typename(L, idx));
  idx = lua_absindex(L, idx);
  for (int i = 0; i < 4; i++) {
    lua_pushstring(L, cond_fields[i]);
    lua_rawget(L, idx);
    if (!lua_isnil(L, -1)) {
      lundi_tensor *t = lpv_to_tensor(L, -1);
      if (!t) {
        if (!luaL_testudata(L, -1, LUNDI_LUA_TENSOR))
          lundi_set_error(LUNDI_EINVAL, "%s.%s must be a Tensor, got %s", what, cond_fields[i],
                          lpv_typename(L, -1));
        lua_pop(L, 1);
        lundi_cond_clear(out);
        return LUNDI_EINVAL;
      }
      *cond_slot(out, i) = t;
    }
    lua_pop(L, 1);
  }
  return 0;
}

void lpv_push_strings(lua_State *L, const char *const *s, int n) {
  lua_createtable(L, n, 0);
  for (int i = 0; i < n; i++) {
    lua_pushstring(L, s[i] ? s[i] : "");
    lua_rawseti(L, -2, i + 1);
  }
}

void lpv_push_rng(lua_State *L, const lundi_rng *rng) {
  if (!rng) {
    lua_pushnil(L);
    return;
  }
  lundi_rng *u = lua_newuserdatauv(L, sizeof *u, 0);
  *u = *rng;
  luaL_setmetatable(L, LUNDI_LUA_RNG);
}

void lpv_pull_rng(lua_State *L, int idx, lundi_rng *rng) {
  lundi_rng *u = luaL_testudata(L, idx, LUNDI_LUA_RNG);
  if (u && rng) *rng = *u;
}

int lpv_apply_params(lua_State *L, int idx, lundi_params *p, const char *owner) {
  idx = lua_absindex(L, idx);
  lua_pushnil(L);
  while (lua_next(L, idx)) {
    int rc;
    lundi_opt_value v;
    if (lua_type(L, -2) != LUA_TSTRING)
      rc = lundi_set_error(LUNDI_EINVAL, "%s: parameter names must be strings, got a %s key", owner,
                           lpv_typename(L, -2));
    else
      rc = lundi__params_set_value(p, owner, lua_tostring(L, -2),
                                   lundi_lua_to_opt_value(L, -1, &v) ? &v : NULL, lpv_typename(L, -1));
    lua_pop(L, 1);
    if (rc != 0) return lua_pop(L, 1), rc;
  }
  return 0;
}
