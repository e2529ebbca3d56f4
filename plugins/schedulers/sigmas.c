/* Sigma schedules for the solver schedulers (see sigmas.h). Double precision throughout. */
#include "sigmas.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

int lundi__sig_init(lundi__sig *g, const lundi_params *p, lundi__sig_style style) {
  memset(g, 0, sizeof *g);
  int rc = lundi__sched_init(&g->s, p);
  if (rc) return rc;
  g->style = style;
  g->karras = lundi_params_bool(p, "use_karras_sigmas");
  g->train = malloc(sizeof(double) * (size_t)g->s.T);
  if (!g->train) {
    lundi__sig_free(g);
    return lundi_set_error(LUNDI_ENOMEM, "scheduler: out of memory for %d sigmas", g->s.T);
  }
  for (int i = 0; i < g->s.T; i++) g->train[i] = sqrt((1 - g->s.ab[i]) / g->s.ab[i]);
  return 0;
}

void lundi__sig_free(lundi__sig *g) {
  lundi__sched_free(&g->s);
  free(g->train);
  free(g->t);
  free(g->sigma);
  g->train = g->t = g->sigma = NULL;
  g->n = 0;
}

double lundi__sig_interp(const double *train, int T, double t) {
  if (T == 1 || t <= 0) return train[0];
  if (t >= T - 1) return train[T - 1];
  int lo = (int)floor(t);
  double w = t - lo;
  return train[lo] + w * (train[lo + 1] - train[lo]);
}

double lundi__sig_to_t(const double *train, int T, double sigma) {
  if (T == 1) return 0;
  double ls = log(fmax(sigma, 1e-10));
  /* the last index whose log sigma is <= ls, at most T - 2 (train is ascending) */
  int lo = 0;
  while (lo + 1 < T - 1 && log(train[lo + 1]) <= ls) lo++;
  double l0 = log(train[lo]), l1 = log(train[lo + 1]);
  double w = (l0 - ls) / (l0 - l1);
  w = w < 0 ? 0 : w > 1 ? 1 : w;
  return lo + w;
}

void lundi__karras(double smin, double smax, int n, double rho, double *out) {
  double a = pow(smax, 1 / rho), b = pow(smin, 1 / rho);
  for (int k = 0; k < n; k++) out[k] = pow(a + (n > 1 ? (double)k / (n - 1) : 0) * (b - a), rho);
  /* the ends exactly (pow(pow(s, 1 / rho), rho) is s only up to rounding) */
  out[0] = smax;
  if (n > 1) out[n - 1] = smin;
}

/* The n timesteps, descending, by spacing and style. */
static int spaced(const lundi__sig *g, int n, double *t) {
  int T = g->s.T, *it = malloc(sizeof(int) * (size_t)n);
  if (!it) return lundi_set_error(LUNDI_ENOMEM, "set_timesteps: out of memory");
  int rc = 0;
  const char *sp = g->s.spacing;
  if (g->style == LUNDI__SIG_EULER && !strcmp(sp, "linspace")) {
    for (int k = 0; k < n; k++) t[k] = n > 1 ? (double)(T - 1) * (n - 1 - k) / (n - 1) : 0;
  } else if (g->style == LUNDI__SIG_DPM && !strcmp(sp, "linspace")) {
    for (int k = 0; k < n; k++) t[k] = nearbyint((double)(T - 1) * (n - k) / n);
  } else if (g->style == LUNDI__SIG_DPM && !strcmp(sp, "leading")) {
    int ratio = T / (n + 1);
    for (int k = 0; k < n && !rc; k++) {
      t[k] = (double)(n - k) * ratio + g->s.steps_offset;
      if (t[k] > T - 1)
        rc = lundi_set_error(LUNDI_EINVAL, "timestep_spacing 'leading' with steps_offset = %d gives timestep %g, outside [0, %d]",
                             g->s.steps_offset, t[k], T - 1);
    }
  } else {
    rc = lundi__spacing(sp, T, n, g->s.steps_offset, it);
    for (int k = 0; k < n && !rc; k++) t[k] = it[k];
  }
  free(it);
  return rc;
}

int lundi__sig_set_timesteps(lundi__sig *g, int n) {
  int T = g->s.T;
  if (n < 1 || n > T)
    return lundi_set_error(LUNDI_EINVAL, "set_timesteps: num_inference_steps = %d must be in [1, num_train_timesteps = %d]", n, T);
  double *t = malloc(sizeof(double) * (size_t)n), *sig = malloc(sizeof(double) * (size_t)(n + 1));
  if (!t || !sig) {
    free(t);
    free(sig);
    return lundi_set_error(LUNDI_ENOMEM, "set_timesteps: out of memory");
  }
  int rc = spaced(g, n, t);
  if (rc) {
    free(t);
    free(sig);
    return rc;
  }
  for (int k = 0; k < n; k++) sig[k] = lundi__sig_interp(g->train, T, t[k]);
  if (g->karras) {
    double smax = g->style == LUNDI__SIG_DPM ? g->train[T - 1] : sig[0];
    double smin = g->style == LUNDI__SIG_DPM ? g->train[0] : sig[n - 1];
    lundi__karras(smin, smax, n, LUNDI__KARRAS_RHO, sig);
    /* Fractional timesteps, so that the model sees exactly the noise level the solver uses
     * (diffusers rounds them for DPM-Solver; lundi's timesteps are real numbers). */
    for (int k = 0; k < n; k++) t[k] = lundi__sig_to_t(g->train, T, sig[k]);
  }
  sig[n] = 0;
  free(g->t);
  free(g->sigma);
  g->t = t;
  g->sigma = sig;
  g->n = n;
  return 0;
}

double lundi__sig_init_noise_sigma(const lundi__sig *g) {
  if (!g->n) {
    lundi_set_error(LUNDI_ESTATE, "init_noise_sigma: call set_timesteps first");
    return NAN;
  }
  double m = 0;
  for (int k = 0; k <= g->n; k++) m = fmax(m, g->sigma[k]);
  return !strcmp(g->s.spacing, "leading") ? sqrt(m * m + 1) : m;
}

int lundi__sig_check(const lundi__sig *g, int i, int count) {
  if (!g->n) return lundi_set_error(LUNDI_ESTATE, "step %d: call set_timesteps first", i);
  if (i < 0 || i >= count) return lundi_set_error(LUNDI_EINVAL, "step index %d is outside [0, %d)", i, count);
  return 0;
}

int lundi__sig_check_args(const lundi__sig *g, lundi_tensor *out, int i, int count, lundi_tensor *x) {
  int rc = lundi__sig_check(g, i, count);
  return rc ? rc : lundi__sched_check_out_shape(out, i, x);
}

lundi_tensor *lundi__sig_noise_to(const lundi__sig *g, lundi_tensor *x0, lundi_tensor *noise, int k, int vp) {
  if (lundi__sig_check(g, k, g->n) || lundi__sched_check_noise_args("noise_to_step", x0, noise)) return NULL;
  double s = g->sigma[k], c = vp ? 1 / sqrt(s * s + 1) : 1;
  return lundi__axpby(c, x0, c * s, noise);
}

void lundi__churn_init(lundi__churn *c, const lundi_params *p) {
  c->churn = lundi_params_float(p, "s_churn");
  c->tmin = lundi_params_float(p, "s_tmin");
  c->tmax = lundi_params_float(p, "s_tmax");
  c->noise = lundi_params_float(p, "s_noise");
}

double lundi__churn_sigma_hat(const lundi__churn *c, double sigma, int n) {
  if (!(c->churn > 0) || sigma < c->tmin || sigma > c->tmax) return sigma;
  return sigma * (1 + fmin(c->churn / n, sqrt(2.0) - 1));
}

lundi_tensor *lundi__churn_apply(const lundi__churn *c, lundi_tensor *x, double s, double sh, int i, lundi_rng *rng) {
  if (!rng) {
    lundi_set_error(LUNDI_EINVAL, "step %d: s_churn = %g adds noise and needs an rng, got NULL", i, c->churn);
    return NULL;
  }
  lundi_tensor *z = lundi_randn_on(rng, lundi_ndim(x), lundi_shape(x), lundi_tensor_device(x));
  lundi_tensor *xh = z ? lundi__axpby(1, x, c->noise * sqrt(sh * sh - s * s), z) : NULL;
  lundi_release(z);
  return xh;
}

lundi_tensor *lundi__sig_scale(lundi_tensor *x, double sigma) { return lundi_mul_scalar(x, (float)(1 / sqrt(sigma * sigma + 1))); }

lundi_tensor *lundi__sig_denoised(const lundi__sig *g, lundi_tensor *out, lundi_tensor *x, double sigma, int vp) {
  lundi_tensor *x0;
  double a = 1 / (1 + sigma * sigma); /* alphas_cumprod at this noise level */
  if (vp) {
    x0 = lundi__sched_x0(&g->s, out, x, a);
  } else {
    switch (g->s.pred) {
    case LUNDI__PRED_SAMPLE: x0 = lundi_retain(out); break;
    case LUNDI__PRED_V: x0 = lundi__axpby(a, x, -sigma * sqrt(a), out); break; /* x / (s^2+1) - s v / sqrt(s^2+1) */
    default: x0 = lundi__axpby(1, x, -sigma, out); break;                       /* x - s eps */
    }
  }
  if (!x0) return NULL;
  lundi_tensor *c = lundi__sched_clip_x0(&g->s, x0);
  lundi_release(x0);
  return c;
}
