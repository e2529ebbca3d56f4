/* Private to the tensor/nn binding files (ltensor*.c, lrng.c, lnn.c, loptim.c, lutil.c).
 *
 * Lua conventions used throughout (see the top of ltensor.c):
 *  - axes are 1-based like Lua, negative ones count from the end (-1 = last);
 *  - a shape is a table {2, 3} or, where a function says so, trailing integer arguments. */
#ifndef LUNDI_LUA_TENSOR_H
#define LUNDI_LUA_TENSOR_H

#include "lua_internal.h"
#include "lua_module.h"
#include "lua_rng.h"

/* Adds each function of fns to the table at idx (negative idx allowed). */
void lundi_lua_setfuncs_at(lua_State *L, int idx, const luaL_Reg *fns);

/* Declarative bindings: one row per Lua function. The invoker checks the Lua arguments in
 * order, calls the row's C function and pushes the result; a C failure raises "<name>: <lundi
 * message>". Shared invokers are named by signature (T a tensor, S a shape table or integer
 * varargs); a binding with arguments of its own is its own invoker: {"name", .invoke = f}. */
typedef struct lundi_lua_op lundi_lua_op;
struct lundi_lua_op {
  const char *name;
  int (*invoke)(lua_State *L, const lundi_lua_op *op);
  union { /* the C function, typed by signature */
    lundi_tensor *(*t)(lundi_tensor *);
    lundi_tensor *(*tt)(lundi_tensor *, lundi_tensor *);
    lundi_tensor *(*ti)(lundi_tensor *, int);
    lundi_tensor *(*tii)(lundi_tensor *, int, int);
    lundi_tensor *(*shape)(lundi_tensor *, int, const int64_t *);
    lundi_tensor *(*reduce)(lundi_tensor *, int n_axes, const int *axes, int keepdim);
    lundi_tensor *(*conv)(lundi_tensor *, lundi_tensor *, lundi_tensor *, const lundi_conv_params *);
    lundi_tensor *(*norm)(lundi_tensor *, int groups, lundi_tensor *, lundi_tensor *, float eps);
    int (*init)(lundi_tensor *, lundi_rng *, float, float);
    struct { /* a binary op with a tensor or a number on either side */
      lundi_tensor *(*tt)(lundi_tensor *, lundi_tensor *);
      lundi_tensor *(*ts)(lundi_tensor *, float); /* tensor op number */
      lundi_tensor *(*st)(lundi_tensor *, float); /* number op tensor, the tensor first */
    } arith;
  };
};
/* Sets each row of ops (up to {0}) as field name of the table mod and, when methods
 * is not 0, of the table methods (absolute indices). */
void lundi_lua_set_ops(lua_State *L, int mod, int methods, const lundi_lua_op *ops);
/* Copies field from of mod (and methods, when not 0) to field to: an alias. */
void lundi_lua_alias(lua_State *L, int mod, int methods, const char *to, const char *from);
/* lundi_lua_push_tensor, then 1 (the result count) for the binding to return. */
int lundi_lua_return_tensor(lua_State *L, lundi_tensor *t, const char *fn);
int lundi_lua_call_T(lua_State *L, const lundi_lua_op *op);  /* t(T) */
int lundi_lua_call_TT(lua_State *L, const lundi_lua_op *op); /* tt(T, T) */
int lundi_lua_call_TS(lua_State *L, const lundi_lua_op *op); /* shape(T, S) */

/* Shape at arg: a table of integers, or (when varargs) the integers from arg to the top.
 * Returns ndim; argerror on anything else. */
int lundi_lua_check_shape(lua_State *L, int arg, int varargs, int64_t shape[LUNDI_MAX_DIMS]);
void lundi_lua_push_shape(lua_State *L, int ndim, const int64_t *shape);
/* The Lua axis a (1-based, or negative from the end) of a rank-`rank` tensor, as a 0-based C
 * axis; argerror naming arg when it is 0 or out of range. */
int lundi_lua_axis(lua_State *L, int arg, lua_Integer a, int rank);
int lundi_lua_check_axis(lua_State *L, int arg, int rank);
int lundi_lua_opt_axis(lua_State *L, int arg, lua_Integer def, int rank);
/* Axes at arg: nil/none (all: returns 0), an integer, or a table of integers. */
int lundi_lua_check_axes(lua_State *L, int arg, int rank, int axes[LUNDI_MAX_DIMS]);
/* "f32", "f16", "bf16", "i32", "u8". */
lundi_dtype lundi_lua_check_dtype(lua_State *L, int arg);
/* Checked narrowing of an integer argument to int. */
int lundi_lua_check_int(lua_State *L, int arg);

/* The convolution options table at arg (nil/none: defaults): stride, padding, dilation,
 * output_padding (integer or {h, w}) and groups, plus extra_keys (may be NULL) that the
 * caller reads itself. */
void lundi_lua_check_conv_params(lua_State *L, int arg, lundi_conv_params *p, const char *const *extra_keys);

/* Sub-openers (called from lundi_lua_open_tensor / lundi_lua_open_nn). methods is the
 * tensor method table's absolute index, mod the module table's. */
void lundi_lua_open_tensor_new(lua_State *L, int mod);
void lundi_lua_open_tensor_ops(lua_State *L, int mod, int methods);
void lundi_lua_open_tensor_views(lua_State *L, int mod, int methods);
void lundi_lua_open_tensor_nnf(lua_State *L, int mod, int methods);
void lundi_lua_open_autograd(lua_State *L, int mod, int methods);
void lundi_lua_open_rng(lua_State *L, int mod);
void lundi_lua_open_optim(lua_State *L, int mod);

/* A parameter list from arg: a lundi.Module, an array of tensors (named "1", "2", ...), or
 * a map name -> tensor (sorted by name). The list lives in a userdata pushed on the stack,
 * whose __gc frees it, so a Lua error cannot leak it. */
lundi_param_list *lundi_lua_check_params(lua_State *L, int arg);
/* Pushes an empty GC-owned param list (the box lundi_lua_check_params uses). */
lundi_param_list *lundi_lua_new_params(lua_State *L);
/* Pushes a map name -> tensor for l (new references). */
void lundi_lua_push_param_map(lua_State *L, const lundi_param_list *l);

#endif
