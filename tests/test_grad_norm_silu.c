/* Fused silu(group_norm(x)) and silu(group_norm(x + e)): forward and gradients against the
 * separate ops, gradients against finite differences, and shape errors. */
#include "gradcheck.h"

#include <float.h>

static lundi_rng rng = {7171, 0};
static uint64_t lcg = 31;

static int64_t rdim(int lo, int hi) { return t_rand_dim(&lcg, lo, hi); }

static lundi_tensor *randn_t(int nd, const int64_t *s, float scale, int rg) { return t_randn(&rng, nd, s, scale, rg); }

/* max |a - b| / (1 + |b|) over two same-shaped tensors (NaN counts as a failure). */
static double max_rel_diff(lundi_tensor *a, lundi_tensor *b) {
  float *av = t_read(a), *bv = t_read(b);
  double m = 0;
  for (int64_t i = 0; i < lundi_numel(b); i++) {
    double e = fabs((double)av[i] - bv[i]) / (1.0 + fabs(bv[i]));
    if (!(e <= m)) m = e;
  }
  free(av), free(bv);
  return m;
}

static lundi_tensor *composed(lundi_tensor *x, int G, lundi_tensor *gm, lundi_tensor *bt) {
  lundi_tensor *h = lundi_group_norm(x, G, gm, bt, 1e-5f), *y = h ? lundi_silu(h) : NULL;
  lundi_release(h);
  return y;
}

/* affine: bit 0 gamma, bit 1 beta */
static void check_fwd(int nd, const int64_t *s, int G, int affine, float offset) {
  int64_t C = s[1];
  lundi_tensor *x0 = randn_t(nd, s, 2.0f, 0), *x = lundi_add_scalar(x0, offset);
  lundi_tensor *gm = affine & 1 ? randn_t(1, &C, 1.5f, 0) : NULL, *bt = affine & 2 ? randn_t(1, &C, 1.0f, 0) : NULL;
  lundi_tensor *y = lundi_group_norm_silu(x, G, gm, bt, 1e-5f), *ref = composed(x, G, gm, bt);
  CHECK(y != NULL && ref != NULL);
  if (y && ref) {
    CHECK(lundi_ndim(y) == nd);
    for (int d = 0; d < nd; d++) CHECK(lundi_dim(y, d) == s[d]);
    double err = max_rel_diff(y, ref);
    if (err > 1e-5) fprintf(stderr, "group_norm_silu nd=%d C=%lld G=%d affine=%d: err %g\n", nd, (long long)C, G, affine, err);
    CHECK(err <= 1e-5);
  }
  lundi_release(x0), lundi_release(x), lundi_release(gm), lundi_release(bt), lundi_release(y), lundi_release(ref);
}

static void test_forward(void) {
  for (int rep = 0; rep < 3; rep++) {
    int64_t C = 2 * rdim(1, 4), s4[4] = {rdim(1, 3), C, rdim(1, 6), rdim(1, 6)}, s3[3] = {rdim(1, 3), C, rdim(1, 20)};
    check_fwd(4, s4, 1, 3, 0);
    check_fwd(4, s4, (int)C, 0, 0);
    check_fwd(4, s4, 2, 1, 0);
    check_fwd(4, s4, 2, 2, 0);
    check_fwd(3, s3, 2, 0, 0);
    check_fwd(3, s3, (int)C, 3, 0);
  }
  int64_t s[4] = {2, 8, 7, 7};
  check_fwd(4, s, 4, 3, 1000.0f); /* large mean */
  int64_t big[4] = {16, 64, 14, 14}; /* threaded path */
  check_fwd(4, big, 8, 3, 3.0f);
  check_fwd(4, big, 8, 0, 0.0f);

  /* a strided input gives the same result as its contiguous copy */
  int64_t st[4] = {2, 4, 5, 6};
  lundi_tensor *x = randn_t(4, st, 1.0f, 0), *xt = lundi_transpose(x, 2, 3), *xc = lundi_contiguous(xt);
  lundi_tensor *a = lundi_group_norm_silu(xt, 2, NULL, NULL, 1e-5f), *b = lundi_group_norm_silu(xc, 2, NULL, NULL, 1e-5f);
  CHECK(a && b && t_max_abs_diff(a, b) == 0);
  lundi_release(x), lundi_release(xt), lundi_release(xc), lundi_release(a), lundi_release(b);
}

typedef struct gns_ctx {
  int groups, mode; /* 0: plain, 1: x transposed, 2: x a step-2 slice, 3: no gamma, 4: no beta */
} gns_ctx;

static lundi_tensor *f_gns(lundi_tensor **in, void *vc) {
  gns_ctx *c = vc;
  lundi_tensor *x = c->mode == 1   ? lundi_transpose(in[0], 2, 3)
                    : c->mode == 2 ? lundi_slice(in[0], 3, 1, lundi_dim(in[0], 3), 2)
                                   : lundi_retain(in[0]);
  lundi_tensor *y = lundi_group_norm_silu(x, c->groups, c->mode == 3 ? NULL : in[1], c->mode == 4 ? NULL : in[2], 1e-5f);
  lundi_release(x);
  return y;
}

static lundi_tensor *f_gns_x(lundi_tensor **in, void *vc) {
  gns_ctx *c = vc;
  return lundi_group_norm_silu(in[0], c->groups, NULL, NULL, 1e-5f);
}

/* Gradients of sum(y * R) through the fused op and through group_norm + silu. */
static void check_grad_vs_composed(int nd, const int64_t *s, int G) {
  int64_t C = s[1];
  lundi_tensor *x = randn_t(nd, s, 1.5f, 1), *gm = randn_t(1, &C, 1.0f, 1), *bt = randn_t(1, &C, 1.0f, 1);
  lundi_tensor *R = randn_t(nd, s, 1.0f, 0), *gr[2][3] = {{NULL}};
  for (int k = 0; k < 2; k++) {
    lundi_zero_grad(x), lundi_zero_grad(gm), lundi_zero_grad(bt);
    lundi_tensor *y = k ? composed(x, G, gm, bt) : lundi_group_norm_silu(x, G, gm, bt, 1e-5f);
    CHECK(y && lundi_backward(y, R) == 0);
    lundi_tensor *leaves[3] = {x, gm, bt};
    for (int j = 0; j < 3; j++) {
      lundi_tensor *g = lundi_grad(leaves[j]);
      CHECK(g != NULL);
      gr[k][j] = g ? lundi_contiguous(g) : NULL;
    }
    lundi_release(y);
  }
  for (int j = 0; j < 3; j++)
    if (gr[0][j] && gr[1][j]) {
      double err = max_rel_diff(gr[0][j], gr[1][j]);
      /* dgamma/dbeta sum 16*14*14 terms per channel in float blocks */
      if (err > 1e-4) fprintf(stderr, "group_norm_silu grad %d vs composed: err %g\n", j, err);
      CHECK(err <= 1e-4);
    }
  for (int k = 0; k < 2; k++)
    for (int j = 0; j < 3; j++) lundi_release(gr[k][j]);
  lundi_release(x), lundi_release(gm), lundi_release(bt), lundi_release(R);
}

static void test_gradcheck(void) {
  static const char *names[] = {"gns", "gns_transposed_x", "gns_sliced_x", "gns_no_gamma", "gns_no_beta"};
  for (int mode = 0; mode < 5; mode++) {
    int64_t C = 2 * rdim(1, 3), W = rdim(2, 4);
    int64_t s[4] = {rdim(1, 2), C, rdim(2, 4), mode == 2 ? 2 * W : W};
    gns_ctx ctx = {mode == 1 ? (int)C : 2, mode};
    lundi_tensor *in[3] = {randn_t(4, s, 1.0f, 1), randn_t(1, &C, 1.0f, 1), randn_t(1, &C, 1.0f, 1)};
    CHECK(gradcheck(names[mode], f_gns, 3, in, &ctx, NULL) == 0);
    for (int k = 0; k < 3; k++) lundi_release(in[k]);
  }
  /* 3-D input, one group, no affine */
  int64_t s3[3] = {2, rdim(2, 4), rdim(3, 6)};
  gns_ctx ctx = {1, 0};
  lundi_tensor *x = randn_t(3, s3, 1.0f, 1);
  CHECK(gradcheck("gns_3d_plain", f_gns_x, 1, &x, &ctx, NULL) == 0);
  lundi_release(x);
  /* the threaded backward against the separate ops */
  int64_t big[4] = {16, 64, 14, 14}, b3[3] = {3, 6, 50};
  check_grad_vs_composed(4, big, 8);
  check_grad_vs_composed(3, b3, 3);
}

static void test_errors(void) {
  int64_t s4[4] = {2, 6, 3, 3}, s1[1] = {5}, c4[1] = {4}, c6[1] = {6};
  lundi_tensor *x = randn_t(4, s4, 1, 0), *v = randn_t(1, s1, 1, 0), *g4 = randn_t(1, c4, 1, 0),
               *g6 = randn_t(1, c6, 1, 0);
  CHECK_ERR(lundi_group_norm_silu(x, 4, NULL, NULL, 1e-5f),
            "group_norm_silu: 4 groups do not divide the 6 channels of input [2,6,3,3]");
  CHECK_ERR(lundi_group_norm_silu(x, 0, NULL, NULL, 1e-5f), "groups do not divide");
  CHECK_ERR(lundi_group_norm_silu(v, 1, NULL, NULL, 1e-5f), "group_norm_silu: input [5] must be [N, C, ...]");
  CHECK_ERR(lundi_group_norm_silu(x, 2, g4, NULL, 1e-5f),
            "group_norm_silu: gamma [4] does not fit input [2,6,3,3] (expected [6])");
  CHECK_ERR(lundi_group_norm_silu(x, 2, g6, g4, 1e-5f), "group_norm_silu: beta [4] does not fit");
  CHECK_ERR(lundi_group_norm_silu(x, 2, NULL, NULL, -1.0f), "group_norm_silu: eps -1 must be >= 0");
  /* group_norm's own messages are unchanged */
  CHECK_ERR(lundi_group_norm(v, 1, NULL, NULL, 1e-5f), "group_norm: input [5] must be [N, C, ...]");
  lundi_release(x), lundi_release(v), lundi_release(g4), lundi_release(g6);
}

/* ---- add_group_norm_silu: x + e[n, c] before the norm ---- */

static lundi_tensor *composed_shifted(lundi_tensor *x, lundi_tensor *e, int G, lundi_tensor *gm, lundi_tensor *bt) {
  int64_t s[LUNDI_MAX_DIMS];
  for (int d = 0; d < lundi_ndim(x); d++) s[d] = d < 2 ? lundi_dim(x, d) : 1;
  lundi_tensor *e4 = lundi_reshape(e, lundi_ndim(x), s), *xe = e4 ? lundi_add(x, e4) : NULL;
  lundi_tensor *y = xe ? composed(xe, G, gm, bt) : NULL;
  lundi_release(e4), lundi_release(xe);
  return y;
}

/* Forward and all four gradients against add + group_norm + silu. */
static void check_shifted(int nd, const int64_t *s, int G, float eshift) {
  int64_t C = s[1], es[2] = {s[0], s[1]};
  lundi_tensor *x = randn_t(nd, s, 1.5f, 1), *gm = randn_t(1, &C, 1.0f, 1), *bt = randn_t(1, &C, 1.0f, 1);
  lundi_tensor *e0 = randn_t(2, es, 2.0f, 0), *e = lundi_add_scalar(e0, eshift), *R = randn_t(nd, s, 1.0f, 0);
  lundi_set_requires_grad(e, 1);
  lundi_tensor *gr[2][4] = {{NULL}}, *ys[2] = {NULL};
  for (int k = 0; k < 2; k++) {
    lundi_tensor *leaves[4] = {x, e, gm, bt};
    for (int j = 0; j < 4; j++) lundi_zero_grad(leaves[j]);
    ys[k] = k ? composed_shifted(x, e, G, gm, bt) : lundi_add_group_norm_silu(x, e, G, gm, bt, 1e-5f);
    CHECK(ys[k] && lundi_backward(ys[k], R) == 0);
    for (int j = 0; j < 4; j++) {
      lundi_tensor *g = lundi_grad(leaves[j]);
      CHECK(g != NULL);
      gr[k][j] = g ? lundi_contiguous(g) : NULL;
    }
  }
  if (ys[0] && ys[1]) {
    /* both round x + e (or mean - e) once: |x + e| ulps, scaled by rstd * gamma (~1) */
    double tol = 1e-5 + 4 * FLT_EPSILON * (fabs(eshift) + 8), err = max_rel_diff(ys[0], ys[1]);
    if (err > tol) fprintf(stderr, "add_group_norm_silu forward: err %g (tol %g)\n", err, tol);
    CHECK(err <= tol);
  }
  for (int j = 0; j < 4; j++)
    if (gr[0][j] && gr[1][j]) {
      double err = max_rel_diff(gr[0][j], gr[1][j]);
      if (err > 1e-4) fprintf(stderr, "add_group_norm_silu grad %d vs composed: err %g\n", j, err);
      CHECK(err <= 1e-4);
    }
  for (int k = 0; k < 2; k++) {
    lundi_release(ys[k]);
    for (int j = 0; j < 4; j++) lundi_release(gr[k][j]);
  }
  lundi_release(x), lundi_release(gm), lundi_release(bt), lundi_release(e0), lundi_release(e), lundi_release(R);
}

static void test_shifted_forward(void) {
  for (int rep = 0; rep < 3; rep++) {
    int64_t C = 2 * rdim(1, 4), s4[4] = {rdim(1, 3), C, rdim(1, 6), rdim(1, 6)}, s3[3] = {rdim(1, 3), C, rdim(1, 20)};
    check_shifted(4, s4, 2, 0);
    check_shifted(4, s4, (int)C, 0);
    check_shifted(3, s3, 1, 0);
  }
  int64_t s[4] = {2, 8, 7, 7}, big[4] = {16, 64, 14, 14};
  check_shifted(4, s, 4, 1000.0f); /* shift >> spread: the statistics must not cancel */
  check_shifted(4, big, 8, 0);    /* threaded paths */
}

typedef struct shift_ctx {
  int groups, strided; /* strided: e arrives transposed */
} shift_ctx;

static lundi_tensor *f_shifted(lundi_tensor **in, void *vc) {
  shift_ctx *c = vc;
  lundi_tensor *e = c->strided ? lundi_transpose(in[1], 0, 1) : lundi_retain(in[1]);
  lundi_tensor *y = lundi_add_group_norm_silu(in[0], e, c->groups, in[2], in[3], 1e-5f);
  lundi_release(e);
  return y;
}

static void test_shifted_gradcheck(void) {
  for (int strided = 0; strided < 2; strided++) {
    int64_t C = 4, N = 2, s[4] = {N, C, 3, rdim(2, 4)}, es[2] = {strided ? C : N, strided ? N : C};
    shift_ctx ctx = {2, strided};
    lundi_tensor *in[4] = {randn_t(4, s, 1.0f, 1), randn_t(2, es, 1.0f, 1), randn_t(1, &C, 1.0f, 1),
                           randn_t(1, &C, 1.0f, 1)};
    CHECK(gradcheck(strided ? "add_gns_transposed_e" : "add_gns", f_shifted, 4, in, &ctx, NULL) == 0);
    for (int k = 0; k < 4; k++) lundi_release(in[k]);
  }
}

static void test_shifted_errors(void) {
  int64_t s4[4] = {2, 6, 3, 3}, e1[2] = {2, 5}, e2[2] = {3, 6}, e3[3] = {2, 6, 1};
  lundi_tensor *x = randn_t(4, s4, 1, 0), *a = randn_t(2, e1, 1, 0), *b = randn_t(2, e2, 1, 0), *c = randn_t(3, e3, 1, 0);
  CHECK_ERR(lundi_add_group_norm_silu(x, a, 2, NULL, NULL, 1e-5f),
            "add_group_norm_silu: shift [2,5] must be [N, C] = [2, 6] for input [2,6,3,3]");
  CHECK_ERR(lundi_add_group_norm_silu(x, b, 2, NULL, NULL, 1e-5f), "shift [3,6] must be [N, C]");
  CHECK_ERR(lundi_add_group_norm_silu(x, c, 2, NULL, NULL, 1e-5f), "shift [2,6,1] must be [N, C]");
  CHECK_ERR(lundi_add_group_norm_silu(x, NULL, 2, NULL, NULL, 1e-5f), "e is NULL");
  CHECK_ERR(lundi_add_group_norm_silu(NULL, a, 2, NULL, NULL, 1e-5f), "add_group_norm_silu: input is NULL");
  CHECK_ERR(lundi_add_group_norm_silu(x, a, 4, NULL, NULL, 1e-5f), "add_group_norm_silu: 4 groups do not divide");
  lundi_release(x), lundi_release(a), lundi_release(b), lundi_release(c);
  CHECK(lundi_live_tensors() == 0);
}

static const test_case tests[] = {
    {"forward", test_forward},
    {"gradcheck", test_gradcheck},
    {"errors", test_errors},
    {"shifted_forward", test_shifted_forward},
    {"shifted_gradcheck", test_shifted_gradcheck},
    {"shifted_errors", test_shifted_errors},
};
TEST_MAIN(tests)
