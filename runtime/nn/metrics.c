/* Evaluation helpers (include/lundi/metrics.h): Fréchet distance between Gaussians and the
 * discretised Gaussian decoder likelihood, both in double precision. */
#include <math.h>
#include <stddef.h>
#include <stdlib.h>
#include <string.h>

#include "lundi/metrics.h"
#include "lundi/tensor.h"

/* LAPACK's symmetric eigensolver (divide and conquer), exported by OpenBLAS. Declared here
 * because lapacke.h is not always installed. The two trailing size_t are the lengths of the
 * character arguments that gfortran-compiled LAPACK expects. */
extern void dsyevd_(const char *jobz, const char *uplo, const int *n, double *a, const int *lda, double *w,
                    double *work, const int *lwork, int *iwork, const int *liwork, int *info, size_t jobz_len,
                    size_t uplo_len);

/* Eigenvalues w (ascending) and, in a (row-major or not: a is symmetric, and the eigenvectors
 * come back as the columns of the column-major result, i.e. the rows of a as we index it), the
 * eigenvectors of the symmetric d x d matrix a. */
static int eig_sym(int d, double *a, double *w) {
  int lwork = -1, liwork = -1, info = 0, iq;
  double wq;
  dsyevd_("V", "U", &d, a, &d, w, &wq, &lwork, &iq, &liwork, &info, 1, 1);
  if (info != 0) return lundi_set_error(LUNDI_EINVAL, "frechet: dsyevd workspace query failed (info %d)", info);
  lwork = (int)wq;
  liwork = iq;
  double *work = malloc(sizeof(double) * (size_t)(lwork > 1 ? lwork : 1));
  int *iwork = malloc(sizeof(int) * (size_t)(liwork > 1 ? liwork : 1));
  if (!work || !iwork) {
    free(work);
    free(iwork);
    return lundi_set_error(LUNDI_ENOMEM, "frechet: out of memory");
  }
  dsyevd_("V", "U", &d, a, &d, w, work, &lwork, iwork, &liwork, &info, 1, 1);
  free(work);
  free(iwork);
  if (info != 0) return lundi_set_error(LUNDI_EINVAL, "frechet: the eigendecomposition did not converge (info %d)", info);
  return 0;
}

static int all_finite(const double *v, size_t n) {
  for (size_t i = 0; i < n; i++)
    if (!isfinite(v[i])) return 0;
  return 1;
}

int lundi_frechet_gaussians(int d, const double *mu1, const double *s1, const double *mu2, const double *s2,
                            double *out) {
  if (d < 1 || !mu1 || !s1 || !mu2 || !s2 || !out)
    return lundi_set_error(LUNDI_EINVAL, "frechet: need d >= 1 and both means and covariances");
  size_t dd = (size_t)d * (size_t)d;
  if (!all_finite(mu1, (size_t)d) || !all_finite(mu2, (size_t)d) || !all_finite(s1, dd) || !all_finite(s2, dd))
    return lundi_set_error(LUNDI_EINVAL, "frechet: means and covariances must be finite");
  double *v = malloc(sizeof(double) * dd), *r = malloc(sizeof(double) * dd), *t = malloc(sizeof(double) * dd),
         *w = malloc(sizeof(double) * (size_t)d);
  int rc = 0;
  if (!v || !r || !t || !w) {
    rc = lundi_set_error(LUNDI_ENOMEM, "frechet: out of memory");
    goto done;
  }
  /* S1^1/2 = V diag(sqrt(l)) V^T, with S1 symmetrised against rounding in its estimate. */
  for (int i = 0; i < d; i++)
    for (int j = 0; j < d; j++) v[i * d + j] = 0.5 * (s1[i * d + j] + s1[j * d + i]);
  if ((rc = eig_sym(d, v, w))) goto done;
  /* Column-major eigenvectors: vector k is v[k*d .. k*d+d-1]. */
  for (int i = 0; i < d; i++)
    for (int j = 0; j < d; j++) {
      double acc = 0;
      for (int k = 0; k < d; k++) acc += v[k * d + i] * sqrt(w[k] > 0 ? w[k] : 0) * v[k * d + j];
      r[i * d + j] = acc;
    }
  /* M = R S2 R (R = S1^1/2 symmetric): t = S2 R, then v = R t, symmetrised. */
  for (int i = 0; i < d; i++)
    for (int j = 0; j < d; j++) {
      double acc = 0;
      for (int k = 0; k < d; k++) acc += s2[i * d + k] * r[k * d + j];
      t[i * d + j] = acc;
    }
  for (int i = 0; i < d; i++)
    for (int j = 0; j < d; j++) {
      double acc = 0;
      for (int k = 0; k < d; k++) acc += r[i * d + k] * t[k * d + j];
      v[i * d + j] = acc;
    }
  for (int i = 0; i < d; i++)
    for (int j = i + 1; j < d; j++) v[i * d + j] = v[j * d + i] = 0.5 * (v[i * d + j] + v[j * d + i]);
  if ((rc = eig_sym(d, v, w))) goto done;
  /* M is positive semi-definite: tr(M^1/2) is the sum of the square roots of its eigenvalues. */
  double tr_sqrt = 0, tr1 = 0, tr2 = 0, dmu = 0;
  for (int k = 0; k < d; k++) tr_sqrt += sqrt(w[k] > 0 ? w[k] : 0);
  for (int i = 0; i < d; i++) {
    tr1 += s1[i * d + i];
    tr2 += s2[i * d + i];
    dmu += (mu1[i] - mu2[i]) * (mu1[i] - mu2[i]);
  }
  double fd = dmu + tr1 + tr2 - 2 * tr_sqrt;
  /* The true value is >= 0; rounding can leave a tiny negative number for equal inputs. */
  *out = fd > 0 ? fd : 0;
done:
  free(v);
  free(r);
  free(t);
  free(w);
  return rc;
}

int lundi_mean_cov(int d, const float *x, int64_t n, double *mu, double *cov) {
  if (d < 1 || n < 2 || !x || !mu || !cov)
    return lundi_set_error(LUNDI_EINVAL, "mean_cov: need at least 2 rows of at least 1 feature, got %lld x %d",
                           (long long)n, d);
  memset(mu, 0, sizeof(double) * (size_t)d);
  memset(cov, 0, sizeof(double) * (size_t)d * (size_t)d);
  for (int64_t r = 0; r < n; r++)
    for (int i = 0; i < d; i++) mu[i] += x[r * d + i];
  for (int i = 0; i < d; i++) mu[i] /= (double)n;
  double *c = malloc(sizeof(double) * (size_t)d);
  if (!c) return lundi_set_error(LUNDI_ENOMEM, "mean_cov: out of memory");
  for (int64_t r = 0; r < n; r++) {
    for (int i = 0; i < d; i++) c[i] = x[r * d + i] - mu[i];
    for (int i = 0; i < d; i++)
      for (int j = i; j < d; j++) cov[i * d + j] += c[i] * c[j];
  }
  free(c);
  for (int i = 0; i < d; i++)
    for (int j = i; j < d; j++) cov[j * d + i] = cov[i * d + j] /= (double)(n - 1);
  if (!all_finite(mu, (size_t)d)) return lundi_set_error(LUNDI_EINVAL, "mean_cov: the features are not all finite");
  return 0;
}

int lundi_frechet_features(int d, const float *a, int64_t na, const float *b, int64_t nb, double *out) {
  if (d < 1 || na < 2 || nb < 2)
    return lundi_set_error(LUNDI_EINVAL, "frechet: need at least 2 feature rows on each side, got %lld and %lld",
                           (long long)na, (long long)nb);
  size_t dd = (size_t)d * (size_t)d;
  double *mu1 = malloc(sizeof(double) * (size_t)d), *mu2 = malloc(sizeof(double) * (size_t)d),
         *s1 = malloc(sizeof(double) * dd), *s2 = malloc(sizeof(double) * dd);
  int rc;
  if (!mu1 || !mu2 || !s1 || !s2) rc = lundi_set_error(LUNDI_ENOMEM, "frechet: out of memory");
  else if (!(rc = lundi_mean_cov(d, a, na, mu1, s1)) && !(rc = lundi_mean_cov(d, b, nb, mu2, s2)))
    rc = lundi_frechet_gaussians(d, mu1, s1, mu2, s2, out);
  free(mu1);
  free(mu2);
  free(s1);
  free(s2);
  return rc;
}

/* ---- the discretised Gaussian decoder ---- */

/* log Q(z) = log P(Z > z) for the standard normal. erfc is accurate in double down to
 * ~1e-300 (z ~ 37); past z = 20 the Laplace continued fraction
 *   Q(z) = phi(z) / (z + 1/(z + 2/(z + 3/(z + ...))))
 * converges in a few dozen terms and stays finite for any z. */
static double log_q(double z) {
  if (z == INFINITY) return -INFINITY;
  if (z < 20) return log(0.5 * erfc(z / sqrt(2.0)));
  double f = z;
  for (int k = 60; k >= 1; k--) f = z + k / f;
  return -0.5 * z * z - 0.5 * log(2 * M_PI) - log(f);
}

double lundi_log_normal_interval(double lo, double hi) {
  if (!(lo < hi)) return -INFINITY;
  if (hi <= 0) { /* all in the lower tail: mirror it into the upper one */
    double t = lo;
    lo = -hi;
    hi = -t;
  }
  if (lo <= 0) /* straddles 0: erf has opposite signs at the ends, no cancellation */
    return log(0.5 * (erf(hi / sqrt(2.0)) - erf(lo / sqrt(2.0))));
  /* Upper tail: Q(lo) - Q(hi) = Q(lo) (1 - Q(hi)/Q(lo)). */
  double a = log_q(lo), b = log_q(hi);
  double r = b - a; /* <= 0 */
  /* log(1 - e^r), accurate for r near 0 and very negative alike */
  double l1m = r > -M_LN2 ? log(-expm1(r)) : log1p(-exp(r));
  return a + l1m;
}

int lundi_discretized_gaussian_nll(const float *x, const float *mean, const double *log_scale, int64_t n, int64_t d,
                                   double *out) {
  if (n < 0 || d < 1 || !x || !mean || !log_scale || !out)
    return lundi_set_error(LUNDI_EINVAL, "discretized_gaussian_nll: bad arguments (n %lld, d %lld)", (long long)n,
                           (long long)d);
  const double half = 1.0 / 255.0; /* half a bin: bins are 2/255 wide on [-1, 1] */
  for (int64_t r = 0; r < n; r++) {
    double ls = log_scale[r];
    if (!isfinite(ls))
      return lundi_set_error(LUNDI_EINVAL, "discretized_gaussian_nll: log_scale[%lld] = %g is not finite",
                             (long long)r, ls);
    double inv = exp(-ls), acc = 0;
    for (int64_t j = 0; j < d; j++) {
      double xv = x[r * d + j], m = mean[r * d + j];
      if (!isfinite(xv) || !isfinite(m))
        return lundi_set_error(LUNDI_EINVAL, "discretized_gaussian_nll: x or mean at [%lld, %lld] is not finite",
                               (long long)r, (long long)j);
      if (xv < -1 - half || xv > 1 + half)
        return lundi_set_error(LUNDI_EINVAL,
                               "discretized_gaussian_nll: x[%lld, %lld] = %g is outside [-1, 1] (data must be 2k/255 - 1)",
                               (long long)r, (long long)j, xv);
      long k = lround((xv + 1) * 127.5);
      k = k < 0 ? 0 : k > 255 ? 255 : k;
      double c = 2.0 * (double)k / 255.0 - 1;
      double lo = k == 0 ? -INFINITY : (c - half - m) * inv;
      double hi = k == 255 ? INFINITY : (c + half - m) * inv;
      acc -= lundi_log_normal_interval(lo, hi);
    }
    out[r] = acc;
  }
  return 0;
}
