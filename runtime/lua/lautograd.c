/* Autograd from Lua: t:requires_grad([on]), t:is_leaf(), t:backward([grad]), t:grad(),
 * t:zero_grad(), lundi.no_grad(fn, ...) / lundi.no_grad() scopes, lundi.grad_enabled(). */
#include "lbind.h"
#include "lua_tensor.h"

#define NO_GRAD_SCOPE "lundi.NoGradScope"

/* t:requires_grad() queries; t:requires_grad(on) sets it and returns t. */
static int t_requires_grad(lua_State *L) {
  lundi_tensor *t = lundi_lua_check_tensor(L, 1);
  if (lua_isnone(L, 2)) {
    lua_pushboolean(L, lundi_requires_grad(t));
    return 1;
  }
  luaL_checktype(L, 2, LUA_TBOOLEAN);
  if (lundi_set_requires_grad(t, lua_toboolean(L, 2)) != 0) return lundi_lua_error(L, "requires_grad");
  lua_settop(L, 1);
  return 1;
}

LB_FN(t_is_leaf, LB_T(t); LB_RET_BOOL(lundi_is_leaf(t)))
LB_FN(t_backward, LB_T(t); LB_T_OPT(grad); LB_RET_OK(lundi_backward(t, grad), "backward"))

static int t_grad(lua_State *L) {
  lundi_tensor *g = lundi_grad(lundi_lua_check_tensor(L, 1));
  if (!g) lua_pushnil(L);
  else lundi_lua_push_tensor(L, lundi_retain(g), "grad");
  return 1;
}

LB_FN(t_zero_grad, LB_T(t); lundi_zero_grad(t); return 0)

/* lundi.no_grad(fn, ...) -> fn's results, run with grad off (restored even if fn raises).
 * lundi.no_grad() -> a scope object; `local g <close> = lundi.no_grad()`. */
static int scope_exit(lua_State *L) {
  int *active = luaL_checkudata(L, 1, NO_GRAD_SCOPE);
  if (*active) lundi_no_grad_exit();
  *active = 0;
  return 0;
}

static int m_no_grad(lua_State *L) {
  if (lua_isnoneornil(L, 1)) {
    int *active = lua_newuserdatauv(L, sizeof *active, 0);
    *active = 0;
    luaL_setmetatable(L, NO_GRAD_SCOPE);
    lundi_no_grad_enter();
    *active = 1;
    return 1;
  }
  luaL_checktype(L, 1, LUA_TFUNCTION);
  int nargs = lua_gettop(L) - 1;
  lundi_no_grad_enter();
  int rc = lua_pcall(L, nargs, LUA_MULTRET, 0);
  lundi_no_grad_exit();
  if (rc != LUA_OK) return lua_error(L);
  return lua_gettop(L);
}

LB_FN(m_grad_enabled, LB_RET_BOOL(lundi_grad_enabled()))

static const luaL_Reg methods[] = {
  {"requires_grad", t_requires_grad}, {"is_leaf", t_is_leaf}, {"backward", t_backward},
  {"grad", t_grad},                   {"zero_grad", t_zero_grad}, {NULL, NULL},
};

/* A scope dropped without closing still exits once. */
static const luaL_Reg scope_meta[] = {{"__close", scope_exit}, {"__gc", scope_exit}, {NULL, NULL}};

static const luaL_Reg module_fns[] = {{"no_grad", m_no_grad}, {"grad_enabled", m_grad_enabled}, {NULL, NULL}};

void lundi_lua_open_autograd(lua_State *L, int mod, int mt) {
  lundi_lua_new_class(L, NO_GRAD_SCOPE, scope_meta, NULL);
  lundi_lua_setfuncs_at(L, mt, methods);
  lundi_lua_setfuncs_at(L, mod, module_fns);
}
