/* lundi.optim: AdamW, LR schedules, EMA, and lundi.clip_grad_norm.
 *
 * lundi.optim.AdamW(module_or_params [, {lr=1e-3, betas={0.9, 0.999}, eps=1e-8,
 *   weight_decay=0.01}]): :step(), :zero_grad(), :set_lr(lr), :lr(), :step_count(),
 *   :state_dict() (map name -> tensor, a copy of the moments and "step"), :save(path),
 *   :load(path).
 * lundi.optim.lr_schedule{kind="constant"|"linear"|"cosine", base_lr=, min_lr=0,
 *   warmup_steps=0, total_steps=}: :at(step).
 * lundi.optim.EMA(module_or_params, decay): :update(m), :copy_to(m), :shadow().
 * lundi.clip_grad_norm(module_or_params, max_norm) -> the total norm before clipping.
 * module_or_params: a lundi.Module, an array of tensors or a map name -> tensor. */
#include "lbind.h"
#include "lua_tensor.h"

#define ADAMW "lundi.AdamW"
#define EMA "lundi.EMA"
#define SCHEDULE "lundi.LRSchedule"

static lundi_adamw **check_adamw(lua_State *L) { return luaL_checkudata(L, 1, ADAMW); }
static lundi_lr_schedule *check_schedule(lua_State *L, int idx) { return luaL_checkudata(L, idx, SCHEDULE); }

static int adamw_gc(lua_State *L) {
  lundi_adamw **a = check_adamw(L);
  lundi_adamw_free(*a);
  *a = NULL;
  return 0;
}

static float opt_beta(lua_State *L, int i, float def) {
  lua_geti(L, -1, i);
  if (!lua_isnil(L, -1) && lua_type(L, -1) != LUA_TNUMBER)
    luaL_argerror(L, 2, lua_pushfstring(L, "option 'betas' entry %d: number expected, got %s", i, luaL_typename(L, -1)));
  float v = lua_isnil(L, -1) ? def : (float)lua_tonumber(L, -1);
  lua_pop(L, 1);
  return v;
}

static int optim_adamw(lua_State *L) {
  static const char *const keys[] = {"lr", "betas", "eps", "weight_decay", NULL};
  lundi_lua_check_options(L, 2, NULL, keys);
  lundi_adamw_config c = lundi_adamw_defaults();
  c.lr = (float)lundi_lua_opt_num_field(L, 2, NULL, "lr", c.lr);
  c.eps = (float)lundi_lua_opt_num_field(L, 2, NULL, "eps", c.eps);
  c.weight_decay = (float)lundi_lua_opt_num_field(L, 2, NULL, "weight_decay", c.weight_decay);
  int t = lundi_lua_get_field(L, 2, "betas");
  if (t == LUA_TTABLE) {
    c.beta1 = opt_beta(L, 1, c.beta1);
    c.beta2 = opt_beta(L, 2, c.beta2);
  } else if (t != LUA_TNIL) {
    luaL_argerror(L, 2, lua_pushfstring(L, "option 'betas': table {b1, b2} expected, got %s", luaL_typename(L, -1)));
  }
  lua_pop(L, 1);
  lundi_param_list *params = lundi_lua_check_params(L, 1);
  lundi_adamw **a = lua_newuserdatauv(L, sizeof *a, 0);
  *a = NULL;
  luaL_setmetatable(L, ADAMW);
  *a = lundi_adamw_new(params, c); /* holds its own references to the parameters */
  if (!*a) return lundi_lua_error(L, "AdamW");
  return 1;
}

static lundi_adamw *live_adamw(lua_State *L, int idx) {
  lundi_adamw **a = luaL_checkudata(L, idx, ADAMW);
  if (!*a) luaL_argerror(L, idx, "optimiser was freed");
  return *a;
}

#define LB_ADAMW(v) LB_UD(lundi_adamw *, v, live_adamw)
LB_FN(adamw_step, LB_ADAMW(o); LB_RET_OK(lundi_adamw_step(o), "step"))
LB_FN(adamw_zero_grad, LB_ADAMW(o); lundi_adamw_zero_grad(o); LB_RET_NONE())
LB_FN(adamw_lr, LB_ADAMW(o); LB_RET_NUM(lundi_adamw_lr(o)))
LB_FN(adamw_step_count, LB_ADAMW(o); LB_RET_INT(lundi_adamw_step_count(o)))
LB_FN(adamw_load, LB_ADAMW(o); LB_STR(path); LB_RET_OK(lundi_adamw_load(o, path), "load"))

static int adamw_set_lr(lua_State *L) {
  lundi_adamw *o = live_adamw(L, 1);
  float lr = (float)luaL_checknumber(L, 2);
  luaL_argcheck(L, lundi_adamw_set_lr(o, lr) == 0, 2, lundi_last_error());
  return 0;
}

static int adamw_state_dict(lua_State *L) {
  lundi_adamw *o = live_adamw(L, 1);
  lundi_param_list *l = lundi_lua_new_params(L);
  if (lundi_adamw_state(o, l) != 0) return lundi_lua_error(L, "state_dict");
  lundi_lua_push_param_map(L, l);
  return 1;
}

static int adamw_save(lua_State *L) {
  const char *path = luaL_checkstring(L, 2);
  if (lundi_adamw_save(live_adamw(L, 1), path) != 0) return lundi_lua_error(L, "save");
  return 0;
}

static int adamw_tostring(lua_State *L) {
  lundi_adamw *a = *check_adamw(L);
  char s[128] = "AdamW(freed)";
  if (a) lundi_adamw_describe(a, s, sizeof s);
  lua_pushstring(L, s);
  return 1;
}

/* ---- LR schedules ---- */

static int optim_lr_schedule(lua_State *L) {
  static const char *const keys[] = {"kind", "base_lr", "min_lr", "warmup_steps", "total_steps", NULL};
  luaL_checktype(L, 1, LUA_TTABLE);
  lundi_lua_check_options(L, 1, NULL, keys);
  lundi_lr_schedule s = {LUNDI_LR_CONSTANT, 0, 0, 0, 0};
  s.kind = (lundi_lr_kind)lundi_lua_opt_choice_field(L, 1, NULL, "kind", s.kind, lundi_lr_kind_names);
  if (lundi_lua_get_field(L, 1, "base_lr") == LUA_TNIL) luaL_argerror(L, 1, "option 'base_lr' is required");
  lua_pop(L, 1);
  s.base_lr = (float)lundi_lua_opt_num_field(L, 1, NULL, "base_lr", 0);
  s.min_lr = (float)lundi_lua_opt_num_field(L, 1, NULL, "min_lr", s.min_lr);
  s.warmup_steps = lundi_lua_opt_int_field(L, 1, NULL, "warmup_steps", s.warmup_steps, LUNDI_LUA_ANY_INT);
  s.total_steps = lundi_lua_opt_int_field(L, 1, NULL, "total_steps", s.total_steps, LUNDI_LUA_ANY_INT);
  if (lundi_lr_schedule_check(&s) != 0) luaL_argerror(L, 1, lundi_last_error());
  lundi_lr_schedule *u = lua_newuserdatauv(L, sizeof *u, 0);
  *u = s;
  luaL_setmetatable(L, SCHEDULE);
  return 1;
}

LB_FN(schedule_at, LB_UD(lundi_lr_schedule *, s, check_schedule); LB_INTEGER(step); LB_RET_NUM(lundi_lr_at(s, step)))

/* ---- EMA ---- */

static lundi_ema *live_ema(lua_State *L, int idx) {
  lundi_ema **e = luaL_checkudata(L, idx, EMA);
  if (!*e) luaL_argerror(L, idx, "EMA was freed");
  return *e;
}

static int ema_gc(lua_State *L) {
  lundi_ema **e = luaL_checkudata(L, 1, EMA);
  lundi_ema_free(*e);
  *e = NULL;
  return 0;
}

static int optim_ema(lua_State *L) {
  float decay = (float)luaL_checknumber(L, 2);
  lundi_param_list *l = lundi_lua_check_params(L, 1);
  lundi_ema **e = lua_newuserdatauv(L, sizeof *e, 0);
  *e = NULL;
  luaL_setmetatable(L, EMA);
  *e = lundi_ema_new(l, decay);
  if (!*e) return lundi_lua_error(L, "EMA");
  return 1;
}

#define LB_EMA(v) LB_UD(lundi_ema *, v, live_ema)
#define LB_PARAMS(v) LB_UD(lundi_param_list *, v, lundi_lua_check_params)
LB_FN(ema_update, LB_EMA(e); LB_PARAMS(l); LB_RET_OK(lundi_ema_update(e, l), "update"))
LB_FN(ema_copy_to, LB_EMA(e); LB_PARAMS(l); LB_RET_OK(lundi_ema_copy_to(e, l), "copy_to"))

static int ema_shadow(lua_State *L) {
  lundi_lua_push_param_map(L, lundi_ema_shadow(live_ema(L, 1)));
  return 1;
}

/* ---- clipping ---- */

static int clip_grad_norm(lua_State *L) {
  float max_norm = (float)luaL_checknumber(L, 2);
  lundi_param_list *l = lundi_lua_check_params(L, 1);
  float total = 0;
  if (lundi_clip_grad_norm(l, max_norm, &total) != 0) return lundi_lua_error(L, "clip_grad_norm");
  lua_pushnumber(L, total);
  return 1;
}

void lundi_lua_open_optim(lua_State *L, int mod) {
  mod = lua_absindex(L, mod);
  static const luaL_Reg adamw_methods[] = {
    {"step", adamw_step},           {"zero_grad", adamw_zero_grad}, {"set_lr", adamw_set_lr},
    {"lr", adamw_lr},               {"step_count", adamw_step_count}, {"state_dict", adamw_state_dict},
    {"save", adamw_save},           {"load", adamw_load},           {NULL, NULL},
  };
  static const luaL_Reg schedule_methods[] = {{"at", schedule_at}, {NULL, NULL}};
  static const luaL_Reg ema_methods[] = {
    {"update", ema_update}, {"copy_to", ema_copy_to}, {"shadow", ema_shadow}, {NULL, NULL},
  };
  static const luaL_Reg adamw_meta[] = {{"__gc", adamw_gc}, {"__tostring", adamw_tostring}, {NULL, NULL}};
  static const luaL_Reg ema_meta[] = {{"__gc", ema_gc}, {NULL, NULL}};
  lundi_lua_new_class(L, ADAMW, adamw_meta, adamw_methods);
  lundi_lua_new_class(L, SCHEDULE, NULL, schedule_methods);
  lundi_lua_new_class(L, EMA, ema_meta, ema_methods);
  static const luaL_Reg optim[] = {
    {"AdamW", optim_adamw}, {"lr_schedule", optim_lr_schedule}, {"EMA", optim_ema},
    {"clip_grad_norm", clip_grad_norm}, {NULL, NULL},
  };
  luaL_newlib(L, optim);
  lua_setfield(L, mod, "optim");
  lua_pushcfunction(L, clip_grad_norm);
  lua_setfield(L, mod, "clip_grad_norm");
}
