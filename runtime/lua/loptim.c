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
#include <string.h>

#include "lua_tensor.h"

#define ADAMW "lundi.AdamW"
#define EMA "lundi.EMA"
#define SCHEDULE "lundi.LRSchedule"

static lundi_adamw **check_adamw(lua_State *L) { return luaL_checkudata(L, 1, ADAMW); }

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
  lundi_param_list *params = lundi_lua_check_params(L, 1); /* pushed; user value below */
  lundi_adamw **a = lua_newuserdatauv(L, sizeof *a, 1);
  *a = NULL;
  luaL_setmetatable(L, ADAMW);
  lua_pushvalue(L, -2);
  lua_setiuservalue(L, -2, 1); /* the params, for zero_grad */
  *a = lundi_adamw_new(params, c);
  if (!*a) return lundi_lua_error(L, "AdamW");
  return 1;
}

static lundi_adamw *live_adamw(lua_State *L) {
  lundi_adamw **a = check_adamw(L);
  if (!*a) luaL_argerror(L, 1, "optimiser was freed");
  return *a;
}

static int adamw_step(lua_State *L) {
  if (lundi_adamw_step(live_adamw(L)) != 0) return lundi_lua_error(L, "step");
  return 0;
}

static int adamw_zero_grad(lua_State *L) {
  live_adamw(L);
  lua_getiuservalue(L, 1, 1);
  lundi_param_list *l = lua_touserdata(L, -1);
  for (int i = 0; i < l->n; i++) lundi_zero_grad(l->tensors[i]);
  return 0;
}

static int adamw_set_lr(lua_State *L) {
  lundi_adamw *o = live_adamw(L);
  float lr = (float)luaL_checknumber(L, 2);
  luaL_argcheck(L, lr >= 0, 2, "learning rate must be >= 0");
  lundi_adamw_set_lr(o, lr);
  return 0;
}

static int adamw_lr(lua_State *L) {
  lua_pushnumber(L, lundi_adamw_lr(live_adamw(L)));
  return 1;
}

static int adamw_step_count(lua_State *L) {
  lua_pushinteger(L, (lua_Integer)lundi_adamw_step_count(live_adamw(L)));
  return 1;
}

static lundi_param_list *state_of(lua_State *L) {
  lundi_adamw *o = live_adamw(L);
  lundi_param_list *l = lundi_lua_new_params(L);
  if (lundi_adamw_state(o, l) != 0) lundi_lua_error(L, "state_dict");
  return l;
}

static int adamw_state_dict(lua_State *L) {
  lundi_lua_push_param_map(L, state_of(L));
  return 1;
}

static int adamw_save(lua_State *L) {
  const char *path = luaL_checkstring(L, 2);
  if (lundi_safetensors_save(path, state_of(L), NULL) != 0) return lundi_lua_error(L, "save");
  return 0;
}

static int adamw_load(lua_State *L) {
  lundi_adamw *o = live_adamw(L);
  const char *path = luaL_checkstring(L, 2);
  lundi_param_list *l = lundi_lua_new_params(L);
  if (lundi_safetensors_load(path, l) != 0 || lundi_adamw_load_state(o, l) != 0) return lundi_lua_error(L, "load");
  return 0;
}

static int adamw_tostring(lua_State *L) {
  lundi_adamw *a = *check_adamw(L);
  if (!a) lua_pushliteral(L, "AdamW(freed)");
  else lua_pushfstring(L, "AdamW(lr=%f, step=%I)", (double)lundi_adamw_lr(a), (LUAI_UACINT)lundi_adamw_step_count(a));
  return 1;
}

/* ---- LR schedules ---- */

static int optim_lr_schedule(lua_State *L) {
  static const char *const keys[] = {"kind", "base_lr", "min_lr", "warmup_steps", "total_steps", NULL};
  static const char *const kinds[] = {"constant", "linear", "cosine", NULL};
  luaL_checktype(L, 1, LUA_TTABLE);
  lundi_lua_check_options(L, 1, NULL, keys);
  lundi_lr_schedule s = {LUNDI_LR_CONSTANT, 0, 0, 0, 0};
  s.kind = (lundi_lr_kind)lundi_lua_opt_choice_field(L, 1, NULL, "kind", LUNDI_LR_CONSTANT, kinds);
  if (lundi_lua_get_field(L, 1, "base_lr") == LUA_TNIL) luaL_argerror(L, 1, "option 'base_lr' is required");
  lua_pop(L, 1);
  s.base_lr = (float)lundi_lua_opt_num_field(L, 1, NULL, "base_lr", 0);
  s.min_lr = (float)lundi_lua_opt_num_field(L, 1, NULL, "min_lr", 0);
  s.warmup_steps = lundi_lua_opt_int_field(L, 1, NULL, "warmup_steps", 0, LUNDI_LUA_ANY_INT);
  s.total_steps = lundi_lua_opt_int_field(L, 1, NULL, "total_steps", 0, LUNDI_LUA_ANY_INT);
  if (s.kind != LUNDI_LR_CONSTANT && s.total_steps <= 0)
    luaL_argerror(L, 1, "option 'total_steps' (> 0) is required for linear and cosine schedules");
  lundi_lr_schedule *u = lua_newuserdatauv(L, sizeof *u, 0);
  *u = s;
  luaL_setmetatable(L, SCHEDULE);
  return 1;
}

static int schedule_at(lua_State *L) {
  lundi_lr_schedule *s = luaL_checkudata(L, 1, SCHEDULE);
  lua_pushnumber(L, lundi_lr_at(s, (int64_t)luaL_checkinteger(L, 2)));
  return 1;
}

/* ---- EMA ---- */

static lundi_ema **check_ema(lua_State *L) {
  lundi_ema **e = luaL_checkudata(L, 1, EMA);
  if (!*e) luaL_argerror(L, 1, "EMA was freed");
  return e;
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

static int ema_update(lua_State *L) {
  lundi_ema **e = check_ema(L);
  if (lundi_ema_update(*e, lundi_lua_check_params(L, 2)) != 0) return lundi_lua_error(L, "update");
  return 0;
}

static int ema_copy_to(lua_State *L) {
  lundi_ema **e = check_ema(L);
  if (lundi_ema_copy_to(*e, lundi_lua_check_params(L, 2)) != 0) return lundi_lua_error(L, "copy_to");
  return 0;
}

static int ema_shadow(lua_State *L) {
  lundi_lua_push_param_map(L, lundi_ema_shadow(*check_ema(L)));
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
