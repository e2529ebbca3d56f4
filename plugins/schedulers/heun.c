/* heun: the second-order Heun solver of the probability-flow ODE in sigma space (Karras et
 * al. 2022, Algorithm 1; Algorithm 2 with churn), with diffusers' HeunDiscreteScheduler parameters and
 * rules. With sigmas s_0 > ... > s_{n-1} > s_n = 0 each step s_j -> s_{j+1} takes two model
 * evaluations, except the last one (to 0), which is an Euler step:
 *   predictor (evaluation 2j):      d = (x - D(x, s_j)) / s_j,  x~ = x + d (s_{j+1} - s_j)
 *   corrector (evaluation 2j + 1):  d' = (x~ - D(x~, s_{j+1})) / s_{j+1},
 *                                   x' = x + (d + d') / 2 (s_{j+1} - s_j).
 * So num_steps() is 2n - 1 model evaluations; evaluation i sees timestep t_{(i+1)/2}. The
 * scheduler keeps x, d and the step size between the two stages (as diffusers does); a
 * corrector must follow its own predictor. The sample is unscaled as in euler.
 * Stochastic churn (k-diffusion's sample_heun; diffusers' Heun has none), with euler's
 * parameters: at a predictor whose sigma lies in [s_tmin, s_tmax], sigma_hat = sigma (1 +
 * min(s_churn / n, sqrt(2) - 1)) and x_hat = x + s_noise z sqrt(sigma_hat^2 - sigma^2); the
 * step then runs from (x_hat, sigma_hat) with slope (x_hat - D) / sigma_hat. The model output
 * was computed at (x, sigma) (step() gets it already made), so its denoised estimate D is
 * carried over to x_hat: that keeps the Gaussian-data bias near k-diffusion's (which
 * re-evaluates the model at x_hat), where carrying its noise estimate over instead (diffusers'
 * Euler convention) leaves half the added noise in (std +3% at s_churn 1, 50 steps). The last
 * step, to sigma 0, returns D whatever the churn, so it draws nothing.
 * Not implemented: final_sigmas_type sigma_min. */
#include "builtins.h"
#include "sigmas.h"

#include <math.h>
#include <stddef.h>
#include <stdlib.h>

typedef struct heun {
  lundi__sig g;
  lundi_tensor *x, *d; /* between the stages: the sample before the predictor and its slope */
  double dt;
  int pending;         /* evaluation index of the predictor that set x and d, or -1 */
  lundi__churn churn;
} heun;
_Static_assert(offsetof(heun, g.s) == 0, "the shared training-side entries take self as a lundi__sched");

static const lundi_param_spec specs[] = {LUNDI__SIG_SPECS, LUNDI__CHURN_SPECS};

static void reset(heun *h) {
  lundi_release(h->x);
  lundi_release(h->d);
  h->x = h->d = NULL;
  h->pending = -1;
}

static int create(void *user, const lundi_params *p, void **self) {
  (void)user;
  heun *h = calloc(1, sizeof *h);
  if (!h) return lundi_set_error(LUNDI_ENOMEM, "heun: out of memory");
  int rc = lundi__sig_init(&h->g, p, LUNDI__SIG_EULER);
  if (rc) {
    free(h);
    return rc;
  }
  h->pending = -1;
  lundi__churn_init(&h->churn, p);
  *self = h;
  return 0;
}

static void destroy(void *self) {
  heun *h = self;
  reset(h);
  lundi__sig_free(&h->g);
  free(h);
}

static int evals(const heun *h) { return h->g.n ? 2 * h->g.n - 1 : 0; }
/* The index of the sigma (and timestep) that evaluation i sees. */
static int level(int i) { return (i + 1) / 2; }

static int set_timesteps(void *self, int n) {
  heun *h = self;
  reset(h);
  return lundi__sig_set_timesteps(&h->g, n);
}
static int num_steps(void *self) { return evals(self); }
static double timestep(void *self, int i) {
  heun *h = self;
  return lundi__sig_check(&h->g, i, evals(h)) ? NAN : h->g.t[level(i)];
}
static double init_noise_sigma(void *self) { return lundi__sig_init_noise_sigma(&((heun *)self)->g); }
static lundi_tensor *scale_model_input(void *self, lundi_tensor *x, int i) {
  heun *h = self;
  return lundi__sig_check(&h->g, i, evals(h)) ? NULL : lundi__sig_scale(x, h->g.sigma[level(i)]);
}

static lundi_tensor *predict_x0(void *self, lundi_tensor *out, int i, lundi_tensor *x) {
  heun *h = self;
  return lundi__sig_check_args(&h->g, out, i, evals(h), x) ? NULL
                                                            : lundi__sig_denoised(&h->g, out, x, h->g.sigma[level(i)], 0);
}

/* (x - D) / s */
static lundi_tensor *slope(heun *h, lundi_tensor *out, lundi_tensor *x, double s) {
  lundi_tensor *d = lundi__sig_denoised(&h->g, out, x, s, 0);
  if (!d) return NULL;
  lundi_tensor *r = lundi__axpby(1 / s, x, -1 / s, d);
  lundi_release(d);
  return r;
}

/* A fresh start at step k (its predictor, evaluation 2k); a pending predictor is dropped. */
static lundi_tensor *noise_to_step(void *self, lundi_tensor *x0, lundi_tensor *noise, int k, int *begin) {
  heun *h = self;
  lundi_tensor *x = lundi__sig_noise_to(&h->g, x0, noise, k, 0);
  if (!x) return NULL;
  reset(h);
  *begin = 2 * k;
  return x;
}

static lundi_tensor *step(void *self, lundi_tensor *out, int i, lundi_tensor *x, lundi_rng *rng) {
  heun *h = self;
  if (lundi__sig_check_args(&h->g, out, i, evals(h), x)) return NULL;
  int j = level(i);
  if (i % 2 == 0) { /* predictor from s_j to s_{j+1} (plain Euler when s_{j+1} = 0) */
    reset(h);
    double s = h->g.sigma[j], sn = h->g.sigma[j + 1];
    if (sn == 0) return lundi__sig_denoised(&h->g, out, x, s, 0);
    double sh = lundi__churn_sigma_hat(&h->churn, s, h->g.n);
    lundi_tensor *d = NULL, *xh = NULL;
    if (sh > s) { /* churn: slope (x_hat - D) / sigma_hat, D from the model output at (x, s) */
      lundi_tensor *den = lundi__sig_denoised(&h->g, out, x, s, 0);
      xh = den ? lundi__churn_apply(&h->churn, x, s, sh, i, rng) : NULL;
      d = xh ? lundi__axpby(1 / sh, xh, -1 / sh, den) : NULL;
      lundi_release(den);
    } else {
      xh = lundi_retain(x);
      d = slope(h, out, x, s);
    }
    lundi_tensor *res = d ? lundi__axpby(1, xh, sn - sh, d) : NULL;
    if (!res) {
      lundi_release(d);
      lundi_release(xh);
      return NULL;
    }
    h->x = xh;
    h->d = d;
    h->dt = sn - sh;
    h->pending = i;
    return res;
  }
  /* corrector at s_j for the step s_{j-1} -> s_j */
  if (h->pending != i - 1) {
    lundi_set_error(LUNDI_ESTATE, "step %d: heun's corrector must follow its predictor (step %d); run the steps in order",
                    i, i - 1);
    return NULL;
  }
  lundi_tensor *d2 = slope(h, out, x, h->g.sigma[j]);
  lundi_tensor *avg = d2 ? lundi__axpby(0.5, h->d, 0.5, d2) : NULL;
  lundi_tensor *res = avg ? lundi__axpby(1, h->x, h->dt, avg) : NULL;
  lundi_release(d2);
  lundi_release(avg);
  if (res) reset(h);
  return res;
}

static const lundi_scheduler_api api = {
    .num_train_timesteps = lundi__sched_api_num_train_timesteps,
    .add_noise = lundi__sched_api_add_noise,
    .target = lundi__sched_api_target,
    .set_timesteps = set_timesteps,
    .num_steps = num_steps,
    .timestep = timestep,
    .init_noise_sigma = init_noise_sigma,
    .scale_model_input = scale_model_input,
    .step = step,
    .predict_x0 = predict_x0,
    .noise_to_step = noise_to_step,
};

int lundi_builtin_heun(lundi_registry *r) {
  lundi_plugin_desc d = {
      .abi_version = LUNDI_ABI_VERSION,
      .kind = LUNDI_SCHEDULER,
      .name = "heun",
      .version = "1.0.0",
      .description = "Heun's second-order probability-flow ODE solver (2 model evaluations per step), optional "
                     "churn, diffusers HeunDiscrete parameters",
      .params = specs,
      .n_params = (int)(sizeof specs / sizeof *specs),
      .create = create,
      .destroy = destroy,
      .api = &api,
  };
  return lundi_register(r, &d, NULL);
}
