/* Shared by the files of the `lundi` Lua module. Bindings hold no logic of their own: they
 * check arguments and call the C API. */
#ifndef LUNDI_LUA_INTERNAL_H
#define LUNDI_LUA_INTERNAL_H

#include <lauxlib.h>
#include <lua.h>

#include "lundi/lua.h"
#include "lundi/lundi.h"

#define LUNDI_LUA_TENSOR "lundi.Tensor"
#define LUNDI_LUA_REGISTRY_KEY "lundi.registry" /* lightuserdata in LUA_REGISTRYINDEX */

/* Raises a Lua error "fn: <lundi_last_error()>". Never returns. */
int lundi_lua_error(lua_State *L, const char *fn);
lundi_registry *lundi_lua_registry(lua_State *L);

/* Tensors (ltensor.c). check: borrowed, argerror when idx is not a tensor. push takes over
 * the reference t; t == NULL raises the pending lundi error under fn's name. */
lundi_tensor *lundi_lua_check_tensor(lua_State *L, int idx);
lundi_tensor *lundi_lua_opt_tensor(lua_State *L, int idx); /* nil/none -> NULL */
void lundi_lua_push_tensor(lua_State *L, lundi_tensor *t, const char *fn);

/* Each file adds its functions to the module table at index mod. */
void lundi_lua_open_tensor(lua_State *L, int mod);
void lundi_lua_open_nn(lua_State *L, int mod);
void lundi_lua_open_plugin(lua_State *L, int mod);
void lundi_lua_open_progress(lua_State *L, int mod);
void lundi_lua_open_run(lua_State *L, int mod);
void lundi_lua_open_history(lua_State *L, int mod);
void lundi_lua_open_image(lua_State *L, int mod);
void lundi_lua_open_data(lua_State *L, int mod); /* ldata.c: lundi.data */
void lundi_lua_open_metrics(lua_State *L, int mod); /* lmetrics.c: lundi.metrics */
void lundi_lua_open_device(lua_State *L, int mod);  /* ldevice.c */
void lundi_lua_open_options(lua_State *L, int mod); /* loptions.c: lundi.options */
void lundi_lua_open_text(lua_State *L, int mod);    /* ltext.c: lundi.text */
void lundi_lua_open_env(lua_State *L, int mod);     /* lenv.c: lundi.env */
void lundi_lua_open_text_eval(lua_State *L);        /* ltext_eval.c: adds to lundi.text on top */

/* Options tables (lutil.c), one set of checks for every binding. fn names the function in
 * messages ("lundi.save_image: option 'nrow' = 0 is outside 1..4096"); fn NULL makes each error
 * a luaL_argerror on arg, Lua naming the function ("bad argument #3 to 'Linear' (...)").
 * An unknown key is refused naming it, the valid keys and, when one is close, "did you mean". */
/* Refuses a non-table (nil/none is fine: returns 0) and any key not in keys (NULL-terminated);
 * noun says what the keys are ("option", "request field"). Returns 1 when a table is there. */
int lundi_lua_check_keys(lua_State *L, int arg, const char *fn, const char *noun, const char *const *keys);
int lundi_lua_check_options(lua_State *L, int arg, const char *fn, const char *const *keys); /* "option" */
/* Pushes field key of the table at arg (any type) and returns its Lua type; LUA_TNIL when
 * absent or when arg is not a table. */
int lundi_lua_get_field(lua_State *L, int arg, const char *key);
/* Typed optional fields: def when absent; a wrong type raises "option 'key' must be ... (got
 * ...)". Strings and tensors are borrowed from the options table. */
int lundi_lua_opt_bool_field(lua_State *L, int arg, const char *fn, const char *key, int def);
lua_Integer lundi_lua_opt_int_field(lua_State *L, int arg, const char *fn, const char *key, lua_Integer def,
                                    lua_Integer lo, lua_Integer hi); /* inclusive range */
#define LUNDI_LUA_ANY_INT LUA_MININTEGER, LUA_MAXINTEGER
lua_Number lundi_lua_opt_num_field(lua_State *L, int arg, const char *fn, const char *key, lua_Number def);
const char *lundi_lua_opt_string_field(lua_State *L, int arg, const char *fn, const char *key, const char *def);
/* The index of the field's value in choices (NULL-terminated), def when absent. */
int lundi_lua_opt_choice_field(lua_State *L, int arg, const char *fn, const char *key, int def,
                               const char *const *choices);
lundi_tensor *lundi_lua_opt_tensor_field(lua_State *L, int arg, const char *fn, const char *key);
/* Raises "option 'key' must be <expected> (got <type of the value on top>)"; for the bindings'
 * own field types. Never returns. */
int lundi_lua_field_error(lua_State *L, int arg, const char *fn, const char *key, const char *expected);

/* Devices (ldevice.c). check: a device name at idx, or a Lua error. placed: a tensor made on
 * the host by a constructor moved to the default device (takes over t; NULL stays NULL). */
struct lundi_device *lundi_lua_check_device(lua_State *L, int idx);
lundi_tensor *lundi_lua_placed(lundi_tensor *t);

/* Classes, booleans and result tables (lclass.c). new_class: the metatable tname with the
 * metamethods meta and a methods table: its __index, or its field "methods" when meta has an
 * __index of its own. Does nothing when tname exists. opt_bool: nil/none -> def, else a
 * boolean (a type error otherwise). set_*: field k of the table on top; set_str skips NULL. */
void lundi_lua_new_class(lua_State *L, const char *tname, const luaL_Reg *meta, const luaL_Reg *methods);
int lundi_lua_opt_bool(lua_State *L, int arg, int def);
void lundi_lua_set_int(lua_State *L, const char *k, lua_Integer v);
void lundi_lua_set_num(lua_State *L, const char *k, lua_Number v);
void lundi_lua_set_str(lua_State *L, const char *k, const char *v);
void lundi_lua_set_bool(lua_State *L, const char *k, int v);

#endif
