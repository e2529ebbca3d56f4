/* The solver schedulers (euler, euler_ancestral, heun, dpmpp_2m) and ddim against closed forms,
 * and the stochastic churn of euler and heun.
 *
 * Sigma form. With alphas_cumprod a_t, sigma_t = sqrt((1 - a_t) / a_t) and the unscaled sample
 * x = x_t / sqrt(a_t) = x0 + sigma eps. For per-pixel Gaussian data N(m, s^2) the ideal
 * denoiser is D(x, sigma) = m + s^2 / (s^2 + sigma^2) (x - m), so the probability-flow ODE
 *   dx/dsigma = (x - D) / sigma = sigma / (s^2 + sigma^2) (x - m)
 * has the solution x(sigma) - m = (x(sigma_0) - m) sqrt(s^2 + sigma^2) / sqrt(s^2 + sigma_0^2).
 * Every scheduler here ends with the step from its last noise level sigma_L to 0, which for all
 * of them (Euler, Heun's last step, DPM-Solver++'s first-order final step, ddim to
 * alphas_cumprod 1) is exactly x -> D(x, sigma_L): the ODE is not integrated below sigma_L. So
 * the exact answer of "solve the ODE, then denoise" is
 *   x_ref = m + s^2 / (sqrt(s^2 + sigma_L^2) sqrt(s^2 + sigma_0^2)) (x_T - m),
 * and |x - x_ref| is purely the ODE discretisation error of the steps before. A point mass
 * (s = 0) gives D = x0 at every sigma: then Euler, Heun, DPM-Solver++ and ddim are all exact
 * (x - x0 scales with sigma, which an Euler step in sigma reproduces), and x0 is reconstructed
 * to float precision; the order of convergence is measured on Gaussian data instead.
 *
 * The test denoiser returns eps, x0 or v of that D from (x_t, t); it maps t to sigma as the
 * schedulers do (linear interpolation of the training sigmas, or of log sigma for Karras
 * sigmas, whose fractional timesteps come from diffusers' _sigma_to_t). */
#include "common.h"
#include "schedulers/sigmas.h"

enum { T = 1000, NPIX = 4 };
static double TS[T], AB[T];
static double g_m[NPIX] = {0.3, -0.5, 0.0, 0.8}, g_s[NPIX] = {0.5, 0.7, 1.0, 0.5};
static int g_pred;   /* 0 epsilon, 1 sample, 2 v_prediction */
static int g_logint; /* the timesteps come from log-sigma interpolation (Karras) */
static int g_point;  /* point mass at m (s = 0) */
static int g_calls;
static lundi_registry *R;
static const char *PRED[3] = {"epsilon", "sample", "v_prediction"};

static void tables(void) {
  for (int i = 0; i < T; i++) AB[i] = bt_ab_linear(i), TS[i] = sqrt((1 - AB[i]) / AB[i]);
}

static double sigma_of_t(double t) { return bt_sigma_at(TS, T, t, g_logint); }

/* alphas_cumprod at t, from the interpolated sigma */
static double alpha_of_t(double t) {
  double sg = sigma_of_t(t);
  return 1 / (1 + sg * sg);
}

/* The ideal model output for x_t (scaled input) at timestep t, per row. */
static lundi_tensor *oracle(lundi_tensor *x, lundi_tensor *t) {
  g_calls++;
  return bt_gauss_oracle(x, t, alpha_of_t, g_m, g_point ? NULL : g_s, NPIX, g_pred);
}

static lundi_tensor *oracle_forward(void *self, lundi_tensor *x, lundi_tensor *t, const lundi_cond *cond, lundi_rng *rng) {
  (void)self, (void)cond, (void)rng;
  return oracle(x, t);
}
static int oracle_create(void *user, const lundi_params *p, void **self) {
  (void)user, (void)p;
  *self = &g_pred;
  return 0;
}
static void oracle_destroy(void *self) { (void)self; }
static const lundi_denoiser_api oracle_api = {.forward = oracle_forward};

static lundi_instance *sched(const char *name, const char *pred, int karras, const char *k1, const char *v1) {
  const char *kk = karras && strcmp(name, "ddim") ? "use_karras_sigmas" : NULL;
  return bt_make(R, LUNDI_SCHEDULER, name, "clip_sample", "false", "prediction_type", pred, k1 ? k1 : kk,
                 k1 ? v1 : "true", k1 ? kk : NULL, "true", NULL);
}

/* ---- unit checks ---- */

static void sigmas_karras(void) {
  /* training sigmas are sqrt((1 - ab) / ab) */
  lundi__sig g;
  lundi_params *p = lundi_plugin_params(lundi_registry_find(R, LUNDI_SCHEDULER, "euler"));
  CHECK(p && lundi__sig_init(&g, p, LUNDI__SIG_EULER) == 0);
  double worst = 0;
  for (int i = 0; i < T; i++) worst = fmax(worst, fabs(g.train[i] / TS[i] - 1));
  CHECK(worst < 1e-12);
  CHECK_NEAR(g.train[T - 1], sqrt((1 - 4.0358e-5) / 4.0358e-5), 0.01); /* about 157.4 */
  /* interpolation and its log inverse */
  CHECK_NEAR(lundi__sig_interp(g.train, T, 499.5), (TS[499] + TS[500]) / 2, 1e-12);
  CHECK_NEAR(lundi__sig_interp(g.train, T, 999), TS[999], 0);
  CHECK_NEAR(lundi__sig_to_t(g.train, T, TS[321]), 321, 1e-9);
  CHECK_NEAR(lundi__sig_to_t(g.train, T, sqrt(TS[321] * TS[322])), 321.5, 1e-9);
  CHECK_NEAR(lundi__sig_to_t(g.train, T, TS[999]), 999, 1e-9);
  CHECK_NEAR(lundi__sig_to_t(g.train, T, 1e-3), 0, 0);
  CHECK_NEAR(lundi__sig_to_t(g.train, T, 1e6), 999, 0);
  lundi__sig_free(&g);
  lundi_params_free(p);
  /* Karras et al. eq. 5 with rho = 7, values computed by hand (Python, double) */
  double k[6];
  lundi__karras(0.1, 10, 3, 7, k);
  CHECK_NEAR(k[0], 10, 1e-12);
  CHECK_NEAR(k[1], 1.4507321135661928, 1e-12);
  CHECK_NEAR(k[2], 0.1, 1e-12);
  lundi__karras(0.1, 10, 5, 7, k);
  CHECK_NEAR(k[1], 4.0701040408635185, 1e-12);
  CHECK_NEAR(k[3], 0.432452803054104, 1e-12);
  lundi__karras(0.1, 10, 1, 7, k);
  CHECK_NEAR(k[0], 10, 0);
  /* euler with Karras sigmas spans the spaced timesteps' sigmas; its timesteps map back */
  lundi_instance *s = sched("euler", "epsilon", 1, NULL, NULL);
  CHECK(s && lundi_scheduler_set_timesteps(s, 5) == 0);
  if (s) {
    lundi__sig *e = lundi_instance_self(s); /* euler's first member */
    lundi__karras(TS[0], TS[T - 1], 5, 7, k);
    for (int i = 0; i < 5; i++) {
      CHECK_NEAR(e->sigma[i] / k[i], 1, 1e-12);
      g_logint = 1;
      CHECK_NEAR(sigma_of_t(lundi_scheduler_timestep(s, i)) / k[i], 1, 1e-9);
      g_logint = 0;
    }
    CHECK(e->sigma[5] == 0);
    CHECK_NEAR(lundi_scheduler_timestep(s, 0), 999, 1e-9);
    CHECK_NEAR(lundi_scheduler_timestep(s, 4), 0, 1e-9);
  }
  lundi_instance_free(s);
  /* trailing + Karras: sigma_min is the last trailing timestep's (round(1000 / 4) - 1 = 249) */
  s = sched("euler", "epsilon", 1, "timestep_spacing", "trailing");
  CHECK(s && lundi_scheduler_set_timesteps(s, 4) == 0);
  if (s) CHECK_NEAR(((lundi__sig *)lundi_instance_self(s))->sigma[3], TS[249], 1e-12);
  lundi_instance_free(s);
  /* dpmpp_2m with Karras sigmas spans the whole training range */
  s = sched("dpmpp_2m", "epsilon", 1, NULL, NULL);
  CHECK(s && lundi_scheduler_set_timesteps(s, 6) == 0);
  if (s) {
    lundi__sig *e = lundi_instance_self(s);
    lundi__karras(TS[0], TS[T - 1], 6, 7, k);
    for (int i = 0; i < 6; i++) CHECK_NEAR(e->sigma[i] / k[i], 1, 1e-12);
  }
  lundi_instance_free(s);
}

static void check_ts(const char *name, const char *spacing, const char *offset, int n, const double *want, int count) {
  lundi_instance *s = bt_make(R, LUNDI_SCHEDULER, name, "timestep_spacing", spacing, "steps_offset", offset, NULL);
  CHECK(s && lundi_scheduler_set_timesteps(s, n) == 0);
  if (!s) return;
  CHECK(lundi_scheduler_num_steps(s) == count);
  for (int i = 0; i < count; i++)
    if (fabs(lundi_scheduler_timestep(s, i) - want[i]) > 1e-9) {
      t_failures++;
      fprintf(stderr, "%s %s n=%d: timestep %d = %g, want %g\n", name, spacing, n, i, lundi_scheduler_timestep(s, i), want[i]);
    }
  lundi_instance_free(s);
}

static void timesteps_spacing(void) {
  /* EulerDiscrete: linspace(0, 999, n) unrounded; leading k * (1000 // n) + offset; trailing */
  check_ts("euler", "linspace", "0", 4, (double[]){999, 666, 333, 0}, 4);
  check_ts("euler", "linspace", "0", 3, (double[]){999, 499.5, 0}, 3);
  check_ts("euler", "leading", "1", 4, (double[]){751, 501, 251, 1}, 4);
  check_ts("euler_ancestral", "trailing", "0", 4, (double[]){999, 749, 499, 249}, 4);
  /* heun: 2n - 1 evaluations, the timestep of each level twice after the first */
  check_ts("heun", "linspace", "0", 3, (double[]){999, 499.5, 499.5, 0, 0}, 5);
  /* DPMSolverMultistep: round(linspace(0, 999, n + 1)) without 0 (499.5 rounds to even);
   * leading: k * (1000 // (n + 1)) for k = n .. 1 */
  check_ts("dpmpp_2m", "linspace", "0", 4, (double[]){999, 749, 500, 250}, 4);
  check_ts("dpmpp_2m", "leading", "0", 4, (double[]){800, 600, 400, 200}, 4);
  check_ts("dpmpp_2m", "trailing", "0", 4, (double[]){999, 749, 499, 249}, 4);
}

static void init_scale(void) {
  int64_t shape[2] = {1, 3};
  lundi_tensor *x = bt_tensor(2, shape, (float[]){1, -2, 4});
  /* init_noise_sigma: sigma_max with linspace / trailing, sqrt(sigma_max^2 + 1) with leading */
  const struct {
    const char *name, *spacing;
    int n;
    double want;
  } c[] = {{"euler", "linspace", 10, TS[999]},
           {"euler", "trailing", 10, TS[999]},
           {"euler_ancestral", "leading", 4, sqrt(TS[750] * TS[750] + 1)},
           {"heun", "leading", 10, sqrt(TS[900] * TS[900] + 1)},
           {"dpmpp_2m", "linspace", 10, 1}};
  for (size_t k = 0; k < sizeof c / sizeof *c; k++) {
    lundi_instance *s = bt_make(R, LUNDI_SCHEDULER, c[k].name, "timestep_spacing", c[k].spacing, NULL);
    CHECK(s);
    if (!s) continue;
    CHECK_ERR(lundi_scheduler_init_noise_sigma(s), strcmp(c[k].name, "dpmpp_2m") ? "set_timesteps" : "");
    CHECK(lundi_scheduler_set_timesteps(s, c[k].n) == 0);
    CHECK_NEAR(lundi_scheduler_init_noise_sigma(s) / c[k].want, 1, 1e-12);
    lundi_instance_free(s);
  }
  /* scale_model_input: x / sqrt(sigma^2 + 1) at the step's sigma; heun's evaluations 1 and 2
   * both sit at level 1; dpmpp_2m works on x_t and scales nothing */
  const char *names[3] = {"euler", "heun", "dpmpp_2m"};
  for (int k = 0; k < 3; k++) {
    lundi_instance *s = bt_make(R, LUNDI_SCHEDULER, names[k], NULL);
    CHECK(s && lundi_scheduler_set_timesteps(s, 3) == 0);
    if (!s) continue;
    for (int i = 1; i <= (k == 1 ? 2 : 1); i++) {
      lundi_tensor *y = lundi_scheduler_scale_model_input(s, x, i);
      CHECK(y);
      if (!y) continue;
      float *v = t_read(y);
      double sg = TS[499] + 0.5 * (TS[500] - TS[499]), f = k == 2 ? 1 : 1 / sqrt(sg * sg + 1);
      CHECK_NEAR(v[0], f, 1e-6 * f);
      CHECK_NEAR(v[2], 4 * f, 4e-6 * f);
      free(v);
      lundi_release(y);
    }
    lundi_instance_free(s);
  }
  lundi_release(x);
}

static void training_side(void) {
  /* add_noise and target are ddpm's (shared code), for every prediction type */
  int64_t shape[2] = {3, 2};
  float x0v[6] = {0.5f, -1, 0.25f, 0.75f, -0.3f, 1}, nv[6] = {1, 0.2f, -0.7f, 1.5f, 0.1f, -1}, tv[3] = {0, 500, 999};
  lundi_tensor *x0 = bt_tensor(2, shape, x0v), *noise = bt_tensor(2, shape, nv), *t = bt_tensor(1, shape, tv);
  const char *names[4] = {"euler", "euler_ancestral", "heun", "dpmpp_2m"};
  for (int k = 0; k < 4; k++)
    for (int p = 0; p < 3; p++) {
      lundi_instance *s = bt_make(R, LUNDI_SCHEDULER, names[k], "prediction_type", PRED[p], NULL);
      lundi_tensor *xt = s ? lundi_scheduler_add_noise(s, x0, noise, t) : NULL, *tg = s ? lundi_scheduler_target(s, x0, noise, t) : NULL;
      CHECK(xt && tg);
      CHECK(lundi_scheduler_num_train_timesteps(s) == T);
      if (xt && tg) {
        float *a = t_read(xt), *b = t_read(tg);
        for (int i = 0; i < 6; i++) {
          double ab = AB[(int)tv[i / 2]];
          CHECK_NEAR(a[i], sqrt(ab) * x0v[i] + sqrt(1 - ab) * nv[i], 1e-6);
          double want = p == 0 ? nv[i] : p == 1 ? x0v[i] : sqrt(ab) * nv[i] - sqrt(1 - ab) * x0v[i];
          CHECK_NEAR(b[i], want, 1e-6);
        }
        free(a);
        free(b);
      }
      lundi_release(xt);
      lundi_release(tg);
      lundi_instance_free(s);
    }
  lundi_release(x0);
  lundi_release(noise);
  lundi_release(t);
}

static void errors_state(void) {
  int64_t shape[2] = {2, 2};
  lundi_tensor *x = bt_tensor(2, shape, (float[]){1, 2, 3, 4}), *y = lundi_full(1, (int64_t[]){4}, 0);
  const char *names[4] = {"euler", "euler_ancestral", "heun", "dpmpp_2m"};
  for (int k = 0; k < 4; k++) {
    lundi_instance *s = bt_make(R, LUNDI_SCHEDULER, names[k], NULL);
    CHECK(s);
    if (!s) continue;
    CHECK_ERR(lundi_scheduler_step(s, x, 0, x, NULL), "set_timesteps");
    CHECK_ERR(lundi_scheduler_set_timesteps(s, 0), "at least 1");
    CHECK_ERR(lundi_scheduler_set_timesteps(s, 1001), "num_train_timesteps = 1000");
    CHECK(lundi_scheduler_set_timesteps(s, 4) == 0);
    int n = lundi_scheduler_num_steps(s);
    CHECK(n == (k == 2 ? 7 : 4));
    CHECK_ERR(lundi_scheduler_step(s, x, n, x, NULL), "outside");
    CHECK(isnan(lundi_scheduler_timestep(s, -1)));
    CHECK_ERR(lundi_scheduler_step(s, y, 0, x, NULL), "must match the sample");
    lundi_instance_free(s);
  }
  /* the ancestral step needs an rng (except the last, noise-free one) */
  lundi_instance *s = bt_make(R, LUNDI_SCHEDULER, "euler_ancestral", NULL);
  CHECK(s && lundi_scheduler_set_timesteps(s, 4) == 0);
  CHECK_ERR(lundi_scheduler_step(s, x, 0, x, NULL), "needs an rng");
  lundi_tensor *last = lundi_scheduler_step(s, x, 3, x, NULL);
  CHECK(last);
  lundi_release(last);
  lundi_instance_free(s);
  /* heun: a corrector without its predictor is refused; the state is dropped on reset */
  s = bt_make(R, LUNDI_SCHEDULER, "heun", NULL);
  CHECK(s && lundi_scheduler_set_timesteps(s, 4) == 0);
  CHECK_ERR(lundi_scheduler_step(s, x, 1, x, NULL), "corrector must follow its predictor");
  lundi_tensor *a = lundi_scheduler_step(s, x, 0, x, NULL);
  CHECK(a);
  lundi_release(a);
  CHECK(lundi_scheduler_set_timesteps(s, 4) == 0); /* drops the pending predictor */
  CHECK_ERR(lundi_scheduler_step(s, x, 1, x, NULL), "corrector");
  lundi_instance_free(s);
  /* bad parameter values name the choices */
  const lundi_plugin *p = lundi_registry_find(R, LUNDI_SCHEDULER, "dpmpp_2m");
  lundi_params *ps = p ? lundi_plugin_params(p) : NULL;
  CHECK_ERR(lundi_params_set(ps, "solver_type", "rk4"), "midpoint, heun");
  CHECK_ERR(lundi_params_set(ps, "use_karras_sigma", "true"), "use_karras_sigmas");
  lundi_params_free(ps);
  lundi_release(x);
  lundi_release(y);
}

/* ---- ODE reconstruction, driving the scheduler directly ---- */

enum { ROWS = 8 };

/* Forward-noises x0 (ROWS x NPIX, row r pixel j: m_j + s_j * c_r, or m_j for the point mass)
 * with the scheduler's own add_noise to its first timestep, runs every step with the oracle
 * and returns max |x - x_ref| (x_ref as in the header); NAN on failure. */
static double ode_error(const char *name, int pred, int karras, int n) {
  g_pred = pred;
  g_logint = karras && strcmp(name, "ddim") != 0;
  lundi_instance *s = sched(name, PRED[pred], karras, NULL, NULL);
  double err = NAN;
  lundi_tensor *x = NULL, *x0t = NULL, *zt = NULL, *tt = NULL, *out = NULL, *xin = NULL;
  if (!s || lundi_scheduler_set_timesteps(s, n)) goto done;
  int steps = lundi_scheduler_num_steps(s);
  double t0 = lundi_scheduler_timestep(s, 0), sl = sigma_of_t(lundi_scheduler_timestep(s, steps - 1));
  if (t0 != floor(t0)) {
    lundi_set_error(LUNDI_EINVAL, "first timestep %.17g is not an integer", t0);
    goto done;
  }
  float x0v[ROWS * NPIX], zv[ROWS * NPIX], tv[ROWS];
  for (int r = 0; r < ROWS; r++) {
    tv[r] = (float)t0;
    for (int j = 0; j < NPIX; j++) {
      double c = -1.5 + 3.0 * r / (ROWS - 1);
      x0v[r * NPIX + j] = (float)(g_m[j] + (g_point ? 0 : g_s[j] * c));
      zv[r * NPIX + j] = (float)(cos(1.7 * r + 2.3 * j) * 1.3);
    }
  }
  int64_t shape[2] = {ROWS, NPIX};
  x0t = bt_tensor(2, shape, x0v), zt = bt_tensor(2, shape, zv), tt = bt_tensor(1, shape, tv);
  x = lundi_scheduler_add_noise(s, x0t, zt, tt); /* x_T = sqrt(a) x0 + sqrt(1 - a) z */
  if (!x) goto done;
  double s0 = TS[(int)t0], unscale = sqrt(1 + s0 * s0);
  float *xT = t_read(x);
  int sigma_space = lundi_scheduler_init_noise_sigma(s) != 1;
  if (sigma_space) { /* euler, heun: the sample is x_T / sqrt(a) */
    lundi_tensor *u = lundi_mul_scalar(x, (float)unscale);
    lundi_release(x);
    x = u;
    if (!x) goto done;
  }
  for (int i = 0; i < steps; i++) {
    double t = lundi_scheduler_timestep(s, i);
    lundi_release(tt);
    tt = lundi_full(1, (int64_t[]){ROWS}, (float)t);
    xin = lundi_scheduler_scale_model_input(s, x, i);
    out = xin && tt ? oracle(xin, tt) : NULL;
    lundi_tensor *nx = out ? lundi_scheduler_step(s, out, i, x, NULL) : NULL;
    lundi_release(xin);
    lundi_release(out);
    xin = out = NULL;
    lundi_release(x);
    x = nx;
    if (!x) {
      free(xT);
      goto done;
    }
  }
  float *xv = t_read(x);
  err = 0;
  for (int r = 0; r < ROWS; r++)
    for (int j = 0; j < NPIX; j++) {
      int e = r * NPIX + j;
      double m = g_m[j], sd = g_point ? 0 : g_s[j], xbar = xT[e] * unscale;
      double ref = m + sd * sd / (sqrt(sd * sd + sl * sl) * sqrt(sd * sd + s0 * s0)) * (xbar - m);
      err = fmax(err, fabs(xv[e] - ref));
    }
  free(xv);
  free(xT);
done:
  if (isnan(err)) fprintf(stderr, "%s n=%d: %s\n", name, n, lundi_last_error());
  lundi_release(x);
  lundi_release(x0t);
  lundi_release(zt);
  lundi_release(tt);
  lundi_instance_free(s);
  return err;
}

static void point_mass(void) {
  /* D = x0 for a point mass: every deterministic scheduler reconstructs x0 from its own x_T */
  const char *names[4] = {"ddim", "euler", "heun", "dpmpp_2m"};
  int ns[4] = {10, 20, 40, 80};
  g_point = 1;
  for (int k = 0; k < 4; k++)
    for (int karras = 0; karras < (k ? 2 : 1); karras++)
      for (int p = 0; p < 3; p++) {
        double worst = 0;
        for (int q = 0; q < 4; q++) {
          double e = ode_error(names[k], p, karras, ns[q]);
          CHECK(!isnan(e));
          worst = fmax(worst, e);
        }
        printf("point mass  %-9s %-6s %-12s max |x - x0| over 10..80 steps: %.2e\n", names[k], karras ? "karras" : "",
               PRED[p], worst);
        CHECK(worst < 2e-5); /* float rounding only */
      }
  g_point = 0;
}

/* The error table at 10 .. 160 steps and the orders log2(e(n) / e(2n)). The order is asserted
 * from 20 steps on (20 -> 40 -> 80 -> 160); 10 -> 20 is printed but can be pre-asymptotic. */
#define NN 5
static const int NS[NN] = {10, 20, 40, 80, 160};

static void order_table(const char *name, int karras, double min_order, double *err_out) {
  for (int p = 0; p < 3; p++) {
    double e[NN], o[NN - 1], worst = 1e9;
    printf("%-9s %-6s %-12s", name, karras ? "karras" : "", PRED[p]);
    for (int q = 0; q < NN; q++) {
      e[q] = ode_error(name, p, karras, NS[q]);
      printf(" %4d: %.3e", NS[q], e[q]);
      if (err_out && p == 0) err_out[q] = e[q];
    }
    printf("  order");
    for (int q = 0; q + 1 < NN; q++) {
      o[q] = log2(e[q] / e[q + 1]);
      printf(" %.2f", o[q]);
      if (q >= 1) worst = fmin(worst, o[q]);
    }
    printf("\n");
    if (!(worst > min_order)) {
      t_failures++;
      fprintf(stderr, "%s %s %s: order %.2f, want > %.2f\n", name, karras ? "karras" : "", PRED[p], worst, min_order);
    }
    for (int q = 0; q < NN; q++) CHECK(e[q] < 0.5); /* NaN fails too */
  }
}

static void order_euler(void) {
  order_table("euler", 0, 0.8, NULL);
  order_table("euler", 1, 0.8, NULL);
}
static void order_ddim(void) { order_table("ddim", 0, 0.8, NULL); }
static void order_heun(void) {
  order_table("heun", 0, 1.6, NULL);
  order_table("heun", 1, 1.6, NULL);
}

/* dpmpp_2m: second order with Karras sigmas. On linspace integer timesteps its last steps in
 * lambda = -log sigma do not shrink with n (sigma^2 ~ t near t = 0, so the step from 2k to k
 * steps is 0.5 log 2 whatever n), and 10 .. 160 steps stay pre-asymptotic: the error is small
 * but not monotone. There the test asserts that it stays below a quarter of Euler's error and
 * ends below its 10-step value. */
static void order_dpmpp_2m(void) {
  order_table("dpmpp_2m", 1, 1.6, NULL);
  double ed[NN], ee[NN];
  order_table("dpmpp_2m", 0, -10, ed);
  for (int q = 0; q < NN; q++) ee[q] = ode_error("euler", 0, 0, NS[q]);
  for (int q = 0; q < NN; q++) CHECK(ed[q] < ee[q] / 4);
  CHECK(ed[NN - 1] < ed[0] / 2);
}

/* ---- Gaussian sampling through the image sampler ---- */

#define BATCH 2000
#define REPL 4

/* bias_m, bias_s: the sampler's discretisation bias (relative to |m| and s) for these
 * settings, computed offline by propagating the (linear-Gaussian) chain's mean and variance in
 * double precision: the mean bias (about 0.45% of m) comes from starting at N(0, sigma_max^2)
 * rather than N(m, s^2 + sigma_max^2). Tolerance: 4 standard errors plus that bias. */
static void gauss_kv(const char *name, int pred, int karras, const char *steps, double bias_m, double bias_s, int evals,
                     const char *const *kv) {
  g_pred = pred;
  g_logint = karras;
  g_calls = 0;
  lundi_instance *s = kv ? bt_make(R, LUNDI_SCHEDULER, name, "clip_sample", "false", "prediction_type", PRED[pred],
                                   "use_karras_sigmas", karras ? "true" : "false", kv[0], kv[1], kv[2], kv[3], kv[4],
                                   kv[5], kv[6], kv[7], NULL)
                         : sched(name, PRED[pred], karras, NULL, NULL);
  lundi_instance *d = bt_make(R, LUNDI_DENOISER, "oracle", NULL);
  lundi_instance *smp = bt_make(R, LUNDI_SAMPLER, "image", "num_inference_steps", steps, NULL);
  CHECK(s && d && smp);
  lundi_rng rng = lundi_rng_make(4321);
  lundi_pipeline_parts parts = {.scheduler = s, .denoiser = d};
  lundi_sample_request req = {.batch = BATCH, .ndim = 1, .shape = {NPIX * REPL}, .rng = &rng};
  lundi_tensor *x = s && d && smp ? lundi_sampler_sample(smp, &parts, &req) : NULL;
  CHECK(x);
  CHECK(g_calls == evals);
  if (x) {
    float *v = t_read(x);
    for (int p = 0; p < NPIX; p++) {
      double sum = 0, sq = 0, n = BATCH * REPL;
      for (int b = 0; b < BATCH; b++)
        for (int k = 0; k < REPL; k++) {
          double y = v[b * NPIX * REPL + k * NPIX + p];
          sum += y, sq += y * y;
        }
      double mean = sum / n, sd = sqrt(sq / n - mean * mean), m = g_m[p], s0 = g_s[p];
      double tol_m = 4 * s0 / sqrt(n) + bias_m * fabs(m), tol_s = 4 * s0 / sqrt(2 * n) + bias_s * s0;
      int bad = fabs(mean - m) > tol_m || fabs(sd - s0) > tol_s;
      if (bad) t_failures++;
      fprintf(bad ? stderr : stdout, "%s %s %s %s steps: pixel %d mean %.4f (want %.2f +- %.4f), std %.4f (want %.2f +- %.4f)\n",
              name, karras ? "karras" : "", PRED[pred], steps, p, mean, m, tol_m, sd, s0, tol_s);
    }
    free(v);
  }
  lundi_release(x);
  lundi_instance_free(s);
  lundi_instance_free(d);
  lundi_instance_free(smp);
}

static void gauss(const char *name, int pred, int karras, const char *steps, double bias_m, double bias_s, int evals) {
  gauss_kv(name, pred, karras, steps, bias_m, bias_s, evals, NULL);
}

static void gauss_euler(void) {
  gauss("euler", 0, 0, "250", 0.005, 0.012, 250);
  gauss("euler", 2, 1, "250", 0.005, 0.013, 250);
}
static void gauss_euler_ancestral(void) {
  gauss("euler_ancestral", 0, 0, "500", 0.001, 0.016, 500);
  gauss("euler_ancestral", 1, 1, "500", 0.001, 0.014, 500);
}
static void gauss_heun(void) {
  gauss("heun", 1, 0, "50", 0.005, 0.004, 99);
  gauss("heun", 0, 1, "60", 0.005, 0.005, 119);
}
static void gauss_dpmpp_2m(void) {
  gauss("dpmpp_2m", 0, 0, "50", 0.005, 0.004, 50);
  gauss("dpmpp_2m", 2, 1, "50", 0.005, 0.008, 50);
}

/* ---- stochastic churn (euler, heun) ---- */

/* With churn the samples still follow N(m, s^2). The biases are those of the chain for these
 * settings, propagated offline as above (the churn adds about +0.7% .. +1% to the std here,
 * shrinking as s_churn / steps). */
static void gauss_churn(void) {
  const char *lin[8] = {"s_churn", "5", NULL}, *gated[8] = {"s_churn", "5", "s_tmin", "0.05", "s_tmax", "50",
                                                             "s_noise", "1.003"};
  gauss_kv("euler", 0, 0, "250", 0.005, 0.010, 250, lin);      /* chain: std +0.69% .. +0.92% */
  gauss_kv("euler", 2, 1, "500", 0.005, 0.012, 500, gated);    /* +0.47% .. +1.03% */
  gauss_kv("heun", 0, 0, "100", 0.005, 0.004, 199, lin);       /* +0.16% .. +0.24% */
  gated[1] = "10";
  gauss_kv("heun", 1, 1, "100", 0.005, 0.007, 199, gated);     /* +0.55% .. +0.60% */
}

/* One churned step against its closed form, with the churn noise redrawn from the seed. */
static void churn_step(void) {
  int64_t shape[2] = {2, 2};
  float xv[4] = {1.5f, -2, 40, 7}, ov[4] = {0.3f, -1, 0.8f, 0.1f};
  lundi_tensor *x = bt_tensor(2, shape, xv), *out = bt_tensor(2, shape, ov);
  lundi_rng z_rng = lundi_rng_make(42);
  lundi_tensor *zt = lundi_randn(&z_rng, 2, shape);
  float *z = t_read(zt);
  lundi_release(zt);
  const struct {
    const char *name, *churn, *tmin, *tmax, *noise;
    int pred;
    double gamma; /* expected; 0: no churn at sigma_0 */
  } c[] = {
      {"euler", "4", "0", "1e30", "1", 0, 0.4},          /* gamma = s_churn / n */
      {"euler", "4", "0", "1e30", "0.5", 2, 0.4},        /* s_noise scales the noise; v at sigma */
      {"euler", "4", "0", "1e30", "1", 1, 0.4},          /* sample: D = the output */
      {"euler", "100", "0", "1e30", "1", 0, sqrt(2) - 1}, /* the cap */
      {"euler", "4", "200", "1e30", "1", 0, 0},          /* sigma_0 ~ 157 < s_tmin */
      {"euler", "4", "0", "100", "1", 0, 0},             /* sigma_0 > s_tmax */
      {"heun", "4", "0", "1e30", "1", 0, 0.4},           /* heun's predictor: D from (x, sigma) */
      {"heun", "4", "0", "1e30", "1", 2, 0.4},
  };
  for (size_t k = 0; k < sizeof c / sizeof *c; k++) {
    lundi_instance *s = bt_make(R, LUNDI_SCHEDULER, c[k].name, "prediction_type", PRED[c[k].pred], "s_churn",
                                c[k].churn, "s_tmin", c[k].tmin, "s_tmax", c[k].tmax, "s_noise", c[k].noise, NULL);
    lundi_instance *plain = bt_make(R, LUNDI_SCHEDULER, c[k].name, "prediction_type", PRED[c[k].pred], NULL);
    CHECK(s && plain && lundi_scheduler_set_timesteps(s, 10) == 0 && lundi_scheduler_set_timesteps(plain, 10) == 0);
    if (!s || !plain) continue;
    double sg = TS[T - 1], sn = ((lundi__sig *)lundi_instance_self(s))->sigma[1], sh = sg * (1 + c[k].gamma);
    double a = 1 / (1 + sg * sg), noise = atof(c[k].noise) * sqrt(sh * sh - sg * sg);
    lundi_rng rng = lundi_rng_make(42);
    lundi_tensor *y = lundi_scheduler_step(s, out, 0, x, &rng), *y0 = lundi_scheduler_step(plain, out, 0, x, NULL);
    CHECK(y && y0);
    CHECK(rng.offset == (c[k].gamma > 0 ? 1u : 0u)); /* one draw of 4 normals, or none */
    if (y && y0 && c[k].gamma == 0) CHECK(t_max_abs_diff(y, y0) == 0); /* gated off: the plain step, bit for bit */
    if (y && c[k].gamma > 0) {
      float *v = t_read(y);
      for (int e = 0; e < 4; e++) {
        double xh = xv[e] + noise * z[e], d;
        if (!strcmp(c[k].name, "heun")) /* D(x, sigma) carried to x_hat */
          d = c[k].pred == 0 ? xv[e] - sg * ov[e] : a * xv[e] - sg * sqrt(a) * ov[e];
        else /* diffusers: eps read at sigma_hat, v at sigma */
          d = c[k].pred == 0 ? xh - sh * ov[e] : c[k].pred == 1 ? ov[e] : a * xh - sg * sqrt(a) * ov[e];
        double want = xh + (xh - d) / sh * (sn - sh);
        CHECK_NEAR(v[e], want, 2e-6 * fmax(1, fabs(want)) + 1e-6 * fabs(noise)); /* f32 rounding, |x| ~ 100 */
      }
      free(v);
    }
    lundi_release(y);
    lundi_release(y0);
    if (c[k].gamma > 0) {
      CHECK(lundi_scheduler_set_timesteps(s, 10) == 0);
      CHECK_ERR(lundi_scheduler_step(s, out, 0, x, NULL), "needs an rng");
    }
    lundi_instance_free(s);
    lundi_instance_free(plain);
  }
  /* heun's corrector continues from x_hat: two steps equal the closed form too */
  lundi_instance *h = bt_make(R, LUNDI_SCHEDULER, "heun", "s_churn", "4", NULL);
  CHECK(h && lundi_scheduler_set_timesteps(h, 10) == 0);
  if (h) {
    lundi_rng rng = lundi_rng_make(42);
    lundi_tensor *x1 = lundi_scheduler_step(h, out, 0, x, &rng);
    lundi_tensor *x2 = x1 ? lundi_scheduler_step(h, out, 1, x1, &rng) : NULL;
    CHECK(x2 && rng.offset == 1);
    if (x2) {
      double sg = TS[T - 1], sh = 1.4 * sg, sn = ((lundi__sig *)lundi_instance_self(h))->sigma[1];
      float *v = t_read(x2);
      for (int e = 0; e < 4; e++) {
        double xh = xv[e] + sqrt(sh * sh - sg * sg) * z[e], d1 = (xh - (xv[e] - sg * ov[e])) / sh;
        double xt = xh + d1 * (sn - sh), d2 = ov[e]; /* eps output: slope (x - (x - sn eps)) / sn */
        CHECK_NEAR(v[e], xh + (d1 + d2) / 2 * (sn - sh), 2e-6 * fmax(1, fabs(xt)) + 1e-6 * sqrt(sh * sh - sg * sg));
      }
      free(v);
    }
    lundi_release(x1);
    lundi_release(x2);
  }
  lundi_instance_free(h);
  /* euler_ancestral has no churn (nor has diffusers') */
  lundi_params *ps = lundi_plugin_params(lundi_registry_find(R, LUNDI_SCHEDULER, "euler_ancestral"));
  CHECK_ERR(lundi_params_set(ps, "s_churn", "1"), "unknown");
  lundi_params_free(ps);
  free(z);
  lundi_release(x);
  lundi_release(out);
}

/* s_churn 0 draws nothing and is the deterministic solver bit for bit (so is churn gated
 * off by s_tmin); with churn the result depends on the seed only. */
static void churn_determinism(void) {
  const char *names[2] = {"euler", "heun"};
  for (int k = 0; k < 2; k++) {
    g_pred = 0;
    g_logint = 0;
    lundi_instance *plain = bt_make(R, LUNDI_SCHEDULER, names[k], NULL);
    lundi_instance *off = bt_make(R, LUNDI_SCHEDULER, names[k], "s_churn", "30", "s_tmin", "1e6", NULL);
    lundi_instance *on = bt_make(R, LUNDI_SCHEDULER, names[k], "s_churn", "30", NULL);
    lundi_instance *d = bt_make(R, LUNDI_DENOISER, "oracle", NULL);
    lundi_instance *smp = bt_make(R, LUNDI_SAMPLER, "image", "num_inference_steps", "20", NULL);
    CHECK(plain && off && on && d && smp);
    if (!(plain && off && on && d && smp)) continue;
    lundi_tensor *r[5];
    uint64_t seeds[5] = {7, 7, 7, 7, 8}, offsets[5];
    lundi_instance *which[5] = {plain, off, on, on, on};
    for (int q = 0; q < 5; q++) {
      lundi_rng rng = lundi_rng_make(seeds[q]);
      lundi_pipeline_parts parts = {.scheduler = which[q], .denoiser = d};
      lundi_sample_request req = {.batch = 16, .ndim = 1, .shape = {NPIX}, .rng = &rng};
      r[q] = lundi_sampler_sample(smp, &parts, &req);
      offsets[q] = rng.offset;
      CHECK(r[q]);
    }
    if (r[0] && r[1] && r[2] && r[3] && r[4]) {
      CHECK(t_max_abs_diff(r[0], r[1]) == 0);
      CHECK(offsets[0] == offsets[1]); /* only x_T's draw */
      CHECK(t_max_abs_diff(r[2], r[3]) == 0);
      CHECK(offsets[2] > offsets[0]);
      CHECK(t_max_abs_diff(r[0], r[2]) > 1e-3);
      CHECK(t_max_abs_diff(r[2], r[4]) > 1e-3);
    }
    for (int q = 0; q < 5; q++) lundi_release(r[q]);
    lundi_instance_free(plain);
    lundi_instance_free(off);
    lundi_instance_free(on);
    lundi_instance_free(d);
    lundi_instance_free(smp);
  }
}

static void run(void (*fn)(void)) {
  tables();
  R = bt_registry();
  CHECK(R);
  if (!R) return;
  lundi_plugin_desc d = {.abi_version = LUNDI_ABI_VERSION, .kind = LUNDI_DENOISER, .name = "oracle", .version = "1",
                         .description = "ideal denoiser for Gaussian data", .create = oracle_create,
                         .destroy = oracle_destroy, .api = &oracle_api};
  CHECK(lundi_register(R, &d, "test") == 0);
  int64_t live = lundi_live_tensors();
  fn();
  CHECK(lundi_live_tensors() == live);
  lundi_registry_free(R);
}

#define CASE(f)                                                                                    \
  static void case_##f(void) { run(f); }
CASE(sigmas_karras)
CASE(timesteps_spacing)
CASE(init_scale)
CASE(training_side)
CASE(errors_state)
CASE(point_mass)
CASE(order_euler)
CASE(order_ddim)
CASE(order_heun)
CASE(order_dpmpp_2m)
CASE(gauss_euler)
CASE(gauss_euler_ancestral)
CASE(gauss_heun)
CASE(gauss_dpmpp_2m)
CASE(gauss_churn)
CASE(churn_step)
CASE(churn_determinism)

static const test_case cases[] = {
    {"sigmas_karras", case_sigmas_karras},   {"timesteps_spacing", case_timesteps_spacing},
    {"init_scale", case_init_scale},         {"training_side", case_training_side},
    {"errors_state", case_errors_state},     {"point_mass", case_point_mass},
    {"order_euler", case_order_euler},       {"order_ddim", case_order_ddim},
    {"order_heun", case_order_heun},         {"order_dpmpp_2m", case_order_dpmpp_2m},
    {"gauss_euler", case_gauss_euler},       {"gauss_euler_ancestral", case_gauss_euler_ancestral},
    {"gauss_heun", case_gauss_heun},         {"gauss_dpmpp_2m", case_gauss_dpmpp_2m},
    {"gauss_churn", case_gauss_churn},       {"churn_step", case_churn_step},
    {"churn_determinism", case_churn_determinism},
};
TEST_MAIN(cases)
