/* Gradient checks: elementwise, reductions, matmul, views (broadcast and strided inputs). */
#include "gradcheck.h"

static lundi_rng rng = {1234, 0};

static lundi_tensor *leaf(int nd, int64_t a, int64_t b, int64_t c, float scale) {
  int64_t s[3] = {a, b, c};
  return t_randn(&rng, nd, s, scale, 1);
}

/* Positive leaf for log/sqrt/div denominators. */
static lundi_tensor *pos_leaf(int nd, int64_t a, int64_t b, int64_t c) {
  int64_t s[3] = {a, b, c};
  lundi_tensor *t = lundi_empty(nd, s, LUNDI_F32, NULL);
  lundi_uniform_(t, &rng, 0.5f, 2.0f);
  lundi_set_requires_grad(t, 1);
  return t;
}

static void run2(const char *name, gc_fn f, lundi_tensor *a, lundi_tensor *b) {
  lundi_tensor *in[2] = {a, b};
  gradcheck(name, f, b ? 2 : 1, in, NULL, NULL);
  lundi_release(a);
  lundi_release(b);
}

static lundi_tensor *f_add(lundi_tensor **x, void *c) { (void)c; return lundi_add(x[0], x[1]); }
static lundi_tensor *f_sub(lundi_tensor **x, void *c) { (void)c; return lundi_sub(x[0], x[1]); }
static lundi_tensor *f_mul(lundi_tensor **x, void *c) { (void)c; return lundi_mul(x[0], x[1]); }
static lundi_tensor *f_div(lundi_tensor **x, void *c) { (void)c; return lundi_div(x[0], x[1]); }

static void test_binary_broadcast(void) {
  run2("add", f_add, leaf(3, 2, 3, 4, 1), leaf(2, 3, 1, 0, 1));
  run2("sub", f_sub, leaf(2, 1, 4, 0, 1), leaf(3, 2, 3, 4, 1));
  run2("mul", f_mul, leaf(3, 2, 1, 4, 1), leaf(3, 1, 3, 1, 1));
  run2("div", f_div, leaf(3, 2, 3, 4, 1), pos_leaf(1, 4, 0, 0));
  run2("mul_same", f_mul, leaf(2, 5, 7, 0, 1), leaf(2, 5, 7, 0, 1));
}

/* Random ranks and sizes, with b broadcast along a random subset of a's dims (and
 * sometimes fewer leading dims); each binary op and its gradient on both sides. */
static void test_binary_random_shapes(void) {
  gc_fn fns[4] = {f_add, f_sub, f_mul, f_div};
  const char *names[4] = {"add_rand", "sub_rand", "mul_rand", "div_rand"};
  lundi_rng shape_rng = lundi_rng_make(99);
  for (int trial = 0; trial < 12; trial++) {
    int64_t one[1] = {12};
    lundi_tensor *u = lundi_rand(&shape_rng, 1, one);
    float *r = lundi_data(u);
    int nd = 1 + (int)(r[0] * 4), drop = r[1] < 0.3f ? 1 : 0;
    if (drop >= nd) drop = 0;
    int64_t sa[4], sb[4];
    for (int d = 0; d < nd; d++) {
      sa[d] = 1 + (int64_t)(r[2 + d] * 4);
      sb[d] = r[6 + d] < 0.4f ? 1 : sa[d];
    }
    lundi_tensor *a = t_randn(&rng, nd, sa, 1, 1), *b;
    if (trial % 4 == 3) { /* positive denominators for div */
      b = lundi_empty(nd - drop, sb + drop, LUNDI_F32, NULL);
      lundi_uniform_(b, &rng, 0.5f, 2.0f);
      lundi_set_requires_grad(b, 1);
    } else {
      b = t_randn(&rng, nd - drop, sb + drop, 1, 1);
    }
    /* swap operands half the time so broadcasting is exercised on either side */
    if (trial % 2 && trial % 4 != 3) run2(names[trial % 4], fns[trial % 4], b, a);
    else run2(names[trial % 4], fns[trial % 4], a, b);
    lundi_release(u);
  }
}

#define UNARY(fname, call)                                                                         \
  static lundi_tensor *fname(lundi_tensor **x, void *c) {                                          \
    (void)c;                                                                                       \
    return call;                                                                                   \
  }
UNARY(f_exp, lundi_exp(x[0]))
UNARY(f_log, lundi_log(x[0]))
UNARY(f_sqrt, lundi_sqrt(x[0]))
UNARY(f_rsqrt, lundi_rsqrt(x[0]))
UNARY(f_neg, lundi_neg(x[0]))
UNARY(f_abs, lundi_abs(x[0]))
UNARY(f_tanh, lundi_tanh(x[0]))
UNARY(f_sigmoid, lundi_sigmoid(x[0]))
UNARY(f_adds, lundi_add_scalar(x[0], 1.5f))
UNARY(f_muls, lundi_mul_scalar(x[0], -2.5f))
UNARY(f_rsubs, lundi_rsub_scalar(x[0], 3.0f))
UNARY(f_pows, lundi_pow_scalar(x[0], 2.5f))
UNARY(f_clamp, lundi_clamp(x[0], -0.5f, 0.7f))
UNARY(f_silu, lundi_silu(x[0]))
UNARY(f_gelu, lundi_gelu(x[0], 0))
UNARY(f_gelu_tanh, lundi_gelu(x[0], 1))
UNARY(f_mish, lundi_mish(x[0]))

static void test_unary(void) {
  run2("exp", f_exp, leaf(2, 3, 5, 0, 1), NULL);
  run2("log", f_log, pos_leaf(2, 3, 5, 0), NULL);
  run2("sqrt", f_sqrt, pos_leaf(2, 3, 5, 0), NULL);
  run2("rsqrt", f_rsqrt, pos_leaf(2, 3, 5, 0), NULL);
  run2("neg", f_neg, leaf(2, 3, 5, 0, 1), NULL);
  run2("abs", f_abs, pos_leaf(2, 3, 5, 0), NULL);
  run2("tanh", f_tanh, leaf(2, 3, 5, 0, 1), NULL);
  run2("sigmoid", f_sigmoid, leaf(2, 3, 5, 0, 1), NULL);
  run2("add_scalar", f_adds, leaf(2, 3, 5, 0, 1), NULL);
  run2("mul_scalar", f_muls, leaf(2, 3, 5, 0, 1), NULL);
  run2("rsub_scalar", f_rsubs, leaf(2, 3, 5, 0, 1), NULL);
  run2("pow_scalar", f_pows, pos_leaf(2, 3, 5, 0), NULL);
}

static void test_activations(void) {
  run2("silu", f_silu, leaf(2, 4, 6, 0, 2), NULL);
  run2("gelu", f_gelu, leaf(2, 4, 6, 0, 2), NULL);
  run2("gelu_tanh", f_gelu_tanh, leaf(2, 4, 6, 0, 2), NULL);
  run2("mish", f_mish, leaf(2, 4, 6, 0, 2), NULL);
}

static void test_clamp(void) {
  /* keep values away from the kinks so finite differences are meaningful */
  float v[8] = {-1.2f, -0.3f, 0.1f, 0.5f, 0.9f, 2.0f, -0.8f, 0.65f};
  int64_t s[1] = {8};
  lundi_tensor *x = lundi_from_f32(1, s, v);
  lundi_set_requires_grad(x, 1);
  lundi_tensor *in[1] = {x};
  gc_opts o = {.h = 1e-3};
  gradcheck("clamp", f_clamp, 1, in, NULL, &o);
  lundi_release(x);
}

static lundi_tensor *f_where(lundi_tensor **x, void *c) { return lundi_where(c, x[0], x[1]); }

static void test_where(void) {
  int64_t s[2] = {3, 4};
  lundi_tensor *cond = lundi_rand(&rng, 2, s);
  lundi_tensor *half = lundi_scalar(0.5f);
  lundi_tensor *mask = lundi_sub(cond, half);
  lundi_tensor *c2 = lundi_clamp(mask, 0, 1); /* ~half zeros */
  lundi_tensor *a = leaf(2, 3, 4, 0, 1), *b = leaf(1, 4, 0, 0, 1);
  lundi_tensor *in[2] = {a, b};
  gradcheck("where", f_where, 2, in, c2, NULL);
  lundi_release(a); lundi_release(b); lundi_release(cond); lundi_release(half); lundi_release(mask);
  lundi_release(c2);
}

static lundi_tensor *f_sum01(lundi_tensor **x, void *c) { (void)c; int ax[2] = {0, 2}; return lundi_sum(x[0], 2, ax, 0); }
static lundi_tensor *f_sum_all(lundi_tensor **x, void *c) { (void)c; return lundi_sum(x[0], 0, NULL, 0); }
static lundi_tensor *f_mean1(lundi_tensor **x, void *c) { (void)c; int ax[1] = {-1}; return lundi_mean(x[0], 1, ax, 1); }
static lundi_tensor *f_max1(lundi_tensor **x, void *c) { (void)c; int ax[1] = {1}; return lundi_max(x[0], 1, ax, 0); }
static lundi_tensor *f_max_all(lundi_tensor **x, void *c) { (void)c; return lundi_max(x[0], 0, NULL, 1); }

static void test_reductions(void) {
  run2("sum_axes", f_sum01, leaf(3, 3, 4, 5, 1), NULL);
  run2("sum_all", f_sum_all, leaf(3, 2, 3, 4, 1), NULL);
  run2("mean_last", f_mean1, leaf(3, 2, 3, 4, 1), NULL);
  run2("max_axis", f_max1, leaf(3, 2, 5, 3, 1), NULL);
  run2("max_all", f_max_all, leaf(2, 4, 5, 0, 1), NULL);
}

static lundi_tensor *f_matmul(lundi_tensor **x, void *c) { (void)c; return lundi_matmul(x[0], x[1]); }
static lundi_tensor *f_linear(lundi_tensor **x, void *c) { (void)c; return lundi_linear(x[0], x[1], x[2]); }
static lundi_tensor *f_matmul_t(lundi_tensor **x, void *c) {
  (void)c; /* strided operands: a transposed view and a step-2 slice */
  lundi_tensor *at = lundi_transpose(x[0], 0, 1), *bs = lundi_slice(x[1], 1, 0, 10, 2);
  lundi_tensor *y = lundi_matmul(at, bs);
  lundi_release(at); lundi_release(bs);
  return y;
}

static void test_matmul(void) {
  run2("matmul_2d", f_matmul, leaf(2, 4, 5, 0, 1), leaf(2, 5, 3, 0, 1));
  run2("matmul_batched", f_matmul, leaf(3, 2, 4, 5, 1), leaf(3, 2, 5, 3, 1));
  run2("matmul_broadcast", f_matmul, leaf(3, 3, 4, 5, 1), leaf(2, 5, 2, 0, 1));
  run2("matmul_bcast_a", f_matmul, leaf(2, 4, 5, 0, 1), leaf(3, 2, 5, 3, 1));
  run2("matmul_vec", f_matmul, leaf(2, 4, 5, 0, 1), leaf(1, 5, 0, 0, 1));
  run2("matmul_strided", f_matmul_t, leaf(2, 5, 4, 0, 1), leaf(2, 5, 10, 0, 1));
  lundi_tensor *in[3] = {leaf(3, 2, 3, 5, 1), leaf(2, 4, 5, 0, 1), leaf(1, 4, 0, 0, 1)};
  gradcheck("linear", f_linear, 3, in, NULL, NULL);
  for (int i = 0; i < 3; i++) lundi_release(in[i]);
}

static lundi_tensor *f_views(lundi_tensor **x, void *c) {
  (void)c;
  int perm[3] = {2, 0, 1};
  int64_t sh[2] = {4, -1}, ex[3] = {2, 4, 6};
  lundi_tensor *p = lundi_permute(x[0], perm);      /* [4,2,3] */
  lundi_tensor *r = lundi_reshape(p, 2, sh);        /* copy: [4,6] */
  lundi_tensor *s = lundi_slice(r, 1, 1, 6, 2);     /* [4,3] */
  lundi_tensor *u = lundi_unsqueeze(x[1], 0);       /* [1,4,1] */
  lundi_tensor *e = lundi_expand(u, 3, ex);         /* [2,4,6] */
  lundi_tensor *e2 = lundi_slice(e, 2, 0, 3, 1);    /* [2,4,3] */
  lundi_tensor *y = lundi_mul(s, e2);
  lundi_release(p); lundi_release(r); lundi_release(s); lundi_release(u); lundi_release(e); lundi_release(e2);
  return y;
}

static void test_views(void) { run2("views", f_views, leaf(3, 2, 3, 4, 1), leaf(2, 4, 1, 0, 1)); }

/* The test that keeps the checker honest: a deliberately wrong gradient must be caught. */
static lundi_tensor *f_wrong(lundi_tensor **x, void *c) {
  (void)c;
  lundi_tensor *y = lundi_mul(x[0], x[0]);
  lundi_tensor *d = lundi_detach(x[0]); /* drops half the product rule's gradient */
  lundi_tensor *z = lundi_mul(y, d);
  lundi_release(y);
  lundi_release(d);
  return z;
}

static void test_checker_catches_errors(void) {
  lundi_tensor *x = leaf(1, 6, 0, 0, 1);
  int before = t_failures;
  lundi_tensor *in[1] = {x};
  int bad = gradcheck("deliberately_wrong", f_wrong, 1, in, NULL, NULL);
  t_failures = before; /* the failure above is the expected outcome */
  CHECK(bad);
  lundi_release(x);
}

static const test_case tests[] = {
    {"binary_broadcast", test_binary_broadcast},
    {"binary_random_shapes", test_binary_random_shapes},
    {"unary", test_unary},
    {"activations", test_activations},
    {"clamp", test_clamp},
    {"where", test_where},
    {"reductions", test_reductions},
    {"matmul", test_matmul},
    {"views", test_views},
    {"checker_catches_errors", test_checker_catches_errors},
};
TEST_MAIN(tests)
