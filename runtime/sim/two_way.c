/* The two-way task (docs/action.md): a point agent in the square [-1, 1]^2 starts below a
 * rectangular obstacle and must reach a goal above it, around either side: the classic
 * bimodal demo. The action is a target position; each step the agent moves straight toward
 * it by at most MAX_MOVE, and stops where that segment would enter the obstacle. */
#include <math.h>
#include <stdlib.h>

#include "core/error.h"
#include "sim/sim_internal.h"

#define HALF 1.0       /* the world is [-HALF, HALF]^2 */
#define OB_X 0.3       /* obstacle: |x| < OB_X, |y| < OB_Y */
#define OB_Y 0.15
#define GOAL_X 0.0
#define GOAL_Y 0.7
#define GOAL_R 0.1
#define START_Y (-0.7)
#define JITTER 0.05    /* the start is uniform in (0, START_Y) +- JITTER */
#define MAX_MOVE 0.1

typedef struct two_way {
  double x, y;
  int side, hits;
} two_way;

static void *create(void) {
  two_way *t = calloc(1, sizeof *t);
  if (!t) return lundi__errp(LUNDI_ENOMEM, "env_new: out of memory (two_way)");
  return t;
}
static void destroy(void *impl) { free(impl); }

static void reset(void *impl, lundi_rng *rng) {
  two_way *t = impl;
  t->x = lundi__sim_uniform(rng, -JITTER, JITTER);
  t->y = START_Y + lundi__sim_uniform(rng, -JITTER, JITTER);
  t->side = LUNDI_TWO_WAY_NONE, t->hits = 0;
}

static double clampd(double v, double lo, double hi) { return v < lo ? lo : v > hi ? hi : v; }

/* The fraction in [0, 1] of the segment p + s d at which it first enters the open obstacle
 * (Liang-Barsky), 1 when it does not. */
static double entry(double px, double py, double dx, double dy) {
  double t0 = 0, t1 = 1;
  const double p[4] = {-dx, dx, -dy, dy};
  const double q[4] = {px + OB_X, OB_X - px, py + OB_Y, OB_Y - py};
  for (int i = 0; i < 4; i++) {
    if (p[i] == 0) {
      if (q[i] <= 0) return 1; /* parallel and outside (or on the boundary line) */
      continue;
    }
    double r = q[i] / p[i];
    if (p[i] < 0) t0 = fmax(t0, r);
    else t1 = fmin(t1, r);
  }
  return t0 < t1 ? t0 : 1;
}

static void step(void *impl, const float *action) {
  two_way *t = impl;
  double tx = clampd(action[0], -HALF, HALF), ty = clampd(action[1], -HALF, HALF);
  double dx = tx - t->x, dy = ty - t->y, d = hypot(dx, dy);
  if (d > MAX_MOVE) dx *= MAX_MOVE / d, dy *= MAX_MOVE / d;
  double s = entry(t->x, t->y, dx, dy);
  if (s < 1) t->hits++;
  t->x += s * dx, t->y += s * dy;
  /* The side is fixed when the agent first rises above the obstacle's top. */
  if (t->side == LUNDI_TWO_WAY_NONE && t->y >= OB_Y)
    t->side = t->x < 0 ? LUNDI_TWO_WAY_LEFT : LUNDI_TWO_WAY_RIGHT;
}

static void observe(const void *impl, float *obs) {
  const two_way *t = impl;
  obs[0] = (float)t->x, obs[1] = (float)t->y;
}

static int success(const void *impl) {
  const two_way *t = impl;
  return hypot(t->x - GOAL_X, t->y - GOAL_Y) <= GOAL_R;
}
static double reward(const void *impl) { return success(impl) ? 1.0 : 0.0; }

static void render(const void *impl, uint8_t *rgb, int w, int h) {
  const two_way *t = impl;
  static const uint8_t white[3] = {255, 255, 255}, gray[3] = {128, 128, 128},
                       green[3] = {144, 238, 144}, blue[3] = {65, 105, 225};
  lundi__canvas c = {rgb, w, h};
  /* World x in [-1, 1] to columns 0..w, y up: y = 1 is row 0. */
  double sx = w / (2 * HALF), sy = h / (2 * HALF);
#define PX(x) (((x) + HALF) * sx)
#define PY(y) ((HALF - (y)) * sy)
  lundi__fill(&c, white);
  double ob[8] = {PX(-OB_X), PY(-OB_Y), PX(OB_X), PY(-OB_Y), PX(OB_X), PY(OB_Y), PX(-OB_X), PY(OB_Y)};
  lundi__fill_convex(&c, ob, 4, gray);
  lundi__fill_circle(&c, PX(GOAL_X), PY(GOAL_Y), GOAL_R * 0.5 * (sx + sy), green);
  lundi__fill_circle(&c, PX(t->x), PY(t->y), 0.03 * 0.5 * (sx + sy), blue);
#undef PX
#undef PY
}

const lundi__env_kind lundi__two_way_kind = {
    .name = "two_way",
    .obs_dim = 2,
    .action_dim = 2,
    .max_steps = 50,
    .create = create,
    .destroy = destroy,
    .reset = reset,
    .step = step,
    .observe = observe,
    .reward = reward,
    .success = success,
    .render = render,
};

int lundi_two_way_side_of(const lundi_env *env) {
  const two_way *t = lundi__env_impl(env, &lundi__two_way_kind, "two_way_side_of", 1);
  return t ? t->side : lundi_last_error_code();
}

int lundi_two_way_hits(const lundi_env *env) {
  const two_way *t = lundi__env_impl(env, &lundi__two_way_kind, "two_way_hits", 1);
  return t ? t->hits : lundi_last_error_code();
}

int lundi_two_way_set_agent(lundi_env *env, double x, double y) {
  two_way *t = lundi__env_impl(env, &lundi__two_way_kind, "two_way_set_agent", 0);
  if (!t) return lundi_last_error_code();
  if (!(fabs(x) <= HALF && fabs(y) <= HALF))
    return lundi__err(LUNDI_EINVAL, "two_way_set_agent: (%g, %g) is outside the world [-1, 1]^2", x, y);
  if (fabs(x) < OB_X && fabs(y) < OB_Y)
    return lundi__err(LUNDI_EINVAL, "two_way_set_agent: (%g, %g) is inside the obstacle", x, y);
  t->x = x, t->y = y, t->side = LUNDI_TWO_WAY_NONE, t->hits = 0;
  lundi__env_restart(env);
  return 0;
}
