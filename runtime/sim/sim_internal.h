/* What every environment provides to runtime/sim/env.c, and the helpers they share. */
#ifndef LUNDI_SIM_INTERNAL_H
#define LUNDI_SIM_INTERNAL_H

#include <stdint.h>

#include "lundi/env.h"
#include "lundi/tensor.h"

typedef struct lundi__env_kind {
  const char *name;
  int obs_dim, action_dim, max_steps;
  void *(*create)(void);                 /* NULL + error on failure */
  void (*destroy)(void *impl);
  void (*reset)(void *impl, lundi_rng *rng); /* seeded start state */
  void (*step)(void *impl, const float *action);
  void (*observe)(const void *impl, float *obs);
  double (*reward)(const void *impl);
  int (*success)(const void *impl);
  void (*render)(const void *impl, uint8_t *rgb, int w, int h);
} lundi__env_kind;

struct lundi_env {
  const lundi__env_kind *kind;
  void *impl;
  int steps;  /* since the last reset */
  int state;  /* 0: never reset, 1: running, 2: done */
};

extern const lundi__env_kind lundi__pusht_kind;
extern const lundi__env_kind lundi__two_way_kind;

/* The env's implementation when it is of kind k, else NULL and an error naming fn. */
void *lundi__env_impl(const lundi_env *env, const lundi__env_kind *k, const char *fn, int need_reset);
/* The observation of the current state (obs_dim floats); LUNDI_ESTATE before a reset. */
int lundi__env_observe(const lundi_env *env, float *obs);
/* Restarts the step count after a state was set from outside. */
void lundi__env_restart(lundi_env *env);

/* Uniform in [lo, hi) from the Philox stream: (x >> 8) * 2^-24 of one 32-bit lane, the
 * tensor floor's uniform; each call uses one counter block (lane 0) and advances offset. */
double lundi__sim_uniform(lundi_rng *rng, double lo, double hi);

/* ---- pusht.c: the whole physical state (positions and velocities), for planners that roll
 * the simulator forward on a scratch env. Load sets it without a substep; env must be a
 * pusht env (unchecked). */
typedef struct lundi__pusht_snap {
  double agent[4]; /* x, y, vx, vy */
  double block[6]; /* x, y, angle, vx, vy, angular velocity */
} lundi__pusht_snap;
void lundi__pusht_save(const lundi_env *env, lundi__pusht_snap *s);
void lundi__pusht_load(lundi_env *env, const lundi__pusht_snap *s);

/* space.c: cpSpaceNew() (a cpSpace *), the first of the process made with stdout pointed at
 * /dev/null so that a debug build's banner does not reach lundi's output. */
void *lundi__sim_space_new(void);

/* ---- raster.c: a tiny rasteriser over an RGB8 image; coordinates in pixels, a pixel is
 * painted when its centre is inside. */
typedef struct lundi__canvas {
  uint8_t *rgb;
  int w, h;
} lundi__canvas;
void lundi__fill(lundi__canvas *c, const uint8_t col[3]);
/* A convex polygon, n vertices in either winding. */
void lundi__fill_convex(lundi__canvas *c, const double *xy, int n, const uint8_t col[3]);
void lundi__fill_circle(lundi__canvas *c, double cx, double cy, double r, const uint8_t col[3]);

/* ---- pusht_geom.c: the T's geometry, exact coverage. */
#define LUNDI__PUSHT_KEYPOINTS 9
/* The two boxes, local coordinates, 4 vertices each (counter-clockwise in y-down). */
extern const double lundi__pusht_box[2][4][2];
extern const double lundi__pusht_keypoints[LUNDI__PUSHT_KEYPOINTS][2];
/* The 8 world vertices (2 boxes x 4) of a T at pose. */
void lundi__pusht_world_boxes(double x, double y, double angle, double out[2][4][2]);
/* Area of convex polygon a clipped by convex polygon b (Sutherland-Hodgman). */
double lundi__convex_overlap(const double *a, int na, const double *b, int nb);
double lundi__polygon_area(const double *xy, int n); /* unsigned */

#endif
