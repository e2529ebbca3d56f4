/* Simulated environments for action policies (Diffusion Policy): one small gym-like API that
 * every environment shares, plus the few queries an evaluation needs. See docs/action.md.
 *
 *   lundi_env *e = lundi_env_new("pusht");           NULL + error when the name is unknown
 *   float obs[lundi_env_obs_dim(e)];
 *   lundi_env_reset(e, seed, obs);                   seeded, deterministic
 *   lundi_env_step(e, action, obs, &reward, &done);  action: lundi_env_action_dim(e) floats
 *
 * Every call returns 0 or a negative lundi_status with a message (lundi/error.h); none
 * exits. Stepping before a reset or after the episode is done is LUNDI_ESTATE. */
#ifndef LUNDI_ENV_H
#define LUNDI_ENV_H

#include <stdint.h>

#include "lundi/tensor.h"

#ifdef __cplusplus
extern "C" {
#endif

typedef struct lundi_env lundi_env;

/* "pusht" or "two_way"; unknown names and NULL give NULL and an error listing the names. */
lundi_env *lundi_env_new(const char *name);
void lundi_env_free(lundi_env *env); /* NULL is fine */
/* "pusht, two_way": the names lundi_env_new knows, for messages. */
const char *lundi_env_names(void);
const char *lundi_env_name(const lundi_env *env); /* NULL for NULL */

/* Sizes; a negative status for NULL. */
int lundi_env_obs_dim(const lundi_env *env);
int lundi_env_action_dim(const lundi_env *env);
int lundi_env_max_steps(const lundi_env *env); /* an episode ends (done) after this many steps */
int lundi_env_steps(const lundi_env *env);     /* steps taken since the last reset */

/* Starts an episode from seed; writes obs (obs_dim floats; NULL to skip). */
int lundi_env_reset(lundi_env *env, uint64_t seed, float *obs);
/* One control step. obs, reward and done may be NULL. done is 1 on success or when
 * max_steps steps have been taken; the next step is then an error until a reset. */
int lundi_env_step(lundi_env *env, const float *action, float *obs, double *reward, int *done);
/* The observation of the current state (obs_dim floats), as reset and step write it; after
 * lundi_pusht_set_state or lundi_two_way_set_agent, the placed state's. */
int lundi_env_observe(const lundi_env *env, float *obs);
/* 1 when the current state is a success (Push-T: coverage > 0.95; two_way: at the goal),
 * 0 when not, negative on error. */
int lundi_env_success(const lundi_env *env);
/* A top view of the current state into rgb (w * h * 3 bytes, row-major RGB8), any size from
 * 8x8 to 4096x4096. */
int lundi_env_render(lundi_env *env, uint8_t *rgb, int w, int h);
/* The same view as an image tensor: f32 [3, h, w], planar, values byte / 255 in [0, 1], on
 * the host (what lundi_image_from_tensor reads with range {0, 1}, exactly). NULL + error
 * as lundi_env_render. */
lundi_tensor *lundi_env_render_tensor(lundi_env *env, int w, int h);

/* ---- Push-T ----
 * State: agent x, y, block x, y (the T's body origin, the middle of the bar's top edge),
 * block angle; pixels and radians, y down as in the image. */
int lundi_pusht_get_state(const lundi_env *env, double state[5]);
/* Places agent and block (velocities zero) and takes one physics substep, as the reference's
 * reset does; the episode restarts at step 0. */
int lundi_pusht_set_state(lundi_env *env, const double state[5]);
/* area(block and goal T overlap) / area(goal T) of the current state, in [0, 1]; negative
 * on error. */
double lundi_pusht_coverage(const lundi_env *env);
/* The same for a block at pose (x, y, angle), exact (polygon clipping). */
double lundi_pusht_coverage_at(double x, double y, double angle);
/* The goal pose (256, 256, pi/4). */
void lundi_pusht_goal(double pose[3]);

/* ---- two_way ---- */
typedef enum lundi_two_way_side {
  LUNDI_TWO_WAY_NONE = 0,  /* has not yet passed the obstacle */
  LUNDI_TWO_WAY_LEFT = 1,  /* first rose above the obstacle at x < 0 */
  LUNDI_TWO_WAY_RIGHT = 2  /* ... at x > 0 */
} lundi_two_way_side;
/* The side of the current episode (a lundi_two_way_side), negative on error. */
int lundi_two_way_side_of(const lundi_env *env);
/* How many steps of the current episode were stopped by the obstacle. */
int lundi_two_way_hits(const lundi_env *env);
/* Puts the agent at (x, y) (must be in the world and not inside the obstacle); the episode
 * restarts at step 0 with side NONE. */
int lundi_two_way_set_agent(lundi_env *env, double x, double y);

/* ---- GIF ----
 * Writes n_frames RGB8 frames (each w * h * 3 bytes, one after another) to path as an
 * animated, looping GIF89a, delay_cs hundredths of a second per frame, atomically. Frames with
 * at most 256 colours in all are exact; otherwise colours are cut to a 6x6x6 cube. */
int lundi_gif_write(const char *path, const uint8_t *frames, int n_frames, int w, int h,
                    int delay_cs);

#ifdef __cplusplus
}
#endif
#endif
