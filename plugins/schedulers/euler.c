/* euler and euler_ancestral: k-diffusion's Euler samplers in sigma space (Karras et al. 2022,
 * Algorithm 1, or Algorithm 2 with churn for euler), with diffusers' EulerDiscreteScheduler and
 * EulerAncestralDiscreteScheduler parameters and rules.
 *
 * The sample x is unscaled, x = x0 + sigma eps (x_T = randn * init_noise_sigma); the model
 * sees x / sqrt(sigma^2 + 1) = x_t. From the model output the step forms the denoised
 * estimate D (the x0 prediction) and
 *   euler:           x' = x + (x - D) / sigma * (sigma' - sigma)
 *   euler_ancestral: sigma_up = sqrt(sigma'^2 (sigma^2 - sigma'^2) / sigma^2),
 *                    sigma_down = sqrt(sigma'^2 - sigma_up^2),
 *                    x' = x + (x - D) / sigma * (sigma_down - sigma) + sigma_up z.
 * euler's stochastic churn (Karras et al. 2022, Algorithm 2, with diffusers' parameters s_churn,
 * s_tmin, s_tmax, s_noise): at a step whose sigma lies in [s_tmin, s_tmax],
 * gamma = min(s_churn / n, sqrt(2) - 1), sigma_hat = sigma (1 + gamma), the sample gets
 * x_hat = x + s_noise z sqrt(sigma_hat^2 - sigma^2) and the Euler step runs from sigma_hat:
 * x' = x_hat + (x_hat - D_hat) / sigma_hat * (sigma' - sigma_hat). As in diffusers the model
 * output was computed at (x, sigma), before the churn (step() gets it already made): D_hat
 * reads an eps output at sigma_hat and a v output at sigma (diffusers' conversions), so the
 * model's noise estimate carries over to x_hat. The bias this adds shrinks as s_churn / n.
 * Not implemented: interpolation_type log_linear, exponential / beta sigmas and
 * final_sigmas_type sigma_min. */
#include "builtins.h"
#include "sigmas.h"

#include <math.h>
#include <stddef.h>
#include <stdlib.h>

typedef struct euler {
  lundi__sig g;
  int ancestral;
  lundi__churn churn; /* euler only; s_churn 0 for euler_ancestral */
} euler;
_Static_assert(offsetof(euler, g.s) == 0, "the shared training-side entries take self as a lundi__sched");

static const lundi_param_spec specs[] = {LUNDI__SIG_SPECS, LUNDI__CHURN_SPECS};
static const lundi_param_spec specs_ancestral[] = {LUNDI__SIG_SPECS};

static int create_kind(const lundi_params *p, void **self, int ancestral) {
  euler *e = calloc(1, sizeof *e);
  if (!e) return lundi_set_error(LUNDI_ENOMEM, "euler: out of memory");
  int rc = lundi__sig_init(&e->g, p, LUNDI__SIG_EULER);
  if (rc) {
    free(e);
    return rc;
  }
  if (!ancestral) lundi__churn_init(&e->churn, p);
  e->ancestral = ancestral;
  *self = e;
  return 0;
}
static int create(void *user, const lundi_params *p, void **self) { return create_kind(p, self, *(const int *)user); }

static void destroy(void *self) {
  euler *e = self;
  lundi__sig_free(&e->g);
  free(e);
}

static int set_timesteps(void *self, int n) { return lundi__sig_set_timesteps(&((euler *)self)->g, n); }
static int num_steps(void *self) { return ((euler *)self)->g.n; }
static double timestep(void *self, int i) {
  euler *e = self;
  return lundi__sig_check(&e->g, i, e->g.n) ? NAN : e->g.t[i];
}
static double init_noise_sigma(void *self) { return lundi__sig_init_noise_sigma(&((euler *)self)->g); }
static lundi_tensor *scale_model_input(void *self, lundi_tensor *x, int i) {
  euler *e = self;
  return lundi__sig_check(&e->g, i, e->g.n) ? NULL : lundi__sig_scale(x, e->g.sigma[i]);
}

static lundi_tensor *predict_x0(void *self, lundi_tensor *out, int i, lundi_tensor *x) {
  euler *e = self;
  return lundi__sig_check_args(&e->g, out, i, e->g.n, x) ? NULL : lundi__sig_denoised(&e->g, out, x, e->g.sigma[i], 0);
}

static lundi_tensor *noise_to_step(void *self, lundi_tensor *x0, lundi_tensor *noise, int k, int *begin) {
  *begin = k;
  return lundi__sig_noise_to(&((euler *)self)->g, x0, noise, k, 0);
}

static lundi_tensor *step(void *self, lundi_tensor *out, int i, lundi_tensor *x, lundi_rng *rng) {
  euler *e = self;
  if (lundi__sig_check_args(&e->g, out, i, e->g.n, x)) return NULL;
  double s = e->g.sigma[i], sn = e->g.sigma[i + 1], up = 0, down = sn;
  double sh = lundi__churn_sigma_hat(&e->churn, s, e->g.n);
  if (sh > s) { /* churn: x_hat at sigma_hat, then the plain Euler step from there */
    lundi_tensor *xh = lundi__churn_apply(&e->churn, x, s, sh, i, rng), *res = NULL;
    lundi_tensor *d = xh ? lundi__sig_denoised(&e->g, out, xh, e->g.s.pred == LUNDI__PRED_V ? s : sh, 0) : NULL;
    if (d) res = lundi__axpby(sn / sh, xh, 1 - sn / sh, d);
    lundi_release(xh);
    lundi_release(d);
    return res;
  }
  if (e->ancestral) {
    up = sqrt(sn * sn * (s * s - sn * sn) / (s * s));
    down = sqrt(fmax(sn * sn - up * up, 0));
    if (up > 0 && !rng) {
      lundi_set_error(LUNDI_EINVAL, "step %d: euler_ancestral adds noise (sigma_up = %g) and needs an rng, got NULL", i, up);
      return NULL;
    }
  }
  lundi_tensor *d = lundi__sig_denoised(&e->g, out, x, s, 0);
  if (!d) return NULL;
  /* x + (x - D) / s * (down - s) = (down / s) x + (1 - down / s) D */
  double r = down / s;
  lundi_tensor *res = lundi__axpby(r, x, 1 - r, d);
  lundi_release(d);
  if (!res || up <= 0) return res;
  lundi_tensor *z = lundi_randn_on(rng, lundi_ndim(x), lundi_shape(x), lundi_tensor_device(x));
  lundi_tensor *noisy = z ? lundi__axpby(1, res, up, z) : NULL;
  lundi_release(z);
  lundi_release(res);
  return noisy;
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

static int k_plain = 0, k_ancestral = 1;

int lundi_builtin_euler(lundi_registry *r) {
  lundi_plugin_desc d = {
      .abi_version = LUNDI_ABI_VERSION,
      .kind = LUNDI_SCHEDULER,
      .name = "euler",
      .version = "1.0.0",
      .description = "Euler probability-flow ODE solver in sigma space (k-diffusion), optional churn, diffusers "
                     "EulerDiscrete parameters",
      .params = specs,
      .n_params = (int)(sizeof specs / sizeof *specs),
      .create = create,
      .destroy = destroy,
      .api = &api,
      .user = &k_plain,
  };
  return lundi_register(r, &d, NULL);
}

int lundi_builtin_euler_ancestral(lundi_registry *r) {
  lundi_plugin_desc d = {
      .abi_version = LUNDI_ABI_VERSION,
      .kind = LUNDI_SCHEDULER,
      .name = "euler_ancestral",
      .version = "1.0.0",
      .description = "ancestral Euler sampler (sigma_down step plus sigma_up noise), diffusers EulerAncestralDiscrete parameters",
      .params = specs_ancestral,
      .n_params = (int)(sizeof specs_ancestral / sizeof *specs_ancestral),
      .create = create,
      .destroy = destroy,
      .api = &api,
      .user = &k_ancestral,
  };
  return lundi_register(r, &d, NULL);
}
