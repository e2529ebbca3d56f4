/* Scripted and planning experts for the simulated environments (lundi/env.h), and the
 * collection of their demonstrations into a file (runtime/sim/expert*.c, demos.c). See
 * docs/action.md ("Experts and demonstrations").
 *
 *   lundi_env *e = lundi_env_new("two_way");
 *   lundi_expert *x = lundi_expert_new(e);       borrows e
 *   lundi_env_reset(e, seed, obs);
 *   lundi_expert_begin(x, seed);                 after each reset: seeds the episode's choices
 *   lundi_expert_act(x, action);                 reads e's state, writes action_dim floats
 *
 * Every call returns 0 or a negative lundi_status with a message (lundi/error.h). */
#ifndef LUNDI_EXPERT_H
#define LUNDI_EXPERT_H

#include <stdint.h>

#include "lundi/env.h"

#ifdef __cplusplus
extern "C" {
#endif

typedef struct lundi_expert lundi_expert;

/* The expert for env's kind: "two_way" a scripted waypoint follower that picks a side per
 * episode, "pusht" sampling-based MPC (CEM) on a scratch copy of the simulator. env is
 * borrowed and must outlive the expert. NULL + error on failure. */
lundi_expert *lundi_expert_new(lundi_env *env);
void lundi_expert_free(lundi_expert *x); /* NULL is fine */
/* "two_way_waypoints" or "pusht_cem": names the expert in a demonstration file. */
const char *lundi_expert_name(const lundi_expert *x);
/* Starts an episode after lundi_env_reset: the same seed gives the same choices. */
int lundi_expert_begin(lundi_expert *x, uint64_t seed);
/* The action for the env's current state (action_dim floats). */
int lundi_expert_act(lundi_expert *x, float *action);
/* two_way: the side picked for this episode (LUNDI_TWO_WAY_LEFT or _RIGHT); 0 for pusht. */
int lundi_expert_mode(const lundi_expert *x);

/* ---- demonstrations ----
 * lundi_demos_collect runs the expert of env_name ("pusht", "two_way") for `episodes`
 * episodes, episode i from seed + i (env reset and expert), until done, and writes path
 * (safetensors, atomically): obs f32 [T, obs_dim] (the observation before each action),
 * action f32 [T, action_dim], episode_ends i32 [E] (exclusive cumulative ends), and string
 * metadata env, expert, seed, episodes, success_rate, score. Every episode is kept. */
typedef struct lundi_demo_stats {
  int episodes;
  int64_t steps;       /* T: the rows written */
  double success_rate; /* episodes that ended in success / episodes */
  double score;        /* mean over episodes of the episode's max reward */
  int modes[3];        /* two_way: episodes per lundi_two_way_side (NONE, LEFT, RIGHT) */
  double seconds;      /* wall time of the collection */
} lundi_demo_stats;
/* progress: called after each episode with (i, episodes, user), may be NULL. */
typedef void (*lundi_demo_progress)(int episode, int episodes, void *user);
int lundi_demos_collect(const char *env_name, const char *path, int episodes, uint64_t seed,
                        lundi_demo_stats *stats, lundi_demo_progress progress, void *user);

#ifdef __cplusplus
}
#endif
#endif
