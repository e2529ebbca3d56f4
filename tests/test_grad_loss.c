/* Losses and dropout: mse_loss, cross_entropy (ignore_index, mask, label smoothing) and
 * inverted dropout. Forwards against naive double-precision loops and hand-computed values;
 * gradients by finite differences on random shapes, with strided inputs. */
#include "gradcheck.h"

static lundi_rng rng = {9001, 0};
static uint32_t lcg = 777;

static int64_t rdim(int64_t lo, int64_t hi) {
  lcg = lcg * 1664525u + 1013904223u;
  return lo + (int64_t)((lcg >> 8) % (uint32_t)(hi - lo + 1));
}

static lundi_tensor *leaf(int nd, const int64_t *s, float scale) { return t_randn(&rng, nd, s, scale, 1); }

static float scalar_of(lundi_tensor *t) {
  float v = NAN;
  if (t) lundi_item(t, &v);
  return v;
}

/* ---- mse ---- */

static void test_mse_forward(void) {
  int64_t s[3] = {rdim(1, 3), rdim(1, 5), rdim(1, 6)}, st[3] = {s[0], s[2], s[1]};
  lundi_tensor *a = leaf(3, s, 1), *b0 = leaf(3, st, 1), *b = lundi_transpose(b0, 1, 2);
  lundi_tensor *l = lundi_mse_loss(a, b);
  CHECK(l && lundi_ndim(l) == 0);
  float *av = t_read(a), *bv = t_read(b);
  double acc = 0;
  int64_t n = lundi_numel(a);
  for (int64_t i = 0; i < n; i++) acc += ((double)av[i] - bv[i]) * ((double)av[i] - bv[i]);
  CHECK_NEAR(scalar_of(l), acc / (double)n, 1e-5 * (1 + acc / (double)n));
  free(av); free(bv);
  lundi_release(l); lundi_release(a); lundi_release(b); lundi_release(b0);
}

static lundi_tensor *f_mse(lundi_tensor **x, void *c) {
  (void)c;
  lundi_tensor *bt = lundi_transpose(x[1], 0, 1); /* strided target */
  lundi_tensor *y = lundi_mse_loss(x[0], bt);
  lundi_release(bt);
  return y;
}

static void test_mse_grad(void) {
  int64_t R = rdim(2, 5), C = rdim(2, 5), sa[2] = {R, C}, sb[2] = {C, R};
  lundi_tensor *in[2] = {leaf(2, sa, 1), leaf(2, sb, 1)};
  gradcheck("mse_loss", f_mse, 2, in, NULL, NULL);
  lundi_release(in[0]); lundi_release(in[1]);
}

/* ---- cross-entropy ---- */

/* Naive reference over R rows of C classes. */
static double naive_ce(const float *x, const float *t, const float *mask, int64_t R, int64_t C, int ignore,
                       double ls) {
  double num = 0, den = 0;
  for (int64_t r = 0; r < R; r++) {
    int ti = (int)t[r];
    if (ti == ignore) continue;
    double w = mask ? mask[r] : 1.0, m = -INFINITY, se = 0, sx = 0;
    for (int64_t k = 0; k < C; k++) m = fmax(m, x[r * C + k]);
    for (int64_t k = 0; k < C; k++) {
      se += exp(x[r * C + k] - m);
      sx += x[r * C + k];
    }
    double lse = m + log(se);
    num += w * ((1 - ls) * (lse - x[r * C + ti]) + ls * (lse - sx / C));
    den += w;
  }
  return den != 0 ? num / den : 0;
}

static void test_ce_hand(void) {
  float xv[6] = {1, 2, 3, 0, 0, 0};
  int32_t t0[2] = {0, 2}, tign[2] = {0, -100};
  float mv[2] = {0.5f, 1.0f};
  int64_t s2[2] = {2, 3}, s1[1] = {2}, one[2] = {1, 3}, o1[1] = {1};
  lundi_tensor *x = lundi_from_f32(2, s2, xv), *t = lundi_from_i32(1, s1, t0), *ti = lundi_from_i32(1, s1, tign);
  lundi_tensor *m = lundi_from_f32(1, s1, mv), *x1 = lundi_from_f32(2, one, xv), *t1 = lundi_from_i32(1, o1, t0);
  double lse = log(exp(1.0) + exp(2.0) + exp(3.0)); /* 3.40760596 */
  lundi_tensor *l;
  l = lundi_cross_entropy(x1, t1, NULL, -100, 0);
  CHECK_NEAR(scalar_of(l), 2.40760596, 1e-6);
  lundi_release(l);
  l = lundi_cross_entropy(x1, t1, NULL, -100, 0.1f); /* 0.9 (lse - 1) + 0.1 (lse - 2) */
  CHECK_NEAR(scalar_of(l), lse - 1.1, 1e-6);
  lundi_release(l);
  l = lundi_cross_entropy(x, t, NULL, -100, 0);
  CHECK_NEAR(scalar_of(l), (lse - 1 + log(3.0)) / 2, 1e-6);
  lundi_release(l);
  l = lundi_cross_entropy(x, ti, NULL, -100, 0);
  CHECK_NEAR(scalar_of(l), lse - 1, 1e-6);
  lundi_release(l);
  l = lundi_cross_entropy(x, t, m, -100, 0);
  CHECK_NEAR(scalar_of(l), (0.5 * (lse - 1) + log(3.0)) / 1.5, 1e-6);
  lundi_release(l);
  /* Large logits stay finite: the log-sum-exp subtracts the row max. */
  float big[2] = {1000, 0};
  int32_t tb[1] = {1};
  int64_t sb[2] = {1, 2};
  lundi_tensor *xb = lundi_from_f32(2, sb, big), *tbt = lundi_from_i32(1, o1, tb);
  l = lundi_cross_entropy(xb, tbt, NULL, -100, 0);
  CHECK_NEAR(scalar_of(l), 1000, 1e-3);
  lundi_release(l);
  lundi_release(xb); lundi_release(tbt);
  lundi_release(x); lundi_release(t); lundi_release(ti); lundi_release(m); lundi_release(x1); lundi_release(t1);
}

/* Targets in [0, C) with about a quarter set to ignore. */
static lundi_tensor *targets(int nd, const int64_t *s, int64_t C, int ignore) {
  lundi_tensor *t = lundi_randint(&rng, nd, s, 0, (int32_t)C);
  int32_t *p = lundi_data(t);
  for (int64_t i = 0; i < lundi_numel(t); i += 4) p[i] = ignore;
  return t;
}

static lundi_tensor *mask_of(int nd, const int64_t *s) {
  lundi_tensor *m = lundi_rand(&rng, nd, s);
  float *p = lundi_data(m);
  for (int64_t i = 1; i < lundi_numel(m); i += 3) p[i] = 0; /* some entries masked out */
  return m;
}

static void check_ce(lundi_tensor *x, lundi_tensor *t, lundi_tensor *m, int ignore, float ls) {
  int64_t C = lundi_dim(x, -1), R = lundi_numel(x) / C;
  lundi_tensor *l = lundi_cross_entropy(x, t, m, ignore, ls);
  float *xv = t_read(x), *tv = t_read(t), *mv = m ? t_read(m) : NULL;
  double ref = naive_ce(xv, tv, mv, R, C, ignore, ls);
  CHECK_NEAR(scalar_of(l), ref, 1e-5 * (1 + fabs(ref)));
  free(xv); free(tv); free(mv);
  lundi_release(l);
}

static void test_ce_forward(void) {
  int64_t B = rdim(1, 4), L = rdim(1, 6), C = rdim(2, 9), s3[3] = {B, L, C}, s2[2] = {B, L};
  lundi_tensor *x = leaf(3, s3, 3), *t = targets(2, s2, C, -1), *m = mask_of(2, s2);
  check_ce(x, t, NULL, -1, 0);
  check_ce(x, t, NULL, -1, 0.2f);
  check_ce(x, t, m, -1, 0.1f);
  lundi_release(x); lundi_release(t); lundi_release(m);
  /* a wide, threaded case */
  int64_t sw[2] = {300, 500}, tw[1] = {300};
  lundi_tensor *xw = leaf(2, sw, 2), *tw_ = targets(1, tw, 500, -100);
  check_ce(xw, tw_, NULL, -100, 0.05f);
  lundi_release(xw); lundi_release(tw_);
}

typedef struct { lundi_tensor *t, *m; int ignore; float ls; int transpose; } ce_ctx;

static lundi_tensor *f_ce(lundi_tensor **x, void *c) {
  ce_ctx *p = c;
  lundi_tensor *in = p->transpose ? lundi_transpose(x[0], 0, 1) : lundi_retain(x[0]);
  lundi_tensor *y = lundi_cross_entropy(in, p->t, p->m, p->ignore, p->ls);
  lundi_release(in);
  return y;
}

static void test_ce_grad(void) {
  int64_t R = rdim(3, 6), C = rdim(2, 5), s2[2] = {R, C}, sT[2] = {C, R}, s1[1] = {R};
  lundi_tensor *x = leaf(2, s2, 2), *xT = leaf(2, sT, 2), *t = targets(1, s1, C, -100);
  ce_ctx c1 = {t, NULL, -100, 0, 0}, c2 = {t, NULL, -100, 0.15f, 0}, c3 = {t, NULL, -100, 0.1f, 1};
  gradcheck("ce_2d_ignore", f_ce, 1, &x, &c1, NULL);
  gradcheck("ce_2d_ignore_smoothing", f_ce, 1, &x, &c2, NULL);
  gradcheck("ce_2d_strided", f_ce, 1, &xT, &c3, NULL);
  int64_t B = rdim(1, 3), L = rdim(2, 4), s3[3] = {B, L, C}, sBL[2] = {B, L};
  lundi_tensor *x3 = leaf(3, s3, 2), *t3 = targets(2, sBL, C, 0), *m3 = mask_of(2, sBL);
  ce_ctx c4 = {t3, m3, 0, 0.2f, 0}, c5 = {t3, m3, -100, 0, 0};
  gradcheck("ce_3d_mask_smoothing", f_ce, 1, &x3, &c4, NULL);
  gradcheck("ce_3d_mask", f_ce, 1, &x3, &c5, NULL);
  /* everything ignored: the loss is 0 and so is the gradient */
  lundi_tensor *tall = lundi_full(1, s1, 0), *ti = lundi_to_dtype(tall, LUNDI_I32);
  lundi_tensor *l = lundi_cross_entropy(x, ti, NULL, 0, 0.1f);
  CHECK_NEAR(scalar_of(l), 0, 0);
  lundi_zero_grad(x);
  CHECK(l && !lundi_backward(l, NULL));
  lundi_tensor *zero = lundi_zeros(2, s2);
  CHECK(lundi_grad(x) && t_max_abs_diff(lundi_grad(x), zero) == 0);
  lundi_release(zero); lundi_release(l); lundi_release(tall); lundi_release(ti);
  lundi_release(x); lundi_release(xT); lundi_release(t); lundi_release(x3); lundi_release(t3); lundi_release(m3);
}

static void test_ce_errors(void) {
  int64_t s2[2] = {2, 3}, s1[1] = {2}, s3[1] = {3};
  int32_t bad[3] = {0, 3, 0}, neg[2] = {-1, 0};
  lundi_tensor *x = leaf(2, s2, 1), *tb = lundi_from_i32(1, s1, bad), *tn = lundi_from_i32(1, s1, neg);
  lundi_tensor *t3 = lundi_from_i32(1, s3, bad), *tf = lundi_zeros(1, s1), *m3 = lundi_zeros(1, s3);
  CHECK_ERR(lundi_cross_entropy(x, tb, NULL, -100, 0), "target 3 at position 1 is not a class in [0, 3)");
  CHECK_ERR(lundi_cross_entropy(x, tn, NULL, -100, 0), "target -1");
  lundi_tensor *ok = lundi_cross_entropy(x, tn, NULL, -1, 0); /* -1 is the ignore value here */
  CHECK(ok != NULL);
  lundi_release(ok);
  CHECK_ERR(lundi_cross_entropy(x, t3, NULL, -100, 0), "target [3] must be the logits [2,3] without the class dim");
  CHECK_ERR(lundi_cross_entropy(x, tf, NULL, -100, 0), "target must be i32");
  CHECK_ERR(lundi_cross_entropy(x, tn, m3, -1, 0), "mask [3] must have the target's shape [2]");
  CHECK_ERR(lundi_cross_entropy(x, tn, NULL, -1, 1.0f), "label_smoothing 1 is outside [0, 1)");
  CHECK_ERR(lundi_cross_entropy(x, tn, NULL, -1, -0.1f), "outside [0, 1)");
  lundi_tensor *y = leaf(1, s3, 1);
  CHECK_ERR(lundi_mse_loss(x, y), "mse_loss: pred [2,3] and target [3] differ");
  lundi_release(y);
  lundi_release(x); lundi_release(tb); lundi_release(tn); lundi_release(t3); lundi_release(tf); lundi_release(m3);
}

/* ---- dropout ---- */

static void test_dropout(void) {
  int64_t s[2] = {rdim(20, 40), rdim(20, 40)};
  int64_t n = s[0] * s[1];
  float p = 0.3f;
  lundi_tensor *x = leaf(2, s, 1);
  /* identity when not training or p == 0 */
  lundi_rng r0 = lundi_rng_make(5);
  lundi_tensor *e1 = lundi_dropout(x, p, 0, &r0), *e2 = lundi_dropout(x, 0, 1, &r0);
  CHECK(e1 && e2 && t_max_abs_diff(e1, x) == 0 && t_max_abs_diff(e2, x) == 0);
  CHECK(r0.offset == 0); /* no draw was made */
  lundi_release(e1); lundi_release(e2);
  /* the mask is (u >= p) / (1 - p) with u the Philox uniforms of the same rng state */
  lundi_rng ra = lundi_rng_make(99), rb = lundi_rng_make(99), ru = lundi_rng_make(99);
  lundi_tensor *y = lundi_dropout(x, p, 1, &ra), *y2 = lundi_dropout(x, p, 1, &rb);
  lundi_tensor *u = lundi_rand(&ru, 2, s);
  CHECK(y && y2 && t_max_abs_diff(y, y2) == 0 && ra.offset == ru.offset);
  lundi_tensor *y3 = lundi_dropout(x, p, 1, &ra); /* the rng advanced: a new mask */
  CHECK(y3 && t_max_abs_diff(y, y3) > 0);
  lundi_tensor *ones = lundi_full(2, s, 1);
  lundi_zero_grad(x);
  CHECK(y && !lundi_backward(y, ones));
  float *xv = t_read(x), *yv = t_read(y), *uv = t_read(u), *gv = lundi_grad(x) ? t_read(lundi_grad(x)) : NULL;
  int64_t dropped = 0;
  for (int64_t i = 0; gv && i < n; i++) {
    double mask = uv[i] >= p ? 1.0 / (1.0 - p) : 0.0;
    dropped += mask == 0;
    CHECK_NEAR(gv[i], mask, 1e-6);
    CHECK_NEAR(yv[i], xv[i] * mask, 1e-6);
  }
  CHECK(gv != NULL);
  CHECK(fabs((double)dropped / (double)n - p) < 0.08);
  free(xv); free(yv); free(uv); free(gv);
  lundi_release(y); lundi_release(y2); lundi_release(y3); lundi_release(u); lundi_release(ones);
  CHECK_ERR(lundi_dropout(x, 1.0f, 1, &ra), "dropout: p = 1 is outside [0, 1)");
  CHECK_ERR(lundi_dropout(x, -0.2f, 1, &ra), "outside [0, 1)");
  CHECK_ERR(lundi_dropout(x, -0.2f, 0, &ra), "outside [0, 1)"); /* checked even when not training */
  lundi_release(x);
}

typedef struct { uint64_t seed; int transpose; } drop_ctx;
static lundi_tensor *f_drop(lundi_tensor **x, void *c) {
  drop_ctx *d = c;
  lundi_rng r = lundi_rng_make(d->seed); /* the same mask on every call */
  lundi_tensor *in = d->transpose ? lundi_transpose(x[0], 0, 1) : lundi_retain(x[0]);
  lundi_tensor *y = lundi_dropout(in, 0.4f, 1, &r);
  lundi_release(in);
  return y;
}

static void test_dropout_grad(void) {
  int64_t s[2] = {rdim(2, 5), rdim(3, 6)};
  lundi_tensor *x = leaf(2, s, 1);
  drop_ctx d1 = {31, 0}, d2 = {32, 1};
  gradcheck("dropout", f_drop, 1, &x, &d1, NULL);
  gradcheck("dropout_strided", f_drop, 1, &x, &d2, NULL);
  lundi_release(x);
}

static const test_case tests[] = {
    {"mse_forward", test_mse_forward},
    {"mse_grad", test_mse_grad},
    {"ce_hand", test_ce_hand},
    {"ce_forward", test_ce_forward},
    {"ce_grad", test_ce_grad},
    {"ce_errors", test_ce_errors},
    {"dropout", test_dropout},
    {"dropout_grad", test_dropout_grad},
};
TEST_MAIN(tests)
