/* The simulated environments of lundi/env.h in Lua (docs/action.md):
 *   lundi.env(name) -> Env ("pusht" or "two_way")
 *   env:reset([seed]) -> obs              obs: f32 [obs_dim] on the default device
 *   env:step(action) -> obs, reward, done action: a tensor or a table of action_dim numbers
 *   env:observe() -> obs    env:success() -> bool    env:steps(), obs_dim(), action_dim(),
 *   max_steps(), name()
 *   env:render([w [, h]]) -> f32 [3, h, w] in [0, 1] (default 256 x 256, h = w)
 *   Push-T: env:coverage(), env:state() -> {agent_x, agent_y, block_x, block_y, angle},
 *           env:set_state{...} -> obs
 *   two-way: env:side() -> "left" | "right" | "none", env:hits(), env:set_agent(x, y) -> obs */
#include <math.h>
#include <string.h>

#include "lbind.h"
#include "lua_tensor.h"
#include "lundi/env.h"

#define ENV "lundi.Env"

typedef struct env_ud {
  lundi_env *env;
} env_ud;

static lundi_env *check_env(lua_State *L, int idx) { return ((env_ud *)luaL_checkudata(L, idx, ENV))->env; }

static int l_env(lua_State *L) {
  const char *name = luaL_checkstring(L, 1);
  env_ud *u = lua_newuserdatauv(L, sizeof *u, 0);
  u->env = NULL;
  luaL_setmetatable(L, ENV);
  if (!(u->env = lundi_env_new(name))) return lundi_lua_error(L, "lundi.env");
  return 1;
}

static int env_gc(lua_State *L) {
  env_ud *u = luaL_checkudata(L, 1, ENV);
  lundi_env_free(u->env);
  u->env = NULL;
  return 0;
}

static int env_tostring(lua_State *L) {
  lundi_env *e = check_env(L, 1);
  lua_pushfstring(L, "Env(%s, obs %d, action %d, max_steps %d)", lundi_env_name(e), lundi_env_obs_dim(e),
                  lundi_env_action_dim(e), lundi_env_max_steps(e));
  return 1;
}

/* Pushes the obs_dim floats at obs as an f32 tensor placed on the default device. */
static void push_obs(lua_State *L, lundi_env *e, const float *obs, const char *fn) {
  int64_t n = lundi_env_obs_dim(e);
  lundi_lua_push_tensor(L, lundi_lua_placed(lundi_from_f32(1, &n, obs)), fn);
}

/* A buffer of obs_dim floats, a userdata left on the stack (collected after the call). */
static float *obs_buffer(lua_State *L, lundi_env *e) {
  return lua_newuserdatauv(L, sizeof(float) * (size_t)lundi_env_obs_dim(e), 0);
}

static int env_reset(lua_State *L) {
  lundi_env *e = check_env(L, 1);
  lua_Integer seed = luaL_optinteger(L, 2, 0);
  if (seed < 0) return luaL_error(L, "env:reset: seed must be a non-negative integer (got %I)", seed);
  float *obs = obs_buffer(L, e);
  if (lundi_env_reset(e, (uint64_t)seed, obs) != 0) return lundi_lua_error(L, "env:reset");
  push_obs(L, e, obs, "env:reset");
  return 1;
}

static int env_observe(lua_State *L) {
  lundi_env *e = check_env(L, 1);
  float *obs = obs_buffer(L, e);
  if (lundi_env_observe(e, obs) != 0) return lundi_lua_error(L, "env:observe");
  push_obs(L, e, obs, "env:observe");
  return 1;
}

/* The action at idx (a tensor of any shape, or an array of numbers) into a (A floats). */
static void check_action(lua_State *L, int idx, lundi_env *e, float *a) {
  int A = lundi_env_action_dim(e);
  lua_Integer n;
  if (lua_istable(L, idx)) {
    n = luaL_len(L, idx);
    if (n == A)
      for (int i = 0; i < A; i++) {
        if (lua_rawgeti(L, idx, i + 1) != LUA_TNUMBER)
          luaL_error(L, "env:step: action[%d] is a %s, not a number", i + 1, luaL_typename(L, -1));
        a[i] = (float)lua_tonumber(L, -1);
        lua_pop(L, 1);
      }
  } else { /* a tensor: env_step checked */
    lundi_tensor *t = lundi_lua_check_tensor(L, idx);
    n = lundi_numel(t);
    if (n == A && lundi_read_f32(t, a, A) != 0) lundi_lua_error(L, "env:step");
  }
  if (n != A)
    luaL_error(L, "env:step: action has %d number%s, the %s environment takes %d", (int)n, n == 1 ? "" : "s",
               lundi_env_name(e), A);
  for (int i = 0; i < A; i++)
    if (!isfinite(a[i]))
      luaL_error(L, "env:step: action[%d] is %s, not a finite number", i + 1, isnan(a[i]) ? "NaN" : "infinite");
}

static int env_step(lua_State *L) {
  lundi_env *e = check_env(L, 1);
  if (!lua_istable(L, 2) && !luaL_testudata(L, 2, LUNDI_LUA_TENSOR))
    return luaL_error(L, "env:step: the action must be a tensor or a table of %d numbers (got %s)",
                      lundi_env_action_dim(e), luaL_typename(L, 2));
  float *a = lua_newuserdatauv(L, sizeof(float) * (size_t)lundi_env_action_dim(e), 0);
  check_action(L, 2, e, a);
  float *obs = obs_buffer(L, e);
  double reward = 0;
  int done = 0;
  if (lundi_env_step(e, a, obs, &reward, &done) != 0) return lundi_lua_error(L, "env:step");
  push_obs(L, e, obs, "env:step");
  lua_pushnumber(L, reward);
  lua_pushboolean(L, done);
  return 3;
}

static int env_success(lua_State *L) {
  int s = lundi_env_success(check_env(L, 1));
  if (s < 0) return lundi_lua_error(L, "env:success");
  LB_RET_BOOL(s);
}

LB_FN(env_steps, LB_UD(lundi_env *, e, check_env); LB_RET_INT(lundi_env_steps(e)))
LB_FN(env_obs_dim, LB_UD(lundi_env *, e, check_env); LB_RET_INT(lundi_env_obs_dim(e)))
LB_FN(env_action_dim, LB_UD(lundi_env *, e, check_env); LB_RET_INT(lundi_env_action_dim(e)))
LB_FN(env_max_steps, LB_UD(lundi_env *, e, check_env); LB_RET_INT(lundi_env_max_steps(e)))
LB_FN(env_name, LB_UD(lundi_env *, e, check_env); LB_RET_STR(lundi_env_name(e)))

LB_FN(env_render, LB_UD(lundi_env *, e, check_env); LB_INT_OPT(w, 256); LB_INT_OPT(h, w);
      LB_RET_T_AS(lundi_lua_placed(lundi_env_render_tensor(e, w, h)), "env:render"))

/* ---- Push-T ---- */

static const char *const STATE_KEYS[] = {"agent_x", "agent_y", "block_x", "block_y", "angle", NULL};

static int env_coverage(lua_State *L) {
  double c = lundi_pusht_coverage(check_env(L, 1));
  if (c < 0) return lundi_lua_error(L, "env:coverage");
  LB_RET_NUM(c);
}

static int env_state(lua_State *L) {
  double s[5];
  if (lundi_pusht_get_state(check_env(L, 1), s) != 0) return lundi_lua_error(L, "env:state");
  lua_createtable(L, 0, 5);
  for (int i = 0; i < 5; i++) lundi_lua_set_num(L, STATE_KEYS[i], s[i]);
  return 1;
}

static int env_set_state(lua_State *L) {
  static const char fn[] = "env:set_state";
  lundi_env *e = check_env(L, 1);
  luaL_checktype(L, 2, LUA_TTABLE);
  lundi_lua_check_keys(L, 2, fn, "state field", STATE_KEYS);
  double s[5];
  for (int i = 0; i < 5; i++) {
    if (lua_getfield(L, 2, STATE_KEYS[i]) != LUA_TNUMBER)
      return luaL_error(L, "%s: '%s' must be a number (got %s); the state is {agent_x, agent_y, block_x, "
                           "block_y, angle}",
                        fn, STATE_KEYS[i], luaL_typename(L, -1));
    s[i] = lua_tonumber(L, -1);
    lua_pop(L, 1);
  }
  if (lundi_pusht_set_state(e, s) != 0) return lundi_lua_error(L, fn);
  return env_observe(L);
}

/* ---- two-way ---- */

static int env_side(lua_State *L) {
  static const char *const names[] = {"none", "left", "right"};
  int s = lundi_two_way_side_of(check_env(L, 1));
  if (s < 0) return lundi_lua_error(L, "env:side");
  LB_RET_STR(names[s]);
}

static int env_hits(lua_State *L) {
  int h = lundi_two_way_hits(check_env(L, 1));
  if (h < 0) return lundi_lua_error(L, "env:hits");
  LB_RET_INT(h);
}

static int env_set_agent(lua_State *L) {
  lundi_env *e = check_env(L, 1);
  double x = luaL_checknumber(L, 2), y = luaL_checknumber(L, 3);
  if (lundi_two_way_set_agent(e, x, y) != 0) return lundi_lua_error(L, "env:set_agent");
  lua_settop(L, 1);
  return env_observe(L);
}

void lundi_lua_open_env(lua_State *L, int mod) {
  static const luaL_Reg meta[] = {{"__gc", env_gc}, {"__tostring", env_tostring}, {NULL, NULL}};
  static const luaL_Reg methods[] = {
      {"reset", env_reset},         {"step", env_step},           {"observe", env_observe},
      {"success", env_success},     {"steps", env_steps},         {"obs_dim", env_obs_dim},
      {"action_dim", env_action_dim}, {"max_steps", env_max_steps}, {"name", env_name},
      {"render", env_render},       {"coverage", env_coverage},   {"state", env_state},
      {"set_state", env_set_state}, {"side", env_side},           {"hits", env_hits},
      {"set_agent", env_set_agent}, {NULL, NULL}};
  lundi_lua_new_class(L, ENV, meta, methods);
  lua_pushcfunction(L, l_env);
  lua_setfield(L, mod, "env");
}
