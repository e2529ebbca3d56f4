/* Tensors, views, dtypes, Philox and the tape's bookkeeping. */
#include "harness.h"

#include <stdint.h>

static void test_create_and_read(void) {
  int64_t s[2] = {2, 3};
  float v[6] = {1, 2, 3, 4, 5, 6};
  lundi_tensor *t = lundi_from_f32(2, s, v);
  CHECK(t && lundi_ndim(t) == 2 && lundi_numel(t) == 6 && lundi_is_contiguous(t));
  char buf[64];
  CHECK(strcmp(lundi_describe(t, buf, sizeof buf), "f32[2,3] cpu") == 0);
  float out[6];
  CHECK(lundi_read_f32(t, out, 6) == 0 && out[5] == 6);
  CHECK(lundi_read_f32(t, out, 5) != 0);
  float x;
  CHECK_ERR(lundi_item(t, &x), "6 elements");
  lundi_tensor *z = lundi_full(2, s, 2.5f);
  CHECK(lundi_read_f32(z, out, 6) == 0 && out[0] == 2.5f && out[5] == 2.5f);
  lundi_tensor *a = lundi_arange(0, 5, 2);
  CHECK(a && lundi_numel(a) == 3);
  int64_t bad[1] = {-2};
  CHECK_ERR(lundi_empty(1, bad, LUNDI_F32, NULL), "negative size");
  int64_t many[7] = {1, 1, 1, 1, 1, 1, 1};
  CHECK_ERR(lundi_empty(7, many, LUNDI_F32, NULL), "at most 6");
  lundi_release(t);
  lundi_release(z);
  lundi_release(a);
}

static void test_views_share_storage(void) {
  int64_t s[3] = {2, 3, 4};
  lundi_tensor *t = lundi_zeros(3, s);
  float *p = lundi_data(t);
  for (int i = 0; i < 24; i++) p[i] = (float)i;
  int perm[3] = {2, 0, 1};
  lundi_tensor *pt = lundi_permute(t, perm); /* [4,2,3] */
  CHECK(lundi_dim(pt, 0) == 4 && !lundi_is_contiguous(pt));
  float out[24];
  lundi_read_f32(pt, out, 24);
  CHECK(out[1] == 4.0f); /* pt[0,0,1] = t[0,1,0] */
  lundi_tensor *sl = lundi_slice(t, 2, 1, 4, 2); /* [2,3,2]: cols 1,3 */
  lundi_read_f32(sl, out, 12);
  CHECK(out[0] == 1 && out[1] == 3 && out[2] == 5);
  CHECK(lundi_fill_(sl, -1.0f) == 0);
  CHECK(p[1] == -1 && p[3] == -1 && p[2] == 2); /* writes land in the base */
  int64_t r[2] = {6, -1};
  lundi_tensor *rs = lundi_reshape(t, 2, r);
  CHECK(rs && lundi_dim(rs, 1) == 4 && lundi_data(rs) == (void *)p);
  /* reshape of a permuted view needs a copy, and must give row-major order */
  int64_t r2[1] = {24};
  lundi_tensor *flat = lundi_reshape(pt, 1, r2);
  lundi_read_f32(flat, out, 24);
  CHECK(out[0] == 0 && out[1] == 4 && out[2] == 8 && out[6] == -1);
  int64_t e[3] = {5, 3, 3};
  lundi_tensor *s1 = lundi_slice(t, 0, 0, 1, 1);
  lundi_tensor *s1r = lundi_slice(s1, 2, 0, 3, 1);
  CHECK(lundi_dim(s1r, 0) == 1 && lundi_dim(s1r, 2) == 3);
  lundi_tensor *ex = lundi_expand(s1r, 3, e);
  CHECK(ex && lundi_strides(ex)[0] == 0 && lundi_numel(ex) == 45);
  int64_t bad[3] = {5, 2, 3};
  CHECK_ERR(lundi_expand(s1r, 3, bad), "cannot expand [1,3,3] to [5,2,3]");
  int64_t r3[2] = {5, 5};
  CHECK_ERR(lundi_reshape(t, 2, r3), "cannot view [2,3,4] (24 elements) as [5,5]");
  CHECK_ERR(lundi_permute(t, (int[]){0, 0, 1}), "permute");
  CHECK_ERR(lundi_slice(t, 3, 0, 1, 1), "dim 3 is out of range");
  lundi_tensor *us = lundi_unsqueeze(t, -1);
  CHECK(us && lundi_ndim(us) == 4 && lundi_dim(us, 3) == 1);
  lundi_tensor *sq = lundi_squeeze(us, 3);
  CHECK(sq && lundi_ndim(sq) == 3);
  CHECK_ERR(lundi_squeeze(t, 0), "not 1");
  lundi_release(t); /* views keep the storage alive */
  lundi_read_f32(pt, out, 24);
  CHECK(out[4] == 16.0f); /* pt[0,1,1] = t[1,1,0] */
  lundi_release(pt); lundi_release(sl); lundi_release(rs); lundi_release(flat); lundi_release(s1);
  lundi_release(s1r); lundi_release(ex); lundi_release(us); lundi_release(sq);
}

static void test_broadcast_errors(void) {
  int64_t a[2] = {2, 3}, b[2] = {4, 3};
  lundi_tensor *x = lundi_zeros(2, a), *y = lundi_zeros(2, b);
  CHECK_ERR(lundi_add(x, y), "add: shapes [2,3] and [4,3] do not broadcast");
  int64_t m[2] = {3, 5};
  lundi_tensor *w = lundi_zeros(2, m);
  CHECK_ERR(lundi_matmul(w, x), "matmul: inner dims differ: [3,5] @ [2,3]");
  int64_t i[1] = {2};
  lundi_tensor *idx = lundi_from_i32(1, i, (int32_t[]){1, 2});
  CHECK_ERR(lundi_exp(idx), "must be f32");
  lundi_release(x); lundi_release(y); lundi_release(w); lundi_release(idx);
}

static void test_dtypes(void) {
  /* exact values and rounding cases */
  CHECK(lundi_f32_to_f16(1.0f) == 0x3c00);
  CHECK(lundi_f32_to_f16(-2.0f) == 0xc000);
  CHECK(lundi_f32_to_f16(65504.0f) == 0x7bff);
  CHECK(lundi_f32_to_f16(65520.0f) == 0x7c00); /* rounds to inf */
  CHECK(lundi_f32_to_f16(5.960464477539063e-08f) == 0x0001); /* smallest subnormal */
  CHECK(lundi_f32_to_f16(1.0f + 1.0f / 2048) == 0x3c00);     /* tie to even */
  CHECK(lundi_f32_to_f16(1.0f + 3.0f / 2048) == 0x3c02);
  CHECK(lundi_f16_to_f32(0x3555) > 0.333f && lundi_f16_to_f32(0x3555) < 0.3334f);
  CHECK(isnan(lundi_f16_to_f32(lundi_f32_to_f16(NAN))));
  CHECK(isinf(lundi_f16_to_f32(0xfc00)) && lundi_f16_to_f32(0xfc00) < 0);
  CHECK(lundi_f32_to_bf16(1.0f) == 0x3f80);
  CHECK(lundi_f32_to_bf16(1.00390625f) == 0x3f80); /* tie to even */
  CHECK(lundi_f32_to_bf16(1.01171875f) == 0x3f82);
  CHECK(isnan(lundi_bf16_to_f32(lundi_f32_to_bf16(NAN))));
  /* every finite f16 round-trips exactly */
  int bad = 0;
  for (uint32_t h = 0; h < 0x10000; h++) {
    if ((h & 0x7c00) == 0x7c00) continue;
    if (lundi_f32_to_f16(lundi_f16_to_f32((uint16_t)h)) != h) bad++;
  }
  CHECK(bad == 0);
  int64_t s[1] = {3};
  lundi_tensor *t = lundi_from_f32(1, s, (float[]){1.5f, -3.25f, 1e-3f});
  lundi_tensor *h = lundi_to_dtype(t, LUNDI_F16), *back = h ? lundi_to_dtype(h, LUNDI_F32) : NULL;
  float out[3];
  CHECK(back && lundi_read_f32(back, out, 3) == 0 && out[0] == 1.5f && out[1] == -3.25f &&
        fabsf(out[2] - 1e-3f) < 1e-6f);
  lundi_release(t); lundi_release(h); lundi_release(back);
}

static void test_philox_known_answers(void) {
  /* Random123 known-answer vectors for philox4x32_10 */
  uint32_t r[4];
  lundi_philox4x32_10(0, 0, 0, r);
  CHECK(r[0] == 0x6627e8d5u && r[1] == 0xe169c58du && r[2] == 0xbc57ac4cu && r[3] == 0x9b00dbd8u);
  lundi_philox4x32_10(UINT64_MAX, UINT64_MAX, UINT64_MAX, r);
  CHECK(r[0] == 0x408f276du && r[1] == 0x41c83b0eu && r[2] == 0xa20bc7c6u && r[3] == 0x6d5451fdu);
  lundi_philox4x32_10(0x85a308d3243f6a88ull, 0x0370734413198a2eull, 0x299f31d0a4093822ull, r);
  CHECK(r[0] == 0xd16cfe09u && r[1] == 0x94fdccebu && r[2] == 0x5001e420u && r[3] == 0x24126ea1u);
}

static void test_rng_streams(void) {
  lundi_rng a = lundi_rng_make(42), b = lundi_rng_make(42);
  int64_t s[1] = {10};
  lundi_tensor *x = lundi_randn(&a, 1, s), *y = lundi_randn(&b, 1, s);
  CHECK(t_max_abs_diff(x, y) == 0);
  CHECK(a.offset == 3); /* ceil(10/4) blocks */
  /* element i comes from block offset + i/4: drawing 8 then 2 equals drawing 10 */
  lundi_rng c = lundi_rng_make(42);
  int64_t s8[1] = {8}, s2[1] = {2};
  lundi_tensor *p = lundi_randn(&c, 1, s8), *q = lundi_randn(&c, 1, s2);
  float vx[10], vp[8], vq[2];
  lundi_read_f32(x, vx, 10);
  lundi_read_f32(p, vp, 8);
  lundi_read_f32(q, vq, 2);
  CHECK(memcmp(vx, vp, sizeof vp) == 0 && memcmp(vx + 8, vq, sizeof vq) == 0);
  /* statistics of a large draw */
  int64_t big[1] = {200000};
  lundi_rng d = lundi_rng_make(7);
  lundi_tensor *n = lundi_randn(&d, 1, big), *u = lundi_rand(&d, 1, big);
  float *vn = t_read(n), *vu = t_read(u);
  double m = 0, v = 0, mu = 0, umin = 1, umax = 0;
  for (int i = 0; i < 200000; i++) {
    m += vn[i];
    v += (double)vn[i] * vn[i];
    mu += vu[i];
    if (vu[i] < umin) umin = vu[i];
    if (vu[i] > umax) umax = vu[i];
  }
  m /= 200000, v = v / 200000 - m * m, mu /= 200000;
  CHECK(fabs(m) < 0.01 && fabs(v - 1) < 0.02 && fabs(mu - 0.5) < 0.005 && umin >= 0 && umax < 1);
  free(vn);
  free(vu);
  lundi_tensor *ri = lundi_randint(&d, 1, big, -3, 4);
  int32_t *pi = lundi_data(ri);
  int lo = 99, hi = -99;
  for (int i = 0; i < 200000; i++) lo = pi[i] < lo ? pi[i] : lo, hi = pi[i] > hi ? pi[i] : hi;
  CHECK(lo == -3 && hi == 3);
  lundi_release(x); lundi_release(y); lundi_release(p); lundi_release(q); lundi_release(n);
  lundi_release(u); lundi_release(ri);
}

static void test_autograd_bookkeeping(void) {
  int64_t s[1] = {3};
  lundi_tensor *x = lundi_from_f32(1, s, (float[]){1, 2, 3});
  lundi_set_requires_grad(x, 1);
  /* gradients accumulate across backward calls */
  for (int k = 0; k < 2; k++) {
    lundi_tensor *y = lundi_mul(x, x), *l = lundi_sum(y, 0, NULL, 0);
    CHECK(lundi_backward(l, NULL) == 0);
    CHECK_ERR(lundi_backward(l, NULL), "already freed");
    lundi_release(y);
    lundi_release(l);
  }
  float g[3];
  lundi_read_f32(lundi_grad(x), g, 3);
  CHECK(g[0] == 4 && g[1] == 8 && g[2] == 12);
  lundi_zero_grad(x);
  CHECK(lundi_grad(x) == NULL);
  /* no_grad records nothing */
  lundi_no_grad_enter();
  lundi_tensor *y = lundi_mul(x, x);
  lundi_no_grad_exit();
  CHECK(!lundi_requires_grad(y) && lundi_is_leaf(y));
  lundi_tensor *l = lundi_sum(y, 0, NULL, 0);
  CHECK_ERR(lundi_backward(l, NULL), "does not require grad");
  /* non-scalar backward needs a seed of the same shape */
  lundi_tensor *z = lundi_exp(x);
  CHECK_ERR(lundi_backward(z, NULL), "pass a seed gradient");
  lundi_tensor *bad = lundi_zeros(1, (int64_t[]){4});
  CHECK_ERR(lundi_backward(z, bad), "seed gradient [4] does not match tensor [3]");
  /* a shared sub-expression gets the sum of both paths */
  lundi_tensor *e = lundi_exp(x), *a = lundi_add(e, e), *sa = lundi_sum(a, 0, NULL, 0);
  CHECK(lundi_backward(sa, NULL) == 0);
  lundi_read_f32(lundi_grad(x), g, 3);
  CHECK_NEAR(g[0], 2 * exp(1.0), 1e-5);
  /* a leaf's grad is private: scaling it in place must not touch other tensors */
  lundi_tensor *p = lundi_from_f32(1, s, (float[]){1, 1, 1}), *q = lundi_from_f32(1, s, (float[]){1, 1, 1});
  lundi_set_requires_grad(p, 1);
  lundi_set_requires_grad(q, 1);
  lundi_tensor *pq = lundi_add(p, q), *spq = lundi_sum(pq, 0, NULL, 0);
  lundi_backward(spq, NULL);
  CHECK(lundi_grad(p) != lundi_grad(q) && lundi_data(lundi_grad(p)) != lundi_data(lundi_grad(q)));
  lundi_tensor *it = lundi_from_i32(1, s, (int32_t[]){1, 2, 3});
  CHECK_ERR(lundi_set_requires_grad(it, 1), "i32 tensors cannot have gradients");
  lundi_release(x); lundi_release(y); lundi_release(l); lundi_release(z); lundi_release(bad);
  lundi_release(e); lundi_release(a); lundi_release(sa); lundi_release(p); lundi_release(q);
  lundi_release(pq); lundi_release(spq); lundi_release(it);
}

static void test_reduce_values(void) {
  { /* an empty reduced axis sums to zero (and used to divide by zero) */
    int64_t se[2] = {4, 0};
    int one = 1;
    lundi_tensor *e = lundi_zeros(2, se), *es = lundi_sum(e, 1, &one, 0);
    float z[4] = {1, 1, 1, 1};
    CHECK(es && lundi_numel(es) == 4 && lundi_read_f32(es, z, 4) == 0);
    CHECK(z[0] == 0 && z[1] == 0 && z[2] == 0 && z[3] == 0);
    lundi_release(es);
    lundi_release(e);
  }
  int64_t s[3] = {2, 3, 4};
  lundi_tensor *t = lundi_zeros(3, s);
  float *p = lundi_data(t);
  for (int i = 0; i < 24; i++) p[i] = (float)((i * 7) % 11) - 5;
  int ax1[1] = {1}, ax02[2] = {0, 2};
  lundi_tensor *s1 = lundi_sum(t, 1, ax1, 0), *m02 = lundi_max(t, 2, ax02, 1), *mn = lundi_mean(t, 0, NULL, 0);
  float v[8];
  lundi_read_f32(s1, v, 8);
  for (int a = 0; a < 2; a++)
    for (int c = 0; c < 4; c++) {
      float ref = 0;
      for (int b = 0; b < 3; b++) ref += p[a * 12 + b * 4 + c];
      CHECK(v[a * 4 + c] == ref);
    }
  CHECK(lundi_ndim(m02) == 3 && lundi_dim(m02, 1) == 3);
  lundi_read_f32(m02, v, 3);
  for (int b = 0; b < 3; b++) {
    float ref = -1e9f;
    for (int a = 0; a < 2; a++)
      for (int c = 0; c < 4; c++) ref = fmaxf(ref, p[a * 12 + b * 4 + c]);
    CHECK(v[b] == ref);
  }
  float mean;
  double ref = 0;
  for (int i = 0; i < 24; i++) ref += p[i];
  CHECK(lundi_item(mn, &mean) == 0);
  CHECK_NEAR(mean, ref / 24, 1e-6);
  CHECK_ERR(lundi_sum(t, 2, (int[]){1, 1}, 0), "listed twice");
  lundi_release(t); lundi_release(s1); lundi_release(m02); lundi_release(mn);
}

static void test_matmul_values(void) {
  /* batch-broadcast matmul against loops */
  lundi_rng r = lundi_rng_make(3);
  int64_t sa[3] = {3, 4, 5}, sb[2] = {5, 6};
  lundi_tensor *a = lundi_randn(&r, 3, sa), *b = lundi_randn(&r, 2, sb);
  lundi_tensor *c = lundi_matmul(a, b);
  float *pa = lundi_data(a), *pb = lundi_data(b), *pc = lundi_data(c);
  double err = 0;
  for (int n = 0; n < 3; n++)
    for (int i = 0; i < 4; i++)
      for (int j = 0; j < 6; j++) {
        double s = 0;
        for (int k = 0; k < 5; k++) s += (double)pa[n * 20 + i * 5 + k] * pb[k * 6 + j];
        err = fmax(err, fabs(s - pc[n * 24 + i * 6 + j]));
      }
  CHECK(err < 1e-5);
  lundi_release(a); lundi_release(b); lundi_release(c);
}

/* Graphs free themselves: after backward and releasing the results, nothing is left alive
 * but the leaves and their gradients. */
static void test_graph_frees_itself(void) {
  int64_t base_t = lundi_live_tensors(), base_b = lundi_live_storage_bytes();
  lundi_rng r = lundi_rng_make(5);
  int64_t s[2] = {4, 5};
  lundi_tensor *w = t_randn(&r, 2, s, 1, 1);
  for (int step = 0; step < 3; step++) {
    lundi_tensor *a = lundi_exp(w), *b = lundi_transpose(a, 0, 1), *c = lundi_matmul(w, b);
    lundi_tensor *d = lundi_slice(c, 0, 1, 3, 1), *e = lundi_max(d, 1, (int[]){1}, 0);
    lundi_tensor *l = lundi_mean(e, 0, NULL, 0);
    CHECK(l && lundi_backward(l, NULL) == 0);
    lundi_release(a), lundi_release(b), lundi_release(c), lundi_release(d), lundi_release(e), lundi_release(l);
    /* only w and its gradient remain */
    CHECK(lundi_live_tensors() == base_t + 2);
  }
  /* a graph dropped without backward also frees everything */
  lundi_tensor *a = lundi_exp(w), *b = lundi_mul(a, w);
  lundi_release(a);
  lundi_release(b);
  CHECK(lundi_live_tensors() == base_t + 2);
  lundi_release(w);
  CHECK(lundi_live_tensors() == base_t && lundi_live_storage_bytes() == base_b);
}

/* Large shapes take the threaded and chunked paths; they must agree with plain loops. */
static void test_threaded_paths(void) {
  lundi_rng r = lundi_rng_make(11);
  int64_t sa[2] = {1000, 128}, sb[1] = {128}, sc[2] = {1000, 1};
  lundi_tensor *a = lundi_randn(&r, 2, sa), *b = lundi_randn(&r, 1, sb), *c = lundi_randn(&r, 2, sc);
  float *pa = lundi_data(a), *pb = lundi_data(b), *pc = lundi_data(c);
  lundi_tensor *ab = lundi_add(a, b), *ac = lundi_mul(a, c), *sl = lundi_silu(a);
  int ax0[1] = {0}, ax1[1] = {1};
  lundi_tensor *s0 = lundi_sum(a, 1, ax0, 0), *s1 = lundi_sum(a, 1, ax1, 0), *m1 = lundi_max(a, 1, ax1, 0);
  float *vab = lundi_data(ab), *vac = lundi_data(ac), *vsl = lundi_data(sl), *vs0 = lundi_data(s0),
        *vs1 = lundi_data(s1), *vm1 = lundi_data(m1);
  double e_add = 0, e_mul = 0, e_silu = 0, e_s0 = 0, e_s1 = 0, e_m1 = 0;
  for (int i = 0; i < 1000; i++) {
    double rs = 0, rm = -1e30;
    for (int j = 0; j < 128; j++) {
      float x = pa[i * 128 + j];
      e_add = fmax(e_add, fabs(vab[i * 128 + j] - (x + pb[j])));
      e_mul = fmax(e_mul, fabs(vac[i * 128 + j] - x * pc[i]));
      e_silu = fmax(e_silu, fabs(vsl[i * 128 + j] - x / (1 + exp(-x))));
      rs += x;
      rm = fmax(rm, x);
    }
    e_s1 = fmax(e_s1, fabs(vs1[i] - rs));
    e_m1 = fmax(e_m1, fabs(vm1[i] - rm));
  }
  for (int j = 0; j < 128; j++) {
    double cs = 0;
    for (int i = 0; i < 1000; i++) cs += pa[i * 128 + j];
    e_s0 = fmax(e_s0, fabs(vs0[j] - cs));
  }
  CHECK(e_add == 0 && e_mul == 0 && e_m1 == 0);
  CHECK(e_silu < 1e-6 && e_s0 < 1e-3 && e_s1 < 1e-3);
  /* a big matmul (multithreaded sgemm) and a transposed-operand one */
  int64_t sw[2] = {128, 64};
  lundi_tensor *w = lundi_randn(&r, 2, sw), *y = lundi_matmul(a, w);
  float *pw = lundi_data(w), *py = lundi_data(y);
  double e_mm = 0;
  for (int i = 0; i < 1000; i += 7)
    for (int j = 0; j < 64; j++) {
      double acc = 0;
      for (int k = 0; k < 128; k++) acc += (double)pa[i * 128 + k] * pw[k * 64 + j];
      e_mm = fmax(e_mm, fabs(acc - py[i * 64 + j]));
    }
  CHECK(e_mm < 1e-3);
  /* the split-by-rows small-GEMM path with a transposed A: a[:200]^T-shaped view */
  lundi_tensor *a200 = lundi_slice(a, 0, 0, 200, 1), *at = lundi_transpose(a200, 0, 1); /* [128,200] */
  int64_t sv[2] = {200, 48};
  lundi_tensor *v = lundi_randn(&r, 2, sv), *z = lundi_matmul(at, v); /* [128,48] */
  float *pv = lundi_data(v), *pz = lundi_data(z);
  double e_t = 0;
  for (int i = 0; i < 128; i++)
    for (int j = 0; j < 48; j++) {
      double acc = 0;
      for (int k = 0; k < 200; k++) acc += (double)pa[k * 128 + i] * pv[k * 48 + j];
      e_t = fmax(e_t, fabs(acc - pz[i * 48 + j]));
    }
  CHECK(e_t < 1e-3);
  lundi_release(a200), lundi_release(at), lundi_release(v), lundi_release(z);
  lundi_tensor *all[] = {a, b, c, ab, ac, sl, s0, s1, m1, w, y};
  for (size_t k = 0; k < sizeof all / sizeof *all; k++) lundi_release(all[k]);
}

static const test_case tests[] = {
    {"threaded_paths", test_threaded_paths},
    {"graph_frees_itself", test_graph_frees_itself},
    {"create_and_read", test_create_and_read},
    {"views_share_storage", test_views_share_storage},
    {"broadcast_errors", test_broadcast_errors},
    {"dtypes", test_dtypes},
    {"philox_known_answers", test_philox_known_answers},
    {"rng_streams", test_rng_streams},
    {"autograd_bookkeeping", test_autograd_bookkeeping},
    {"reduce_values", test_reduce_values},
    {"matmul_values", test_matmul_values},
};
TEST_MAIN(tests)
