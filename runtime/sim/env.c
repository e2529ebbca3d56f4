/* The environment registry and the calls every environment shares (lundi/env.h): argument
 * checks, the step count and the episode's state live here, the physics in each kind. */
#include <stdlib.h>
#include <string.h>

#include "core/error.h"
#include "sim/sim_internal.h"

static const lundi__env_kind *const KINDS[] = {&lundi__pusht_kind, &lundi__two_way_kind};
#define N_KINDS ((int)(sizeof KINDS / sizeof *KINDS))

const char *lundi_env_names(void) { return "pusht, two_way"; }

lundi_env *lundi_env_new(const char *name) {
  if (!name) return lundi__errp(LUNDI_EINVAL, "env_new: no name (NULL); environments: %s", lundi_env_names());
  for (int i = 0; i < N_KINDS; i++) {
    if (strcmp(KINDS[i]->name, name) != 0) continue;
    lundi_env *e = calloc(1, sizeof *e);
    if (!e) return lundi__errp(LUNDI_ENOMEM, "env_new: out of memory");
    e->kind = KINDS[i];
    e->impl = e->kind->create();
    if (!e->impl) {
      free(e);
      return NULL;
    }
    return e;
  }
  return lundi__errp(LUNDI_EINVAL, "env_new: unknown environment \"%.60s\"; environments: %s", name,
                     lundi_env_names());
}

void lundi_env_free(lundi_env *env) {
  if (!env) return;
  env->kind->destroy(env->impl);
  free(env);
}

const char *lundi_env_name(const lundi_env *env) { return env ? env->kind->name : NULL; }

#define NEED_ENV(fn)                                                                               \
  if (!env) return lundi__err(LUNDI_EINVAL, fn ": no environment (NULL)")

int lundi_env_obs_dim(const lundi_env *env) {
  NEED_ENV("env_obs_dim");
  return env->kind->obs_dim;
}
int lundi_env_action_dim(const lundi_env *env) {
  NEED_ENV("env_action_dim");
  return env->kind->action_dim;
}
int lundi_env_max_steps(const lundi_env *env) {
  NEED_ENV("env_max_steps");
  return env->kind->max_steps;
}
int lundi_env_steps(const lundi_env *env) {
  NEED_ENV("env_steps");
  return env->steps;
}

int lundi_env_reset(lundi_env *env, uint64_t seed, float *obs) {
  NEED_ENV("env_reset");
  lundi_rng rng = lundi_rng_make(seed);
  env->kind->reset(env->impl, &rng);
  lundi__env_restart(env);
  if (obs) env->kind->observe(env->impl, obs);
  return 0;
}

int lundi__env_observe(const lundi_env *env, float *obs) {
  if (env->state == 0) return lundi__err(LUNDI_ESTATE, "%s has not been reset", env->kind->name);
  env->kind->observe(env->impl, obs);
  return 0;
}

void lundi__env_restart(lundi_env *env) {
  env->steps = 0;
  env->state = 1;
}

int lundi_env_step(lundi_env *env, const float *action, float *obs, double *reward, int *done) {
  NEED_ENV("env_step");
  if (!action) return lundi__err(LUNDI_EINVAL, "env_step: no action (NULL)");
  if (env->state == 0) return lundi__err(LUNDI_ESTATE, "env_step: %s has not been reset", env->kind->name);
  if (env->state == 2)
    return lundi__err(LUNDI_ESTATE, "env_step: the %s episode is done (after %d steps); reset it",
                      env->kind->name, env->steps);
  for (int i = 0; i < env->kind->action_dim; i++)
    if (!(action[i] == action[i]) || action[i] > 1e30f || action[i] < -1e30f)
      return lundi__err(LUNDI_EINVAL, "env_step: action[%d] is not a finite number", i);
  env->kind->step(env->impl, action);
  env->steps++;
  int d = env->kind->success(env->impl) || env->steps >= env->kind->max_steps;
  if (d) env->state = 2;
  if (obs) env->kind->observe(env->impl, obs);
  if (reward) *reward = env->kind->reward(env->impl);
  if (done) *done = d;
  return 0;
}

int lundi_env_observe(const lundi_env *env, float *obs) {
  NEED_ENV("env_observe");
  if (!obs) return lundi__err(LUNDI_EINVAL, "env_observe: no obs buffer (NULL)");
  if (env->state == 0) return lundi__err(LUNDI_ESTATE, "env_observe: %s has not been reset", env->kind->name);
  env->kind->observe(env->impl, obs);
  return 0;
}

int lundi_env_success(const lundi_env *env) {
  NEED_ENV("env_success");
  if (env->state == 0) return lundi__err(LUNDI_ESTATE, "env_success: %s has not been reset", env->kind->name);
  return env->kind->success(env->impl);
}

int lundi_env_render(lundi_env *env, uint8_t *rgb, int w, int h) {
  NEED_ENV("env_render");
  if (!rgb) return lundi__err(LUNDI_EINVAL, "env_render: no pixel buffer (NULL)");
  if (w < 8 || h < 8 || w > 4096 || h > 4096)
    return lundi__err(LUNDI_EINVAL, "env_render: size %dx%d is outside 8x8 .. 4096x4096", w, h);
  if (env->state == 0) return lundi__err(LUNDI_ESTATE, "env_render: %s has not been reset", env->kind->name);
  env->kind->render(env->impl, rgb, w, h);
  return 0;
}

void *lundi__env_impl(const lundi_env *env, const lundi__env_kind *k, const char *fn, int need_reset) {
  if (!env) return lundi__errp(LUNDI_EINVAL, "%s: no environment (NULL)", fn);
  if (env->kind != k)
    return lundi__errp(LUNDI_EINVAL, "%s: needs a %s environment, got %s", fn, k->name, env->kind->name);
  if (need_reset && env->state == 0) return lundi__errp(LUNDI_ESTATE, "%s: %s has not been reset", fn, k->name);
  return env->impl;
}

double lundi__sim_uniform(lundi_rng *rng, double lo, double hi) {
  uint32_t x[4];
  lundi_philox4x32_10(rng->offset++, 0, rng->seed, x);
  return lo + (hi - lo) * ((double)(x[0] >> 8) * (1.0 / 16777216.0));
}
