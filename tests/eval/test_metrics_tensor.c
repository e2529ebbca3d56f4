/* The Fréchet distances on tensors (runtime/nn/metrics_tensor.c): the same numbers as the
 * array functions, and shape errors that name the function. */
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

static const test_case tests[] = {
    {"frechet_tensors", frechet_tensors},
    {"gaussians_tensors", gaussians_tensors},
    {"tensor_errors", tensor_errors},
};
TEST_MAIN(tests)
