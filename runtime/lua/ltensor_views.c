/* Views and conversions (reshape/view, permute, transpose, slice, expand, squeeze,
 * unsqueeze, contiguous, clone, detach, to), in-place fills and concat/split.
 * Axes are 1-based, negative from the end; slice bounds are 1-based and inclusive. */
#include <stdlib.h>
#include <string.h>

#include "lua_tensor.h"

/* reshape(x, shape) with a table or integer varargs; one entry may be -1. */
static int v_reshape(lua_State *L) {
  lundi_tensor *x = lundi_lua_check_tensor(L, 1);
  int64_t shape[LUNDI_MAX_DIMS];
  int ndim = lundi_lua_check_shape(L, 2, 1, shape);
  lundi_lua_push_tensor(L, lundi_reshape(x, ndim, shape), "reshape");
  return 1;
}

static int v_expand(lua_State *L) {
  lundi_tensor *x = lundi_lua_check_tensor(L, 1);
  int64_t shape[LUNDI_MAX_DIMS];
  int ndim = lundi_lua_check_shape(L, 2, 1, shape);
  lundi_lua_push_tensor(L, lundi_expand(x, ndim, shape), "expand");
  return 1;
}

/* permute(x, {axes}) or permute(x, a1, a2, ...): a permutation of the (1-based) axes. */
static int v_permute(lua_State *L) {
  lundi_tensor *x = lundi_lua_check_tensor(L, 1);
  int nd = lundi_ndim(x), perm[LUNDI_MAX_DIMS];
  if (lua_istable(L, 2)) {
    luaL_argcheck(L, luaL_len(L, 2) == nd, 2, lua_pushfstring(L, "permutation must list %d axes", nd));
    for (int i = 0; i < nd; i++) {
      lua_geti(L, 2, i + 1);
      if (!lua_isinteger(L, -1)) luaL_argerror(L, 2, lua_pushfstring(L, "entry %d: integer expected, got %s", i + 1, luaL_typename(L, -1)));
      perm[i] = lundi_lua_axis(L, 2, lua_tointeger(L, -1), nd);
      lua_pop(L, 1);
    }
  } else {
    luaL_argcheck(L, lua_gettop(L) - 1 == nd, 2, lua_pushfstring(L, "permutation must list %d axes", nd));
    for (int i = 0; i < nd; i++) perm[i] = lundi_lua_check_axis(L, i + 2, nd);
  }
  lundi_lua_push_tensor(L, lundi_permute(x, perm), "permute");
  return 1;
}

static int v_transpose(lua_State *L) {
  lundi_tensor *x = lundi_lua_check_tensor(L, 1);
  int nd = lundi_ndim(x);
  int a = lundi_lua_opt_axis(L, 2, -2, nd), b = lundi_lua_opt_axis(L, 3, -1, nd);
  lundi_lua_push_tensor(L, lundi_transpose(x, a, b), "transpose");
  return 1;
}

/* slice(x, axis, start [, stop=-1 [, step=1]]): like string.sub, 1-based inclusive bounds,
 * negatives from the end, 0 as start means 1. */
static int v_slice(lua_State *L) {
  lundi_tensor *x = lundi_lua_check_tensor(L, 1);
  int d = lundi_lua_check_axis(L, 2, lundi_ndim(x));
  int64_t n = lundi_shape(x)[d];
  lua_Integer s = luaL_checkinteger(L, 3), e = luaL_optinteger(L, 4, -1), step = luaL_optinteger(L, 5, 1);
  luaL_argcheck(L, step > 0, 5, "step must be positive");
  int64_t start = s > 0 ? s - 1 : s < 0 ? n + s : 0;
  int64_t end = e >= 0 ? e : n + e + 1;
  if (start < 0) start = 0;
  if (end < start) end = start;
  lundi_lua_push_tensor(L, lundi_slice(x, d, start, end, step), "slice");
  return 1;
}

static int v_unsqueeze(lua_State *L) {
  lundi_tensor *x = lundi_lua_check_tensor(L, 1);
  int d = lundi_lua_check_axis(L, 2, lundi_ndim(x) + 1);
  lundi_lua_push_tensor(L, lundi_unsqueeze(x, d), "unsqueeze");
  return 1;
}

/* squeeze(x, axis), or squeeze(x) for every size-1 axis. */
static int v_squeeze(lua_State *L) {
  lundi_tensor *x = lundi_lua_check_tensor(L, 1);
  if (!lua_isnoneornil(L, 2)) {
    lundi_lua_push_tensor(L, lundi_squeeze(x, lundi_lua_check_axis(L, 2, lundi_ndim(x))), "squeeze");
    return 1;
  }
  int64_t shape[LUNDI_MAX_DIMS];
  int nd = 0;
  for (int i = 0; i < lundi_ndim(x); i++)
    if (lundi_shape(x)[i] != 1) shape[nd++] = lundi_shape(x)[i];
  lundi_lua_push_tensor(L, lundi_reshape(x, nd, shape), "squeeze");
  return 1;
}

static int v_contiguous(lua_State *L) {
  lundi_lua_push_tensor(L, lundi_contiguous(lundi_lua_check_tensor(L, 1)), "contiguous");
  return 1;
}

static int v_clone(lua_State *L) {
  lundi_lua_push_tensor(L, lundi_clone(lundi_lua_check_tensor(L, 1)), "clone");
  return 1;
}

static int v_detach(lua_State *L) {
  lundi_lua_push_tensor(L, lundi_detach(lundi_lua_check_tensor(L, 1)), "detach");
  return 1;
}

/* to(x, dtype) with "f32", "f16", "bf16", "i32", "u8"; or to(x, device) with "cpu",
 * "vulkan" (the best Vulkan device), "vulkan:N" or "auto". */
static int v_to(lua_State *L) {
  lundi_tensor *x = lundi_lua_check_tensor(L, 1);
  const char *s = luaL_checkstring(L, 2);
  if (lundi_lua_is_dtype_name(s)) {
    lundi_lua_push_tensor(L, lundi_to_dtype(x, lundi_lua_check_dtype(L, 2)), "to");
    return 1;
  }
  if (strcmp(s, "cpu") && strcmp(s, "auto") && strncmp(s, "vulkan", 6))
    return luaL_argerror(L, 2, lua_pushfstring(L, "unknown dtype or device '%s' (dtypes: f32, f16, bf16, i32, u8; "
                                                  "devices: cpu, vulkan, vulkan:N, auto)", s));
  lundi_device *dev = lundi_lua_check_device(L, 2);
  lundi_lua_push_tensor(L, lundi_to_device(x, dev), "to");
  return 1;
}

/* In-place (outside autograd); each returns x. */
static int v_copy_(lua_State *L) {
  lundi_tensor *x = lundi_lua_check_tensor(L, 1), *src = lundi_lua_check_tensor(L, 2);
  if (lundi_copy_(x, src) != 0) return lundi_lua_error(L, "copy_");
  lua_settop(L, 1);
  return 1;
}

static int v_fill_(lua_State *L) {
  lundi_tensor *x = lundi_lua_check_tensor(L, 1);
  if (lundi_fill_(x, (float)luaL_checknumber(L, 2)) != 0) return lundi_lua_error(L, "fill_");
  lua_settop(L, 1);
  return 1;
}

static int v_uniform_(lua_State *L) {
  lundi_tensor *x = lundi_lua_check_tensor(L, 1);
  lundi_rng *r = lundi_lua_check_rng(L, 2);
  float lo = (float)luaL_optnumber(L, 3, 0), hi = (float)luaL_optnumber(L, 4, 1);
  if (lundi_uniform_(x, r, lo, hi) != 0) return lundi_lua_error(L, "uniform_");
  lua_settop(L, 1);
  return 1;
}

static int v_normal_(lua_State *L) {
  lundi_tensor *x = lundi_lua_check_tensor(L, 1);
  lundi_rng *r = lundi_lua_check_rng(L, 2);
  float mean = (float)luaL_optnumber(L, 3, 0), std = (float)luaL_optnumber(L, 4, 1);
  if (lundi_normal_(x, r, mean, std) != 0) return lundi_lua_error(L, "normal_");
  lua_settop(L, 1);
  return 1;
}

/* concat({a, b, ...} [, axis=1]). */
static int v_concat(lua_State *L) {
  luaL_checktype(L, 1, LUA_TTABLE);
  lua_Integer n = luaL_len(L, 1);
  luaL_argcheck(L, n >= 1, 1, "at least one tensor expected");
  lua_settop(L, 2); /* the scratch array goes above the axis argument */
  lundi_tensor **ts = lua_newuserdatauv(L, sizeof *ts * (size_t)n, 0);
  for (lua_Integer i = 0; i < n; i++) {
    lua_geti(L, 1, i + 1);
    lundi_tensor **box = luaL_testudata(L, -1, LUNDI_LUA_TENSOR);
    if (!box || !*box)
      luaL_argerror(L, 1, lua_pushfstring(L, "entry %I: %s", (LUAI_UACINT)(i + 1), box ? "tensor was closed" : lua_pushfstring(L, "tensor expected, got %s", luaL_typename(L, -1))));
    ts[i] = *box;
    lua_pop(L, 1); /* still referenced by the table */
  }
  int axis = lundi_lua_opt_axis(L, 2, 1, lundi_ndim(ts[0]));
  lundi_lua_push_tensor(L, lundi_concat((int)n, ts, axis), "concat");
  return 1;
}

/* split(x, axis, sizes): sizes a table of piece lengths, or an integer count of equal
 * pieces. Returns the pieces as an array. */
static int v_split(lua_State *L) {
  lundi_tensor *x = lundi_lua_check_tensor(L, 1);
  int d = lundi_lua_check_axis(L, 2, lundi_ndim(x));
  int64_t len = lundi_shape(x)[d];
  lua_Integer n;
  if (lua_isinteger(L, 3)) {
    n = lua_tointeger(L, 3);
    luaL_argcheck(L, n >= 1 && len % n == 0, 3, lua_pushfstring(L, "%I pieces do not divide length %I", (LUAI_UACINT)n, (LUAI_UACINT)len));
  } else {
    luaL_checktype(L, 3, LUA_TTABLE);
    n = luaL_len(L, 3);
    luaL_argcheck(L, n >= 1, 3, "at least one size expected");
  }
  int64_t *sizes = lua_newuserdatauv(L, sizeof *sizes * (size_t)n, 0);
  lundi_tensor **out = lua_newuserdatauv(L, sizeof *out * (size_t)n, 0);
  for (lua_Integer i = 0; i < n; i++) {
    if (lua_isinteger(L, 3)) {
      sizes[i] = len / n;
      continue;
    }
    lua_geti(L, 3, i + 1);
    if (!lua_isinteger(L, -1)) luaL_argerror(L, 3, lua_pushfstring(L, "size %I: integer expected, got %s", (LUAI_UACINT)(i + 1), luaL_typename(L, -1)));
    sizes[i] = lua_tointeger(L, -1);
    lua_pop(L, 1);
  }
  if (lundi_split(x, d, (int)n, sizes, out) != 0) return lundi_lua_error(L, "split");
  lua_createtable(L, (int)n, 0);
  for (lua_Integer i = 0; i < n; i++) {
    lundi_lua_push_tensor(L, out[i], "split");
    lua_rawseti(L, -2, i + 1);
  }
  return 1;
}

void lundi_lua_open_tensor_views(lua_State *L, int mod, int methods) {
  static const luaL_Reg fns[] = {
    {"reshape", v_reshape},     {"view", v_reshape},       {"expand", v_expand},   {"permute", v_permute},
    {"transpose", v_transpose}, {"slice", v_slice},        {"unsqueeze", v_unsqueeze}, {"squeeze", v_squeeze},
    {"contiguous", v_contiguous}, {"clone", v_clone},      {"detach", v_detach},   {"to", v_to},
    {"copy_", v_copy_},         {"fill_", v_fill_},        {"uniform_", v_uniform_}, {"normal_", v_normal_},
    {"split", v_split},         {NULL, NULL},
  };
  lundi_lua_setfuncs_at(L, mod, fns);
  lundi_lua_setfuncs_at(L, methods, fns);
  lua_pushcfunction(L, v_concat);
  lua_setfield(L, mod, "concat");
}
