/* Push-T on Chipmunk2D, after real-stanford/diffusion_policy's env/pusht/pusht_env.py
 * (docs/action.md): a 512 x 512 world with four static walls, no gravity, space damping 0
 * (every body's velocity is dropped at each substep, so the block moves only while pushed),
 * a kinematic circular agent (radius 15) driven toward the commanded target by a PD
 * controller at each of the 10 physics substeps (100 Hz) of one control step (10 Hz), and
 * the T block (pusht_geom.c), mass 1. */
#include <chipmunk/chipmunk.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "core/error.h"
#include "sim/sim_internal.h"

#define WORLD 512.0
#define SIM_HZ 100
#define CONTROL_HZ 10
#define KP 100.0
#define KV 20.0
#define AGENT_R 15.0
#define SUCCESS 0.95

typedef struct pusht {
  cpSpace *space;
  cpBody *agent, *block;
  cpShape *shapes[8];
  int n_shapes;
} pusht;

static void add_shape(pusht *p, cpShape *s) {
  cpSpaceAddShape(p->space, s);
  p->shapes[p->n_shapes++] = s;
}

/* Frees the space and everything in it, leaving p zeroed. */
static void teardown(pusht *p) {
  for (int i = 0; i < p->n_shapes; i++) {
    cpSpaceRemoveShape(p->space, p->shapes[i]);
    cpShapeFree(p->shapes[i]);
  }
  if (p->agent) cpSpaceRemoveBody(p->space, p->agent), cpBodyFree(p->agent);
  if (p->block) cpSpaceRemoveBody(p->space, p->block), cpBodyFree(p->block);
  if (p->space) cpSpaceFree(p->space);
  memset(p, 0, sizeof *p);
}

static void destroy(void *impl) {
  if (!impl) return;
  teardown(impl);
  free(impl);
}

/* A fresh space: walls, agent, block. */
static void build(pusht *p) {
  p->space = lundi__sim_space_new(); /* space.c: no debug banner on stdout */
  cpSpaceSetGravity(p->space, cpvzero);
  cpSpaceSetDamping(p->space, 0);
  cpBody *ground = cpSpaceGetStaticBody(p->space);
  static const double walls[4][4] = {{5, 506, 5, 5}, {5, 5, 506, 5}, {506, 5, 506, 506}, {5, 506, 506, 506}};
  for (int i = 0; i < 4; i++)
    add_shape(p, cpSegmentShapeNew(ground, cpv(walls[i][0], walls[i][1]), cpv(walls[i][2], walls[i][3]), 2));

  p->agent = cpSpaceAddBody(p->space, cpBodyNewKinematic());
  add_shape(p, cpCircleShapeNew(p->agent, AGENT_R, cpvzero));

  /* The reference's quirk, kept: the moment is twice the bar's (both terms use vertices1). */
  cpVect v[2][4];
  for (int b = 0; b < 2; b++)
    for (int i = 0; i < 4; i++) v[b][i] = cpv(lundi__pusht_box[b][i][0], lundi__pusht_box[b][i][1]);
  double moment = 2 * cpMomentForPoly(1, 4, v[0], cpvzero, 0);
  p->block = cpSpaceAddBody(p->space, cpBodyNew(1, moment));
  for (int b = 0; b < 2; b++) add_shape(p, cpPolyShapeNew(p->block, 4, v[b], cpTransformIdentity, 0));
  /* The centre of gravity halfway between the boxes' centroids (0, 15) and (0, 75). */
  cpBodySetCenterOfGravity(p->block, cpv(0, 45));
  /* Friction and elasticity stay Chipmunk's (and pymunk's) default 0 on every shape: the
   * reference sets friction on the bodies, where it has no effect. */
}

static void *create(void) {
  pusht *p = calloc(1, sizeof *p);
  if (!p) return lundi__errp(LUNDI_ENOMEM, "env_new: out of memory (pusht)");
  build(p);
  return p;
}

static void place(pusht *p, const double s[5]) {
  cpBodySetPosition(p->agent, cpv(s[0], s[1]));
  cpBodySetVelocity(p->agent, cpvzero);
  /* Angle first, then position: setting the angle turns about the centre of gravity. */
  cpBodySetAngle(p->block, s[4]);
  cpBodySetPosition(p->block, cpv(s[2], s[3]));
  cpBodySetVelocity(p->block, cpvzero);
  cpBodySetAngularVelocity(p->block, 0);
  cpSpaceStep(p->space, 1.0 / SIM_HZ);
}

static void reset(void *impl, lundi_rng *rng) {
  /* The reference draws integers with numpy; we draw uniform reals from Philox (documented
   * in docs/action.md): agent in [50, 450)^2, block in [100, 400)^2, angle in [-pi, pi). */
  /* A fresh space, so that nothing of the last episode (Chipmunk's cached contacts and their
   * impulses, which warm-start the solver) changes this one: an episode depends on its seed
   * and actions only. */
  teardown(impl);
  build(impl);
  double s[5];
  s[0] = lundi__sim_uniform(rng, 50, 450);
  s[1] = lundi__sim_uniform(rng, 50, 450);
  s[2] = lundi__sim_uniform(rng, 100, 400);
  s[3] = lundi__sim_uniform(rng, 100, 400);
  s[4] = lundi__sim_uniform(rng, -M_PI, M_PI);
  place(impl, s);
}

static double clampd(double v, double lo, double hi) { return v < lo ? lo : v > hi ? hi : v; }

static void step(void *impl, const float *action) {
  pusht *p = impl;
  const double dt = 1.0 / SIM_HZ;
  /* The action space is [0, 512]^2: a target outside is clipped to it. */
  cpVect target = cpv(clampd(action[0], 0, WORLD), clampd(action[1], 0, WORLD));
  for (int i = 0; i < SIM_HZ / CONTROL_HZ; i++) {
    cpVect pos = cpBodyGetPosition(p->agent), vel = cpBodyGetVelocity(p->agent);
    cpVect acc = cpvadd(cpvmult(cpvsub(target, pos), KP), cpvmult(vel, -KV));
    cpBodySetVelocity(p->agent, cpvadd(vel, cpvmult(acc, dt)));
    cpSpaceStep(p->space, dt);
  }
}

static void observe(const void *impl, float *obs) {
  const pusht *p = impl;
  for (int k = 0; k < LUNDI__PUSHT_KEYPOINTS; k++) {
    cpVect w = cpBodyLocalToWorld(p->block, cpv(lundi__pusht_keypoints[k][0], lundi__pusht_keypoints[k][1]));
    obs[2 * k] = (float)w.x, obs[2 * k + 1] = (float)w.y;
  }
  cpVect a = cpBodyGetPosition(p->agent);
  obs[2 * LUNDI__PUSHT_KEYPOINTS] = (float)a.x, obs[2 * LUNDI__PUSHT_KEYPOINTS + 1] = (float)a.y;
}

static double coverage(const pusht *p) {
  cpVect b = cpBodyGetPosition(p->block);
  return lundi_pusht_coverage_at(b.x, b.y, cpBodyGetAngle(p->block));
}

static double reward(const void *impl) { return clampd(coverage(impl) / SUCCESS, 0, 1); }
static int success(const void *impl) { return coverage(impl) > SUCCESS; }

static void render(const void *impl, uint8_t *rgb, int w, int h) {
  const pusht *p = impl;
  static const uint8_t white[3] = {255, 255, 255}, gray[3] = {211, 211, 211} /* LightGray */,
                       green[3] = {144, 238, 144} /* LightGreen */,
                       slate[3] = {119, 136, 153} /* LightSlateGray */,
                       blue[3] = {65, 105, 225} /* RoyalBlue */;
  lundi__canvas c = {rgb, w, h};
  double sx = w / WORLD, sy = h / WORLD;
  lundi__fill(&c, white);
  double g[3], boxes[2][4][2], xy[8];
  lundi_pusht_goal(g);
  for (int pass = 0; pass < 2; pass++) {
    if (pass == 0) {
      lundi__pusht_world_boxes(g[0], g[1], g[2], boxes);
    } else {
      cpVect b = cpBodyGetPosition(p->block);
      lundi__pusht_world_boxes(b.x, b.y, cpBodyGetAngle(p->block), boxes);
    }
    for (int b = 0; b < 2; b++) {
      for (int i = 0; i < 4; i++) xy[2 * i] = boxes[b][i][0] * sx, xy[2 * i + 1] = boxes[b][i][1] * sy;
      lundi__fill_convex(&c, xy, 4, pass == 0 ? green : slate);
    }
  }
  cpVect a = cpBodyGetPosition(p->agent);
  /* An ellipse when w != h; drawn as a circle of the mean scale. */
  lundi__fill_circle(&c, a.x * sx, a.y * sy, AGENT_R * 0.5 * (sx + sy), blue);
  /* The walls: segments (5..506) of radius 2, drawn as their bounding boxes. */
  const double lo = 3, hi = 508, in0 = 7, in1 = 504;
  const double rects[4][4] = {{lo, lo, hi, in0}, {lo, in1, hi, hi}, {lo, lo, in0, hi}, {in1, lo, hi, hi}};
  for (int r = 0; r < 4; r++) {
    double q[8] = {rects[r][0] * sx, rects[r][1] * sy, rects[r][2] * sx, rects[r][1] * sy,
                   rects[r][2] * sx, rects[r][3] * sy, rects[r][0] * sx, rects[r][3] * sy};
    lundi__fill_convex(&c, q, 4, gray);
  }
}

const lundi__env_kind lundi__pusht_kind = {
    .name = "pusht",
    .obs_dim = 2 * LUNDI__PUSHT_KEYPOINTS + 2,
    .action_dim = 2,
    .max_steps = 300,
    .create = create,
    .destroy = destroy,
    .reset = reset,
    .step = step,
    .observe = observe,
    .reward = reward,
    .success = success,
    .render = render,
};

int lundi_pusht_get_state(const lundi_env *env, double state[5]) {
  const pusht *p = lundi__env_impl(env, &lundi__pusht_kind, "pusht_get_state", 0);
  if (!p) return lundi_last_error_code();
  if (!state) return lundi__err(LUNDI_EINVAL, "pusht_get_state: no state buffer (NULL)");
  cpVect a = cpBodyGetPosition(p->agent), b = cpBodyGetPosition(p->block);
  state[0] = a.x, state[1] = a.y, state[2] = b.x, state[3] = b.y, state[4] = cpBodyGetAngle(p->block);
  return 0;
}

int lundi_pusht_set_state(lundi_env *env, const double state[5]) {
  pusht *p = lundi__env_impl(env, &lundi__pusht_kind, "pusht_set_state", 0);
  if (!p) return lundi_last_error_code();
  if (!state) return lundi__err(LUNDI_EINVAL, "pusht_set_state: no state (NULL)");
  for (int i = 0; i < 5; i++)
    if (!isfinite(state[i])) return lundi__err(LUNDI_EINVAL, "pusht_set_state: state[%d] is not finite", i);
  place(p, state);
  lundi__env_restart(env);
  return 0;
}

double lundi_pusht_coverage(const lundi_env *env) {
  const pusht *p = lundi__env_impl(env, &lundi__pusht_kind, "pusht_coverage", 1);
  if (!p) return lundi_last_error_code();
  return coverage(p);
}

void lundi__pusht_save(const lundi_env *env, lundi__pusht_snap *s) {
  const pusht *p = env->impl;
  cpVect a = cpBodyGetPosition(p->agent), av = cpBodyGetVelocity(p->agent);
  cpVect b = cpBodyGetPosition(p->block), bv = cpBodyGetVelocity(p->block);
  s->agent[0] = a.x, s->agent[1] = a.y, s->agent[2] = av.x, s->agent[3] = av.y;
  s->block[0] = b.x, s->block[1] = b.y, s->block[2] = cpBodyGetAngle(p->block);
  s->block[3] = bv.x, s->block[4] = bv.y, s->block[5] = cpBodyGetAngularVelocity(p->block);
}

void lundi__pusht_load(lundi_env *env, const lundi__pusht_snap *s) {
  pusht *p = env->impl;
  cpBodySetPosition(p->agent, cpv(s->agent[0], s->agent[1]));
  cpBodySetVelocity(p->agent, cpv(s->agent[2], s->agent[3]));
  cpBodySetAngle(p->block, s->block[2]); /* angle first, as place() */
  cpBodySetPosition(p->block, cpv(s->block[0], s->block[1]));
  cpBodySetVelocity(p->block, cpv(s->block[3], s->block[4]));
  cpBodySetAngularVelocity(p->block, s->block[5]);
  lundi__env_restart(env);
}
