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
 * __close, every push counts the bytes it hands to Lua; once the bytes pushed since the last
 * full collection exceed max(64 MiB, the live bytes right after that collection), the push
 * runs a full collection (counters per lua_State, in the registry). lundi.collect() forces one.
 * Autograd bindings are in lautograd.c. */
#include "lua_tensor.h"
#include "tensor/format.h"

#define PRESSURE_FLOOR ((int64_t)64 << 20)

static const char mem_key = 0; /* its address keys the counters in the registry */

typedef struct mem_counters {
  int64_t pushed;          /* bytes pushed since the last full collection */
  int64_t live_at_collect; /* lundi_live_storage_bytes() right after it */
} mem_counters;

static mem_counters *counters(lua_State *L) {
  lua_rawgetp(L, LUA_REGISTRYINDEX, &mem_key);
  mem_counters *c = lua_touserdata(L, -1);
  lua_pop(L, 1);
  return c;
}

static void full_collect(lua_State *L, mem_counters *c) {
  lua_gc(L, LUA_GCCOLLECT);
  c->pushed = 0;
  c->live_at_collect = lundi_live_storage_bytes();
}

/* ---- the userdata ---- */

void lundi_lua_push_tensor(lua_State *L, lundi_tensor *t, const char *fn) {
  if (!t) lundi_lua_error(L, fn ? fn : "lundi");
  lundi_tensor **box = lua_newuserdatauv(L, sizeof *box, 0);
  *box = t;
  luaL_setmetatable(L, LUNDI_LUA_TENSOR);
  mem_counters *c = counters(L);
  if (!c) return;
  c->pushed += lundi_numel(t) * (int64_t)lundi_dtype_size(lundi_tensor_dtype(t));
  int64_t limit = c->live_at_collect > PRESSURE_FLOOR ? c->live_at_collect : PRESSURE_FLOOR;
  if (c->pushed > limit) full_collect(L, c); /* the new tensor is on the stack: it survives */
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

/* ---- arithmetic: tensor or number on either side; each row's tt is its tensor-tensor op ---- */

static int is_tensor(lua_State *L, int idx) { return luaL_testudata(L, idx, LUNDI_LUA_TENSOR) != NULL; }

static lundi_tensor *tensor_scalar(const lundi_lua_op *op, lundi_tensor *a, float s) {
  if (op->tt == lundi_add) return lundi_add_scalar(a, s);
  if (op->tt == lundi_sub) return lundi_add_scalar(a, -s);
  if (op->tt == lundi_mul) return lundi_mul_scalar(a, s);
  return lundi_mul_scalar(a, 1.0f / s);
}

static lundi_tensor *scalar_tensor(const lundi_lua_op *op, float s, lundi_tensor *b) {
  if (op->tt == lundi_add) return lundi_add_scalar(b, s);
  if (op->tt == lundi_sub) return lundi_rsub_scalar(b, s);
  if (op->tt == lundi_mul) return lundi_mul_scalar(b, s);
  lundi_tensor *inv = lundi_pow_scalar(b, -1.0f);
  lundi_tensor *out = inv ? lundi_mul_scalar(inv, s) : NULL;
  lundi_release(inv);
  return out;
}

static int arith(lua_State *L, const lundi_lua_op *op) {
  lundi_tensor *out;
  if (is_tensor(L, 1) && is_tensor(L, 2)) {
    out = op->tt(lundi_lua_check_tensor(L, 1), lundi_lua_check_tensor(L, 2));
  } else if (is_tensor(L, 1)) {
    lundi_tensor *a = lundi_lua_check_tensor(L, 1);
    out = tensor_scalar(op, a, (float)luaL_checknumber(L, 2));
  } else if (is_tensor(L, 2) && lua_type(L, 1) == LUA_TNUMBER) {
    lundi_tensor *b = lundi_lua_check_tensor(L, 2);
    out = scalar_tensor(op, (float)lua_tonumber(L, 1), b);
  } else {
    return luaL_typeerror(L, 1, "tensor");
  }
  return lundi_lua_return_tensor(L, out, op->name);
}

static int pow_(lua_State *L, const lundi_lua_op *op) {
  lundi_tensor *a = lundi_lua_check_tensor(L, 1);
  return lundi_lua_return_tensor(L, lundi_pow_scalar(a, (float)luaL_checknumber(L, 2)), op->name);
}

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

static int t_dim(lua_State *L) {
  lundi_tensor *t = lundi_lua_check_tensor(L, 1);
  lua_pushinteger(L, (lua_Integer)lundi_shape(t)[lundi_lua_check_axis(L, 2, lundi_ndim(t))]);
  return 1;
}

static int t_ndim(lua_State *L) {
  lua_pushinteger(L, lundi_ndim(lundi_lua_check_tensor(L, 1)));
  return 1;
}

static int t_numel(lua_State *L) {
  lua_pushinteger(L, (lua_Integer)lundi_numel(lundi_lua_check_tensor(L, 1)));
  return 1;
}

static int t_dtype(lua_State *L) {
  lua_pushstring(L, lundi_dtype_name(lundi_tensor_dtype(lundi_lua_check_tensor(L, 1))));
  return 1;
}

static int t_device(lua_State *L) {
  lua_pushstring(L, lundi_device_name(lundi_tensor_device(lundi_lua_check_tensor(L, 1))));
  return 1;
}

static int is_integral(lundi_tensor *t) {
  lundi_dtype dt = lundi_tensor_dtype(t);
  return dt == LUNDI_I32 || dt == LUNDI_U8;
}

static void push_value(lua_State *L, float v, int integral) {
  if (integral) lua_pushinteger(L, (lua_Integer)v);
  else lua_pushnumber(L, (lua_Number)v);
}

static int t_item(lua_State *L) {
  lundi_tensor *t = lundi_lua_check_tensor(L, 1);
  float v;
  if (lundi_item(t, &v) != 0) return lundi_lua_error(L, "item");
  push_value(L, v, is_integral(t));
  return 1;
}

/* Reads the values into a Lua-owned buffer (freed by the GC even if we raise). */
static float *read_values(lua_State *L, lundi_tensor *t, const char *fn) {
  int64_t n = lundi_numel(t);
  float *v = lua_newuserdatauv(L, (size_t)(n ? n : 1) * sizeof *v, 0);
  if (lundi_read_f32(t, v, n) != 0) lundi_lua_error(L, fn);
  return v;
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

static int t_tolist(lua_State *L) {
  lundi_tensor *t = lundi_lua_check_tensor(L, 1);
  const float *v = read_values(L, t, "tolist");
  push_nested(L, v, 0, lundi_ndim(t), lundi_shape(t), is_integral(t));
  return 1;
}

/* The values as a flat array: the list of a 1-dim view. */
static int t_totable(lua_State *L) {
  lundi_tensor *t = lundi_lua_check_tensor(L, 1);
  const float *v = read_values(L, t, "totable");
  int64_t n = lundi_numel(t);
  push_nested(L, v, 0, 1, &n, is_integral(t));
  return 1;
}

static int t_is_contiguous(lua_State *L) {
  lua_pushboolean(L, lundi_is_contiguous(lundi_lua_check_tensor(L, 1)));
  return 1;
}

/* ---- memory and threads ---- */

static int m_collect(lua_State *L) {
  mem_counters *c = counters(L);
  if (c) full_collect(L, c);
  else lua_gc(L, LUA_GCCOLLECT);
  return 0;
}

static int m_live_tensors(lua_State *L) {
  lua_pushinteger(L, (lua_Integer)lundi_live_tensors());
  return 1;
}

static int m_live_bytes(lua_State *L) {
  lua_pushinteger(L, (lua_Integer)lundi_live_storage_bytes());
  return 1;
}

static int m_set_threads(lua_State *L) {
  if (lundi_set_threads(lundi_lua_check_int(L, 1)) < 0) return lundi_lua_error(L, "set_threads");
  return 0;
}

static int m_get_threads(lua_State *L) {
  lua_pushinteger(L, lundi_get_threads());
  return 1;
}

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
  {"add", arith, .tt = lundi_add},   {"sub", arith, .tt = lundi_sub},  {"mul", arith, .tt = lundi_mul},
  {"div", arith, .tt = lundi_div},   {"neg", lundi_lua_call_T, .t = lundi_neg}, {"pow", .invoke = pow_},
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
  mem_counters *c = lua_newuserdatauv(L, sizeof *c, 0);
  c->pushed = 0;
  c->live_at_collect = lundi_live_storage_bytes();
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
