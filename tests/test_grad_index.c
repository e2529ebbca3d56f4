/* Indexing, resampling and joining: embedding, nearest upsampling, average pooling, concat
 * and split. Forwards against naive loops; gradients by finite differences on random shapes,
 * with strided (sliced / transposed) inputs. */
#include "gradcheck.h"

static lundi_rng rng = {4242, 0};
static uint32_t lcg = 12345;

/* Random size in [lo, hi]. */
static int64_t rdim(int64_t lo, int64_t hi) {
  lcg = lcg * 1664525u + 1013904223u;
  return lo + (int64_t)((lcg >> 8) % (uint32_t)(hi - lo + 1));
}

static lundi_tensor *leaf(int nd, const int64_t *s) { return t_randn(&rng, nd, s, 1.0f, 1); }

static lundi_tensor *ids_tensor(int nd, const int64_t *s, int32_t V) {
  return lundi_randint(&rng, nd, s, 0, V);
}

/* ---- embedding ---- */

static void naive_embedding(const float *w, int64_t D, const float *ids, int64_t N, double *out) {
  for (int64_t n = 0; n < N; n++)
    for (int64_t d = 0; d < D; d++) out[n * D + d] = w[(int64_t)ids[n] * D + d];
}

static void test_embedding_forward(void) {
  int64_t V = rdim(3, 9), D = rdim(1, 40), ws[2] = {V, D}, is[2] = {rdim(1, 4), rdim(1, 5)};
  lundi_tensor *w = leaf(2, ws), *idx = ids_tensor(2, is, (int32_t)V);
  lundi_tensor *idt = lundi_transpose(idx, 0, 1); /* strided ids */
  lundi_tensor *ys[2] = {lundi_embedding(w, idx), lundi_embedding(w, idt)};
  float *wv = t_read(w);
  for (int k = 0; k < 2; k++) {
    lundi_tensor *id = k ? idt : idx, *y = ys[k];
    CHECK(y && lundi_ndim(y) == 3 && lundi_dim(y, 2) == D && lundi_dim(y, 0) == lundi_dim(id, 0));
    if (!y) continue;
    int64_t N = lundi_numel(id);
    float *iv = t_read(id), *yv = t_read(y);
    double *ref = malloc(sizeof(double) * (size_t)(N * D));
    naive_embedding(wv, D, iv, N, ref);
    for (int64_t i = 0; i < N * D; i++) CHECK_NEAR(yv[i], ref[i], 0);
    free(iv); free(yv); free(ref);
  }
  free(wv);
  lundi_release(ys[0]); lundi_release(ys[1]); lundi_release(idt); lundi_release(idx); lundi_release(w);
}

static lundi_tensor *f_embed(lundi_tensor **x, void *c) { return lundi_embedding(x[0], c); }
static lundi_tensor *f_embed_t(lundi_tensor **x, void *c) {
  lundi_tensor *wt = lundi_transpose(x[0], 0, 1); /* leaf is [D, V]: a strided weight */
  lundi_tensor *y = lundi_embedding(wt, c);
  lundi_release(wt);
  return y;
}

static void test_embedding_grad(void) {
  int64_t V = rdim(3, 6), D = rdim(2, 5), ws[2] = {V, D}, wts[2] = {D, V}, is[2] = {rdim(2, 3), rdim(3, 5)};
  lundi_tensor *idx = ids_tensor(2, is, (int32_t)V); /* more ids than rows: repeats */
  lundi_tensor *w = leaf(2, ws), *wt = leaf(2, wts);
  gradcheck("embedding", f_embed, 1, &w, idx, NULL);
  gradcheck("embedding_strided_weight", f_embed_t, 1, &wt, idx, NULL);
  lundi_release(w); lundi_release(wt); lundi_release(idx);

  /* Many repeated ids over several column blocks: compare with a double-precision scatter. */
  int64_t V2 = 5, D2 = 70, N2 = 3000, ws2[2] = {V2, D2}, gs[2] = {N2, D2};
  lundi_tensor *w2 = leaf(2, ws2), *id2 = ids_tensor(1, &N2, (int32_t)V2), *g = lundi_randn(&rng, 2, gs);
  lundi_tensor *y = lundi_embedding(w2, id2);
  CHECK(y && !lundi_backward(y, g));
  float *iv = t_read(id2), *gv = t_read(g), *gw = lundi_grad(w2) ? t_read(lundi_grad(w2)) : NULL;
  CHECK(gw != NULL);
  double *ref = calloc((size_t)(V2 * D2), sizeof(double));
  for (int64_t n = 0; n < N2; n++)
    for (int64_t d = 0; d < D2; d++) ref[(int64_t)iv[n] * D2 + d] += gv[n * D2 + d];
  for (int64_t i = 0; gw && i < V2 * D2; i++) CHECK_NEAR(gw[i], ref[i], 1e-3);
  free(iv); free(gv); free(gw); free(ref);
  lundi_release(y); lundi_release(g); lundi_release(id2); lundi_release(w2);
}

static void test_embedding_errors(void) {
  int64_t ws[2] = {7, 3}, is[1] = {4};
  int32_t bad[4] = {1, 9, 2, 0}, neg[4] = {0, -1, 0, 0};
  lundi_tensor *w = leaf(2, ws), *i1 = lundi_from_i32(1, is, bad), *i2 = lundi_from_i32(1, is, neg);
  lundi_tensor *f = lundi_zeros(1, is), *w1 = leaf(1, is);
  CHECK_ERR(lundi_embedding(w, i1), "token id 9");
  CHECK_ERR(lundi_embedding(w, i1), "vocabulary of 7");
  CHECK_ERR(lundi_embedding(w, i2), "token id -1");
  CHECK_ERR(lundi_embedding(w, f), "idx must be i32");
  CHECK_ERR(lundi_embedding(w1, i2), "must be [V, D]");
  lundi_release(w); lundi_release(i1); lundi_release(i2); lundi_release(f); lundi_release(w1);
}

/* ---- nearest upsampling ---- */

static void naive_upsample(const float *x, int64_t NC, int64_t H, int64_t W, int64_t s, double *out) {
  for (int64_t p = 0; p < NC; p++)
    for (int64_t h = 0; h < H * s; h++)
      for (int64_t w = 0; w < W * s; w++) out[(p * H * s + h) * W * s + w] = x[(p * H + h / s) * W + w / s];
}

static void check_upsample(lundi_tensor *x, int s) {
  lundi_tensor *y = lundi_upsample_nearest2d(x, s);
  CHECK(y && lundi_dim(y, 2) == lundi_dim(x, 2) * s && lundi_dim(y, 3) == lundi_dim(x, 3) * s);
  if (!y) return;
  int64_t NC = lundi_dim(x, 0) * lundi_dim(x, 1), H = lundi_dim(x, 2), W = lundi_dim(x, 3);
  float *xv = t_read(x), *yv = t_read(y);
  double *ref = malloc(sizeof(double) * (size_t)lundi_numel(y));
  naive_upsample(xv, NC, H, W, s, ref);
  double m = 0;
  for (int64_t i = 0; i < lundi_numel(y); i++) m = fmax(m, fabs(yv[i] - ref[i]));
  CHECK_NEAR(m, 0, 0);
  free(xv); free(yv); free(ref);
  lundi_release(y);
}

static void test_upsample_forward(void) {
  int64_t s1[4] = {rdim(1, 3), rdim(1, 4), rdim(1, 6), rdim(1, 6)};
  lundi_tensor *x = leaf(4, s1);
  check_upsample(x, 2);
  check_upsample(x, 3);
  check_upsample(x, 1);
  lundi_tensor *xt = lundi_transpose(x, 2, 3), *xs = lundi_slice(x, 1, 0, s1[1], 2);
  check_upsample(xt, 2);
  check_upsample(xs, 2);
  lundi_release(xt); lundi_release(xs); lundi_release(x);
  int64_t big[4] = {8, 16, 14, 14}; /* the U-Net shape class: threaded path */
  lundi_tensor *xb = leaf(4, big);
  check_upsample(xb, 2);
  lundi_release(xb);
}

static lundi_tensor *f_up2(lundi_tensor **x, void *c) { (void)c; return lundi_upsample_nearest2d(x[0], 2); }
static lundi_tensor *f_up3_t(lundi_tensor **x, void *c) {
  (void)c;
  lundi_tensor *t = lundi_transpose(x[0], 2, 3), *s = lundi_slice(t, 1, 1, 4, 2);
  lundi_tensor *y = lundi_upsample_nearest2d(s, 3);
  lundi_release(t); lundi_release(s);
  return y;
}
/* A strided upstream gradient: the backward kernel must read gout through its strides. */
static lundi_tensor *f_up2_tail(lundi_tensor **x, void *c) {
  (void)c;
  lundi_tensor *y = lundi_upsample_nearest2d(x[0], 2), *t = lundi_transpose(y, 2, 3);
  lundi_release(y);
  return t;
}

static void test_upsample_grad(void) {
  int64_t s1[4] = {rdim(1, 2), rdim(1, 3), rdim(1, 4), rdim(1, 4)}, s2[4] = {2, 4, rdim(2, 4), rdim(2, 4)};
  lundi_tensor *a = leaf(4, s1), *b = leaf(4, s2);
  gradcheck("upsample_x2", f_up2, 1, &a, NULL, NULL);
  gradcheck("upsample_x2_strided_gout", f_up2_tail, 1, &a, NULL, NULL);
  gradcheck("upsample_x3_strided", f_up3_t, 1, &b, NULL, NULL);
  lundi_release(a); lundi_release(b);
}

/* ---- average pooling ---- */

static void naive_pool(const float *x, int64_t NC, int64_t H, int64_t W, int kh, int kw, int sh, int sw, double *out) {
  int64_t Ho = (H - kh) / sh + 1, Wo = (W - kw) / sw + 1;
  for (int64_t p = 0; p < NC; p++)
    for (int64_t i = 0; i < Ho; i++)
      for (int64_t j = 0; j < Wo; j++) {
        double acc = 0;
        for (int a = 0; a < kh; a++)
          for (int b = 0; b < kw; b++) acc += x[(p * H + i * sh + a) * W + j * sw + b];
        out[(p * Ho + i) * Wo + j] = acc / (kh * kw);
      }
}

static void check_pool(lundi_tensor *x, int k, int s) {
  int one_d = lundi_ndim(x) == 3;
  lundi_tensor *y = one_d ? lundi_avg_pool1d(x, k, s) : lundi_avg_pool2d(x, k, s);
  CHECK(y && lundi_ndim(y) == lundi_ndim(x));
  if (!y) return;
  int64_t NC = lundi_dim(x, 0) * lundi_dim(x, 1), H = one_d ? 1 : lundi_dim(x, 2), W = lundi_dim(x, -1);
  int ss = s ? s : k;
  float *xv = t_read(x), *yv = t_read(y);
  double *ref = malloc(sizeof(double) * (size_t)lundi_numel(y));
  naive_pool(xv, NC, H, W, one_d ? 1 : k, k, one_d ? 1 : ss, ss, ref);
  CHECK(lundi_dim(y, -1) == (W - k) / ss + 1);
  for (int64_t i = 0; i < lundi_numel(y); i++) CHECK_NEAR(yv[i], ref[i], 1e-5);
  free(xv); free(yv); free(ref);
  lundi_release(y);
}

static void test_avgpool_forward(void) {
  int64_t s4[4] = {rdim(1, 3), rdim(1, 4), rdim(4, 9), rdim(4, 9)}, s3[3] = {rdim(1, 3), rdim(1, 4), rdim(5, 12)};
  lundi_tensor *x = leaf(4, s4), *x1 = leaf(3, s3);
  check_pool(x, 2, 2);
  check_pool(x, 3, 2); /* overlapping-free but uneven */
  check_pool(x, 3, 1); /* overlapping windows */
  check_pool(x, 2, 0); /* stride 0 = kernel */
  check_pool(x1, 2, 2);
  check_pool(x1, 3, 1);
  lundi_tensor *xt = lundi_transpose(x, 2, 3), *x1s = lundi_slice(x1, 2, 0, s3[2], 2);
  check_pool(xt, 2, 2);
  check_pool(x1s, 2, 1);
  lundi_release(xt); lundi_release(x1s); lundi_release(x); lundi_release(x1);
  int64_t big[4] = {8, 16, 28, 28};
  lundi_tensor *xb = leaf(4, big);
  check_pool(xb, 2, 2);
  lundi_release(xb);
}

typedef struct { int k, s, transpose; } pool_ctx;
static lundi_tensor *f_pool(lundi_tensor **x, void *c) {
  pool_ctx *p = c;
  lundi_tensor *in = p->transpose ? lundi_transpose(x[0], -1, -2) : lundi_retain(x[0]);
  lundi_tensor *y = lundi_ndim(in) == 3 ? lundi_avg_pool1d(in, p->k, p->s) : lundi_avg_pool2d(in, p->k, p->s);
  lundi_release(in);
  return y;
}

static void test_avgpool_grad(void) {
  int64_t s4[4] = {rdim(1, 2), rdim(1, 3), rdim(4, 6), rdim(4, 6)}, s3[3] = {rdim(1, 2), rdim(2, 3), rdim(5, 9)};
  lundi_tensor *x = leaf(4, s4), *x1 = leaf(3, s3);
  pool_ctx c1 = {2, 2, 0}, c2 = {3, 1, 1}, c3 = {3, 2, 0}, c4 = {2, 1, 1};
  gradcheck("avg_pool2d_k2s2", f_pool, 1, &x, &c1, NULL);
  gradcheck("avg_pool2d_k3s1_transposed", f_pool, 1, &x, &c2, NULL);
  gradcheck("avg_pool1d_k3s2", f_pool, 1, &x1, &c3, NULL);
  gradcheck("avg_pool1d_k2s1_transposed", f_pool, 1, &x1, &c4, NULL); /* x1^T is [N, L, C] */
  lundi_release(x); lundi_release(x1);
}

/* ---- concat / split ---- */

static void test_concat_forward(void) {
  int64_t N = rdim(1, 3), H = rdim(1, 4), ca = rdim(1, 4), cb = rdim(1, 4);
  int64_t sa[3] = {N, ca, H}, sb[3] = {N, H, cb}, sc[3] = {N, 2, H};
  lundi_tensor *a = leaf(3, sa), *b0 = leaf(3, sb), *c = leaf(3, sc);
  lundi_tensor *b = lundi_transpose(b0, 1, 2); /* [N, cb, H], strided */
  lundi_tensor *ts[3] = {a, b, c};
  lundi_tensor *y = lundi_concat(3, ts, 1);
  int64_t C = ca + cb + 2;
  CHECK(y && lundi_dim(y, 1) == C);
  if (y) {
    float *av = t_read(a), *bv = t_read(b), *cv = t_read(c), *yv = t_read(y);
    for (int64_t n = 0; n < N; n++)
      for (int64_t ch = 0; ch < C; ch++)
        for (int64_t h = 0; h < H; h++) {
          double ref = ch < ca ? av[(n * ca + ch) * H + h]
                       : ch < ca + cb ? bv[(n * cb + ch - ca) * H + h]
                                      : cv[(n * 2 + ch - ca - cb) * H + h];
          CHECK_NEAR(yv[(n * C + ch) * H + h], ref, 0);
        }
    free(av); free(bv); free(cv); free(yv);
  }
  lundi_release(y);
  /* Many inputs (more than a tape node holds) along the last dim. */
  lundi_tensor *many[11];
  int64_t sm[2] = {2, 1};
  for (int k = 0; k < 11; k++) many[k] = lundi_full(2, sm, (float)k);
  lundi_tensor *ym = lundi_concat(11, many, -1);
  CHECK(ym && lundi_dim(ym, 1) == 11);
  float *mv = ym ? t_read(ym) : NULL;
  for (int k = 0; mv && k < 11; k++) CHECK(mv[k] == (float)k && mv[11 + k] == (float)k);
  free(mv);
  lundi_release(ym);
  for (int k = 0; k < 11; k++) lundi_release(many[k]);
  /* The U-Net skip concat shape: threaded row copies. */
  int64_t u1[4] = {16, 24, 14, 14}, u2[4] = {16, 40, 14, 14};
  lundi_tensor *p = leaf(4, u1), *q = leaf(4, u2), *pq[2] = {p, q};
  lundi_tensor *yu = lundi_concat(2, pq, 1);
  lundi_tensor *v1 = yu ? lundi_slice(yu, 1, 0, 24, 1) : NULL, *v2 = yu ? lundi_slice(yu, 1, 24, 64, 1) : NULL;
  CHECK(v1 && v2 && t_max_abs_diff(v1, p) == 0 && t_max_abs_diff(v2, q) == 0);
  lundi_release(v1); lundi_release(v2); lundi_release(yu); lundi_release(p); lundi_release(q);
  lundi_release(a); lundi_release(b); lundi_release(b0); lundi_release(c);
}

typedef struct { int dim; } cat_ctx;
static lundi_tensor *f_cat3(lundi_tensor **x, void *c) {
  int dim = ((cat_ctx *)c)->dim;
  lundi_tensor *bt = lundi_transpose(x[1], 0, 2); /* strided */
  lundi_tensor *ts[3] = {x[0], bt, x[2]};
  lundi_tensor *y = lundi_concat(3, ts, dim);
  lundi_release(bt);
  return y;
}
static lundi_tensor *f_cat_many(lundi_tensor **x, void *c) {
  (void)c;
  lundi_tensor *ts[10];
  for (int k = 0; k < 10; k++) ts[k] = x[k % 3];
  return lundi_concat(10, ts, 0);
}

static void test_concat_grad(void) {
  int64_t A = rdim(1, 3), B = rdim(1, 3);
  int64_t s0[3] = {2, A, 3}, s1[3] = {3, B, 2}, s2[3] = {2, 1, 3}; /* x[1]^T is [2, B, 3] */
  lundi_tensor *in[3] = {leaf(3, s0), leaf(3, s1), leaf(3, s2)};
  cat_ctx c1 = {1}, c2 = {-2};
  gradcheck("concat_dim1", f_cat3, 3, in, &c1, NULL);
  gradcheck("concat_dim_neg", f_cat3, 3, in, &c2, NULL);
  for (int k = 0; k < 3; k++) lundi_release(in[k]);
  int64_t m[2] = {1, rdim(1, 3)};
  lundi_tensor *mi[3] = {leaf(2, m), leaf(2, m), leaf(2, m)};
  gradcheck("concat_many_repeated", f_cat_many, 3, mi, NULL, NULL);
  for (int k = 0; k < 3; k++) lundi_release(mi[k]);
}

/* y = p0 * p2 + sum(p1, dim 1): every piece feeds the loss differently. */
static lundi_tensor *f_split(lundi_tensor **x, void *c) {
  (void)c;
  int64_t sizes[3] = {2, 3, 2};
  lundi_tensor *p[3] = {0};
  lundi_tensor *xt = lundi_transpose(x[0], 0, 1); /* [R, 7] strided */
  if (lundi_split(xt, 1, 3, sizes, p)) {
    lundi_release(xt);
    return NULL;
  }
  int ax[1] = {1};
  lundi_tensor *m = lundi_mul(p[0], p[2]), *s = lundi_sum(p[1], 1, ax, 1), *e = lundi_exp(s);
  lundi_tensor *y = lundi_add(m, e);
  lundi_release(m); lundi_release(s); lundi_release(e); lundi_release(xt);
  for (int k = 0; k < 3; k++) lundi_release(p[k]);
  return y;
}

static void test_split(void) {
  int64_t R = rdim(1, 4), s[2] = {7, R};
  lundi_tensor *x = t_randn(&rng, 2, s, 0.5f, 1);
  gradcheck("split", f_split, 1, &x, NULL, NULL);
  /* forward: pieces are views with the right values */
  lundi_tensor *p[3] = {0};
  int64_t sizes[3] = {3, 0, 4};
  CHECK(!lundi_split(x, 0, 3, sizes, p));
  CHECK(p[0] && p[1] && p[2] && lundi_dim(p[0], 0) == 3 && lundi_dim(p[1], 0) == 0 && lundi_dim(p[2], 0) == 4);
  float *xv = t_read(x), *p2 = p[2] ? t_read(p[2]) : NULL;
  for (int64_t i = 0; p2 && i < 4 * R; i++) CHECK(p2[i] == xv[3 * R + i]);
  CHECK(p[2] && lundi_data(p[2]) == (float *)lundi_data(x) + 3 * R); /* a view, not a copy */
  free(xv); free(p2);
  for (int k = 0; k < 3; k++) lundi_release(p[k]);
  /* sizes NULL: equal pieces */
  lundi_tensor *q[7] = {0};
  CHECK(!lundi_split(x, 0, 7, NULL, q));
  for (int k = 0; k < 7; k++) {
    CHECK(q[k] && lundi_dim(q[k], 0) == 1);
    lundi_release(q[k]);
  }
  lundi_release(x);
}

static void test_errors(void) {
  int64_t s3[3] = {2, 3, 4}, s4[4] = {1, 2, 3, 3}, s4b[4] = {1, 2, 4, 3};
  lundi_tensor *x3 = lundi_zeros(3, s4 + 1), *x4 = lundi_zeros(4, s4), *y4 = lundi_zeros(4, s4b), *z3 = lundi_zeros(3, s3);
  CHECK_ERR(lundi_upsample_nearest2d(x3, 2), "must be [N, C, H, W]");
  CHECK_ERR(lundi_upsample_nearest2d(x4, 0), "scale must be >= 1");
  CHECK_ERR(lundi_avg_pool2d(x4, 4, 1), "larger than the input [1,2,3,3]");
  CHECK_ERR(lundi_avg_pool2d(x3, 2, 2), "avg_pool2d: x [2,3,3] must be [N, C, H, W]");
  CHECK_ERR(lundi_avg_pool1d(x4, 2, 2), "must be [N, C, L]");
  CHECK_ERR(lundi_avg_pool1d(z3, 2, -1), "must be positive");
  lundi_tensor *pair[2] = {x4, y4};
  CHECK_ERR(lundi_concat(2, pair, 1), "tensor 1 [1,2,4,3] does not match tensor 0 [1,2,3,3]");
  lundi_tensor *ok = lundi_concat(2, pair, 2); /* along dim 2 they fit */
  CHECK(ok && lundi_dim(ok, 2) == 7);
  lundi_release(ok);
  lundi_tensor *mixed[2] = {x3, x4};
  CHECK_ERR(lundi_concat(2, mixed, 0), "does not match");
  CHECK_ERR(lundi_concat(2, pair, 4), "dim 4 is out of range");
  CHECK_ERR(lundi_concat(0, pair, 0), "at least one tensor");
  lundi_tensor *out[3];
  int64_t sz[2] = {1, 1}, szneg[2] = {4, -1};
  CHECK_ERR(lundi_split(z3, 2, 2, sz, out), "pieces sum to 2");
  CHECK_ERR(lundi_split(z3, 2, 2, szneg, out), "negative size");
  CHECK_ERR(lundi_split(z3, 1, 2, NULL, out), "[2,3,4] along dim 1 has size 3");
  lundi_release(x3); lundi_release(x4); lundi_release(y4); lundi_release(z3);
}

static const test_case tests[] = {
    {"embedding_forward", test_embedding_forward},
    {"embedding_grad", test_embedding_grad},
    {"embedding_errors", test_embedding_errors},
    {"upsample_forward", test_upsample_forward},
    {"upsample_grad", test_upsample_grad},
    {"avgpool_forward", test_avgpool_forward},
    {"avgpool_grad", test_avgpool_grad},
    {"concat_forward", test_concat_forward},
    {"concat_grad", test_concat_grad},
    {"split", test_split},
    {"errors", test_errors},
};
TEST_MAIN(tests)
