/* A number on either side of sub and div (lundi_sub_scalar, lundi_div_scalar,
 * lundi_rdiv_scalar) and lundi_squeeze_all: values against a plain loop, and gradients. */
#include "gradcheck.h"

static lundi_rng rng = {4321, 0};

/* Values in [0.5, 2]: away from 0 for the reciprocal of rdiv. */
static lundi_tensor *pos_leaf(int nd, const int64_t *shape) {
  lundi_tensor *t = lundi_empty(nd, shape, LUNDI_F32, NULL);
  lundi_uniform_(t, &rng, 0.5f, 2.0f);
  lundi_set_requires_grad(t, 1);
  return t;
}

typedef lundi_tensor *(*scalar_op)(lundi_tensor *, float);
static const scalar_op ops[3] = {lundi_sub_scalar, lundi_div_scalar, lundi_rdiv_scalar};
static const char *const names[3] = {"sub_scalar", "div_scalar", "rdiv_scalar"};

static double reference(int op, double a, double s) { return op == 0 ? a - s : op == 1 ? a / s : s / a; }

static void test_forward(void) {
  int64_t shape[2] = {3, 5};
  lundi_tensor *a = pos_leaf(2, shape);
  float *av = t_read(a);
  for (int op = 0; op < 3; op++) {
    lundi_tensor *out = ops[op](a, 2.5f);
    CHECK(out && lundi_ndim(out) == 2 && lundi_dim(out, 0) == 3 && lundi_dim(out, 1) == 5);
    if (!out) continue;
    float *ov = t_read(out);
    for (int i = 0; i < 15; i++) CHECK_NEAR(ov[i], reference(op, av[i], 2.5), 1e-6 * (1 + fabs(ov[i])));
    free(ov);
    lundi_release(out);
  }
  free(av);
  lundi_release(a);
  /* A strided view in, and a 0-dim one. */
  int64_t s2[2] = {4, 3};
  lundi_tensor *b = pos_leaf(2, s2), *bt = lundi_transpose(b, 0, 1), *r = lundi_rdiv_scalar(bt, -3.0f);
  float *bv = t_read(bt), *rv = t_read(r);
  for (int i = 0; i < 12; i++) CHECK_NEAR(rv[i], -3.0 / bv[i], 1e-5);
  free(bv);
  free(rv);
  lundi_tensor *z = lundi_scalar(4.0f), *zd = lundi_div_scalar(z, 8.0f);
  float v = 0;
  CHECK(zd && lundi_ndim(zd) == 0 && lundi_item(zd, &v) == 0 && v == 0.5f);
  lundi_release(zd);
  lundi_release(z);
  lundi_release(r);
  lundi_release(bt);
  lundi_release(b);
}

static lundi_tensor *f_op(lundi_tensor **x, void *ctx) { return ops[*(int *)ctx](x[0], 1.75f); }

static void test_gradcheck(void) {
  int64_t shape[3] = {2, 3, 2};
  for (int op = 0; op < 3; op++) {
    lundi_tensor *a = pos_leaf(3, shape);
    gradcheck(names[op], f_op, 1, &a, &op, NULL);
    lundi_release(a);
  }
}

static void test_squeeze_all(void) {
  int64_t shape[5] = {1, 3, 1, 2, 1};
  lundi_tensor *a = t_randn(&rng, 5, shape, 1, 0), *s = lundi_squeeze_all(a);
  CHECK(s && lundi_ndim(s) == 2 && lundi_dim(s, 0) == 3 && lundi_dim(s, 1) == 2);
  lundi_tensor *r = lundi_reshape(a, 2, (int64_t[]){3, 2});
  CHECK(s && t_max_abs_diff(s, r) == 0);
  lundi_release(r);
  lundi_release(s);
  lundi_release(a);
  int64_t ones[3] = {1, 1, 1}, none[2] = {2, 3};
  lundi_tensor *b = lundi_full(3, ones, 7.0f), *bs = lundi_squeeze_all(b);
  CHECK(bs && lundi_ndim(bs) == 0 && lundi_numel(bs) == 1);
  lundi_tensor *c = lundi_zeros(2, none), *cs = lundi_squeeze_all(c);
  CHECK(cs && lundi_ndim(cs) == 2 && lundi_dim(cs, 0) == 2 && lundi_dim(cs, 1) == 3);
  lundi_release(bs);
  lundi_release(b);
  lundi_release(cs);
  lundi_release(c);
}

static lundi_tensor *f_squeeze(lundi_tensor **x, void *ctx) {
  (void)ctx;
  return lundi_squeeze_all(x[0]);
}

static void test_squeeze_all_grad(void) {
  int64_t shape[4] = {2, 1, 3, 1};
  lundi_tensor *a = t_randn(&rng, 4, shape, 1, 1);
  gradcheck("squeeze_all", f_squeeze, 1, &a, NULL, NULL);
  lundi_release(a);
}

static const test_case cases[] = {
    {"forward", test_forward},
    {"gradcheck", test_gradcheck},
    {"squeeze_all", test_squeeze_all},
    {"squeeze_all_grad", test_squeeze_all_grad},
};
TEST_MAIN(cases)
