/* Beta schedules and timestep spacing (see betas.h). */
#include "betas.h"

#include "lundi/tensor.h"

#include <math.h>
#include <string.h>

/* Evenly spaced a .. b over T points (a alone when T == 1, as numpy's linspace). */
static double lin(double a, double b, int i, int T) { return T == 1 ? a : a + (b - a) * i / (T - 1); }

static double cos_alpha_bar(double s) {
  double c = cos((s + 0.008) / 1.008 * M_PI / 2);
  return c * c;
}

int lundi__betas(const char *schedule, int T, double beta_start, double beta_end, double *betas) {
  if (T < 1) return lundi_set_error(LUNDI_EINVAL, "num_train_timesteps must be at least 1, got %d", T);
  for (int i = 0; i < T; i++) {
    double b;
    if (!strcmp(schedule, "linear")) {
      b = lin(beta_start, beta_end, i, T);
    } else if (!strcmp(schedule, "scaled_linear")) {
      b = lin(sqrt(beta_start), sqrt(beta_end), i, T);
      b *= b;
    } else if (!strcmp(schedule, "squaredcos_cap_v2")) {
      b = 1 - cos_alpha_bar((double)(i + 1) / T) / cos_alpha_bar((double)i / T);
      if (b > 0.999) b = 0.999;
    } else if (!strcmp(schedule, "sigmoid")) {
      b = beta_start + (beta_end - beta_start) / (1 + exp(-lin(-6, 6, i, T)));
    } else {
      return lundi_set_error(LUNDI_EINVAL, "unknown beta_schedule '%s' (valid: %s)", schedule,
                             LUNDI__BETA_SCHEDULES);
    }
    if (!(b > 0 && b < 1))
      return lundi_set_error(LUNDI_EINVAL,
                             "beta_schedule '%s' gives beta[%d] = %g; every beta must lie in (0, 1) "
                             "(check beta_start = %g and beta_end = %g)",
                             schedule, i, b, beta_start, beta_end);
    betas[i] = b;
  }
  return 0;
}

void lundi__alphas_cumprod(int T, const double *betas, double *ab) {
  double p = 1;
  for (int i = 0; i < T; i++) ab[i] = p *= 1 - betas[i];
}

int lundi__spacing(const char *spacing, int T, int n, int steps_offset, int *out) {
  if (n < 1 || n > T)
    return lundi_set_error(LUNDI_EINVAL, "num_inference_steps = %d must be in [1, num_train_timesteps = %d]", n, T);
  for (int k = 0; k < n; k++) {
    double v;
    if (!strcmp(spacing, "leading"))
      v = (double)(n - 1 - k) * (T / n) + steps_offset;
    else if (!strcmp(spacing, "trailing"))
      v = nearbyint(T - k * ((double)T / n)) - 1;
    else if (!strcmp(spacing, "linspace"))
      v = nearbyint(lin(0, T - 1, n - 1 - k, n));
    else
      return lundi_set_error(LUNDI_EINVAL, "unknown timestep_spacing '%s' (valid: %s)", spacing, LUNDI__SPACINGS);
    if (v < 0 || v > T - 1)
      return lundi_set_error(LUNDI_EINVAL,
                             "timestep_spacing '%s' with steps_offset = %d gives timestep %g, outside [0, %d]",
                             spacing, steps_offset, v, T - 1);
    out[k] = (int)v;
  }
  return 0;
}
