/* lundi_expert (lundi/expert.h): one expert per environment kind, behind a small table, and
 * the two-way expert, a scripted waypoint follower. */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "core/error.h"
#include "sim/expert_internal.h"

struct lundi_expert {
  const lundi__expert_kind *kind;
  void *impl;
  int begun;
};

static const lundi__expert_kind *const KINDS[] = {&lundi__two_way_expert, &lundi__pusht_expert};

lundi_expert *lundi_expert_new(lundi_env *env) {
  if (!env) return lundi__errp(LUNDI_EINVAL, "expert_new: no environment (NULL)");
  const char *name = lundi_env_name(env);
  for (size_t i = 0; i < sizeof KINDS / sizeof *KINDS; i++) {
    if (strcmp(KINDS[i]->env, name) != 0) continue;
    lundi_expert *x = calloc(1, sizeof *x);
    if (!x) return lundi__errp(LUNDI_ENOMEM, "expert_new: out of memory");
    x->kind = KINDS[i];
    x->impl = KINDS[i]->create(env);
    if (!x->impl) {
      free(x);
      return NULL;
    }
    return x;
  }
  return lundi__errp(LUNDI_EUNSUPPORTED, "expert_new: no expert for environment %s", name);
}

void lundi_expert_free(lundi_expert *x) {
  if (!x) return;
  x->kind->destroy(x->impl);
  free(x);
}

const char *lundi_expert_name(const lundi_expert *x) { return x ? x->kind->name : NULL; }

int lundi_expert_begin(lundi_expert *x, uint64_t seed) {
  if (!x) return lundi__err(LUNDI_EINVAL, "expert_begin: no expert (NULL)");
  int rc = x->kind->begin(x->impl, seed);
  x->begun = rc == 0;
  return rc;
}

int lundi_expert_act(lundi_expert *x, float *action) {
  if (!x) return lundi__err(LUNDI_EINVAL, "expert_act: no expert (NULL)");
  if (!action) return lundi__err(LUNDI_EINVAL, "expert_act: no action buffer (NULL)");
  if (!x->begun) return lundi__err(LUNDI_ESTATE, "expert_act: call lundi_expert_begin after the reset first");
  return x->kind->act(x->impl, action);
}

int lundi_expert_mode(const lundi_expert *x) {
  if (!x) return lundi__err(LUNDI_EINVAL, "expert_mode: no expert (NULL)");
  return x->begun ? x->kind->mode(x->impl) : 0;
}

double lundi__sim_normal(lundi_rng *rng) {
  double u1 = lundi__sim_uniform(rng, 0, 1), u2 = lundi__sim_uniform(rng, 0, 1);
  return sqrt(-2 * log(1 - u1)) * cos(2 * M_PI * u2);
}

/* ---- two_way: around the obstacle (|x| < 0.3, |y| < 0.15) on the picked side, through
 * two corners at x = side * wx (wx drawn in [0.42, 0.55]), y = -0.3 and +0.3, then to the
 * goal (0, 0.7). The action is the current waypoint; the next one is taken once the agent
 * is on it (each step moves at most 0.1, so it lands on it exactly). */
#define TW_SEED_KEY 0x74776f5f77617973ull /* "two_ways": the expert's own stream */

typedef struct tw_expert {
  lundi_env *env;
  double wp[3][2];
  int next, side;
} tw_expert;

static void *tw_create(lundi_env *env) {
  tw_expert *t = calloc(1, sizeof *t);
  if (!t) return lundi__errp(LUNDI_ENOMEM, "expert_new: out of memory (two_way)");
  t->env = env;
  return t;
}

static int tw_begin(void *impl, uint64_t seed) {
  tw_expert *t = impl;
  lundi_rng rng = lundi_rng_make(seed ^ TW_SEED_KEY);
  t->side = lundi__sim_uniform(&rng, 0, 1) < 0.5 ? LUNDI_TWO_WAY_LEFT : LUNDI_TWO_WAY_RIGHT;
  double s = t->side == LUNDI_TWO_WAY_LEFT ? -1 : 1;
  double wx = lundi__sim_uniform(&rng, 0.42, 0.55);
  double y0 = lundi__sim_uniform(&rng, -0.35, -0.25), y1 = lundi__sim_uniform(&rng, 0.25, 0.35);
  t->wp[0][0] = s * wx, t->wp[0][1] = y0;
  t->wp[1][0] = s * wx, t->wp[1][1] = y1;
  t->wp[2][0] = 0, t->wp[2][1] = 0.7;
  t->next = 0;
  return 0;
}

static int tw_act(void *impl, float *action) {
  tw_expert *t = impl;
  float obs[2];
  /* The observation is the agent's position: take it from a zero-length query of the env. */
  int rc = lundi__env_observe(t->env, obs);
  if (rc) return rc;
  while (t->next < 2 && hypot(obs[0] - t->wp[t->next][0], obs[1] - t->wp[t->next][1]) < 1e-6) t->next++;
  action[0] = (float)t->wp[t->next][0], action[1] = (float)t->wp[t->next][1];
  return 0;
}

static int tw_mode(const void *impl) { return ((const tw_expert *)impl)->side; }

const lundi__expert_kind lundi__two_way_expert = {
    .env = "two_way", .name = "two_way_waypoints", .create = tw_create, .destroy = free,
    .begin = tw_begin, .act = tw_act, .mode = tw_mode};
