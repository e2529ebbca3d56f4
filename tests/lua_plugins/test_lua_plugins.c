/* Lua plugins seen from C: a Lua scheduler driven by a C sampler loop, errors inside Lua
 * callbacks, and a registry that outlives the Lua state that registered into it. */
#include <lauxlib.h>
#include <lualib.h>

#include "harness.h"
#include "lundi/lua.h"
#include "lundi/plugin.h"

/* ---- a C denoiser (out = 0.5 x) and a C sampler looping over the scheduler ---- */
static int c_create(void *user, const lundi_params *p, void **self) {
  (void)user;
  (void)p;
  *self = (void *)1;
  return 0;
}
static void c_destroy(void *self) { (void)self; }

static lundi_tensor *half_forward(void *self, lundi_tensor *x, lundi_tensor *t, const lundi_cond *c,
                                  lundi_rng *rng) {
  (void)self, (void)t, (void)c, (void)rng;
  return lundi_mul_scalar(x, 0.5f);
}
static const lundi_denoiser_api half_api = {half_forward, NULL};

static const lundi_param_spec loop_params[] = {
    {"steps", LUNDI_PARAM_INT, "4", 1, 1000, NULL, "reverse steps"}};

static int loop_create(void *user, const lundi_params *p, void **self) {
  (void)user;
  *self = (void *)(intptr_t)lundi_params_int(p, "steps");
  return 0;
}

static lundi_tensor *loop_sample(void *self, const lundi_pipeline_parts *parts, const lundi_sample_request *req) {
  int steps = (int)(intptr_t)self;
  int64_t shape[LUNDI_MAX_DIMS] = {req->batch};
  for (int i = 0; i < req->ndim; i++) shape[i + 1] = req->shape[i];
  if (lundi_scheduler_set_timesteps(parts->scheduler, steps) < 0) return NULL;
  int n = lundi_scheduler_num_steps(parts->scheduler);
  if (n < 0) return NULL;
  lundi_tensor *x = lundi_randn(req->rng, req->ndim + 1, shape);
  for (int i = 0; x && i < n; i++) {
    double t = lundi_scheduler_timestep(parts->scheduler, i);
    if (t != t) goto fail;
    lundi_tensor *tt = lundi_full(1, shape, (float)t);
    lundi_tensor *out = lundi_denoiser_forward(parts->denoiser, x, tt, NULL, req->rng);
    lundi_tensor *nx = out ? lundi_scheduler_step(parts->scheduler, out, i, x, req->rng) : NULL;
    lundi_release(tt);
    lundi_release(out);
    if (!nx) goto fail;
    lundi_release(x);
    x = nx;
  }
  return x;
fail:
  lundi_release(x);
  return NULL;
}
static const lundi_sampler_api loop_api = {loop_sample};

static lundi_registry *c_registry(void) {
  lundi_registry *r = lundi_registry_new();
  lundi_plugin_desc half = {LUNDI_ABI_VERSION, LUNDI_DENOISER, "half", "1.0", "out = x / 2", NULL, 0,
                            c_create, c_destroy, &half_api, NULL, NULL};
  lundi_plugin_desc loop = {LUNDI_ABI_VERSION, LUNDI_SAMPLER, "c_loop", "1.0", "plain reverse loop",
                            loop_params, 1, loop_create, c_destroy, &loop_api, NULL, NULL};
  CHECK(lundi_register(r, &half, NULL) == 0);
  CHECK(lundi_register(r, &loop, NULL) == 0);
  return r;
}

/* x <- x - out * scale, drawing (and discarding) noise so the rng must advance. */
static const char *lua_sched =
    "lundi.register{kind='scheduler', name='lua_shrink', version='0.1',\n"
    "  params={{name='scale', type='float', default=0.5, min=0, max=1}},\n"
    "  create=function(p) return {scale=p.scale, n=0} end,\n"
    "  num_train_timesteps=function(self) return 1000 end,\n"
    "  add_noise=function(self, x0, noise, t) return x0 + noise end,\n"
    "  target=function(self, x0, noise, t) return noise end,\n"
    "  set_timesteps=function(self, n) self.n = n end,\n"
    "  num_steps=function(self) return self.n end,\n"
    "  timestep=function(self, i) return 999 - i end,\n"
    "  step=function(self, out, i, x, rng)\n"
    "    local z = rng:randn(x:shape())\n"
    "    return x - out * self.scale + z * 0\n"
    "  end}\n"
    "lundi.register{kind='scheduler', name='lua_bad', create=function(p) return {} end,\n"
    "  num_train_timesteps=function(self) return 10 end,\n"
    "  add_noise=function(self, x0, noise, t) return x0 end,\n"
    "  target=function(self, x0, noise, t) return 'not a tensor' end,\n"
    "  set_timesteps=function(self, n) end,\n"
    "  num_steps=function(self) return 1 end,\n"
    "  timestep=function(self, i) return 0 end,\n"
    "  step=function(self, out, i, x, rng)\n"
    "    error('boom in step')\n"
    "  end}\n";

static lua_State *open_with(lundi_registry *r) {
  lua_State *L = luaL_newstate();
  luaL_openlibs(L);
  lundi_lua_open(L, r);
  lua_pop(L, 1);
  if (luaL_loadbuffer(L, lua_sched, strlen(lua_sched), "=sched.lua") != LUA_OK || lua_pcall(L, 0, 0, 0) != LUA_OK) {
    fprintf(stderr, "lua: %s\n", lua_tostring(L, -1));
    CHECK(0);
  }
  return L;
}

static void c_loop_drives_lua_scheduler(void) {
  lundi_registry *r = c_registry();
  lua_State *L = open_with(r);
  const lundi_plugin *p = lundi_registry_find(r, LUNDI_SCHEDULER, "lua_shrink");
  CHECK(p && strcmp(lundi_plugin_origin(p), "sched.lua:1") == 0);
  lundi_params *sp = lundi_plugin_params(p);
  CHECK(lundi_params_set(sp, "scale", "0.25") == 0);
  lundi_instance *s = lundi_instance_new(p, sp);
  lundi_params_free(sp);
  lundi_instance *d = lundi_instance_create(r, LUNDI_DENOISER, "half", NULL);
  lundi_instance *sa = lundi_instance_create(r, LUNDI_SAMPLER, "c_loop", NULL);
  CHECK(s && d && sa);
  CHECK(lundi_scheduler_num_train_timesteps(s) == 1000);

  lundi_rng rng = lundi_rng_make(7);
  lundi_sample_request req = {.batch = 2, .ndim = 1, .shape = {3}, .rng = &rng};
  lundi_pipeline_parts parts = {s, d, NULL};
  lundi_tensor *x = lundi_sampler_sample(sa, &parts, &req);
  CHECK(x != NULL);
  /* x0 = randn(seed 7), then 4 steps of x <- x - 0.25 * (x / 2) = 0.875 x */
  lundi_rng ref = lundi_rng_make(7);
  int64_t shape[2] = {2, 3};
  lundi_tensor *x0 = lundi_randn(&ref, 2, shape);
  if (x && x0) {
    float a[6], b[6];
    lundi_read_f32(x, a, 6);
    lundi_read_f32(x0, b, 6);
    for (int i = 0; i < 6; i++) CHECK_NEAR(a[i], b[i] * pow(0.875, 4), 1e-5);
  }
  /* The Lua step drew 2 blocks of noise at each of the 4 steps: the C rng saw those draws. */
  CHECK(rng.offset == ref.offset + 4 * 2);
  lundi_release(x);
  lundi_release(x0);
  lundi_instance_free(s);
  lundi_instance_free(d);
  lundi_instance_free(sa);
  lua_close(L);
  lundi_registry_free(r);
}

static void lua_errors_reach_c(void) {
  lundi_registry *r = c_registry();
  lua_State *L = open_with(r);
  lundi_instance *s = lundi_instance_create(r, LUNDI_SCHEDULER, "lua_bad", NULL);
  CHECK(s != NULL);
  int64_t shape[1] = {2};
  lundi_tensor *x = lundi_zeros(1, shape);
  lundi_rng rng = lundi_rng_make(1);
  /* An error raised inside step: the plugin, where it was registered, and the Lua line. */
  CHECK_ERR(lundi_scheduler_step(s, x, 0, x, &rng), "scheduler 'lua_bad' (sched.lua:14)");
  CHECK_ERR(lundi_scheduler_step(s, x, 0, x, &rng), "sched.lua:22: boom in step");
  CHECK_ERR(lundi_scheduler_step(s, x, 0, x, &rng), "stack traceback");
  /* A wrong return type names the function and what came back. */
  CHECK_ERR(lundi_scheduler_target(s, x, x, x), "target must return a tensor, got string");
  /* The state is still usable afterwards. */
  CHECK(lua_gettop(L) == 0);
  CHECK(lundi_scheduler_num_train_timesteps(s) == 10);
  lundi_release(x);
  lundi_instance_free(s);
  lua_close(L);
  lundi_registry_free(r);
}

static void registry_outlives_state(void) {
  lundi_registry *r = c_registry();
  lua_State *L = open_with(r);
  lundi_instance *s = lundi_instance_create(r, LUNDI_SCHEDULER, "lua_shrink", NULL);
  CHECK(s != NULL);
  lua_close(L); /* like the lundi command: the state goes first */
  /* Calls into a dead state fail cleanly; create() is refused with a clear message. */
  CHECK_ERR(lundi_scheduler_num_train_timesteps(s), "has been closed");
  CHECK_ERR(lundi_instance_create(r, LUNDI_SCHEDULER, "lua_shrink", NULL),
            "plugin 'lua_shrink' was registered by a Lua state that has been closed");
  /* Still listed; the C plugins keep working. */
  CHECK(lundi_registry_find(r, LUNDI_SCHEDULER, "lua_shrink") != NULL);
  lundi_instance *d = lundi_instance_create(r, LUNDI_DENOISER, "half", NULL);
  CHECK(d != NULL);
  lundi_instance_free(d);
  lundi_instance_free(s); /* destroy must not touch the closed state (ASan would see it) */
  lundi_registry_free(r);
}

static void state_outlives_instances(void) {
  /* Instances freed while the state lives release their Lua references. */
  lundi_registry *r = c_registry();
  lua_State *L = open_with(r);
  lua_gc(L, LUA_GCCOLLECT);
  int before = lua_gc(L, LUA_GCCOUNT);
  for (int i = 0; i < 200; i++) {
    lundi_instance *s = lundi_instance_create(r, LUNDI_SCHEDULER, "lua_shrink", NULL);
    CHECK(s != NULL);
    lundi_instance_free(s);
  }
  lua_gc(L, LUA_GCCOLLECT);
  CHECK(lua_gc(L, LUA_GCCOUNT) - before < 16); /* KiB: the 200 self tables are gone */
  lua_close(L);
  lundi_registry_free(r);
}

static const test_case TESTS[] = {
    {"c_loop_drives_lua_scheduler", c_loop_drives_lua_scheduler},
    {"lua_errors_reach_c", lua_errors_reach_c},
    {"registry_outlives_state", registry_outlives_state},
    {"state_outlives_instances", state_outlives_instances},
};
TEST_MAIN(TESTS)
