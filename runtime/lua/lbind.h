/* Bindings in a line or two. A binding reads its Lua arguments in order, calls C and
 * pushes the result; these macros say only what differs from one binding to the next:
 *
 *   LB_FN(t_numel, LB_T(x); LB_RET_INT(lundi_numel(x)))
 *   LB_OP(rms_norm, LB_T(x); LB_T_OPT(g); LB_FLOAT_OPT(eps, 1e-6);
 *         LB_RET_T(lundi_rms_norm(x, g, eps)))
 *
 * LB_FN defines a lua_CFunction, LB_OP an invoker of a lundi_lua_op row (its messages name
 * the row: op->name). Each LB_<type> declares a variable from the next argument with the
 * checks and messages of the helpers it expands to (luaL_* and lundi_lua_*), so a wrong
 * argument reads as it did by hand: "bad argument #2 to 'rms_norm' (...)". Errors from C
 * come back as "<name>: <lundi message>". */
#ifndef LUNDI_LUA_LBIND_H
#define LUNDI_LUA_LBIND_H

#include "lua_internal.h"

#define LB_FN(fn, ...)                                                                             \
  static int fn(lua_State *L) {                                                                    \
    int lb_ = 0;                                                                                   \
    (void)lb_;                                                                                     \
    __VA_ARGS__;                                                                                   \
  }
#define LB_OP(fn, ...)                                                                             \
  static int fn(lua_State *L, const lundi_lua_op *op) {                                           \
    int lb_ = 0;                                                                                   \
    (void)lb_;                                                                                     \
    __VA_ARGS__;                                                                                   \
  }

/* The index of the argument the next LB_<type> reads. */
#define LB_ARG (lb_ + 1)

/* ---- arguments ---- */
#define LB_T(v) lundi_tensor *v = lundi_lua_check_tensor(L, ++lb_)
#define LB_T_OPT(v) lundi_tensor *v = lundi_lua_opt_tensor(L, ++lb_) /* nil -> NULL */
#define LB_INT(v) int v = lundi_lua_check_int(L, ++lb_)
#define LB_INT_OPT(v, def) int v = lua_isnoneornil(L, ++lb_) ? (def) : lundi_lua_check_int(L, lb_)
#define LB_INTEGER(v) lua_Integer v = luaL_checkinteger(L, ++lb_)
#define LB_INTEGER_OPT(v, def) lua_Integer v = luaL_optinteger(L, ++lb_, def)
#define LB_NUM(v) double v = luaL_checknumber(L, ++lb_)
#define LB_NUM_OPT(v, def) double v = luaL_optnumber(L, ++lb_, def)
#define LB_FLOAT(v) float v = (float)luaL_checknumber(L, ++lb_)
#define LB_FLOAT_OPT(v, def) float v = (float)luaL_optnumber(L, ++lb_, def)
#define LB_BOOL_OPT(v, def) int v = lundi_lua_opt_bool(L, ++lb_, def)
#define LB_STR(v) const char *v = luaL_checkstring(L, ++lb_)
#define LB_LSTR(v, len)                                                                            \
  size_t len;                                                                                      \
  const char *v = luaL_checklstring(L, ++lb_, &len)
/* A value of type type read by check(L, idx) (a userdata class's own checker). */
#define LB_UD(type, v, check) type v = check(L, ++lb_)

/* ---- results (each ends the binding) ---- */
#define LB_RET_T(expr) return lundi_lua_return_tensor(L, (expr), op->name)
#define LB_RET_T_AS(expr, name) return lundi_lua_return_tensor(L, (expr), name)
#define LB_RET_INT(expr) return lua_pushinteger(L, (lua_Integer)(expr)), 1
#define LB_RET_NUM(expr) return lua_pushnumber(L, (lua_Number)(expr)), 1
#define LB_RET_BOOL(expr) return lua_pushboolean(L, (expr)), 1
#define LB_RET_STR(expr) return lua_pushstring(L, (expr)), 1
/* A lundi status: 0 returns nothing, anything else raises name's error. */
#define LB_RET_OK(expr, name) return (expr) != 0 ? lundi_lua_error(L, name) : 0
/* Like LB_RET_OK, returning argument 1 (methods that chain: m:train() returns m). */
#define LB_RET_SELF(expr, name) return (expr) != 0 ? lundi_lua_error(L, name) : (lua_settop(L, 1), 1)
/* Ends a binding that returns nothing, or argument 1 (after a call with no status). */
#define LB_RET_NONE() return 0
#define LB_RET_ARG1() return lua_settop(L, 1), 1


/* ---- plugin group (lbind_plugin.c) ---- */
/* The Lua value at idx as a script value (lundi/options.h: an integer INT, another number
 * NUMBER, a boolean BOOL, a string STRING, borrowed from the Lua string); 0 for any other
 * type. Never raises. */
struct lundi_opt_value;
int lundi_lua_to_opt_value(lua_State *L, int idx, struct lundi_opt_value *v);
void lundi_lua_push_opt_value(lua_State *L, const struct lundi_opt_value *v);

/* ---- tensor group (lua_tensor.h's helpers: include it to use these) ---- */
/* A 0-based C axis from a Lua axis (1-based, negative from the end) of a rank-rank tensor. */
#define LB_AXIS(v, rank) int v = lundi_lua_check_axis(L, ++lb_, rank)
#define LB_AXIS_OPT(v, def, rank) int v = lundi_lua_opt_axis(L, ++lb_, def, rank)
/* A shape: a table of integers, or (varargs) the integers from here to the top. */
#define LB_SHAPE(nd, shape, varargs)                                                               \
  int64_t shape[LUNDI_MAX_DIMS];                                                                   \
  int nd = lundi_lua_check_shape(L, ++lb_, varargs, shape)
#define LB_RNG(v) LB_UD(lundi_rng *, v, lundi_lua_check_rng) /* a lundi.Rng */

/* ---- run group (lbind_run.c) ---- */
/* The table at idx mapping strings to strings or numbers (numbers as tostring gives them) as
 * n keys[i] = values[i], returning n; the arrays live in a userdata left on the stack, which
 * keeps the strings alive. Any other key or value raises fmt with (fn, the key's type name,
 * the value's type name). */
int lundi_lua_string_pairs(lua_State *L, int idx, const char ***keys, const char ***values, const char *fmt,
                           const char *fn);
/* t[1] and t[2] of the table t at idx (a range {lo, hi}) into *a and *b; 0, leaving them,
 * when either is not a number. */
int lundi_lua_number_pair(lua_State *L, int idx, float *a, float *b);

#endif
