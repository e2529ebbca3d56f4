/* Views and conversions (reshape/view, permute, transpose, slice, expand, squeeze,
 * unsqueeze, contiguous, clone, detach, to), in-place fills and concat/split.
 * Axes are 1-based, negative from the end; slice bounds are 1-based and inclusive. */
#include "lbind.h"
#include "lua_tensor.h"
#include "lundi/device.h"

/* permute(x, {axes}) or permute(x, a1, a2, ...): a permutation of the (1-based) axes. */
static int permute(lua_State *L, const lundi_lua_op *op) {
  lundi_tensor *x = lundi_lua_check_tensor(L, 1);
  int nd = lundi_ndim(x), table = lua_istable(L, 2), perm[LUNDI_MAX_DIMS];
  lua_Integer listed = table ? luaL_len(L, 2) : lua_gettop(L) - 1;
  luaL_argcheck(L, listed == nd, 2, lua_pushfstring(L, "permutation must list %d axes", nd));
  for (int i = 0; i < nd; i++) {
    if (!table) {
      perm[i] = lundi_lua_check_axis(L, i + 2, nd);
      continue;
    }
    lua_geti(L, 2, i + 1);
    if (!lua_isinteger(L, -1))
      luaL_argerror(L, 2, lua_pushfstring(L, "entry %d: integer expected, got %s", i + 1, luaL_typename(L, -1)));
    perm[i] = lundi_lua_axis(L, 2, lua_tointeger(L, -1), nd);
    lua_pop(L, 1);
  }
  return lundi_lua_return_tensor(L, lundi_permute(x, perm), op->name);
}

LB_OP(transpose, LB_T(x); LB_AXIS_OPT(a, -2, lundi_ndim(x)); LB_AXIS_OPT(b, -1, lundi_ndim(x));
      LB_RET_T(lundi_transpose(x, a, b)))

/* slice(x, axis, start [, stop=-1 [, step=1]]): like string.sub, 1-based inclusive bounds,
 * negatives from the end, 0 as start means 1. */
static int slice(lua_State *L, const lundi_lua_op *op) {
  lundi_tensor *x = lundi_lua_check_tensor(L, 1);
  int d = lundi_lua_check_axis(L, 2, lundi_ndim(x));
  int64_t n = lundi_shape(x)[d];
  lua_Integer s = luaL_checkinteger(L, 3), e = luaL_optinteger(L, 4, -1), step = luaL_optinteger(L, 5, 1);
  luaL_argcheck(L, step > 0, 5, "step must be positive");
  int64_t start = s > 0 ? s - 1 : s < 0 ? n + s : 0;
  int64_t end = e >= 0 ? e : n + e + 1;
  if (start < 0) start = 0;
  if (end < start) end = start;
  return lundi_lua_return_tensor(L, lundi_slice(x, d, start, end, step), op->name);
}

LB_OP(unsqueeze, LB_T(x); LB_AXIS(d, lundi_ndim(x) + 1); LB_RET_T(lundi_unsqueeze(x, d)))

/* squeeze(x, axis), or squeeze(x) for every size-1 axis. */
LB_OP(squeeze, LB_T(x);
      LB_RET_T(lua_isnoneornil(L, 2) ? lundi_squeeze_all(x) : lundi_squeeze(x, lundi_lua_check_axis(L, 2, lundi_ndim(x)))))

/* to(x, dtype) with "f32", "f16", "bf16", "i32", "u8"; or to(x, device) with a name the
 * device registry parses: "cpu", "vulkan" (the best Vulkan device), "vulkan:N" or "auto". */
static int to(lua_State *L, const lundi_lua_op *op) {
  lundi_tensor *x = lundi_lua_check_tensor(L, 1);
  const char *s = luaL_checkstring(L, 2);
  lundi_dtype dt;
  lundi_device_spec dev;
  if (lundi_dtype_from_name(s, &dt) == 0) return lundi_lua_return_tensor(L, lundi_to_dtype(x, dt), op->name);
  if (lundi_device_parse(s, &dev) != 0 && dev.backend < 0) /* not even the backend part is known */
    return luaL_argerror(L, 2, lua_pushfstring(L, "unknown dtype or device '%s' (dtypes: f32, f16, bf16, i32, u8; "
                                                  "devices: cpu, vulkan, vulkan:N, auto)", s));
  lundi_clear_error();
  return lundi_lua_return_tensor(L, lundi_to_device(x, lundi_lua_check_device(L, 2)), op->name);
}

/* In-place (outside autograd); each returns x. uniform_(x, rng [, lo=0 [, hi=1]]),
 * normal_(x, rng [, mean=0 [, std=1]]). */
LB_OP(copy_, LB_T(x); LB_T(src); LB_RET_SELF(lundi_copy_(x, src), op->name))
LB_OP(fill_, LB_T(x); LB_FLOAT(v); LB_RET_SELF(lundi_fill_(x, v), op->name))
LB_OP(init, LB_T(x); LB_RNG(r); LB_FLOAT_OPT(a, 0); LB_FLOAT_OPT(b, 1);
      LB_RET_SELF(op->init(x, r, a, b), op->name))

/* concat({a, b, ...} [, axis=1]). */
static int concat(lua_State *L, const lundi_lua_op *op) {
  luaL_checktype(L, 1, LUA_TTABLE);
  lua_Integer n = luaL_len(L, 1);
  luaL_argcheck(L, n >= 1, 1, "at least one tensor expected");
  lua_settop(L, 2); /* the scratch array goes above the axis argument */
  lundi_tensor **ts = lua_newuserdatauv(L, sizeof *ts * (size_t)n, 0);
  for (lua_Integer i = 0; i < n; i++) {
    lua_geti(L, 1, i + 1);
    lundi_tensor **box = luaL_testudata(L, -1, LUNDI_LUA_TENSOR);
    if (!box || !*box) {
      const char *why = box ? "tensor was closed" : lua_pushfstring(L, "tensor expected, got %s", luaL_typename(L, -1));
      luaL_argerror(L, 1, lua_pushfstring(L, "entry %I: %s", (LUAI_UACINT)(i + 1), why));
    }
    ts[i] = *box;
    lua_pop(L, 1); /* still referenced by the table */
  }
  int axis = lundi_lua_opt_axis(L, 2, 1, lundi_ndim(ts[0]));
  return lundi_lua_return_tensor(L, lundi_concat((int)n, ts, axis), op->name);
}

/* split(x, axis, sizes): sizes a table of piece lengths, or an integer count of equal
 * pieces. Returns the pieces as an array. */
static int split(lua_State *L, const lundi_lua_op *op) {
  lundi_tensor *x = lundi_lua_check_tensor(L, 1);
  int d = lundi_lua_check_axis(L, 2, lundi_ndim(x));
  int64_t len = lundi_shape(x)[d];
  int equal = lua_isinteger(L, 3);
  lua_Integer n;
  if (equal) {
    n = lua_tointeger(L, 3);
    luaL_argcheck(L, n >= 1 && len % n == 0, 3,
                  lua_pushfstring(L, "%I pieces do not divide length %I", (LUAI_UACINT)n, (LUAI_UACINT)len));
  } else {
    luaL_checktype(L, 3, LUA_TTABLE);
    n = luaL_len(L, 3);
    luaL_argcheck(L, n >= 1, 3, "at least one size expected");
  }
  int64_t *sizes = lua_newuserdatauv(L, sizeof *sizes * (size_t)n, 0);
  lundi_tensor **out = lua_newuserdatauv(L, sizeof *out * (size_t)n, 0);
  for (lua_Integer i = 0; i < n; i++) {
    if (equal) {
      sizes[i] = len / n;
      continue;
    }
    lua_geti(L, 3, i + 1);
    if (!lua_isinteger(L, -1))
      luaL_argerror(L, 3, lua_pushfstring(L, "size %I: integer expected, got %s", (LUAI_UACINT)(i + 1),
                                          luaL_typename(L, -1)));
    sizes[i] = lua_tointeger(L, -1);
    lua_pop(L, 1);
  }
  if (lundi_split(x, d, (int)n, sizes, out) != 0) return lundi_lua_error(L, op->name);
  lua_createtable(L, (int)n, 0);
  for (lua_Integer i = 0; i < n; i++) {
    lundi_lua_push_tensor(L, out[i], op->name);
    lua_rawseti(L, -2, i + 1);
  }
  return 1;
}

static const lundi_lua_op ops[] = {
  {"reshape", lundi_lua_call_TS, .shape = lundi_reshape},
  {"expand", lundi_lua_call_TS, .shape = lundi_expand},
  {"contiguous", lundi_lua_call_T, .t = lundi_contiguous},
  {"clone", lundi_lua_call_T, .t = lundi_clone},
  {"detach", lundi_lua_call_T, .t = lundi_detach},
  {"uniform_", init, .init = lundi_uniform_},
  {"normal_", init, .init = lundi_normal_},
  {"permute", .invoke = permute},
  {"transpose", .invoke = transpose},
  {"slice", .invoke = slice},
  {"unsqueeze", .invoke = unsqueeze},
  {"squeeze", .invoke = squeeze},
  {"to", .invoke = to},
  {"copy_", .invoke = copy_},
  {"fill_", .invoke = fill_},
  {"split", .invoke = split},
  {0},
};

static const lundi_lua_op module_only[] = {{"concat", .invoke = concat}, {0}};

void lundi_lua_open_tensor_views(lua_State *L, int mod, int methods) {
  lundi_lua_set_ops(L, mod, methods, ops);
  lundi_lua_alias(L, mod, methods, "view", "reshape"); /* errors still say "reshape: " */
  lundi_lua_set_ops(L, mod, 0, module_only);
}
