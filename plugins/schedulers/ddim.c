/* ddim: denoising diffusion implicit models (Song et al. 2021), with diffusers'
 * DDIMScheduler parameters and rules. eta = 0 is deterministic (the probability-flow-like
 * sampler); eta = 1 has DDPM's posterior noise. The step goes from t to
 * t - num_train_timesteps // num_inference_steps, whose alphas_cumprod is final_alpha_cumprod
 * (1 with set_alpha_to_one, else alphas_cumprod[0]) once below zero. */
#include "builtins.h"
#include "sched_common.h"

#include <math.h>
#include <stddef.h>
#include <stdlib.h>
#include <string.h>

typedef struct ddim {
  lundi__sched s;
  double eta, final_ab;
  int clipped_eps; /* use_clipped_model_output */
} ddim;
_Static_assert(offsetof(ddim, s) == 0, "the shared training-side entries take self as a lundi__sched");

static const lundi_param_spec specs[] = {
    LUNDI__SCHED_COMMON_SPECS,
    {"eta", LUNDI_PARAM_FLOAT, "0.0", 0, 1, NULL, "noise weight: 0 deterministic, 1 like DDPM"},
    {"set_alpha_to_one", LUNDI_PARAM_BOOL, "true", 0, 0, NULL,
     "alphas_cumprod past the last step is 1 (else alphas_cumprod[0])"},
    {"use_clipped_model_output", LUNDI_PARAM_BOOL, "false", 0, 0, NULL,
     "recompute the noise from the clipped x0 for the direction term"},
};

static int create(void *user, const lundi_params *p, void **self) {
  (void)user;
  ddim *d = calloc(1, sizeof *d);
  if (!d) return lundi_set_error(LUNDI_ENOMEM, "ddim: out of memory");
  int rc = lundi__sched_init(&d->s, p);
  if (rc) {
    free(d);
    return rc;
  }
  d->eta = lundi_params_float(p, "eta");
  d->final_ab = lundi_params_bool(p, "set_alpha_to_one") ? 1.0 : d->s.ab[0];
  d->clipped_eps = lundi_params_bool(p, "use_clipped_model_output");
  *self = d;
  return 0;
}

static void destroy(void *self) {
  ddim *d = self;
  lundi__sched_free(&d->s);
  free(d);
}

static int set_timesteps(void *self, int n) { return lundi__sched_set_timesteps(&((ddim *)self)->s, n); }
static int num_steps(void *self) { return ((ddim *)self)->s.n; }
static double timestep(void *self, int i) { return lundi__sched_timestep(&((ddim *)self)->s, i); }

static lundi_tensor *predict_x0(void *self, lundi_tensor *out, int i, lundi_tensor *x) {
  ddim *d = self;
  return lundi__sched_check_step_args(&d->s, out, i, x) ? NULL : lundi__sched_x0_at(&d->s, out, i, x);
}

static lundi_tensor *step(void *self, lundi_tensor *out, int i, lundi_tensor *x, lundi_rng *rng) {
  ddim *d = self;
  if (lundi__sched_check_step_args(&d->s, out, i, x)) return NULL;
  if (d->eta > 0 && !rng) {
    lundi_set_error(LUNDI_EINVAL, "step %d: eta = %g adds noise and needs an rng, got NULL", i, d->eta);
    return NULL;
  }
  int t = d->s.timesteps[i], prev = t - d->s.T / d->s.n;
  double a = d->s.ab[t], ap = prev >= 0 ? d->s.ab[prev] : d->final_ab;
  double sd = d->eta * sqrt((1 - ap) / (1 - a) * (1 - a / ap));
  lundi_tensor *x0 = lundi__sched_x0_at(&d->s, out, i, x), *eps = NULL, *res = NULL, *z = NULL;
  if (!x0) return NULL;
  /* direction to x_t: the model's epsilon, or the one consistent with the clipped x0 */
  eps = d->clipped_eps ? lundi__axpby(1 / sqrt(1 - a), x, -sqrt(a) / sqrt(1 - a), x0) : lundi__sched_eps(&d->s, out, x, a);
  if (!eps) goto done;
  res = lundi__axpby(sqrt(ap), x0, sqrt(fmax(1 - ap - sd * sd, 0)), eps);
  if (!res || d->eta <= 0) goto done;
  z = lundi_randn_on(rng, lundi_ndim(x), lundi_shape(x), lundi_tensor_device(x));
  lundi_tensor *noisy = z ? lundi__axpby(1, res, sd, z) : NULL;
  lundi_release(res);
  res = noisy;
done:
  lundi_release(x0);
  lundi_release(eps);
  lundi_release(z);
  return res;
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
    .noise_to_step = lundi__sched_api_noise_to_step,
};

int lundi_builtin_ddim(lundi_registry *r) {
  lundi_plugin_desc d = {
      .abi_version = LUNDI_ABI_VERSION,
      .kind = LUNDI_SCHEDULER,
      .name = "ddim",
      .version = "1.0.0",
      .description = "DDIM sampling (Song et al. 2021), deterministic at eta = 0, diffusers-compatible parameters",
      .params = specs,
      .n_params = (int)(sizeof specs / sizeof *specs),
      .create = create,
      .destroy = destroy,
      .api = &api,
  };
  return lundi_register(r, &d, NULL);
}
