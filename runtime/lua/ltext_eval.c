/* Likelihoods of text models (lundi/likelihood.h), added to the table lundi.text:
 *   lundi.text.elbo(den, sched, tokens, prompt_len [, {n_mc = 64, mc_batch = 0, rng =}])
 *     -> nll, se (arrays, nats per row): the masked-diffusion model's Monte-Carlo bound
 *   lundi.text.ar_nll(den, tokens, prompt_len) -> nll (array): a causal model's exact NLL
 * tokens i32 [N, L]; prompt_len i32 [N] or nil (each row's given prefix). */
#include <string.h>

#include "lplugin.h"
#include "lua_rng.h"
#include "lundi/likelihood.h"
#include "lundi/tokenizer.h"

/* The prompt lengths at idx (a tensor of n entries, or nil: zeros), anchored on the stack. */
static int32_t *prompt_lens(lua_State *L, int idx, int64_t n, const char *fn) {
  int32_t *p = lua_newuserdatauv(L, sizeof *p * (size_t)(n ? n : 1), 0);
  if (lua_isnoneornil(L, idx)) return memset(p, 0, sizeof *p * (size_t)n);
  lundi_tensor *t = lundi_lua_check_tensor(L, idx);
  if (lundi_numel(t) != n)
    return luaL_error(L, "%s: prompt_len has %I entries, tokens has %I rows", fn, (lua_Integer)lundi_numel(t),
                      (lua_Integer)n), NULL;
  if (lundi_ids_from_tensor(t, p, n)) return lundi_lua_error(L, fn), NULL;
  return p;
}

static void push_array(lua_State *L, const double *v, int64_t n) {
  lua_createtable(L, (int)n, 0);
  for (int64_t i = 0; i < n; i++) {
    lua_pushnumber(L, v[i]);
    lua_rawseti(L, -2, i + 1);
  }
}

static int64_t rows_of(lua_State *L, lundi_tensor *tokens, const char *fn) {
  if (lundi_ndim(tokens) != 2) return luaL_error(L, "%s: tokens must be i32 [N, L]", fn), 0;
  return lundi_dim(tokens, 0);
}

static int l_elbo(lua_State *L) {
  lua_settop(L, 5); /* the optional arguments as nils, below anything the checks push */
  lundi_instance *den = lplug_check_kind(L, 1, LUNDI_DENOISER);
  lundi_instance *sched = lplug_check_kind(L, 2, LUNDI_SCHEDULER);
  lundi_tensor *tokens = lundi_lua_check_tensor(L, 3);
  int64_t n = rows_of(L, tokens, "text.elbo");
  int32_t *plen = prompt_lens(L, 4, n, "text.elbo");
  lua_Integer n_mc = 64, mc_batch = 0;
  lundi_rng *rng = NULL, own;
  if (lua_istable(L, 5)) {
    static const char *const keys[] = {"n_mc", "mc_batch", "rng", NULL};
    lundi_lua_check_options(L, 5, "text.elbo", keys);
    n_mc = lundi_lua_opt_int_field(L, 5, "text.elbo", "n_mc", 64, 1, 1 << 20);
    mc_batch = lundi_lua_opt_int_field(L, 5, "text.elbo", "mc_batch", 0, 0, 1 << 20);
    if (lua_getfield(L, 5, "rng") != LUA_TNIL) rng = lundi_lua_opt_rng(L, -1);
    lua_pop(L, 1);
  } else if (!lua_isnoneornil(L, 5)) {
    return luaL_argerror(L, 5, "expected a table {n_mc =, mc_batch =, rng =} or nothing");
  }
  if (!rng) {
    own = lundi_rng_make(0);
    rng = &own;
  }
  double *nll = lua_newuserdatauv(L, sizeof *nll * (size_t)(n ? n : 1), 0);
  double *se = lua_newuserdatauv(L, sizeof *se * (size_t)(n ? n : 1), 0);
  if (lundi_masked_elbo(den, sched, tokens, plen, (int)n_mc, (int)mc_batch, rng, nll, se))
    return lundi_lua_error(L, "text.elbo");
  push_array(L, nll, n);
  push_array(L, se, n);
  return 2;
}

static int l_ar_nll(lua_State *L) {
  lua_settop(L, 3);
  lundi_instance *den = lplug_check_kind(L, 1, LUNDI_DENOISER);
  lundi_tensor *tokens = lundi_lua_check_tensor(L, 2);
  int64_t n = rows_of(L, tokens, "text.ar_nll");
  int32_t *plen = prompt_lens(L, 3, n, "text.ar_nll");
  double *nll = lua_newuserdatauv(L, sizeof *nll * (size_t)(n ? n : 1), 0);
  if (lundi_ar_nll(den, tokens, plen, nll)) return lundi_lua_error(L, "text.ar_nll");
  push_array(L, nll, n);
  return 1;
}

/* Adds the functions to the lundi.text table on top of the stack. */
void lundi_lua_open_text_eval(lua_State *L) {
  static const luaL_Reg fns[] = {{"elbo", l_elbo}, {"ar_nll", l_ar_nll}, {NULL, NULL}};
  luaL_setfuncs(L, fns, 0);
}
