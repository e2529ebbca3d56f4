/* The Fréchet distances on tensors (runtime/nn/metrics_tensor.c): the same numbers as the
 * array functions, and shape errors that name the function. */
#include <stdlib.h>

#include "harness.h"
#include "lundi/metrics.h"

static lundi_tensor *from(int nd, int64_t a, int64_t b, const float *v) {
  int64_t s[2] = {a, b};
  return lundi_from_f32(nd, s, v);
}

static void frechet_tensors(void) {
  float a[5 * 3], b[4 * 3];
  for (int i = 0; i < 15; i++) a[i] = (float)((i * 7) % 11) / 3.0f;
  for (int i = 0; i < 12; i++) b[i] = (float)((i * 5) % 7) / 2.0f - 1.0f;
  lundi_tensor *ta = from(2, 5, 3, a), *tb = from(2, 4, 3, b);
  double want = -1, got = -2;
  CHECK(lundi_frechet_features(3, a, 5, b, 4, &want) == 0);
  CHECK(lundi_frechet_tensors(ta, tb, &got) == 0);
  CHECK(got == want); /* the same computation, bit for bit */
  CHECK(lundi_frechet_tensors(ta, ta, &got) == 0);
  CHECK_NEAR(got, 0, 1e-9);
  lundi_release(ta);
  lundi_release(tb);
}

static void gaussians_tensors(void) {
  const float mu1[2] = {0, 0}, mu2[2] = {3, 4}, eye[4] = {1, 0, 0, 1};
  lundi_tensor *m1 = from(1, 2, 0, mu1), *m2 = from(1, 2, 0, mu2), *s = from(2, 2, 2, eye);
  double out = -1;
  CHECK(lundi_frechet_gaussians_tensors(m1, s, m2, s, &out) == 0);
  CHECK_NEAR(out, 25, 1e-9); /* |mu1 - mu2|^2, equal covariances */
  lundi_release(m1);
  lundi_release(m2);
  lundi_release(s);
}

static void tensor_errors(void) {
  float v[12] = {0};
  lundi_tensor *a = from(2, 3, 3, v), *b = from(2, 3, 4, v), *m = from(1, 2, 0, v), *s3 = from(2, 3, 3, v);
  double out;
  CHECK_ERR(lundi_frechet_tensors(a, b, &out) != 0, "frechet: the two feature sets differ in width (3 and 4)");
  CHECK_ERR(lundi_frechet_tensors(m, a, &out) != 0, "frechet: features must be [N, D]");
  CHECK_ERR(lundi_frechet_gaussians_tensors(m, s3, m, s3, &out) != 0, "covariance 1 must be [2, 2]");
  CHECK_ERR(lundi_frechet_gaussians_tensors(m, s3, a, s3, &out) != 0, "the means must be [D] tensors of the same D");
  lundi_release(a);
  lundi_release(b);
  lundi_release(m);
  lundi_release(s3);
}

/* The NLL on tensors: the array function's numbers, each way of giving log_scale, and the
 * messages lundi.metrics.discretized_gaussian_nll shows. */
static void nll_tensors(void) {
  const float x[6] = {-1, 1.0f / 255, 1, 3.0f / 255, -1, 1}, mean[6] = {-0.9f, 0, 0.8f, 0.1f, -1, 0.5f};
  const double ls[2] = {-2, -1.5}, one[2] = {-2, -2};
  double want[2], want1[2];
  CHECK(lundi_discretized_gaussian_nll(x, mean, ls, 2, 3, want) == 0);
  CHECK(lundi_discretized_gaussian_nll(x, mean, one, 2, 3, want1) == 0);
  lundi_tensor *tx = from(2, 2, 3, x), *tm = from(2, 2, 3, mean);
  double *out = NULL;
  int64_t n = 0;
  CHECK(lundi_discretized_gaussian_nll_scales(tx, tm, ls, 2, &out, &n) == 0);
  CHECK(n == 2 && out && out[0] == want[0] && out[1] == want[1]);
  free(out);
  CHECK(lundi_discretized_gaussian_nll_scales(tx, tm, one, LUNDI_NLL_ONE_SCALE, &out, &n) == 0);
  CHECK(n == 2 && out && out[0] == want1[0] && out[1] == want1[1]);
  free(out);
  const float lsf[2] = {-2, -1.5f};
  lundi_tensor *tls = from(1, 2, 0, lsf);
  CHECK(lundi_discretized_gaussian_nll_tensors(tx, tm, tls, &out, &n) == 0);
  CHECK(n == 2 && out && out[0] == want[0] && out[1] == want[1]);
  free(out);
  CHECK(lundi_discretized_gaussian_nll_scales(tx, tm, NULL, 2, &out, &n) == 0 && !out && n == 2); /* checks only */
  const float ls3[3] = {-2, -1.5f, -1};
  lundi_tensor *flat = from(1, 6, 0, x), *t3 = from(1, 3, 0, ls3);
  CHECK_ERR(lundi_discretized_gaussian_nll_scales(flat, tm, ls, 2, &out, &n) != 0,
            "discretized_gaussian_nll: x and mean must have the same shape [N, ...]");
  CHECK(!out);
  CHECK_ERR(lundi_discretized_gaussian_nll_scales(tx, tm, ls, 3, &out, &n) != 0,
            "discretized_gaussian_nll: log_scale has 3 entries for 2 samples");
  CHECK_ERR(lundi_discretized_gaussian_nll_tensors(tx, tm, t3, &out, &n) != 0,
            "discretized_gaussian_nll: log_scale has 3 values for 2 samples");
  CHECK_ERR(lundi_discretized_gaussian_nll_tensors(tx, flat, tls, &out, &n) != 0, "must have the same shape");
  lundi_release(tx);
  lundi_release(tm);
  lundi_release(tls);
  lundi_release(flat);
  lundi_release(t3);
}

static const test_case tests[] = {
    {"frechet_tensors", frechet_tensors},
    {"gaussians_tensors", gaussians_tensors},
    {"tensor_errors", tensor_errors},
    {"nll_tensors", nll_tensors},
};
TEST_MAIN(tests)
