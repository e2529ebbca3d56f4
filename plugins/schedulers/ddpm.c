/* ddpm: the ancestral sampler of Ho et al. 2020 ("Denoising Diffusion Probabilistic
 * Models"), with diffusers' DDPMScheduler parameters and rules. With fewer inference steps
 * than training steps it steps between consecutive inference timesteps t -> prev_t, using
 * the effective beta 1 - ab_t / ab_prev. */
#include "builtins.h"
#include "sched_common.h"

#include <math.h>
#include <stddef.h>
#include <stdlib.h>
#include <string.h>

typedef struct ddpm {
  lundi__sched s;
  int fixed_large; /* variance_type */
} ddpm;
_Static_assert(offsetof(ddpm, s) == 0, "the shared training-side entries take self as a lundi__sched");

static const lundi_param_spec specs[] = {
    LUNDI__SCHED_COMMON_SPECS,
    {"variance_type", LUNDI_PARAM_CHOICE, "fixed_small", 0, 0, "fixed_small|fixed_large",
     "noise of each step: the posterior's (beta tilde) or beta itself"},
};

static int create(void *user, const lundi_params *p, void **self) {
  (void)user;
  ddpm *d = calloc(1, sizeof *d);
  if (!d) return lundi_set_error(LUNDI_ENOMEM, "ddpm: out of memory");
  int rc = lundi__sched_init(&d->s, p);
  const char *vt = lundi_params_string(p, "variance_type");
  if (!rc && !vt) rc = lundi_last_error_code();
  if (rc) {
    free(d);
    return rc;
  }
  d->fixed_large = !strcmp(vt, "fixed_large");
  *self = d;
  return 0;
}

static void destroy(void *self) {
  ddpm *d = self;
  lundi__sched_free(&d->s);
  free(d);
}

static int set_timesteps(void *self, int n) { return lundi__sched_set_timesteps(&((ddpm *)self)->s, n); }
static int num_steps(void *self) { return ((ddpm *)self)->s.n; }
static double timestep(void *self, int i) { return lundi__sched_timestep(&((ddpm *)self)->s, i); }

static lundi_tensor *predict_x0(void *self, lundi_tensor *out, int i, lundi_tensor *x) {
  ddpm *d = self;
  return lundi__sched_check_step_args(&d->s, out, i, x) ? NULL : lundi__sched_x0_at(&d->s, out, i, x);
}

static lundi_tensor *step(void *self, lundi_tensor *out, int i, lundi_tensor *x, lundi_rng *rng) {
  ddpm *d = self;
  if (lundi__sched_check_step_args(&d->s, out, i, x)) return NULL;
  int t = d->s.timesteps[i], prev = i + 1 < d->s.n ? d->s.timesteps[i + 1] : -1;
  if (t > 0 && !rng) {
    lundi_set_error(LUNDI_EINVAL, "step %d (t = %d) adds noise and needs an rng, got NULL", i, t);
    return NULL;
  }
  double a = d->s.ab[t], ap = prev >= 0 ? d->s.ab[prev] : 1.0;
  double beta = 1 - a / ap; /* effective beta from prev to t */
  /* Posterior q(x_prev | x_t, x0) mean: c0 x0 + c1 x_t. */
  double c0 = sqrt(ap) * beta / (1 - a), c1 = sqrt(a / ap) * (1 - ap) / (1 - a);
  lundi_tensor *x0 = lundi__sched_x0_at(&d->s, out, i, x);
  if (!x0) return NULL;
  lundi_tensor *mean = lundi__axpby(c0, x0, c1, x);
  lundi_release(x0);
  if (!mean || t == 0) return mean;
  double var = d->fixed_large ? beta : fmax((1 - ap) / (1 - a) * beta, 1e-20);
  lundi_tensor *z = lundi_randn_on(rng, lundi_ndim(x), lundi_shape(x), lundi_tensor_device(x));
  lundi_tensor *res = z ? lundi__axpby(1, mean, sqrt(var), z) : NULL;
  lundi_release(z);
  lundi_release(mean);
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

int lundi_builtin_ddpm(lundi_registry *r) {
  lundi_plugin_desc d = {
      .abi_version = LUNDI_ABI_VERSION,
      .kind = LUNDI_SCHEDULER,
      .name = "ddpm",
      .version = "1.0.0",
      .description = "DDPM ancestral sampling (Ho et al. 2020), diffusers-compatible parameters",
      .params = specs,
      .n_params = (int)(sizeof specs / sizeof *specs),
      .create = create,
      .destroy = destroy,
      .api = &api,
  };
  return lundi_register(r, &d, NULL);
}
