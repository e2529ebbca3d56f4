/* lundi.Tensor: the tensor userdata, its metamethods, inspection and autograd.
 *
 * Lua conventions of the whole `lundi` module:
 *  - Axes are 1-based like Lua; negative axes count from the end (-1 = last). Errors say so.
 *  - t:slice(axis, start, stop [, step]) is like string.sub: start and stop are 1-based and
 *    inclusive, negative ones count from the end; stop defaults to -1 (the last element).
 *  - Shapes are tables {2, 3}; creation functions also take them as integer varargs.
 *  - Every op is both a method (t:exp()) and a module function (lundi.exp(t)).
 *  - A C failure raises "<function>: <lundi message>"; a bad argument raises
 *    luaL_argerror's "bad argument #n to 'f' (...)".
 *
 * Memory: the Lua GC only sees the small userdata, not the tensor's storage. So besides
 * __close, every push counts the bytes it hands to Lua (lundi_gc_pressure, per lua_State, in
 * the registry) and runs a full collection when that says one is due. lundi.collect() forces one.
 * Autograd bindings are in lautograd.c. */
#include "lbind.h"
#include "lua_tensor.h"
#include "tensor/format.h"

static const char mem_key = 0; /* its address keys the counters (lundi_gc_pressure) in the registry */

static lundi_gc_pressure *pressure(lua_State *L) {
  lua_rawgetp(L, LUA_REGISTRYINDEX, &mem_key);
  lundi_gc_pressure *p = lua_touserdata(L, -1);
  lua_pop(L, 1);
  return p;
}

static void full_collect(lua_State *L, lundi_gc_pressure *p) {
  lua_gc(L, LUA_GCCOLLECT);
  lundi_gc_pressure_reset(p);
}

/* ---- the userdata ---- */

void lundi_lua_push_tensor(lua_State *L, lundi_tensor *t, const char *fn) {
  if (!t) lundi_lua_error(L, fn ? fn : "lundi");
  lundi_tensor **box = lua_newuserdatauv(L, sizeof *box, 0);
  *box = t;
  luaL_setmetatable(L, LUNDI_LUA_TENSOR);
  lundi_gc_pressure *p = pressure(L);
  if (p && lundi_gc_pressure_add(p, t)) full_collect(L, p); /* the new tensor is on the stack: it survives */
}

lundi_tensor *lundi_lua_check_tensor(lua_State *L, int idx) {
  lundi_tensor **box = luaL_testudata(L, idx, LUNDI_LUA_TENSOR);
  if (!box) luaL_typeerror(L, idx, "tensor");
  if (!*box) luaL_argerror(L, idx, "tensor was closed");
  return *box;
}

lundi_tensor *lundi_lua_opt_tensor(lua_State *L, int idx) {
  return lua_isnoneornil(L, idx) ? NULL : lundi_lua_check_tensor(L, idx);
}

static int t_close(lua_State *L) {
  lundi_tensor **box = luaL_checkudata(L, 1, LUNDI_LUA_TENSOR);
  lundi_release(*box);
  *box = NULL;
  return 0;
}

/* ---- printing (runtime/tensor/format.c) ---- */

static int t_tostring(lua_State *L) {
  lundi_tensor **box = luaL_checkudata(L, 1, LUNDI_LUA_TENSOR);
  char text[1024]; /* 20 values, the dtype, the device and the gradient flag fit */
  if (!*box) lua_pushliteral(L, "tensor(closed)");
  else lua_pushstring(L, lundi__format_tensor(*box, text, sizeof text));
  return 1;
}

/* ---- arithmetic: a tensor or a number on either side (the row's arith ops) ---- */

static int is_tensor(lua_State *L, int idx) { return luaL_testudata(L, idx, LUNDI_LUA_TENSOR) != NULL; }

static int arith(lua_State *L, const lundi_lua_op *op) {
  lundi_tensor *out;
  if (is_tensor(L, 1) && is_tensor(L, 2))
    out = op->arith.tt(lundi_lua_check_tensor(L, 1), lundi_lua_check_tensor(L, 2));
  else if (is_tensor(L, 1))
    out = op->arith.ts(lundi_lua_check_tensor(L, 1), (float)luaL_checknumber(L, 2));
  else if (is_tensor(L, 2) && lua_type(L, 1) == LUA_TNUMBER)
    out = op->arith.st(lundi_lua_check_tensor(L, 2), (float)lua_tonumber(L, 1));
  else
    return luaL_typeerror(L, 1, "tensor");
  return lundi_lua_return_tensor(L, out, op->name);
}

LB_OP(pow_, LB_T(a); LB_FLOAT(p); LB_RET_T(lundi_pow_scalar(a, p)))

static int t_len(lua_State *L) {
  lundi_tensor *t = lundi_lua_check_tensor(L, 1);
  if (lundi_ndim(t) == 0) return luaL_error(L, "len: a 0-dim tensor has no length");
  lua_pushinteger(L, (lua_Integer)lundi_dim(t, 0));
  return 1;
}

/* ---- inspection ---- */

static int t_shape(lua_State *L) {
  lundi_tensor *t = lundi_lua_check_tensor(L, 1);
  lundi_lua_push_shape(L, lundi_ndim(t), lundi_shape(t));
  return 1;
}

LB_FN(t_dim, LB_T(t); LB_AXIS(d, lundi_ndim(t)); LB_RET_INT(lundi_shape(t)[d]))
LB_FN(t_ndim, LB_T(t); LB_RET_INT(lundi_ndim(t)))
LB_FN(t_numel, LB_T(t); LB_RET_INT(lundi_numel(t)))
LB_FN(t_dtype, LB_T(t); LB_RET_STR(lundi_dtype_name(lundi_tensor_dtype(t))))
LB_FN(t_device, LB_T(t); LB_RET_STR(lundi_device_name(lundi_tensor_device(t))))
LB_FN(t_is_contiguous, LB_T(t); LB_RET_BOOL(lundi_is_contiguous(t)))

/* Values of i32 and u8 tensors come back as Lua integers. */
static void push_value(lua_State *L, float v, int integral) {
  if (integral) lua_pushinteger(L, (lua_Integer)v);
  else lua_pushnumber(L, (lua_Number)v);
}

static int t_item(lua_State *L) {
  lundi_tensor *t = lundi_lua_check_tensor(L, 1);
  float v;
  if (lundi_item(t, &v) != 0) return lundi_lua_error(L, "item");
  push_value(L, v, lundi_dtype_is_integral(lundi_tensor_dtype(t)));
  return 1;
}

static const float *push_nested(lua_State *L, const float *v, int d, int ndim, const int64_t *shape, int integral) {
  if (d == ndim) {
    push_value(L, *v, integral);
    return v + 1;
  }
  lua_createtable(L, (int)shape[d], 0);
  for (int64_t i = 0; i < shape[d]; i++) {
    v = push_nested(L, v, d + 1, ndim, shape, integral);
    lua_rawseti(L, -2, (lua_Integer)i + 1);
  }
  return v;
}

/* The values as nested tables (tolist) or, flat, as the list of a 1-dim view (totable); read
 * into a Lua-owned buffer, freed by the GC even if we raise. */
static int push_values(lua_State *L, int flat, const char *fn) {
  lundi_tensor *t = lundi_lua_check_tensor(L, 1);
  int64_t n = lundi_numel(t);
  float *v = lua_newuserdatauv(L, (size_t)(n ? n : 1) * sizeof *v, 0);
  if (lundi_read_f32(t, v, n) != 0) return lundi_lua_error(L, fn);
  int integral = lundi_dtype_is_integral(lundi_tensor_dtype(t));
  push_nested(L, v, 0, flat ? 1 : lundi_ndim(t), flat ? &n : lundi_shape(t), integral);
  return 1;
}

static int t_tolist(lua_State *L) { return push_values(L, 0, "tolist"); }
static int t_totable(lua_State *L) { return push_values(L, 1, "totable"); }

/* ---- memory and threads ---- */

static int m_collect(lua_State *L) {
  lundi_gc_pressure *p = pressure(L);
  if (p) full_collect(L, p);
  else lua_gc(L, LUA_GCCOLLECT);
  return 0;
}

LB_FN(m_live_tensors, LB_RET_INT(lundi_live_tensors()))
LB_FN(m_live_bytes, LB_RET_INT(lundi_live_storage_bytes()))
LB_FN(m_set_threads, LB_INT(n); LB_RET_OK(lundi_set_threads(n) < 0, "set_threads"))
LB_FN(m_get_threads, LB_RET_INT(lundi_get_threads()))

static const luaL_Reg meta[] = {
  {"__gc", t_close}, {"__close", t_close}, {"__tostring", t_tostring}, {"__len", t_len}, {NULL, NULL},
};

static const luaL_Reg methods[] = {
  {"shape", t_shape},   {"dim", t_dim},       {"ndim", t_ndim},         {"numel", t_numel},
  {"dtype", t_dtype},   {"device", t_device}, {"item", t_item},         {"tolist", t_tolist},
  {"totable", t_totable}, {"is_contiguous", t_is_contiguous}, {"close", t_close}, {NULL, NULL},
};

/* Both t:add(x) and lundi.add(t, x); the operators are the same functions. */
static const lundi_lua_op ops[] = {
  {"add", arith, .arith = {lundi_add, lundi_add_scalar, lundi_add_scalar}},
  {"sub", arith, .arith = {lundi_sub, lundi_sub_scalar, lundi_rsub_scalar}},
  {"mul", arith, .arith = {lundi_mul, lundi_mul_scalar, lundi_mul_scalar}},
  {"div", arith, .arith = {lundi_div, lundi_div_scalar, lundi_rdiv_scalar}},
  {"neg", lundi_lua_call_T, .t = lundi_neg},
  {"pow", .invoke = pow_},
  {0},
};
static const char *const operators[][2] = {{"__add", "add"}, {"__sub", "sub"}, {"__mul", "mul"},
                                           {"__div", "div"}, {"__unm", "neg"}, {"__pow", "pow"}};

static const luaL_Reg module_fns[] = {
  {"collect", m_collect},         {"live_tensors", m_live_tensors}, {"live_bytes", m_live_bytes},
  {"set_threads", m_set_threads}, {"get_threads", m_get_threads},   {NULL, NULL},
};

void lundi_lua_open_tensor(lua_State *L, int mod) {
  mod = lua_absindex(L, mod);
  lundi_gc_pressure_reset(lua_newuserdatauv(L, sizeof(lundi_gc_pressure), 0));
  lua_rawsetp(L, LUA_REGISTRYINDEX, &mem_key);

  lundi_lua_new_class(L, LUNDI_LUA_TENSOR, meta, methods);
  luaL_getmetatable(L, LUNDI_LUA_TENSOR);
  lua_getfield(L, -1, "__index");
  int mt = lua_gettop(L); /* the method table */
  lundi_lua_set_ops(L, mod, mt, ops);
  for (size_t i = 0; i < sizeof operators / sizeof operators[0]; i++) {
    lua_getfield(L, mt, operators[i][1]);
    lua_setfield(L, mt - 1, operators[i][0]);
  }
  lundi_lua_open_tensor_ops(L, mod, mt);
  lundi_lua_open_tensor_views(L, mod, mt);
  lundi_lua_open_tensor_nnf(L, mod, mt);
  lundi_lua_open_autograd(L, mod, mt);
  lua_pop(L, 2);

  lundi_lua_setfuncs_at(L, mod, module_fns);
  lundi_lua_open_tensor_new(L, mod);
  lundi_lua_open_rng(L, mod);
}
