/* Group/layer/RMS norm and softmax/log_softmax: forward against naive double-precision
 * references, gradients against finite differences, and shape errors. */
#include "gradcheck.h"

static lundi_rng rng = {4242, 0};
static uint64_t lcg = 99;

static int64_t rdim(int lo, int hi) { return t_rand_dim(&lcg, lo, hi); }

static lundi_tensor *randn_t(int nd, const int64_t *s, float scale, int rg) { return t_randn(&rng, nd, s, scale, rg); }

static double max_rel_err(const float *got, const double *ref, int64_t n) {
  double m = 0;
  for (int64_t i = 0; i < n; i++) {
    double e = fabs(got[i] - ref[i]) / (1.0 + fabs(ref[i]));
    if (!(e <= m)) m = e; /* NaN propagates as a failure */
  }
  return m;
}

/* ---- group norm ---- */

/* y for x [N, C, HW] (logical order); gamma/beta may be NULL. */
static double *ref_group_norm(const float *x, int64_t N, int64_t C, int64_t HW, int G, const float *gamma,
                              const float *beta, double eps) {
  double *y = malloc(sizeof(double) * (size_t)(N * C * HW));
  int64_t Cg = C / G, M = Cg * HW;
  for (int64_t n = 0; n < N; n++)
    for (int g = 0; g < G; g++) {
      const float *xs = x + (n * C + g * Cg) * HW;
      double mu = 0, var = 0;
      for (int64_t i = 0; i < M; i++) mu += xs[i];
      mu /= (double)M;
      for (int64_t i = 0; i < M; i++) var += (xs[i] - mu) * (xs[i] - mu);
      var /= (double)M;
      for (int64_t i = 0; i < M; i++) {
        int64_t c = g * Cg + i / HW;
        y[(n * C + g * Cg) * HW + i] =
            (xs[i] - mu) / sqrt(var + eps) * (gamma ? gamma[c] : 1.0) + (beta ? beta[c] : 0.0);
      }
    }
  return y;
}

static void check_group_norm_fwd(int nd, const int64_t *s, int G, int affine, float offset) {
  lundi_tensor *x0 = randn_t(nd, s, 2.0f, 0), *x = lundi_add_scalar(x0, offset);
  int64_t C = s[1], HW = 1;
  for (int d = 2; d < nd; d++) HW *= s[d];
  lundi_tensor *gm = affine ? randn_t(1, &C, 1.0f, 0) : NULL, *bt = affine ? randn_t(1, &C, 1.0f, 0) : NULL;
  lundi_tensor *y = lundi_group_norm(x, G, gm, bt, 1e-5f);
  CHECK(y != NULL);
  if (y) {
    float *xv = t_read(x), *gv = gm ? t_read(gm) : NULL, *bv = bt ? t_read(bt) : NULL, *yv = t_read(y);
    double *ref = ref_group_norm(xv, s[0], C, HW, G, gv, bv, 1e-5);
    double err = max_rel_err(yv, ref, lundi_numel(y));
    if (err > 2e-4) fprintf(stderr, "group_norm G=%d offset=%g: err %g\n", G, offset, err);
    CHECK(err <= 2e-4);
    free(xv), free(gv), free(bv), free(yv), free(ref);
  }
  lundi_release(x0), lundi_release(x), lundi_release(gm), lundi_release(bt), lundi_release(y);
}

static void test_group_norm_forward(void) {
  for (int rep = 0; rep < 3; rep++) {
    int64_t C = 2 * rdim(1, 4), s4[4] = {rdim(1, 3), C, rdim(1, 6), rdim(1, 6)}, s3[3] = {rdim(1, 3), C, rdim(1, 20)};
    check_group_norm_fwd(4, s4, 1, 1, 0);
    check_group_norm_fwd(4, s4, (int)C, 0, 0);
    check_group_norm_fwd(4, s4, 2, 1, 0);
    check_group_norm_fwd(3, s3, 2, 0, 0);
    check_group_norm_fwd(3, s3, (int)C, 1, 0);
  }
  /* a large mean over a unit spread: a naive E[x^2] - E[x]^2 in float would lose it */
  int64_t s[4] = {2, 8, 7, 7};
  check_group_norm_fwd(4, s, 4, 1, 1000.0f);
  /* the reference model's shape class: threaded path, channels of 49 elements */
  int64_t big[4] = {16, 64, 7, 7};
  check_group_norm_fwd(4, big, 8, 1, 3.0f);
}

typedef struct gn_ctx {
  int groups, mode; /* mode 0: plain, 1: x is a transposed view, 2: gamma/beta are step-2 slices */
} gn_ctx;

static lundi_tensor *f_group_norm(lundi_tensor **in, void *vc) {
  gn_ctx *c = vc;
  lundi_tensor *x = c->mode == 1 ? lundi_transpose(in[0], 2, 3) : lundi_retain(in[0]);
  lundi_tensor *g = c->mode == 2 ? lundi_slice(in[1], 0, 0, lundi_dim(in[1], 0), 2) : lundi_retain(in[1]);
  lundi_tensor *b = c->mode == 2 ? lundi_slice(in[2], 0, 1, lundi_dim(in[2], 0), 2) : lundi_retain(in[2]);
  lundi_tensor *y = lundi_group_norm(x, c->groups, g, b, 1e-5f);
  lundi_release(x), lundi_release(g), lundi_release(b);
  return y;
}

static lundi_tensor *f_group_norm_x(lundi_tensor **in, void *vc) {
  gn_ctx *c = vc;
  return lundi_group_norm(in[0], c->groups, NULL, NULL, 1e-5f);
}

static void test_group_norm_grad(void) {
  for (int mode = 0; mode < 3; mode++) {
    int64_t C = 2 * rdim(1, 3), pc = mode == 2 ? 2 * C : C;
    int64_t s[4] = {rdim(1, 2), C, rdim(2, 4), rdim(2, 4)};
    gn_ctx ctx = {mode == 1 ? (int)C : 2, mode};
    lundi_tensor *in[3] = {randn_t(4, s, 1.0f, 1), randn_t(1, &pc, 1.0f, 1), randn_t(1, &pc, 1.0f, 1)};
    gradcheck(mode == 0 ? "group_norm" : mode == 1 ? "group_norm_transposed" : "group_norm_strided_affine",
              f_group_norm, 3, in, &ctx, NULL);
    for (int k = 0; k < 3; k++) lundi_release(in[k]);
  }
  /* 3-D input, one group, no affine */
  int64_t s3[3] = {2, rdim(2, 4), rdim(3, 6)};
  gn_ctx ctx = {1, 0};
  lundi_tensor *x = randn_t(3, s3, 1.0f, 1);
  gradcheck("group_norm_3d_plain", f_group_norm_x, 1, &x, &ctx, NULL);
  lundi_release(x);
}

/* ---- layer norm / RMS norm ---- */

static double *ref_row_norm(const float *x, int64_t R, int64_t D, const float *gamma, const float *beta, double eps,
                            int centered) {
  double *y = malloc(sizeof(double) * (size_t)(R * D));
  for (int64_t r = 0; r < R; r++) {
    const float *xr = x + r * D;
    double mu = 0, var = 0;
    if (centered) {
      for (int64_t i = 0; i < D; i++) mu += xr[i];
      mu /= (double)D;
    }
    for (int64_t i = 0; i < D; i++) var += (xr[i] - mu) * (xr[i] - mu);
    var /= (double)D;
    for (int64_t i = 0; i < D; i++)
      y[r * D + i] = (xr[i] - mu) / sqrt(var + eps) * (gamma ? gamma[i] : 1.0) + (beta ? beta[i] : 0.0);
  }
  return y;
}

static void check_row_norm_fwd(int rms, int nd, const int64_t *s, int affine, float offset) {
  int64_t D = s[nd - 1], R = 1;
  for (int d = 0; d < nd - 1; d++) R *= s[d];
  lundi_tensor *x0 = randn_t(nd, s, 1.5f, 0), *x = lundi_add_scalar(x0, offset);
  lundi_tensor *gm = affine ? randn_t(1, &D, 1.0f, 0) : NULL, *bt = affine && !rms ? randn_t(1, &D, 1.0f, 0) : NULL;
  lundi_tensor *y = rms ? lundi_rms_norm(x, gm, 1e-6f) : lundi_layer_norm(x, gm, bt, 1e-5f);
  CHECK(y != NULL);
  if (y) {
    float *xv = t_read(x), *gv = gm ? t_read(gm) : NULL, *bv = bt ? t_read(bt) : NULL, *yv = t_read(y);
    double *ref = ref_row_norm(xv, R, D, gv, bv, rms ? 1e-6 : 1e-5, !rms);
    double err = max_rel_err(yv, ref, R * D);
    if (err > 2e-4) fprintf(stderr, "%s: err %g\n", rms ? "rms_norm" : "layer_norm", err);
    CHECK(err <= 2e-4);
    free(xv), free(gv), free(bv), free(yv), free(ref);
  }
  lundi_release(x0), lundi_release(x), lundi_release(gm), lundi_release(bt), lundi_release(y);
}

static void test_row_norm_forward(void) {
  for (int rms = 0; rms < 2; rms++)
    for (int rep = 0; rep < 3; rep++) {
      int64_t s2[2] = {rdim(1, 9), rdim(1, 40)}, s3[3] = {rdim(1, 4), rdim(1, 5), rdim(2, 70)};
      check_row_norm_fwd(rms, 2, s2, 1, 0);
      check_row_norm_fwd(rms, 2, s2, 0, 0);
      check_row_norm_fwd(rms, 3, s3, 1, 0);
    }
  int64_t s[2] = {8, 100}, big[2] = {512, 256};
  check_row_norm_fwd(0, 2, s, 1, 500.0f);
  check_row_norm_fwd(0, 2, big, 1, 1.0f); /* threaded path */
  check_row_norm_fwd(1, 2, big, 1, 1.0f);
}

typedef struct rn_ctx {
  int rms, strided;
} rn_ctx;

/* strided: x is a transposed view of the leaf */
static lundi_tensor *f_row_norm(lundi_tensor **in, void *vc) {
  rn_ctx *c = vc;
  lundi_tensor *x = c->strided ? lundi_transpose(in[0], 0, 1) : lundi_retain(in[0]);
  lundi_tensor *y = c->rms ? lundi_rms_norm(x, in[1], 1e-6f) : lundi_layer_norm(x, in[1], in[2], 1e-5f);
  lundi_release(x);
  return y;
}

static void test_row_norm_grad(void) {
  for (int rms = 0; rms < 2; rms++)
    for (int strided = 0; strided < 2; strided++) {
      int64_t D = rdim(3, 7), s3[3] = {rdim(2, 3), rdim(1, 3), D};
      int64_t st[3] = {s3[1], s3[0], D}; /* transposed back to s3 inside f */
      rn_ctx ctx = {rms, strided};
      lundi_tensor *in[3] = {randn_t(3, strided ? st : s3, 1.0f, 1), randn_t(1, &D, 1.0f, 1),
                             rms ? NULL : randn_t(1, &D, 1.0f, 1)};
      char name[64];
      snprintf(name, sizeof name, "%s%s", rms ? "rms_norm" : "layer_norm", strided ? "_transposed" : "");
      gradcheck(name, f_row_norm, rms ? 2 : 3, in, &ctx, NULL);
      for (int k = 0; k < 3; k++) lundi_release(in[k]);
    }
  /* 2-D, no affine */
  int64_t s2[2] = {rdim(2, 4), rdim(3, 8)};
  lundi_tensor *in[3] = {randn_t(2, s2, 1.0f, 1), NULL, NULL};
  rn_ctx ln = {0, 0}, rm = {1, 0};
  gradcheck("layer_norm_2d_plain", f_row_norm, 1, in, &ln, NULL);
  gradcheck("rms_norm_2d_plain", f_row_norm, 1, in, &rm, NULL);
  lundi_release(in[0]);
}

/* ---- softmax / log_softmax ---- */

/* Reference over dim d of a logical-order [O, D, I] array. */
static double *ref_softmax(const float *x, int64_t O, int64_t D, int64_t I, int log_out) {
  double *y = malloc(sizeof(double) * (size_t)(O * D * I + 1));
  for (int64_t o = 0; o < O; o++)
    for (int64_t j = 0; j < I; j++) {
      double mx = -INFINITY, s = 0;
      for (int64_t d = 0; d < D; d++) mx = fmax(mx, x[(o * D + d) * I + j]);
      for (int64_t d = 0; d < D; d++) s += exp(x[(o * D + d) * I + j] - mx);
      for (int64_t d = 0; d < D; d++) {
        double v = x[(o * D + d) * I + j] - mx;
        y[(o * D + d) * I + j] = log_out ? v - log(s) : exp(v) / s;
      }
    }
  return y;
}

/* x is any tensor (view); checks softmax and log_softmax over dim. */
static void check_softmax(lundi_tensor *x, int dim) {
  int nd = lundi_ndim(x), d = dim < 0 ? dim + nd : dim;
  int64_t O = 1, I = 1, D = lundi_dim(x, d);
  for (int k = 0; k < d; k++) O *= lundi_dim(x, k);
  for (int k = d + 1; k < nd; k++) I *= lundi_dim(x, k);
  float *xv = t_read(x);
  for (int lg = 0; lg < 2; lg++) {
    lundi_tensor *y = lg ? lundi_log_softmax(x, dim) : lundi_softmax(x, dim);
    CHECK(y != NULL);
    if (!y) continue;
    float *yv = t_read(y);
    double *ref = ref_softmax(xv, O, D, I, lg);
    double err = max_rel_err(yv, ref, O * D * I);
    if (err > 1e-5) fprintf(stderr, "%s dim %d: err %g\n", lg ? "log_softmax" : "softmax", dim, err);
    CHECK(err <= 1e-5);
    free(yv), free(ref);
    lundi_release(y);
  }
  free(xv);
}

static void test_softmax_forward(void) {
  int64_t s[3] = {rdim(2, 5), rdim(2, 7), rdim(2, 70)};
  lundi_tensor *x = randn_t(3, s, 3.0f, 0);
  for (int dim = -1; dim < 3; dim++) check_softmax(x, dim);
  /* strided: transposed and sliced views */
  lundi_tensor *xt = lundi_transpose(x, 0, 2), *xs = lundi_slice(x, 2, 1, s[2], 2);
  check_softmax(xt, 0);
  check_softmax(xt, 1);
  check_softmax(xt, -1);
  check_softmax(xs, -1);
  check_softmax(xs, 0);
  /* large logits: exp would overflow without the max shift */
  lundi_tensor *xl = lundi_mul_scalar(x, 400.0f);
  check_softmax(xl, -1);
  check_softmax(xl, 1);
  /* a big tensor takes the threaded path */
  int64_t sb[2] = {300, 257};
  lundi_tensor *xb = randn_t(2, sb, 2.0f, 0);
  check_softmax(xb, 1);
  check_softmax(xb, 0);
  lundi_release(x), lundi_release(xt), lundi_release(xs), lundi_release(xl), lundi_release(xb);
}

static void test_softmax_masked_rows(void) {
  /* a row of -inf gives softmax 0 / log_softmax -inf, and finite gradients */
  float v[6] = {-INFINITY, -INFINITY, -INFINITY, 1.0f, -INFINITY, 2.0f};
  int64_t s[2] = {2, 3};
  lundi_tensor *x = lundi_from_f32(2, s, v), *gout = randn_t(2, s, 1.0f, 0);
  lundi_set_requires_grad(x, 1);
  for (int lg = 0; lg < 2; lg++) {
    lundi_zero_grad(x);
    lundi_tensor *y = lg ? lundi_log_softmax(x, 1) : lundi_softmax(x, 1);
    float yv[6] = {0}, gv[6] = {0};
    CHECK(y && lundi_read_f32(y, yv, 6) == 0);
    for (int i = 0; i < 3; i++) CHECK(lg ? (isinf(yv[i]) && yv[i] < 0) : yv[i] == 0.0f);
    CHECK_NEAR(lg ? exp(yv[3]) : yv[3], 1 / (1 + exp(1.0)), 1e-6);
    CHECK(lg ? (isinf(yv[4]) && yv[4] < 0) : yv[4] == 0.0f);
    CHECK(y && lundi_backward(y, gout) == 0);
    lundi_tensor *g = lundi_grad(x);
    CHECK(g && lundi_read_f32(g, gv, 6) == 0);
    for (int i = 0; i < 6; i++) CHECK(isfinite(gv[i]));
    if (!lg)
      for (int i = 0; i < 3; i++) CHECK(gv[i] == 0.0f);
    lundi_release(y);
  }
  lundi_release(gout), lundi_release(x);
}

typedef struct sm_ctx {
  int dim, log_out, strided;
} sm_ctx;

static lundi_tensor *f_softmax(lundi_tensor **in, void *vc) {
  sm_ctx *c = vc;
  lundi_tensor *x = c->strided ? lundi_transpose(in[0], 0, 2) : lundi_retain(in[0]);
  lundi_tensor *y = c->log_out ? lundi_log_softmax(x, c->dim) : lundi_softmax(x, c->dim);
  lundi_release(x);
  return y;
}

static void test_softmax_grad(void) {
  for (int lg = 0; lg < 2; lg++)
    for (int dim = -1; dim < 2; dim++)
      for (int strided = 0; strided < 2; strided++) {
        int64_t s[3] = {rdim(2, 3), rdim(2, 4), rdim(2, 5)};
        lundi_tensor *x = randn_t(3, s, 1.5f, 1);
        sm_ctx ctx = {dim, lg, strided};
        char name[64];
        snprintf(name, sizeof name, "%s_dim%d%s", lg ? "log_softmax" : "softmax", dim, strided ? "_transposed" : "");
        gradcheck(name, f_softmax, 1, &x, &ctx, NULL);
        lundi_release(x);
      }
}

/* ---- errors ---- */

static void test_norm_errors(void) {
  int64_t s4[4] = {2, 6, 3, 3}, s1[1] = {5}, c4[1] = {4}, c6[1] = {6};
  lundi_tensor *x = randn_t(4, s4, 1, 0), *v = randn_t(1, s1, 1, 0), *g4 = randn_t(1, c4, 1, 0),
               *g6 = randn_t(1, c6, 1, 0);
  CHECK_ERR(lundi_group_norm(x, 4, NULL, NULL, 1e-5f), "4 groups do not divide the 6 channels of input [2,6,3,3]");
  CHECK_ERR(lundi_group_norm(x, 0, NULL, NULL, 1e-5f), "groups do not divide");
  CHECK_ERR(lundi_group_norm(v, 1, NULL, NULL, 1e-5f), "group_norm: input [5] must be [N, C, ...]");
  CHECK_ERR(lundi_group_norm(x, 2, g4, NULL, 1e-5f), "group_norm: gamma [4] does not fit input [2,6,3,3]");
  CHECK_ERR(lundi_group_norm(x, 2, g6, g4, 1e-5f), "group_norm: beta [4] does not fit");
  CHECK_ERR(lundi_group_norm(x, 2, NULL, NULL, -1.0f), "eps");
  CHECK_ERR(lundi_layer_norm(x, g6, NULL, 1e-5f), "layer_norm: gamma [6] does not fit input [2,6,3,3] (expected [3])");
  CHECK_ERR(lundi_rms_norm(x, g4, 1e-5f), "rms_norm: gamma [4] does not fit");
  CHECK_ERR(lundi_softmax(x, 4), "softmax: dim 4 is out of range");
  CHECK_ERR(lundi_log_softmax(x, -5), "log_softmax: dim -5 is out of range");
  lundi_release(x), lundi_release(v), lundi_release(g4), lundi_release(g6);
}

static const test_case tests[] = {
    {"group_norm_forward", test_group_norm_forward},
    {"group_norm_grad", test_group_norm_grad},
    {"row_norm_forward", test_row_norm_forward},
    {"row_norm_grad", test_row_norm_grad},
    {"softmax_forward", test_softmax_forward},
    {"softmax_masked_rows", test_softmax_masked_rows},
    {"softmax_grad", test_softmax_grad},
    {"norm_errors", test_norm_errors},
};
TEST_MAIN(tests)
