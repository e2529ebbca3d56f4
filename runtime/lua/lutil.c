/* Argument helpers of the binding files: shapes, 1-based axes and dtypes (tensor and nn
 * bindings; argerrors naming the argument), and the options-table checks every binding uses. */
#include <string.h>

#include "lua_tensor.h"
#include "plugin/suggest.h"

void lundi_lua_setfuncs_at(lua_State *L, int idx, const luaL_Reg *fns) {
  idx = lua_absindex(L, idx);
  for (; fns->name; fns++) {
    lua_pushcfunction(L, fns->func);
    lua_setfield(L, idx, fns->name);
  }
}

/* Every row's closure: its upvalue is the row. */
static int invoke(lua_State *L) {
  const lundi_lua_op *op = lua_touserdata(L, lua_upvalueindex(1));
  return op->invoke(L, op);
}

void lundi_lua_set_ops(lua_State *L, int mod, int methods, const lundi_lua_op *ops) {
  for (; ops->name; ops++) {
    lua_pushlightuserdata(L, (void *)ops);
    lua_pushcclosure(L, invoke, 1);
    if (methods) {
      lua_pushvalue(L, -1);
      lua_setfield(L, methods, ops->name);
    }
    lua_setfield(L, mod, ops->name);
  }
}

void lundi_lua_alias(lua_State *L, int mod, int methods, const char *to, const char *from) {
  lua_getfield(L, mod, from);
  lua_setfield(L, mod, to);
  if (!methods) return;
  lua_getfield(L, methods, from);
  lua_setfield(L, methods, to);
}

int lundi_lua_return_tensor(lua_State *L, lundi_tensor *t, const char *fn) {
  lundi_lua_push_tensor(L, t, fn);
  return 1;
}

int lundi_lua_call_T(lua_State *L, const lundi_lua_op *op) {
  return lundi_lua_return_tensor(L, op->t(lundi_lua_check_tensor(L, 1)), op->name);
}

int lundi_lua_call_TT(lua_State *L, const lundi_lua_op *op) {
  lundi_tensor *a = lundi_lua_check_tensor(L, 1), *b = lundi_lua_check_tensor(L, 2);
  return lundi_lua_return_tensor(L, op->tt(a, b), op->name);
}

int lundi_lua_call_TS(lua_State *L, const lundi_lua_op *op) {
  lundi_tensor *x = lundi_lua_check_tensor(L, 1);
  int64_t shape[LUNDI_MAX_DIMS];
  int ndim = lundi_lua_check_shape(L, 2, 1, shape);
  return lundi_lua_return_tensor(L, op->shape(x, ndim, shape), op->name);
}

int lundi_lua_check_int(lua_State *L, int arg) {
  lua_Integer v = luaL_checkinteger(L, arg);
  luaL_argcheck(L, v >= -2147483647 && v <= 2147483647, arg, "integer out of range");
  return (int)v;
}

static int64_t shape_entry(lua_State *L, int arg, lua_Integer v) {
  if (v < -1) luaL_argerror(L, arg, lua_pushfstring(L, "shape entry %I is negative", (LUAI_UACINT)v));
  return (int64_t)v;
}

int lundi_lua_check_shape(lua_State *L, int arg, int varargs, int64_t shape[LUNDI_MAX_DIMS]) {
  if (lua_type(L, arg) == LUA_TTABLE) {
    lua_Integer n = luaL_len(L, arg);
    if (n > LUNDI_MAX_DIMS)
      luaL_argerror(L, arg, lua_pushfstring(L, "shape has %I dims, at most %d allowed", (LUAI_UACINT)n, LUNDI_MAX_DIMS));
    for (int i = 0; i < n; i++) {
      lua_geti(L, arg, i + 1);
      int ok;
      lua_Integer v = lua_tointegerx(L, -1, &ok);
      if (!ok)
        luaL_argerror(L, arg, lua_pushfstring(L, "shape entry %d: integer expected, got %s", i + 1, luaL_typename(L, -1)));
      shape[i] = shape_entry(L, arg, v);
      lua_pop(L, 1);
    }
    return (int)n;
  }
  if (!varargs) luaL_typeerror(L, arg, "table");
  int top = lua_gettop(L);
  if (top >= arg && !lua_isinteger(L, arg)) luaL_typeerror(L, arg, "table or integers");
  if (top - arg + 1 > LUNDI_MAX_DIMS)
    luaL_argerror(L, arg, lua_pushfstring(L, "shape has %d dims, at most %d allowed", top - arg + 1, LUNDI_MAX_DIMS));
  int n = 0;
  for (int i = arg; i <= top; i++) shape[n++] = shape_entry(L, i, luaL_checkinteger(L, i));
  return n;
}

void lundi_lua_push_shape(lua_State *L, int ndim, const int64_t *shape) {
  lua_createtable(L, ndim, 0);
  for (int i = 0; i < ndim; i++) {
    lua_pushinteger(L, (lua_Integer)shape[i]);
    lua_rawseti(L, -2, i + 1);
  }
}

int lundi_lua_axis(lua_State *L, int arg, lua_Integer a, int rank) {
  if (a >= 1 && a <= rank) return (int)(a - 1);
  if (a < 0 && -a <= rank) return (int)(rank + a);
  if (rank == 0)
    return luaL_argerror(L, arg, lua_pushfstring(L, "axis %I given for a 0-dim tensor", (LUAI_UACINT)a));
  return luaL_argerror(L, arg,
                       lua_pushfstring(L, "axis %I out of range for %d dims (axes are 1..%d, or -1..-%d from the end)",
                                       (LUAI_UACINT)a, rank, rank, rank));
}

int lundi_lua_check_axis(lua_State *L, int arg, int rank) {
  return lundi_lua_axis(L, arg, luaL_checkinteger(L, arg), rank);
}

int lundi_lua_opt_axis(lua_State *L, int arg, lua_Integer def, int rank) {
  return lundi_lua_axis(L, arg, luaL_optinteger(L, arg, def), rank);
}

int lundi_lua_check_axes(lua_State *L, int arg, int rank, int axes[LUNDI_MAX_DIMS]) {
  if (lua_isnoneornil(L, arg)) return 0;
  if (lua_isinteger(L, arg)) {
    axes[0] = lundi_lua_check_axis(L, arg, rank);
    return 1;
  }
  if (!lua_istable(L, arg)) luaL_typeerror(L, arg, "nil, integer or table of axes");
  lua_Integer n = luaL_len(L, arg);
  luaL_argcheck(L, n <= rank && n <= LUNDI_MAX_DIMS, arg, "more axes than the tensor has dims");
  for (int i = 0; i < n; i++) {
    lua_geti(L, arg, i + 1);
    int ok;
    lua_Integer a = lua_tointegerx(L, -1, &ok);
    if (!ok) luaL_argerror(L, arg, lua_pushfstring(L, "axis %d: integer expected, got %s", i + 1, luaL_typename(L, -1)));
    axes[i] = lundi_lua_axis(L, arg, a, rank);
    lua_pop(L, 1);
  }
  return (int)n;
}

static const char *const dtype_names[] = {"f32", "f16", "bf16", "i32", "u8", NULL};
static const lundi_dtype dtype_values[] = {LUNDI_F32, LUNDI_F16, LUNDI_BF16, LUNDI_I32, LUNDI_U8};

lundi_dtype lundi_lua_check_dtype(lua_State *L, int arg) {
  return dtype_values[luaL_checkoption(L, arg, NULL, dtype_names)];
}

/* ---- options tables ---- */

/* Raises msg as fn's error ("fn: msg"), or with fn NULL as luaL_argerror on arg does
 * ("bad argument #arg to 'name' (msg)"), with tail (a "did you mean") after either. */
static int opt_raise(lua_State *L, int arg, const char *fn, const char *msg, const char *tail) {
  if (fn) return luaL_error(L, "%s: %s%s", fn, msg, tail);
  if (!*tail) return luaL_argerror(L, arg, msg);
  lua_Debug ar;
  const char *name = "?";
  if (lua_getstack(L, 0, &ar) && lua_getinfo(L, "n", &ar)) {
    if (ar.namewhat && strcmp(ar.namewhat, "method") == 0) arg--; /* as luaL_argerror counts */
    if (ar.name) name = ar.name;
  }
  return luaL_error(L, "bad argument #%d to '%s' (%s)%s", arg, name, msg, tail);
}

/* Raises head, the names joined by ", " and tail, then "; did you mean '<name>'?" when one of
 * the names is close to key (which may be NULL). */
static int raise_listing(lua_State *L, int arg, const char *fn, const char *head, const char *const *names, int n,
                         const char *tail, const char *key) {
  luaL_Buffer b;
  luaL_buffinit(L, &b);
  luaL_addstring(&b, head);
  for (int i = 0; i < n; i++) {
    if (i) luaL_addstring(&b, ", ");
    luaL_addstring(&b, names[i]);
  }
  luaL_addstring(&b, tail);
  luaL_pushresult(&b);
  const char *msg = lua_tostring(L, -1);
  const char *near = key ? lundi__suggest(key, names, n) : NULL;
  return opt_raise(L, arg, fn, msg, near ? lua_pushfstring(L, "; did you mean '%s'?", near) : "");
}

int lundi_lua_check_keys(lua_State *L, int arg, const char *fn, const char *noun, const char *const *keys) {
  if (lua_isnoneornil(L, arg)) return 0;
  arg = lua_absindex(L, arg);
  if (!lua_istable(L, arg)) {
    if (fn) return luaL_error(L, "%s: the %ss must be a table, got %s", fn, noun, luaL_typename(L, arg));
    luaL_typeerror(L, arg, lua_pushfstring(L, "%ss table", noun));
  }
  lua_pushnil(L);
  while (lua_next(L, arg)) {
    lua_pop(L, 1);
    const char *k = lua_type(L, -1) == LUA_TSTRING ? lua_tostring(L, -1) : NULL;
    int known = 0, n = 0;
    for (; keys[n]; n++) known |= k && !strcmp(k, keys[n]);
    if (known) continue;
    const char *shown = k ? k : luaL_tolstring(L, -1, NULL); /* stays on the stack */
    const char *head = lua_pushfstring(L, "unknown %s '%s' (valid: ", noun, shown);
    return raise_listing(L, arg, fn, head, keys, n, ")", k);
  }
  return 1;
}

int lundi_lua_check_options(lua_State *L, int arg, const char *fn, const char *const *keys) {
  return lundi_lua_check_keys(L, arg, fn, "option", keys);
}

int lundi_lua_get_field(lua_State *L, int arg, const char *key) {
  if (!lua_istable(L, arg)) {
    lua_pushnil(L);
    return LUA_TNIL;
  }
  return lua_getfield(L, arg, key);
}

int lundi_lua_field_error(lua_State *L, int arg, const char *fn, const char *key, const char *expected) {
  const char *got = lua_type(L, -1) == LUA_TNUMBER && !lua_isinteger(L, -1) && strstr(expected, "integer")
                        ? "a fraction" : luaL_typename(L, -1);
  return opt_raise(L, arg, fn, lua_pushfstring(L, "option '%s' must be %s (got %s)", key, expected, got), "");
}

lua_Integer lundi_lua_opt_int_field(lua_State *L, int arg, const char *fn, const char *key, lua_Integer def,
                                    lua_Integer lo, lua_Integer hi) {
  if (lundi_lua_get_field(L, arg, key) != LUA_TNIL) {
    int ok;
    def = lua_tointegerx(L, -1, &ok);
    if (!ok || lua_type(L, -1) != LUA_TNUMBER) lundi_lua_field_error(L, arg, fn, key, "an integer");
    if (def < lo || def > hi)
      opt_raise(L, arg, fn, lua_pushfstring(L, "option '%s' = %I is outside %I..%I", key, (LUAI_UACINT)def,
                                            (LUAI_UACINT)lo, (LUAI_UACINT)hi), "");
  }
  lua_pop(L, 1);
  return def;
}

lua_Number lundi_lua_opt_num_field(lua_State *L, int arg, const char *fn, const char *key, lua_Number def) {
  if (lundi_lua_get_field(L, arg, key) != LUA_TNIL) {
    if (lua_type(L, -1) != LUA_TNUMBER) lundi_lua_field_error(L, arg, fn, key, "a number");
    def = lua_tonumber(L, -1);
  }
  lua_pop(L, 1);
  return def;
}

int lundi_lua_opt_bool_field(lua_State *L, int arg, const char *fn, const char *key, int def) {
  if (lundi_lua_get_field(L, arg, key) != LUA_TNIL) {
    if (!lua_isboolean(L, -1)) lundi_lua_field_error(L, arg, fn, key, "true or false");
    def = lua_toboolean(L, -1);
  }
  lua_pop(L, 1);
  return def;
}

const char *lundi_lua_opt_string_field(lua_State *L, int arg, const char *fn, const char *key, const char *def) {
  if (lundi_lua_get_field(L, arg, key) != LUA_TNIL) {
    if (lua_type(L, -1) != LUA_TSTRING) lundi_lua_field_error(L, arg, fn, key, "a string");
    def = lua_tostring(L, -1); /* stays valid: the options table holds the string */
  }
  lua_pop(L, 1);
  return def;
}

int lundi_lua_opt_choice_field(lua_State *L, int arg, const char *fn, const char *key, int def,
                               const char *const *choices) {
  const char *s = lundi_lua_opt_string_field(L, arg, fn, key, NULL);
  if (!s) return def;
  int n = 0;
  for (; choices[n]; n++)
    if (!strcmp(s, choices[n])) return n;
  const char *head = lua_pushfstring(L, "option '%s' must be one of ", key);
  return raise_listing(L, arg, fn, head, choices, n, lua_pushfstring(L, " (got '%s')", s), s);
}

lundi_tensor *lundi_lua_opt_tensor_field(lua_State *L, int arg, const char *fn, const char *key) {
  lundi_tensor *t = NULL;
  if (lundi_lua_get_field(L, arg, key) != LUA_TNIL) {
    lundi_tensor **u = luaL_testudata(L, -1, LUNDI_LUA_TENSOR);
    if (!u || !*u) lundi_lua_field_error(L, arg, fn, key, "a tensor");
    t = *u; /* borrowed: the options table holds the userdata */
  }
  lua_pop(L, 1);
  return t;
}
