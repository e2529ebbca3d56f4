/* img2img (SDEdit) through the image sampler: strength, the schedulers' noise_to_step and
 * its default.
 *
 * The denoiser is test_solvers.c's ideal one for per-pixel Gaussian data N(m, s^2) (or a point
 * mass at m), in sigma form: it maps t to sigma as the schedulers do and returns the eps, x0 or
 * v of D(x, sigma) = m + s^2 / (s^2 + sigma^2) (x - m). The sampler's img2img noise is the first
 * draw from the request's rng, so a test can redraw it (z) from the same seed and know the
 * exact start: the unscaled sample x0 + sigma_k z at the first kept step's sigma_k. From there
 * the probability-flow ODE has the closed form of test_solvers.c,
 *   x_ref = m + s^2 / (sqrt(s^2 + sigma_L^2) sqrt(s^2 + sigma_k^2)) (x0 + sigma_k z - m),
 * and for the point mass every deterministic scheduler returns x0 = m to float precision. */
#include "common.h"
#include "schedulers/sigmas.h"

enum { T = 1000, NPIX = 4, ROWS = 8 };
static double TS[T];
static const double g_m[NPIX] = {0.3, -0.5, 0.0, 0.8}, g_s[NPIX] = {0.5, 0.7, 1.0, 0.5};
static int g_pred;   /* 0 epsilon, 1 sample, 2 v_prediction */
static int g_logint; /* Karras sigmas: fractional timesteps from log-sigma interpolation */
static int g_point;  /* point mass at m (s = 0) */
static int g_calls;
static float *g_first_x; /* the denoiser's first input (x_t) and timestep */
static double g_first_t;
static lundi_registry *R;
static const char *PRED[3] = {"epsilon", "sample", "v_prediction"};

static double sigma_of_t(double t) { return bt_sigma_at(TS, T, t, g_logint); }

/* alphas_cumprod at t, from the interpolated sigma */
static double alpha_of_t(double t) {
  double sg = sigma_of_t(t);
  return 1 / (1 + sg * sg);
}

static lundi_tensor *oracle_forward(void *self, lundi_tensor *x, lundi_tensor *t, const lundi_cond *cond,
                                    lundi_rng *rng) {
  (void)self, (void)cond, (void)rng;
  if (g_calls++ == 0) {
    float *tv = t_read(t);
    free(g_first_x);
    g_first_x = t_read(x);
    g_first_t = tv[0];
    free(tv);
  }
  return bt_gauss_oracle(x, t, alpha_of_t, g_m, g_point ? NULL : g_s, NPIX, g_pred);
}
static int oracle_create(void *user, const lundi_params *p, void **self) {
  (void)user, (void)p;
  *self = &g_pred;
  return 0;
}
static void oracle_destroy(void *self) { (void)self; }
static const lundi_denoiser_api oracle_api = {.forward = oracle_forward};

/* Copies of built-in schedulers without noise_to_step (and, for heun_plain, without input
 * scaling), to exercise the sampler's default. */
static lundi_scheduler_api plain_api[3];
static int register_plain(const char *from, const char *name, lundi_scheduler_api *api, int unscaled) {
  const lundi_plugin_desc *src = lundi_plugin_info(lundi_registry_find(R, LUNDI_SCHEDULER, from));
  *api = *(const lundi_scheduler_api *)src->api;
  api->noise_to_step = NULL;
  if (unscaled) api->scale_model_input = NULL, api->init_noise_sigma = NULL;
  lundi_plugin_desc d = *src;
  d.name = name;
  d.api = api;
  return lundi_register(R, &d, "test");
}

static void run(void (*fn)(void)) {
  for (int i = 0; i < T; i++) {
    double ab = bt_ab_linear(i);
    TS[i] = sqrt((1 - ab) / ab);
  }
  R = bt_registry();
  CHECK(R);
  if (!R) return;
  lundi_plugin_desc d = {.abi_version = LUNDI_ABI_VERSION, .kind = LUNDI_DENOISER, .name = "oracle", .version = "1",
                         .description = "ideal denoiser for Gaussian data", .create = oracle_create,
                         .destroy = oracle_destroy, .api = &oracle_api};
  CHECK(lundi_register(R, &d, "test") == 0);
  CHECK(register_plain("ddim", "ddim_plain", &plain_api[0], 0) == 0);
  CHECK(register_plain("euler", "euler_plain", &plain_api[1], 0) == 0);
  CHECK(register_plain("heun", "heun_plain", &plain_api[2], 1) == 0);
  int64_t live = lundi_live_tensors();
  fn();
  CHECK(lundi_live_tensors() == live);
  lundi_registry_free(R);
  free(g_first_x);
  g_first_x = NULL;
}

static lundi_instance *sched(const char *name, int pred, int karras) {
  g_pred = pred;
  g_logint = karras;
  return bt_make(R, LUNDI_SCHEDULER, name, "clip_sample", "false", "prediction_type", PRED[pred],
                 karras ? "use_karras_sigmas" : NULL, "true", NULL);
}

/* init [ROWS, NPIX]: row r pixel j is m_j + s_j c_r (c from -1.5 to 1.5) plus shift, or m_j. */
static lundi_tensor *make_init(int point, double shift) {
  float v[ROWS * NPIX];
  for (int r = 0; r < ROWS; r++)
    for (int j = 0; j < NPIX; j++)
      v[r * NPIX + j] = (float)(g_m[j] + shift + (point ? 0 : g_s[j] * (-1.5 + 3.0 * r / (ROWS - 1))));
  return bt_tensor(2, (int64_t[]){ROWS, NPIX}, v);
}

/* The img2img noise the sampler draws first from a request rng seeded with seed. */
static float *redraw(uint64_t seed) {
  lundi_rng rng = lundi_rng_make(seed);
  lundi_tensor *z = lundi_randn(&rng, 2, (int64_t[]){ROWS, NPIX});
  float *v = z ? t_read(z) : NULL;
  lundi_release(z);
  return v;
}

typedef struct cb_log {
  int calls, first_i, last_i, n;
} cb_log;
static int log_cb(void *ud, int i, int n, double t, lundi_tensor *x, lundi_tensor *x0) {
  (void)t, (void)x, (void)x0;
  cb_log *c = ud;
  if (!c->calls++) c->first_i = i;
  c->last_i = i;
  c->n = n;
  return 0;
}

/* One image-sampler run of ROWS x NPIX; strength: the sampler parameter (text, or NULL for
 * its default) and the request's (0: unset). */
static lundi_tensor *sample(lundi_instance *s, const char *steps, const char *param_strength, double req_strength,
                            lundi_tensor *init, uint64_t seed, cb_log *log) {
  lundi_instance *d = bt_make(R, LUNDI_DENOISER, "oracle", NULL);
  lundi_instance *smp = param_strength ? bt_make(R, LUNDI_SAMPLER, "image", "num_inference_steps", steps, "strength",
                                                 param_strength, NULL)
                                       : bt_make(R, LUNDI_SAMPLER, "image", "num_inference_steps", steps, NULL);
  lundi_tensor *x = NULL;
  if (s && d && smp) {
    lundi_rng rng = lundi_rng_make(seed);
    lundi_pipeline_parts parts = {.scheduler = s, .denoiser = d};
    lundi_sample_request req = {.batch = ROWS, .ndim = 1, .shape = {NPIX}, .init = init, .rng = &rng,
                                .strength = req_strength, .callback = log ? log_cb : NULL, .callback_ud = log};
    g_calls = 0;
    x = lundi_sampler_sample(smp, &parts, &req);
  }
  lundi_instance_free(d);
  lundi_instance_free(smp);
  return x;
}

/* ---- (a) the noised start and the ODE from it ---- */

/* tol: |x - x_ref| on Gaussian data after the last 25 of 50 steps, the ODE discretisation
 * error: about 1.5 times the measured one (6e-2 .. 7.7e-2 for the first-order solvers, 3.3e-3
 * and 7.9e-3 for heun, 1.3e-2 and 8.1e-3 for dpmpp_2m), in line with test_solvers' order
 * tables for full runs of 20 .. 40 steps. The sharp check is the model's first input. */
static const struct {
  const char *name;
  int karras, order; /* order: evaluations per step (heun 2) */
  double tol;
} DET[] = {{"ddim", 0, 1, 0.1},    {"euler", 0, 1, 0.1},     {"euler", 1, 1, 0.12},     {"heun", 0, 2, 5e-3},
           {"heun", 1, 2, 1.2e-2}, {"dpmpp_2m", 0, 1, 2e-2}, {"dpmpp_2m", 1, 1, 1.2e-2}};

static void oracle_exact(void) {
  const uint64_t seed = 77;
  float *z = redraw(seed);
  CHECK(z);
  if (!z) return;
  for (size_t c = 0; c < sizeof DET / sizeof *DET; c++)
    for (int pred = 0; pred < 3; pred++)
      for (g_point = 1; g_point >= 0; g_point--) {
        lundi_instance *s = sched(DET[c].name, pred, DET[c].karras);
        lundi_tensor *init = make_init(g_point, 0);
        lundi_tensor *x = sample(s, "50", "0.5", 0, init, seed, NULL);
        CHECK(x);
        if (!x) {
          fprintf(stderr, "%s %s: %s\n", DET[c].name, PRED[pred], lundi_last_error());
        } else {
          /* 25 steps kept: the first model call is at step 25's timestep (heun: evaluation 50) */
          int evals = lundi_scheduler_num_steps(s), begin = 25 * DET[c].order;
          CHECK(g_calls == evals - begin);
          CHECK_NEAR(g_first_t, lundi_scheduler_timestep(s, begin), 1e-3);
          double sk = sigma_of_t(g_first_t), sl = sigma_of_t(lundi_scheduler_timestep(s, evals - 1));
          double a = 1 / (1 + sk * sk), in_err = 0, err = 0;
          float *xv = t_read(x), *x0 = t_read(init);
          for (int e = 0; e < ROWS * NPIX; e++) {
            int j = e % NPIX;
            double m = g_m[j], sd = g_point ? 0 : g_s[j];
            /* the model sees x_t = sqrt(a) x0 + sqrt(1 - a) z at that timestep */
            in_err = fmax(in_err, fabs(g_first_x[e] - (sqrt(a) * x0[e] + sqrt(1 - a) * z[e])));
            double ref = m + sd * sd / (sqrt(sd * sd + sl * sl) * sqrt(sd * sd + sk * sk)) * (x0[e] + sk * z[e] - m);
            err = fmax(err, fabs(xv[e] - ref));
          }
          double tol = g_point ? 2e-5 : DET[c].tol;
          printf("%-8s %-6s %-12s %-8s sigma_k %.4f: model input off by %.1e, |x - x_ref| %.2e (tol %.0e)\n",
                 DET[c].name, DET[c].karras ? "karras" : "", PRED[pred], g_point ? "point" : "gauss", sk, in_err, err,
                 tol);
          CHECK(in_err < 2e-5);
          if (!(err < tol)) {
            t_failures++;
            fprintf(stderr, "%s %s %s %s: |x - x_ref| = %g > %g\n", DET[c].name, DET[c].karras ? "karras" : "",
                    PRED[pred], g_point ? "point mass" : "gaussian", err, tol);
          }
          free(xv);
          free(x0);
        }
        lundi_release(x);
        lundi_release(init);
        lundi_instance_free(s);
      }
  g_point = 0;
  free(z);
}

/* ---- (b) how many steps run ---- */

static void step_count(void) {
  const char *names[6] = {"ddpm", "ddim", "euler", "euler_ancestral", "heun", "dpmpp_2m"};
  const struct {
    const char *steps;
    double strength;
    int keep;
  } c[] = {{"50", 0.5, 25}, {"50", 0.1, 5}, {"10", 0.25, 2}, {"10", 0.999, 9}, {"7", 0.3, 2},
           {"50", 1.0, 50}, {"100", 0.29, 28} /* 100 * 0.29 = 28.999999999999996: diffusers' int() */};
  lundi_tensor *init = make_init(0, 0);
  for (int k = 0; k < 6; k++)
    for (size_t q = 0; q < sizeof c / sizeof *c; q++) {
      lundi_instance *s = sched(names[k], 0, 0);
      cb_log log = {0};
      lundi_tensor *x = sample(s, c[q].steps, NULL, c[q].strength, init, 3, &log);
      int want = k == 4 ? 2 * c[q].keep - 1 : c[q].keep; /* heun: the last step has one evaluation */
      CHECK(x);
      if (g_calls != want || log.calls != want || log.first_i != 0 || log.last_i != want - 1 || log.n != want) {
        t_failures++;
        fprintf(stderr, "%s, %s steps at strength %g: %d model calls and %d callbacks (i %d..%d of %d), want %d\n",
                names[k], c[q].steps, c[q].strength, g_calls, log.calls, log.first_i, log.last_i, log.n, want);
      }
      lundi_release(x);
      lundi_instance_free(s);
    }
  /* the parameter works like the request field, and the request's wins */
  lundi_instance *s = sched("euler", 0, 0);
  lundi_tensor *x = sample(s, "20", "0.35", 0, init, 3, NULL);
  CHECK(x && g_calls == 7);
  lundi_release(x);
  x = sample(s, "20", "0.35", 0.8, init, 3, NULL);
  CHECK(x && g_calls == 16);
  lundi_release(x);
  /* the parameter at its default 1 keeps init as the starting noise x_T: all steps, and the
   * model's first input is init / sqrt(sigma_max^2 + 1) */
  x = sample(s, "20", NULL, 0, init, 3, NULL);
  CHECK(x && g_calls == 20);
  float *iv = t_read(init);
  double smax = TS[T - 1];
  CHECK_NEAR(g_first_x[5], iv[5] / sqrt(smax * smax + 1), 1e-6);
  free(iv);
  lundi_release(x);
  lundi_instance_free(s);
  lundi_release(init);
}

/* ---- (c) how much of init survives ---- */

static double rms_diff(lundi_tensor *a, lundi_tensor *b) {
  float *u = t_read(a), *v = t_read(b);
  double s = 0;
  for (int e = 0; e < ROWS * NPIX; e++) s += (u[e] - v[e]) * (double)(u[e] - v[e]);
  free(u);
  free(v);
  return sqrt(s / (ROWS * NPIX));
}

static void init_influence(void) {
  const char *names[4] = {"ddim", "euler", "heun", "dpmpp_2m"};
  lundi_tensor *a = make_init(0, 0), *b = make_init(0, 3); /* b = a + 3 */
  for (int k = 0; k < 4; k++) {
    lundi_instance *s = sched(names[k], 0, 0);
    /* strength 0.1 of 50 steps: 5 steps from sigma ~0.28; the output follows init (the ODE map
     * from there scales init by s^2 / (sqrt(s^2 + sigma_L^2) sqrt(s^2 + sigma_k^2)) >= 0.85) */
    lundi_tensor *xa = sample(s, "50", NULL, 0.1, a, 5, NULL), *xb = sample(s, "50", NULL, 0.1, b, 5, NULL);
    /* strength 1 (asked for in the request): noised at the first step, init weighs < 1% */
    lundi_tensor *ya = sample(s, "50", NULL, 1.0, a, 5, NULL), *yb = sample(s, "50", NULL, 1.0, b, 5, NULL);
    CHECK(xa && xb && ya && yb);
    if (xa && xb && ya && yb) {
      double near = rms_diff(xa, a), far = rms_diff(ya, a), follow = rms_diff(xa, xb), ignore = rms_diff(ya, yb);
      printf("%-8s rms |x - init|: %.3f at strength 0.1, %.3f at 1; moving init by 3 moves x by %.3f and %.4f\n",
             names[k], near, far, follow, ignore);
      CHECK(near < 0.35 * far);
      CHECK(follow > 0.85 * 3 && follow < 3);
      CHECK(ignore < 0.01 * 3);
    }
    lundi_release(xa);
    lundi_release(xb);
    lundi_release(ya);
    lundi_release(yb);
    lundi_instance_free(s);
  }
  lundi_release(a);
  lundi_release(b);
}

/* ---- (d) bad values ---- */

static void bad_strength(void) {
  const lundi_plugin *p = lundi_registry_find(R, LUNDI_SAMPLER, "image");
  lundi_params *ps = lundi_plugin_params(p);
  CHECK(ps);
  CHECK_ERR(lundi_params_set(ps, "strength", "1.5"), "parameter 'strength' must be in the range [0, 1]; got 1.5");
  CHECK_ERR(lundi_params_set(ps, "strength", "nan"), "parameter 'strength' expects a float, got \"nan\"");
  CHECK_ERR(lundi_params_set_number(ps, "strength", NAN), "parameter 'strength' expects a float");
  CHECK_ERR(lundi_params_set(ps, "strength", "-0.5"), "got -0.5");
  CHECK(lundi_params_set(ps, "strength", "0") == 0); /* closed schema range; create refuses it */
  CHECK_ERR(lundi_instance_new(p, ps), "parameter 'strength' must be in (0, 1] (the fraction of the steps that run); "
                                       "got 0");
  lundi_params_free(ps);

  lundi_instance *s = sched("euler", 0, 0);
  lundi_tensor *init = make_init(0, 0);
  CHECK_ERR(sample(s, "50", NULL, 1.5, init, 1, NULL), "the request's strength = 1.5 must be in (0, 1]");
  CHECK_ERR(sample(s, "50", NULL, NAN, init, 1, NULL), "strength = nan must be in (0, 1]");
  CHECK_ERR(sample(s, "50", NULL, -0.2, init, 1, NULL), "strength = -0.2 must be in (0, 1]");
  CHECK_ERR(sample(s, "50", NULL, 0.01, init, 1, NULL), "strength = 0.01 keeps floor(50 * 0.01) = 0 of the 50 steps");
  CHECK_ERR(sample(s, "50", NULL, 0.5, NULL, 1, NULL), "strength = 0.5 needs an init sample");
  CHECK_ERR(sample(s, "50", "0.5", 0, NULL, 1, NULL), "strength = 0.5 needs an init sample");
  lundi_tensor *x = sample(s, "50", NULL, 1.0, NULL, 1, NULL); /* strength 1 without init: plain sampling */
  CHECK(x && g_calls == 50);
  lundi_release(x);
  lundi_release(init);
  lundi_instance_free(s);
}

/* ---- the default noise_to_step ---- */

static void default_noise(void) {
  lundi_tensor *init = make_init(0, 0);
  /* ddim without noise_to_step: add_noise at the step's timestep, the same start */
  lundi_instance *own = sched("ddim", 0, 0), *plain = sched("ddim_plain", 0, 0);
  lundi_tensor *x = sample(own, "50", NULL, 0.6, init, 9, NULL);
  int calls = g_calls;
  lundi_tensor *y = sample(plain, "50", NULL, 0.6, init, 9, NULL);
  CHECK(x && y && calls == 30 && g_calls == 30);
  if (x && y) CHECK(t_max_abs_diff(x, y) < 1e-5);
  lundi_release(x);
  lundi_release(y);
  lundi_instance_free(own);
  lundi_instance_free(plain);
  /* a scaled sample, or more evaluations than steps, cannot be started without it */
  lundi_instance *e = sched("euler_plain", 0, 0), *h = sched("heun_plain", 0, 0);
  CHECK_ERR(sample(e, "50", NULL, 0.6, init, 9, NULL), "scheduler 'euler_plain' scales its sample (init_noise_sigma");
  CHECK_ERR(sample(h, "50", NULL, 0.6, init, 9, NULL), "scheduler 'heun_plain' runs 99 evaluations for 50 steps");
  lundi_instance_free(e);
  lundi_instance_free(h);
  /* noise_to_step's own checks, called directly */
  lundi_instance *s = sched("euler", 0, 0);
  const lundi_scheduler_api *api = lundi_plugin_info(lundi_instance_plugin(s))->api;
  int begin = -1;
  lundi_tensor *bad = lundi_zeros(2, (int64_t[]){ROWS, NPIX + 1});
  CHECK_ERR(api->noise_to_step(lundi_instance_self(s), init, init, 0, &begin), "set_timesteps");
  CHECK(lundi_scheduler_set_timesteps(s, 10) == 0);
  CHECK_ERR(api->noise_to_step(lundi_instance_self(s), init, init, 10, &begin), "outside [0, 10)");
  CHECK_ERR(api->noise_to_step(lundi_instance_self(s), init, bad, 3, &begin), "must have the same shape");
  lundi_release(bad);
  lundi_instance_free(s);
  lundi_release(init);
}

#define CASE(f)                                                                                    \
  static void case_##f(void) { run(f); }
CASE(oracle_exact)
CASE(step_count)
CASE(init_influence)
CASE(bad_strength)
CASE(default_noise)

static const test_case cases[] = {
    {"oracle_exact", case_oracle_exact}, {"step_count", case_step_count},     {"init_influence", case_init_influence},
    {"bad_strength", case_bad_strength}, {"default_noise", case_default_noise},
};
TEST_MAIN(cases)
