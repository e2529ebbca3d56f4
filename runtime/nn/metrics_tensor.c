/* The Fréchet distances and the discretised Gaussian NLL of include/lundi/metrics.h on
 * tensors: shape checks and reading the values, for lundi.metrics. */
#include <stdlib.h>
#include <string.h>

#include "lundi/metrics.h"
#include "lundi/ops.h"

/* The values of t as doubles, malloc'd; NULL with the error set. */
static double *read_doubles(lundi_tensor *t, const char *fn) {
  int64_t n = lundi_numel(t);
  float *f = malloc(sizeof *f * (size_t)(n ? n : 1));
  double *d = malloc(sizeof *d * (size_t)(n ? n : 1));
  if (!f || !d) {
    lundi_set_error(LUNDI_ENOMEM, "%s: out of memory for %lld values", fn, (long long)n);
  } else if (lundi_read_f32(t, f, n) == 0) {
    for (int64_t i = 0; i < n; i++) d[i] = f[i];
    free(f);
    return d;
  }
  free(f);
  free(d);
  return NULL;
}

int lundi_frechet_tensors(lundi_tensor *a, lundi_tensor *b, double *out) {
  if (lundi_ndim(a) != 2 || lundi_ndim(b) != 2)
    return lundi_set_error(LUNDI_ESHAPE, "frechet: features must be [N, D] tensors");
  int64_t d = lundi_dim(a, 1);
  if (lundi_dim(b, 1) != d)
    return lundi_set_error(LUNDI_ESHAPE, "frechet: the two feature sets differ in width (%d and %d)", (int)d,
                           (int)lundi_dim(b, 1));
  if (d > 65536) return lundi_set_error(LUNDI_EINVAL, "frechet: %d features is too many", (int)d);
  int64_t na = lundi_numel(a), nb = lundi_numel(b);
  float *fa = malloc(sizeof *fa * (size_t)(na ? na : 1)), *fb = malloc(sizeof *fb * (size_t)(nb ? nb : 1));
  int rc = !fa || !fb ? lundi_set_error(LUNDI_ENOMEM, "frechet: out of memory") : 0;
  if (!rc) rc = lundi_read_f32(a, fa, na);
  if (!rc) rc = lundi_read_f32(b, fb, nb);
  if (!rc) rc = lundi_frechet_features((int)d, fa, lundi_dim(a, 0), fb, lundi_dim(b, 0), out);
  free(fa);
  free(fb);
  return rc;
}

int lundi_frechet_gaussians_tensors(lundi_tensor *mu1, lundi_tensor *s1, lundi_tensor *mu2, lundi_tensor *s2,
                                    double *out) {
  lundi_tensor *t[4] = {mu1, s1, mu2, s2};
  int64_t d = lundi_numel(mu1);
  if (lundi_ndim(mu1) != 1 || lundi_ndim(mu2) != 1 || lundi_numel(mu2) != d)
    return lundi_set_error(LUNDI_ESHAPE, "frechet_gaussians: the means must be [D] tensors of the same D");
  for (int i = 1; i < 4; i += 2)
    if (lundi_ndim(t[i]) != 2 || lundi_dim(t[i], 0) != d || lundi_dim(t[i], 1) != d)
      return lundi_set_error(LUNDI_ESHAPE, "frechet_gaussians: covariance %d must be [%d, %d]", (i + 1) / 2, (int)d,
                             (int)d);
  if (d < 1 || d > 65536) return lundi_set_error(LUNDI_EINVAL, "frechet_gaussians: bad width %d", (int)d);
  double *v[4] = {NULL, NULL, NULL, NULL};
  int rc = 0;
  for (int i = 0; i < 4 && !rc; i++)
    if (!(v[i] = read_doubles(t[i], "frechet_gaussians"))) rc = lundi_last_error_code();
  if (!rc) rc = lundi_frechet_gaussians((int)d, v[0], v[1], v[2], v[3], out);
  for (int i = 0; i < 4; i++) free(v[i]);
  return rc;
}

/* ---- the discretised Gaussian decoder on tensors ---- */

#define NLL "discretized_gaussian_nll"

/* N, the samples of x and mean, when they have one shape [N, ...]. */
static int nll_samples(lundi_tensor *x, lundi_tensor *m, int64_t *n) {
  int nd = lundi_ndim(x);
  if (nd < 1 || nd != lundi_ndim(m) || memcmp(lundi_shape(x), lundi_shape(m), sizeof(int64_t) * (size_t)nd))
    return lundi_set_error(LUNDI_ESHAPE, NLL ": x and mean must have the same shape [N, ...]");
  *n = lundi_dim(x, 0);
  return 0;
}

/* ls: n log scales; reads x and mean and fills a new *out. */
static int nll_run(lundi_tensor *x, lundi_tensor *m, const double *ls, int64_t n, double **out) {
  int64_t numel = lundi_numel(x), d = n ? numel / n : 0;
  float *fx = malloc(sizeof *fx * (size_t)(numel ? numel : 1)), *fm = malloc(sizeof *fm * (size_t)(numel ? numel : 1));
  *out = malloc(sizeof **out * (size_t)(n ? n : 1));
  int rc = !fx || !fm || !*out ? lundi_set_error(LUNDI_ENOMEM, NLL ": out of memory for %lld values", (long long)numel) : 0;
  if (!rc) rc = lundi_read_f32(x, fx, numel);
  if (!rc) rc = lundi_read_f32(m, fm, numel);
  if (!rc) rc = lundi_discretized_gaussian_nll(fx, fm, ls, n, d, *out);
  free(fx);
  free(fm);
  if (rc) {
    free(*out);
    *out = NULL;
  }
  return rc;
}

int lundi_discretized_gaussian_nll_scales(lundi_tensor *x, lundi_tensor *mean, const double *log_scale,
                                          int64_t n_scales, double **out, int64_t *n) {
  *out = NULL;
  int rc = nll_samples(x, mean, n);
  if (rc) return rc;
  if (n_scales != LUNDI_NLL_ONE_SCALE && n_scales != *n)
    return lundi_set_error(LUNDI_EINVAL, NLL ": log_scale has %d entries for %d samples", (int)n_scales, (int)*n);
  if (!log_scale) return 0;
  if (n_scales != LUNDI_NLL_ONE_SCALE) return nll_run(x, mean, log_scale, *n, out);
  double *ls = malloc(sizeof *ls * (size_t)(*n ? *n : 1));
  if (!ls) return lundi_set_error(LUNDI_ENOMEM, NLL ": out of memory");
  for (int64_t i = 0; i < *n; i++) ls[i] = log_scale[0];
  rc = nll_run(x, mean, ls, *n, out);
  free(ls);
  return rc;
}

int lundi_discretized_gaussian_nll_tensors(lundi_tensor *x, lundi_tensor *mean, lundi_tensor *log_scale, double **out,
                                           int64_t *n) {
  *out = NULL;
  int rc = nll_samples(x, mean, n);
  if (rc) return rc;
  if (lundi_numel(log_scale) != *n)
    return lundi_set_error(LUNDI_EINVAL, NLL ": log_scale has %d values for %d samples", (int)lundi_numel(log_scale),
                           (int)*n);
  double *ls = read_doubles(log_scale, NLL);
  if (!ls) return lundi_last_error_code();
  rc = nll_run(x, mean, ls, *n, out);
  free(ls);
  return rc;
}
