/* dpmpp_2m: DPM-Solver++(2M) (Lu et al. 2022, "DPM-Solver++: Fast Solver for Guided
 * Sampling of Diffusion Probabilistic Models", Algorithm 2), the data-prediction multistep
 * solver, with diffusers' DPMSolverMultistepScheduler parameters and rules (solver_order 2,
 * algorithm_type dpmsolver++, final_sigmas_type zero).
 *
 * It works on x_t itself (init_noise_sigma 1, no input scaling). With sigma_i from sigmas.c,
 * alpha_i = 1 / sqrt(sigma_i^2 + 1), lambda_i = -log sigma_i, h = lambda_{i+1} - lambda_i and
 * D_i the denoised estimate at step i:
 *   first order (step 0):  x' = (sigma'_t / sigma'_s) x - alpha_{i+1} (e^-h - 1) D_i
 *   second order:          r = (lambda_i - lambda_{i-1}) / h,  D1 = (D_i - D_{i-1}) / r,
 *     midpoint: x' = (sigma'_t / sigma'_s) x - alpha_{i+1} (e^-h - 1) (D_i + D1 / 2)
 *     heun:     x' = (sigma'_t / sigma'_s) x - alpha_{i+1} (e^-h - 1) D_i
 *                    + alpha_{i+1} ((e^-h - 1) / h + 1) D1
 * where sigma'_i = sigma_i alpha_i is x_t's noise std. The last step goes to sigma = 0 and is
 * first order, which there is x' = D (diffusers' lower_order_final with final sigma zero).
 * The previous D is kept in the scheduler; a step whose predecessor did not run just before
 * (a fresh start) is first order, like diffusers' lower_order_nums.
 * Deviation: with use_karras_sigmas the timesteps are not rounded (diffusers rounds them), so
 * the model is told the noise level the solver assumes. Not implemented: solver orders 1 and
 * 3, the SDE variants, lambda_min_clipped, variance_type, euler_at_final, final_sigmas_type
 * sigma_min, use_lu_lambdas and the exponential / beta / flow sigmas. */
#include "builtins.h"
#include "sigmas.h"

#include <math.h>
#include <stddef.h>
#include <stdlib.h>
#include <string.h>

typedef struct dpm {
  lundi__sig g;
  int heun_type;     /* solver_type */
  lundi_tensor *d;   /* D of the previous step */
  int last;          /* index of that step, or -1 */
} dpm;
_Static_assert(offsetof(dpm, g.s) == 0, "the shared training-side entries take self as a lundi__sched");

static const lundi_param_spec specs[] = {
    LUNDI__SIG_SPECS,
    {"solver_type", LUNDI_PARAM_CHOICE, "midpoint", 0, 0, "midpoint|heun",
     "second-order update: midpoint (diffusers' default) or heun"},
};

static void reset(dpm *m) {
  lundi_release(m->d);
  m->d = NULL;
  m->last = -1;
}

static int create(void *user, const lundi_params *p, void **self) {
  (void)user;
  dpm *m = calloc(1, sizeof *m);
  if (!m) return lundi_set_error(LUNDI_ENOMEM, "dpmpp_2m: out of memory");
  int rc = lundi__sig_init(&m->g, p, LUNDI__SIG_DPM);
  const char *st = rc ? NULL : lundi_params_string(p, "solver_type");
  if (!rc && !st) rc = lundi_last_error_code();
  if (rc) {
    lundi__sig_free(&m->g);
    free(m);
    return rc;
  }
  m->heun_type = !strcmp(st, "heun");
  m->last = -1;
  *self = m;
  return 0;
}

static void destroy(void *self) {
  dpm *m = self;
  reset(m);
  lundi__sig_free(&m->g);
  free(m);
}

static int set_timesteps(void *self, int n) {
  dpm *m = self;
  reset(m);
  return lundi__sig_set_timesteps(&m->g, n);
}
static int num_steps(void *self) { return ((dpm *)self)->g.n; }
static double timestep(void *self, int i) {
  dpm *m = self;
  return lundi__sig_check(&m->g, i, m->g.n) ? NAN : m->g.t[i];
}

static lundi_tensor *predict_x0(void *self, lundi_tensor *out, int i, lundi_tensor *x) {
  dpm *m = self;
  return lundi__sig_check_args(&m->g, out, i, m->g.n, x) ? NULL : lundi__sig_denoised(&m->g, out, x, m->g.sigma[i], 1);
}

static lundi_tensor *step(void *self, lundi_tensor *out, int i, lundi_tensor *x, lundi_rng *rng) {
  (void)rng;
  dpm *m = self;
  if (lundi__sig_check_args(&m->g, out, i, m->g.n, x)) return NULL;
  double s = m->g.sigma[i], sn = m->g.sigma[i + 1];
  lundi_tensor *d = lundi__sig_denoised(&m->g, out, x, s, 1), *res = NULL;
  if (!d) return NULL;
  if (sn == 0) { /* first order to sigma 0: x' = D */
    reset(m);
    return d;
  }
  double as = 1 / sqrt(s * s + 1), an = 1 / sqrt(sn * sn + 1);
  double h = log(s / sn), em1 = expm1(-h); /* e^-h - 1 */
  double cx = (sn * an) / (s * as), c0 = -an * em1;
  if (i > 0 && m->last == i - 1 && m->d) {
    double r = log(m->g.sigma[i - 1] / s) / h;
    /* D1 = (D - D_prev) / r enters with weight c1: c0 D + c1 (D - D_prev) / r */
    double c1 = m->heun_type ? an * (em1 / h + 1) : -0.5 * an * em1;
    lundi_tensor *a = lundi__axpby(cx, x, c0 + c1 / r, d);
    res = a ? lundi__axpby(1, a, -c1 / r, m->d) : NULL;
    lundi_release(a);
  } else {
    res = lundi__axpby(cx, x, c0, d);
  }
  if (!res) {
    lundi_release(d);
    return NULL;
  }
  reset(m);
  m->d = d;
  m->last = i;
  return res;
}

/* A fresh start at step k: the multistep history is dropped, so step k is first order. */
static lundi_tensor *noise_to_step(void *self, lundi_tensor *x0, lundi_tensor *noise, int k, int *begin) {
  dpm *m = self;
  lundi_tensor *x = lundi__sig_noise_to(&m->g, x0, noise, k, 1);
  if (!x) return NULL;
  reset(m);
  *begin = k;
  return x;
}

static const lundi_scheduler_api api = {
    .num_train_timesteps = lundi__sched_api_num_train_timesteps,
    .add_noise = lundi__sched_api_add_noise,
    .target = lundi__sched_api_target,
    .set_timesteps = set_timesteps,
    .num_steps = num_steps,
    .timestep = timestep,
    .step = step,
    .predict_x0 = predict_x0,
    .noise_to_step = noise_to_step,
};

int lundi_builtin_dpmpp_2m(lundi_registry *r) {
  lundi_plugin_desc d = {
      .abi_version = LUNDI_ABI_VERSION,
      .kind = LUNDI_SCHEDULER,
      .name = "dpmpp_2m",
      .version = "1.0.0",
      .description = "DPM-Solver++(2M), data-prediction multistep solver, diffusers DPMSolverMultistep parameters",
      .params = specs,
      .n_params = (int)(sizeof specs / sizeof *specs),
      .create = create,
      .destroy = destroy,
      .api = &api,
  };
  return lundi_register(r, &d, NULL);
}
