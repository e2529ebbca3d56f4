/* The experts' shared layout (runtime/sim/expert.c dispatches; expert_pusht.c plans). */
#ifndef LUNDI_EXPERT_INTERNAL_H
#define LUNDI_EXPERT_INTERNAL_H

#include "lundi/expert.h"
#include "sim/sim_internal.h"

typedef struct lundi__expert_kind {
  const char *env, *name;
  void *(*create)(lundi_env *env); /* NULL + error */
  void (*destroy)(void *impl);
  int (*begin)(void *impl, uint64_t seed);
  int (*act)(void *impl, float *action);
  int (*mode)(const void *impl);
} lundi__expert_kind;

extern const lundi__expert_kind lundi__two_way_expert, lundi__pusht_expert;

/* A standard normal from the Philox stream (Box-Muller over two lundi__sim_uniform draws). */
double lundi__sim_normal(lundi_rng *rng);

#endif
