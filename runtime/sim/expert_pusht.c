/* The Push-T expert: sampling-based model-predictive control with the simulator as its
 * model. Every REPLAN control steps it copies the env's whole physical state (positions and
 * velocities, lundi__pusht_save) into a scratch env and runs a few rounds of the
 * cross-entropy method over sequences of H target points: each candidate is rolled out on
 * the scratch env and scored by the cost below; the ELITE best refit the Gaussian's mean and
 * spread. The best sequence found is executed for REPLAN steps; its tail warm-starts the
 * next plan. Cost of a rollout (pixels):
 *   kp(final) + KP_MEAN * mean_t kp(t) + AGENT * max(0, |agent - block's centre| - REACH)
 *   - COVER * coverage(final) - WIN if it reached success,
 * with kp the mean distance of the block's 9 keypoints from the goal T's. The candidates'
 * noise is AR(1) over the horizon (RHO), which halves the jumps between consecutive targets
 * against independent noise; a cost on the jumps themselves made the planner stall. The draws come from
 * a Philox stream keyed by the episode's seed, so an episode is the same on every run. */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "core/error.h"
#include "sim/expert_internal.h"

#define H 10        /* planning horizon, control steps */
#define REPLAN 2    /* steps executed per plan */
#define SAMPLES 48  /* candidates per CEM round */
#define ROUNDS 3
#define ELITE 6
#define SIGMA0 60.0 /* initial spread of the targets, pixels */
#define SIGMA_MIN 4.0
#define KP_MEAN 0.5
#define AGENT 0.2
#define REACH 45.0
#define COVER 60.0
#define WIN 1000.0
#define RHO 0.8     /* the candidates' noise is AR(1) in time: smoother sequences */
#define PUSHT_SEED_KEY 0x70757368745f6365ull /* "pusht_ce" */

typedef struct cem {
  lundi_env *env, *scratch;
  lundi_rng rng;
  double plan[H][2];   /* the current best sequence */
  int used;            /* steps of plan already executed */
  double goal_kp[LUNDI__PUSHT_KEYPOINTS][2];
  double cand[SAMPLES][H][2], cost[SAMPLES];
} cem;

static void keypoints(double x, double y, double a, double out[LUNDI__PUSHT_KEYPOINTS][2]) {
  double c = cos(a), s = sin(a);
  for (int k = 0; k < LUNDI__PUSHT_KEYPOINTS; k++) {
    double lx = lundi__pusht_keypoints[k][0], ly = lundi__pusht_keypoints[k][1];
    out[k][0] = x + c * lx - s * ly, out[k][1] = y + s * lx + c * ly;
  }
}

static double kp_dist(const cem *m, const lundi__pusht_snap *s) {
  double kp[LUNDI__PUSHT_KEYPOINTS][2], d = 0;
  keypoints(s->block[0], s->block[1], s->block[2], kp);
  for (int k = 0; k < LUNDI__PUSHT_KEYPOINTS; k++) d += hypot(kp[k][0] - m->goal_kp[k][0], kp[k][1] - m->goal_kp[k][1]);
  return d / LUNDI__PUSHT_KEYPOINTS;
}

static void destroy(void *impl) {
  cem *m = impl;
  if (!m) return;
  lundi_env_free(m->scratch);
  free(m);
}

static void *create(lundi_env *env) {
  cem *m = calloc(1, sizeof *m);
  if (!m) return lundi__errp(LUNDI_ENOMEM, "expert_new: out of memory (pusht)");
  m->env = env;
  double g[3];
  lundi_pusht_goal(g);
  keypoints(g[0], g[1], g[2], m->goal_kp);
  return m;
}

static int begin(void *impl, uint64_t seed) {
  cem *m = impl;
  /* A fresh scratch env per episode: Chipmunk's contact cache carries nothing over. */
  lundi_env_free(m->scratch);
  m->scratch = lundi_env_new("pusht");
  if (!m->scratch) return lundi_last_error_code();
  int rc = lundi_env_reset(m->scratch, 0, NULL);
  if (rc) return rc;
  m->rng = lundi_rng_make(seed ^ PUSHT_SEED_KEY);
  lundi__pusht_snap s;
  lundi__pusht_save(m->env, &s);
  for (int t = 0; t < H; t++) m->plan[t][0] = s.agent[0], m->plan[t][1] = s.agent[1];
  m->used = REPLAN; /* plan at the first act */
  return 0;
}

static double clampd(double v, double lo, double hi) { return v < lo ? lo : v > hi ? hi : v; }

static double rollout(cem *m, const lundi__pusht_snap *start, double seq[H][2]) {
  lundi_env *e = m->scratch;
  lundi__pusht_load(e, start);
  lundi__pusht_snap s;
  double sum = 0, kp = 0, cov = 0;
  int t;
  for (t = 0; t < H; t++) {
    float a[2] = {(float)seq[t][0], (float)seq[t][1]};
    e->kind->step(e->impl, a);
    lundi__pusht_save(e, &s);
    kp = kp_dist(m, &s);
    sum += kp;
    cov = lundi_pusht_coverage_at(s.block[0], s.block[1], s.block[2]);
    if (cov > 0.95) break;
  }
  int n = t < H ? t + 1 : H;
  double reach = hypot(s.agent[0] - (s.block[0] - 45 * sin(s.block[2])), s.agent[1] - (s.block[1] + 45 * cos(s.block[2])));
  double c = kp + KP_MEAN * sum / n + AGENT * fmax(0, reach - REACH) - COVER * cov;
  if (cov > 0.95) c -= WIN + (H - t); /* sooner is better */
  return c;
}

static void plan(cem *m) {
  lundi__pusht_snap start;
  lundi__pusht_save(m->env, &start);
  double mean[H][2], sd[H][2], best[H][2], best_cost = INFINITY;
  /* Warm start: the unexecuted tail of the last plan, its last target repeated. */
  for (int t = 0; t < H; t++) {
    int src = t + m->used < H ? t + m->used : H - 1;
    mean[t][0] = m->plan[src][0], mean[t][1] = m->plan[src][1];
    sd[t][0] = sd[t][1] = SIGMA0;
  }
  for (int r = 0; r < ROUNDS; r++) {
    for (int i = 0; i < SAMPLES; i++) {
      double z[2] = {0, 0};
      for (int t = 0; t < H; t++)
        for (int d = 0; d < 2; d++) {
          double eps = lundi__sim_normal(&m->rng);
          z[d] = t ? RHO * z[d] + sqrt(1 - RHO * RHO) * eps : eps;
          double v = mean[t][d] + (i == 0 ? 0 : sd[t][d] * z[d]);
          m->cand[i][t][d] = clampd(v, 0, 512);
        }
      m->cost[i] = rollout(m, &start, m->cand[i]);
      if (m->cost[i] < best_cost) best_cost = m->cost[i], memcpy(best, m->cand[i], sizeof best);
    }
    /* The ELITE lowest costs (a partial selection sort over indices). */
    int idx[SAMPLES];
    for (int i = 0; i < SAMPLES; i++) idx[i] = i;
    for (int e = 0; e < ELITE; e++)
      for (int i = e + 1; i < SAMPLES; i++)
        if (m->cost[idx[i]] < m->cost[idx[e]]) {
          int tmp = idx[e];
          idx[e] = idx[i], idx[i] = tmp;
        }
    for (int t = 0; t < H; t++)
      for (int d = 0; d < 2; d++) {
        double mu = 0, var = 0;
        for (int e = 0; e < ELITE; e++) mu += m->cand[idx[e]][t][d];
        mu /= ELITE;
        for (int e = 0; e < ELITE; e++) var += (m->cand[idx[e]][t][d] - mu) * (m->cand[idx[e]][t][d] - mu);
        mean[t][d] = mu, sd[t][d] = fmax(SIGMA_MIN, sqrt(var / ELITE));
      }
  }
  memcpy(m->plan, best, sizeof best);
  m->used = 0;
}

static int act(void *impl, float *action) {
  cem *m = impl;
  if (m->env->state == 0) return lundi__err(LUNDI_ESTATE, "expert_act: pusht has not been reset");
  if (m->used >= REPLAN) plan(m);
  action[0] = (float)m->plan[m->used][0], action[1] = (float)m->plan[m->used][1];
  m->used++;
  return 0;
}

static int mode(const void *impl) {
  (void)impl;
  return 0;
}

const lundi__expert_kind lundi__pusht_expert = {
    .env = "pusht", .name = "pusht_cem", .create = create, .destroy = destroy,
    .begin = begin, .act = act, .mode = mode};
