/* Plugins in Lua: shared by lplugin.c (instances, listing), lpvalues.c (conversions),
 * lregister.c (Lua-defined plugins) and lpipeline.c (pipelines, sample requests).
 *
 * Step indices are 0-based everywhere, in Lua too: `sched:timestep(0)` is the first step and
 * a sampler's callback gets i = 0 .. n-1. They are step numbers handed to the C API, not
 * positions in a Lua table, so they keep the C meaning. */
#ifndef LUNDI_LUA_PLUGIN_H
#define LUNDI_LUA_PLUGIN_H

#include "lua_internal.h"

#define LUNDI_LUA_PLUGIN "lundi.Plugin"
#define LUNDI_LUA_PIPELINE "lundi.Pipeline"

/* A "lundi.Plugin" userdata. owned: freed by __gc/__close. A borrowed one (the parts handed
 * to a Lua sampler) has inst set to NULL once the call that lent it returns. */
typedef struct lplug_ud {
  lundi_instance *inst;
  int owned;
} lplug_ud;

/* lplugin.c */
void lplug_push(lua_State *L, lundi_instance *inst, int owned); /* owned: frees inst on error */
lplug_ud *lplug_check(lua_State *L, int idx);                    /* any kind, still valid */
lundi_instance *lplug_check_kind(lua_State *L, int idx, lundi_plugin_kind k);
/* Creates an instance of kind k from a name and an optional params table at params_idx
 * (0: none) and pushes it as an owned Plugin. fn names the Lua function in errors. */
void lplug_create(lua_State *L, lundi_plugin_kind k, const char *name, int params_idx,
                  const char *fn);
/* The n strings of the array at idx (a userdata pushed on the stack, strings anchored by the
 * array); a non-string raises "fn: prompts[i] must be a string, got T". */
const char **lplug_check_strings(lua_State *L, int idx, int n, const char *fn);
/* Pushes params as a Lua table of typed values. */
void lplug_push_params(lua_State *L, const lundi_params *p);

/* lpvalues.c: conversions that never raise (they report through lundi_set_error), so
 * trampolines can use them outside a protected call. */
/* Pushes t retained as a Tensor, or nil when t is NULL. */
void lpv_push_tensor(lua_State *L, lundi_tensor *t);
/* A Tensor at idx as a new reference; NULL when the value is not a Tensor. */
lundi_tensor *lpv_to_tensor(lua_State *L, int idx);
void lpv_push_cond(lua_State *L, const lundi_cond *c); /* nil when c is NULL */
/* Reads a {labels=, context=, mask=, vector=} table into out (new references). what names
 * the value in the message. */
int lpv_to_cond(lua_State *L, int idx, lundi_cond *out, const char *what);
void lpv_push_strings(lua_State *L, const char *const *s, int n); /* an array; NULL as "" */
/* Pushes a new Rng userdata holding a copy of *rng, or nil when rng is NULL. */
void lpv_push_rng(lua_State *L, const lundi_rng *rng);
/* Copies an Rng userdata at idx back into *rng (the Lua side may have drawn from it). */
void lpv_pull_rng(lua_State *L, int idx, lundi_rng *rng);
/* Applies every entry of the table at idx to p. Numbers, booleans and strings (parsed by the
 * parameter's type) are accepted; anything else is refused naming the key and its type.
 * owner ("scheduler 'ddpm'") prefixes the messages this file writes. */
int lpv_apply_params(lua_State *L, int idx, lundi_params *p, const char *owner);
/* The number, boolean or string at idx as text (integers %lld, other numbers %.17g, true /
 * false) and, when type is not NULL, its type ("int", "float", "bool", "string"); NULL for
 * any other value. The text is in buf or borrowed from the string at idx. */
const char *lpv_value_text(lua_State *L, int idx, char buf[64], const char **type);
/* A message handler for lua_pcall: the error with a traceback. */
int lpv_traceback(lua_State *L);
/* The Lua type name of the value at idx, with lundi's userdata names ("Tensor"). */
const char *lpv_typename(lua_State *L, int idx);

/* lregister.c: the current Lua thread for the trampolines of Lua plugins registered in L's
 * state. Bindings that call into plugins bracket the call with enter/leave so a Lua plugin
 * runs on the thread (coroutine) that called, not on the main thread. */
void *lreg_enter(lua_State *L);
void lreg_leave(lua_State *L, void *saved);
void lundi_lua_open_register(lua_State *L, int mod);

/* lpipeline.c */
/* Parts from a Pipeline or a table {scheduler=, denoiser=, conditioner=} of Plugins (borrowed). */
void lpipe_check_parts(lua_State *L, int idx, lundi_pipeline_parts *out);
/* Runs sampler s over parts with the request table at req_idx; pushes the result tensor. */
int lpipe_sample(lua_State *L, lundi_instance *s, const lundi_pipeline_parts *parts, int req_idx,
                 const char *fn);
void lundi_lua_open_pipeline(lua_State *L, int mod);

#endif
