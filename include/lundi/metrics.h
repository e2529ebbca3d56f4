/* Numeric helpers of the evaluation scripts (scripts/image/lib/eval.lua), in double precision.
 *
 * Fréchet distance between two Gaussians fitted to feature vectors:
 *   FD = |mu1 - mu2|^2 + tr(S1) + tr(S2) - 2 tr((S1^1/2 S2 S1^1/2)^1/2)
 * The matrix square roots come from symmetric eigendecompositions (LAPACK dsyevd from the
 * linked OpenBLAS); eigenvalues that rounding makes slightly negative count as 0. With the
 * features of Inception-v3 this is FID; lundi uses the penultimate layer of its own small
 * MNIST classifier, so the numbers are "FID-style" and not comparable to published FIDs.
 *
 * Discretised Gaussian decoder (Ho et al. 2020, the L_0 term of the DDPM bound): data are
 * integers k = 0..255 mapped to x = 2k/255 - 1 in [-1, 1]; bin k covers
 * [x - 1/255, x + 1/255], except that the first bin extends to -inf and the last to +inf,
 * so the 256 probabilities sum to 1. log P is computed from the normal CDF in the tail
 * where it is accurate (log Q(z) by a continued fraction far out), never as log(0).
 *
 * Functions return 0 or a negative lundi_status with the error set. */
#ifndef LUNDI_METRICS_H
#define LUNDI_METRICS_H

#include <stdint.h>

#include "lundi/tensor.h"

#ifdef __cplusplus
extern "C" {
#endif

/* mu1, mu2: [d]; s1, s2: [d, d] row-major symmetric covariances. */
int lundi_frechet_gaussians(int d, const double *mu1, const double *s1, const double *mu2, const double *s2,
                            double *out);

/* Fits mean and unbiased covariance (divide by n - 1) to the rows of a [na, d] and b [nb, d]
 * (each n >= 2) and returns their Fréchet distance. */
int lundi_frechet_features(int d, const float *a, int64_t na, const float *b, int64_t nb, double *out);

/* The same on tensors (any device, f32 values): features a [na, d] and b [nb, d]; means mu
 * [d] and covariances s [d, d]. Shapes are checked with messages naming the function. */
int lundi_frechet_tensors(lundi_tensor *a, lundi_tensor *b, double *out);
int lundi_frechet_gaussians_tensors(lundi_tensor *mu1, lundi_tensor *s1, lundi_tensor *mu2, lundi_tensor *s2,
                                    double *out);

/* Mean and unbiased covariance of the rows of x [n, d]; mu [d], cov [d, d]. n >= 2. */
int lundi_mean_cov(int d, const float *x, int64_t n, double *mu, double *cov);

/* log of the standard normal probability of the interval [lo, hi] (lo < hi; either may be
 * -INFINITY / INFINITY), accurate in both tails. */
double lundi_log_normal_interval(double lo, double hi);

/* Negative log-likelihood in nats of the data x under the discretised Gaussian decoder
 * N(mean, exp(log_scale)^2), summed over each sample: x and mean are [n, d] (x must hold
 * values 2k/255 - 1, up to rounding: each is snapped to its nearest bin), log_scale is [n]
 * (one standard deviation per sample), out is [n]. */
int lundi_discretized_gaussian_nll(const float *x, const float *mean, const double *log_scale, int64_t n, int64_t d,
                                   double *out);

/* The same on tensors (any device): x and mean [N, ...] of one shape, *out a malloc'd array
 * of the N results (free() it) and *n = N. The N log standard deviations are either the
 * tensor log_scale (N values) or n_scales doubles (n_scales == N, or LUNDI_NLL_ONE_SCALE:
 * log_scale[0] for every sample). A NULL log_scale array only checks the shapes and the
 * count, leaving *out NULL. Messages start "discretized_gaussian_nll: ". */
#define LUNDI_NLL_ONE_SCALE (-1)
int lundi_discretized_gaussian_nll_tensors(lundi_tensor *x, lundi_tensor *mean, lundi_tensor *log_scale, double **out,
                                           int64_t *n);
int lundi_discretized_gaussian_nll_scales(lundi_tensor *x, lundi_tensor *mean, const double *log_scale,
                                          int64_t n_scales, double **out, int64_t *n);

#ifdef __cplusplus
}
#endif
#endif
