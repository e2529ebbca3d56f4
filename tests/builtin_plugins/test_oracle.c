/* The strongest check of the sampling loop: per-pixel Gaussian data N(m, s^2), for which the
 * ideal denoiser is analytic. With x_t = sqrt(a) x0 + sqrt(1 - a) eps and V = a s^2 + 1 - a:
 *   E[eps | x_t] = sqrt(1 - a) (x_t - sqrt(a) m) / V,
 *   E[x0 | x_t]  = m + sqrt(a) s^2 (x_t - sqrt(a) m) / V,
 *   E[v | x_t]   = sqrt(a) E[eps | x_t] - sqrt(1 - a) E[x0 | x_t].
 * A test denoiser returns these; the image sampler with ddpm (or ddim) must then produce
 * samples whose mean and std per pixel match m and s within a few standard errors.
 *
 * The samplers are not exact even with the ideal denoiser (fixed variances, finite steps).
 * Their bias for these settings was computed offline by propagating the (linear-Gaussian)
 * chain's mean and variance in double precision: at most 1.1% of s for the std and 0.33% of m
 * for the mean (ddim's deterministic start from N(0, 1)). The tolerances below allow 4 standard errors
 * plus that bias, and no more. */
#include "common.h"

#define NPAIR 4
#define REPL 4
#define BATCH 2000
static const double M[NPAIR] = {0.3, -0.5, 0.0, 0.8}, S[NPAIR] = {0.5, 0.7, 1.0, 0.5};
static double AB[1000];
static int g_pred; /* 0 epsilon, 1 sample, 2 v_prediction */
static int g_calls;

static double ab_of(double t) { return AB[(int)t]; }

static lundi_tensor *oracle_forward(void *self, lundi_tensor *x, lundi_tensor *t, const lundi_cond *cond,
                                    lundi_rng *rng) {
  (void)self, (void)cond, (void)rng;
  g_calls++;
  return bt_gauss_oracle(x, t, ab_of, M, S, NPAIR, g_pred);
}

static int oracle_create(void *user, const lundi_params *p, void **self) {
  (void)user, (void)p;
  *self = &g_pred;
  return 0;
}
static void oracle_destroy(void *self) { (void)self; }
static const lundi_denoiser_api oracle_api = {.forward = oracle_forward};

static lundi_registry *registry(void) {
  double p = 1;
  for (int i = 0; i < 1000; i++) AB[i] = p *= 1 - (1e-4 + (0.02 - 1e-4) * i / 999.0);
  lundi_registry *r = bt_registry();
  lundi_plugin_desc d = {.abi_version = LUNDI_ABI_VERSION, .kind = LUNDI_DENOISER, .name = "oracle", .version = "1",
                         .description = "ideal denoiser for Gaussian data", .create = oracle_create,
                         .destroy = oracle_destroy, .api = &oracle_api};
  if (r && lundi_register(r, &d, "test")) {
    fprintf(stderr, "register oracle: %s\n", lundi_last_error());
    lundi_registry_free(r);
    return NULL;
  }
  return r;
}

/* Samples BATCH x [NPAIR * REPL] and checks each pair's mean and std. */
static void run_oracle(const char *sched, int pred, const char *steps, const char *const *sched_kv) {
  lundi_registry *r = registry();
  CHECK(r);
  if (!r) return;
  int64_t live = lundi_live_tensors();
  g_pred = pred;
  g_calls = 0;
  lundi_instance *s = bt_make(r, LUNDI_SCHEDULER, sched, sched_kv[0], sched_kv[1], sched_kv[2], sched_kv[3],
                              sched_kv[4], sched_kv[5], sched_kv[6], sched_kv[7], NULL);
  lundi_instance *d = bt_make(r, LUNDI_DENOISER, "oracle", NULL);
  lundi_instance *smp = bt_make(r, LUNDI_SAMPLER, "image", "num_inference_steps", steps, NULL);
  CHECK(s && d && smp);
  lundi_rng rng = lundi_rng_make(1234);
  lundi_pipeline_parts parts = {.scheduler = s, .denoiser = d};
  lundi_sample_request req = {.batch = BATCH, .ndim = 1, .shape = {NPAIR * REPL}, .rng = &rng};
  lundi_tensor *x = s && d && smp ? lundi_sampler_sample(smp, &parts, &req) : NULL;
  CHECK(x);
  CHECK(g_calls == atoi(steps));
  if (x) {
    CHECK(lundi_ndim(x) == 2 && lundi_dim(x, 0) == BATCH && lundi_dim(x, 1) == NPAIR * REPL);
    float *v = t_read(x);
    for (int p = 0; p < NPAIR; p++) {
      double sum = 0, sq = 0, n = BATCH * REPL;
      for (int b = 0; b < BATCH; b++)
        for (int k = 0; k < REPL; k++) {
          double y = v[b * NPAIR * REPL + k * NPAIR + p];
          sum += y, sq += y * y;
        }
      double mean = sum / n, sd = sqrt(sq / n - mean * mean);
      double tol_m = 4 * S[p] / sqrt(n) + 0.005 * fabs(M[p]), tol_s = 4 * S[p] / sqrt(2 * n) + 0.012 * S[p];
      if (fabs(mean - M[p]) > tol_m || fabs(sd - S[p]) > tol_s) {
        t_failures++;
        fprintf(stderr, "%s pred %d: pixel pair %d has mean %.4f (want %.2f +- %.4f), std %.4f (want %.2f +- %.4f)\n",
                sched, pred, p, mean, M[p], tol_m, sd, S[p], tol_s);
      } else {
        printf("pair %d: mean %.4f (m %.2f), std %.4f (s %.2f)\n", p, mean, M[p], sd, S[p]);
      }
    }
    free(v);
  }
  lundi_release(x);
  lundi_instance_free(s);
  lundi_instance_free(d);
  lundi_instance_free(smp);
  CHECK(lundi_live_tensors() == live);
  lundi_registry_free(r);
}

static void ddpm_epsilon(void) {
  const char *kv[8] = {"clip_sample", "false", NULL};
  run_oracle("ddpm", 0, "1000", kv);
}

/* 200 of 1000 steps: exercises prev_t = the next inference timestep. */
static void ddpm_v_fixed_large(void) {
  const char *kv[8] = {"clip_sample", "false", "prediction_type", "v_prediction", "variance_type", "fixed_large", NULL};
  run_oracle("ddpm", 2, "200", kv);
}

/* deterministic ddim (eta 0), 250 steps, x0 prediction. */
static void ddim_sample(void) {
  const char *kv[8] = {"clip_sample", "false", "prediction_type", "sample", NULL};
  run_oracle("ddim", 1, "250", kv);
}

/* ddim with eta 1 is ancestral sampling again. */
static void ddim_eta1_epsilon(void) {
  const char *kv[8] = {"clip_sample", "false", "eta", "1", NULL};
  run_oracle("ddim", 0, "1000", kv);
}

/* x0 prediction, with clipping on but wide enough not to bite. */
static void ddpm_sample(void) {
  const char *kv[8] = {"prediction_type", "sample", "clip_sample_range", "20", NULL};
  run_oracle("ddpm", 1, "1000", kv);
}

static const test_case cases[] = {
    {"ddpm_epsilon", ddpm_epsilon},
    {"ddpm_v_fixed_large", ddpm_v_fixed_large},
    {"ddpm_sample", ddpm_sample},
    {"ddim_sample", ddim_sample},
    {"ddim_eta1_epsilon", ddim_eta1_epsilon},
};
TEST_MAIN(cases)
