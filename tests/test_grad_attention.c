/* Scaled dot-product attention and rotary embeddings: forward against naive double
 * references, gradients against finite differences, fully masked rows, shape errors. */
#include "gradcheck.h"

static lundi_rng rng = {8080, 0};
static uint64_t lcg = 7;

static int64_t rdim(int lo, int hi) { return t_rand_dim(&lcg, lo, hi); }

static lundi_tensor *randn_t(int nd, const int64_t *s, float scale, int rg) { return t_randn(&rng, nd, s, scale, rg); }

/* Offset into a logical-order (row-major) array of shape (nd, shape) for the full index
 * (fnd, fidx), with numpy broadcasting (right-aligned, size-1 dims repeat). */
static int64_t bcast_off(int nd, const int64_t *shape, int fnd, const int64_t *fidx) {
  int64_t off = 0, st = 1;
  for (int j = nd - 1; j >= 0; j--) {
    int64_t i = fidx[fnd - nd + j];
    off += (shape[j] == 1 ? 0 : i) * st;
    st *= shape[j];
  }
  return off;
}

typedef struct host_t {
  int nd;
  int64_t shape[6];
  float *v;
} host_t;

static host_t host(lundi_tensor *t) {
  host_t h = {0};
  if (!t) return h;
  h.nd = lundi_ndim(t);
  for (int d = 0; d < h.nd; d++) h.shape[d] = lundi_dim(t, d);
  h.v = t_read(t);
  return h;
}

/* Reference attention; out has the broadcast batch shape [bs..., L, Dv] in logical order. */
static double *ref_sdpa(lundi_tensor *qt, lundi_tensor *kt, lundi_tensor *vt, lundi_tensor *mt, int causal, double scale,
                        int nb, const int64_t *bs) {
  host_t q = host(qt), k = host(kt), v = host(vt), m = host(mt);
  int64_t L = q.shape[q.nd - 2], D = q.shape[q.nd - 1], S = k.shape[k.nd - 2], Dv = v.shape[v.nd - 1], B = 1;
  for (int d = 0; d < nb; d++) B *= bs[d];
  if (scale <= 0) scale = 1 / sqrt((double)D);
  double *out = calloc((size_t)(B * L * Dv + 1), sizeof(double)), *sc = malloc(sizeof(double) * (size_t)S);
  for (int64_t b = 0; b < B; b++) {
    int64_t idx[6], rem = b;
    for (int d = nb - 1; d >= 0; d--) idx[d] = rem % bs[d], rem /= bs[d];
    for (int64_t l = 0; l < L; l++) {
      double mx = -INFINITY;
      for (int64_t j = 0; j < S; j++) {
        double s = 0;
        for (int64_t d = 0; d < D; d++) {
          idx[nb] = l, idx[nb + 1] = d;
          double a = q.v[bcast_off(q.nd, q.shape, nb + 2, idx)];
          idx[nb] = j;
          s += a * k.v[bcast_off(k.nd, k.shape, nb + 2, idx)];
        }
        s *= scale;
        if (m.v) {
          idx[nb] = l, idx[nb + 1] = j;
          s += m.v[bcast_off(m.nd, m.shape, nb + 2, idx)];
        }
        if (causal && j > l + (S - L)) s = -INFINITY;
        sc[j] = s;
        mx = fmax(mx, s);
      }
      if (mx == -INFINITY) continue; /* fully masked: zeros */
      double sum = 0;
      for (int64_t j = 0; j < S; j++) sum += (sc[j] = exp(sc[j] - mx));
      for (int64_t e = 0; e < Dv; e++) {
        double acc = 0;
        for (int64_t j = 0; j < S; j++) {
          idx[nb] = j, idx[nb + 1] = e;
          acc += sc[j] / sum * v.v[bcast_off(v.nd, v.shape, nb + 2, idx)];
        }
        out[(b * L + l) * Dv + e] = acc;
      }
    }
  }
  free(q.v), free(k.v), free(v.v), free(m.v), free(sc);
  return out;
}

static void check_sdpa(const char *name, lundi_tensor *q, lundi_tensor *k, lundi_tensor *v, lundi_tensor *mask,
                       int causal, float scale, int nb, const int64_t *bs) {
  lundi_tensor *o = lundi_sdpa(q, k, v, mask, causal, scale);
  CHECK(o != NULL);
  if (!o) return;
  double *ref = ref_sdpa(q, k, v, mask, causal, scale, nb, bs);
  float *ov = t_read(o);
  int64_t n = lundi_numel(o);
  CHECK(lundi_ndim(o) == nb + 2);
  double err = 0;
  for (int64_t i = 0; i < n; i++) {
    double e = fabs(ov[i] - ref[i]);
    if (!(e <= err)) err = e;
  }
  if (err > 2e-5) fprintf(stderr, "sdpa %s: max err %g\n", name, err);
  CHECK(err <= 2e-5);
  free(ref), free(ov);
  lundi_release(o);
}

static void test_sdpa_forward(void) {
  for (int rep = 0; rep < 2; rep++) {
    int64_t B = rdim(1, 3), H = rdim(1, 4), L = rdim(1, 9), S = rdim(1, 9), D = rdim(1, 8), Dv = rdim(1, 6);
    int64_t bs[2] = {B, H}, sq[4] = {B, H, L, D}, sk[4] = {B, H, S, D}, sv[4] = {B, H, S, Dv};
    lundi_tensor *q = randn_t(4, sq, 1, 0), *k = randn_t(4, sk, 1, 0), *v = randn_t(4, sv, 1, 0);
    int64_t sm[2] = {L, S}, smb[4] = {B, 1, L, S}, skp[4] = {B, 1, 1, S};
    lundi_tensor *m = randn_t(2, sm, 1, 0), *mb = randn_t(4, smb, 1, 0);
    /* key padding: the last key of batch 0 blocked */
    lundi_tensor *kp = lundi_zeros(4, skp);
    ((float *)lundi_data(kp))[S - 1] = -INFINITY;
    check_sdpa("plain", q, k, v, NULL, 0, 0, 2, bs);
    check_sdpa("scale", q, k, v, NULL, 0, 0.3f, 2, bs);
    check_sdpa("mask_2d", q, k, v, m, 0, 0, 2, bs);
    check_sdpa("mask_batch", q, k, v, mb, 0, 0, 2, bs);
    check_sdpa("key_padding", q, k, v, kp, 0, 0, 2, bs);
    check_sdpa("causal", q, k, v, NULL, 1, 0, 2, bs);
    check_sdpa("causal_mask", q, k, v, mb, 1, 0, 2, bs);
    /* k and v shared by every batch entry and head */
    int64_t sk2[2] = {S, D}, sv3[3] = {1, S, Dv};
    lundi_tensor *k2 = randn_t(2, sk2, 1, 0), *v3 = randn_t(3, sv3, 1, 0);
    check_sdpa("kv_broadcast", q, k2, v3, m, 1, 0, 2, bs);
    lundi_release(q), lundi_release(k), lundi_release(v), lundi_release(m), lundi_release(mb), lundi_release(kp);
    lundi_release(k2), lundi_release(v3);
  }
  /* L < S, L > S with causal (fully masked rows), 3-D and 2-D inputs */
  int64_t a[3] = {3, 5, 4}, b[3] = {3, 9, 4}, c2[2] = {7, 4}, c3[2] = {3, 4}, bs3[1] = {3};
  lundi_tensor *q = randn_t(3, a, 1, 0), *k = randn_t(3, b, 1, 0), *v = randn_t(3, b, 1, 0);
  check_sdpa("L<S causal", q, k, v, NULL, 1, 0, 1, bs3);
  check_sdpa("L>S causal", k, q, q, NULL, 1, 0, 1, bs3);
  lundi_tensor *q2 = randn_t(2, c2, 1, 0), *k2 = randn_t(2, c3, 1, 0);
  check_sdpa("2d causal", q2, k2, k2, NULL, 1, 0, 0, NULL);
  lundi_release(q), lundi_release(k), lundi_release(v), lundi_release(q2), lundi_release(k2);
  /* several 64-row blocks and the threaded path, strided q */
  int64_t sqb[4] = {2, 150, 4, 16}, skb[4] = {2, 4, 130, 16}, smk[2] = {150, 130}, bsb[2] = {2, 4};
  lundi_tensor *qb = randn_t(4, sqb, 1, 0), *qt = lundi_transpose(qb, 1, 2), *kb = randn_t(4, skb, 1, 0);
  lundi_tensor *mk = randn_t(2, smk, 1, 0);
  check_sdpa("big", qt, kb, kb, mk, 1, 0, 2, bsb);
  lundi_release(qb), lundi_release(qt), lundi_release(kb), lundi_release(mk);
}

/* ctx for gradchecks: mode selects how the leaves become q, k, v */
typedef struct at_ctx {
  int mode, causal;
  lundi_tensor *mask;
} at_ctx;

static lundi_tensor *f_sdpa(lundi_tensor **in, void *vc) {
  at_ctx *c = vc;
  if (c->mode == 0) return lundi_sdpa(in[0], in[1], in[2], c->mask, c->causal, 0);
  if (c->mode == 2) return lundi_sdpa(in[0], in[1], in[2], in[3], c->causal, 0.7f);
  /* strided: q [B, L, H, D] transposed, k a step-2 slice, v [.., Dv, S] transposed */
  lundi_tensor *q = lundi_transpose(in[0], 1, 2), *k = lundi_slice(in[1], 2, 0, lundi_dim(in[1], 2), 2);
  lundi_tensor *v = lundi_transpose(in[2], -1, -2);
  lundi_tensor *o = lundi_sdpa(q, k, v, c->mask, c->causal, 0);
  lundi_release(q), lundi_release(k), lundi_release(v);
  return o;
}

static void run_gc(const char *name, at_ctx *ctx, int n, lundi_tensor **in) {
  gradcheck(name, f_sdpa, n, in, ctx, NULL);
  for (int i = 0; i < n; i++) lundi_release(in[i]);
}

static void test_sdpa_grad(void) {
  int64_t B = 2, H = rdim(1, 2), L = rdim(2, 4), S = rdim(2, 4), D = rdim(2, 4), Dv = rdim(1, 3);
  int64_t sq[4] = {B, H, L, D}, sk[4] = {B, H, S, D}, sv[4] = {B, H, S, Dv}, sm[4] = {B, 1, L, S};
  lundi_tensor *mask = randn_t(4, sm, 1, 0);
  for (int causal = 0; causal < 2; causal++) {
    at_ctx ctx = {0, causal, NULL};
    lundi_tensor *in[3] = {randn_t(4, sq, 1, 1), randn_t(4, sk, 1, 1), randn_t(4, sv, 1, 1)};
    run_gc(causal ? "sdpa_causal" : "sdpa", &ctx, 3, in);
    ctx.mask = mask;
    lundi_tensor *in2[3] = {randn_t(4, sq, 1, 1), randn_t(4, sk, 1, 1), randn_t(4, sv, 1, 1)};
    run_gc(causal ? "sdpa_mask_causal" : "sdpa_mask", &ctx, 3, in2);
  }
  /* L > S with causal: the first query row is fully masked */
  int64_t q4[3] = {2, 4, 3}, k3[3] = {2, 3, 3};
  at_ctx cm = {0, 1, NULL};
  lundi_tensor *in3[3] = {randn_t(3, q4, 1, 1), randn_t(3, k3, 1, 1), randn_t(3, k3, 1, 1)};
  run_gc("sdpa_fully_masked_row", &cm, 3, in3);
  /* strided views */
  int64_t sqs[4] = {B, L, H, D}, sks[4] = {B, H, 2 * S, D}, svs[4] = {B, H, Dv, S};
  at_ctx cs = {1, 1, mask};
  lundi_tensor *in4[3] = {randn_t(4, sqs, 1, 1), randn_t(4, sks, 1, 1), randn_t(4, svs, 1, 1)};
  run_gc("sdpa_strided", &cs, 3, in4);
  /* k, v shared over batch and heads (gradients summed back), mask [L, S] */
  int64_t sk2[2] = {S, D}, sv2[3] = {1, S, Dv}, m2[2] = {L, S};
  lundi_tensor *mask2 = randn_t(2, m2, 1, 0);
  at_ctx cb = {0, 0, mask2};
  lundi_tensor *in5[3] = {randn_t(4, sq, 1, 1), randn_t(2, sk2, 1, 1), randn_t(3, sv2, 1, 1)};
  run_gc("sdpa_kv_broadcast", &cb, 3, in5);
  /* the mask itself as a differentiable input (a learned bias), explicit scale */
  at_ctx cg = {2, 1, NULL};
  int64_t m3[3] = {H, L, S};
  lundi_tensor *in6[4] = {randn_t(4, sq, 1, 1), randn_t(4, sk, 1, 1), randn_t(4, sv, 1, 1), randn_t(3, m3, 1, 1)};
  run_gc("sdpa_mask_grad", &cg, 4, in6);
  lundi_release(mask), lundi_release(mask2);
}

static void test_sdpa_fully_masked(void) {
  /* row 1 of every head is fully masked: output row 0, gradients finite, q's row 1 gets 0 */
  int64_t sq[4] = {1, 2, 3, 4}, sm[2] = {3, 5}, sk[4] = {1, 2, 5, 4};
  lundi_tensor *q = randn_t(4, sq, 1, 1), *k = randn_t(4, sk, 1, 1), *v = randn_t(4, sk, 1, 1);
  lundi_tensor *m = lundi_zeros(2, sm);
  float *mv = lundi_data(m);
  for (int j = 0; j < 5; j++) mv[5 + j] = -INFINITY;
  mv[2] = -INFINITY;
  lundi_tensor *o = lundi_sdpa(q, k, v, m, 0, 0);
  CHECK(o != NULL);
  float *ov = o ? t_read(o) : NULL;
  for (int h = 0; h < 2 && ov; h++)
    for (int e = 0; e < 4; e++) {
      CHECK(ov[(h * 3 + 1) * 4 + e] == 0.0f);
      CHECK(isfinite(ov[(h * 3 + 0) * 4 + e]));
    }
  lundi_tensor *g = lundi_full(4, sq, 1.0f);
  CHECK(o && lundi_backward(o, g) == 0);
  lundi_tensor *ts[3] = {q, k, v};
  for (int t = 0; t < 3; t++) {
    lundi_tensor *gr = lundi_grad(ts[t]);
    CHECK(gr != NULL);
    if (!gr) continue;
    float *gv = t_read(gr);
    for (int64_t i = 0; i < lundi_numel(gr); i++) CHECK(isfinite(gv[i]));
    if (t == 0)
      for (int h = 0; h < 2; h++)
        for (int e = 0; e < 4; e++) CHECK(gv[(h * 3 + 1) * 4 + e] == 0.0f);
    free(gv);
  }
  free(ov);
  lundi_release(q), lundi_release(k), lundi_release(v), lundi_release(m), lundi_release(o), lundi_release(g);
}

/* ---- rope ---- */

static void test_rope_forward(void) {
  int64_t offs[3] = {0, 5, 1000};
  for (int t = 0; t < 3; t++) {
    int64_t s[4] = {rdim(1, 3), rdim(1, 3), rdim(1, 9), 2 * rdim(1, 8)}, L = s[2], D = s[3], h = D / 2;
    float base = t == 1 ? 100.0f : 10000.0f;
    int64_t st[4] = {s[0], s[2], s[1], s[3]}; /* t == 2: x is a transposed view */
    lundi_tensor *x = randn_t(4, t == 2 ? st : s, 1, 0);
    lundi_tensor *xv = t == 2 ? lundi_transpose(x, 1, 2) : lundi_retain(x);
    lundi_tensor *y = lundi_rope(xv, base, offs[t]);
    CHECK(y != NULL);
    if (!y) continue;
    float *a = t_read(xv), *b = t_read(y);
    double err = 0;
    for (int64_t r = 0; r < lundi_numel(x) / D; r++) {
      int64_t l = r % L;
      for (int64_t i = 0; i < h; i++) {
        double th = (double)(offs[t] + l) * pow(base, -2.0 * (double)i / (double)D), c = cos(th), sn = sin(th);
        double x1 = a[r * D + i], x2 = a[r * D + i + h];
        err = fmax(err, fabs(b[r * D + i] - (x1 * c - x2 * sn)));
        err = fmax(err, fabs(b[r * D + i + h] - (x2 * c + x1 * sn)));
      }
    }
    CHECK(err <= 1e-5);
    free(a), free(b);
    lundi_release(x), lundi_release(xv), lundi_release(y);
  }
}

typedef struct rope_ctx {
  int strided;
  int64_t off;
} rope_ctx;

static lundi_tensor *f_rope(lundi_tensor **in, void *vc) {
  rope_ctx *c = vc;
  lundi_tensor *x = c->strided ? lundi_transpose(in[0], 1, 2) : lundi_retain(in[0]);
  lundi_tensor *y = lundi_rope(x, 10000.0f, c->off);
  lundi_release(x);
  return y;
}

static void test_rope_grad(void) {
  for (int strided = 0; strided < 2; strided++) {
    int64_t s[4] = {2, rdim(1, 3), rdim(2, 4), 2 * rdim(1, 3)};
    rope_ctx ctx = {strided, strided ? 37 : 0};
    lundi_tensor *x = randn_t(4, s, 1, 1);
    gradcheck(strided ? "rope_transposed_offset" : "rope", f_rope, 1, &x, &ctx, NULL);
    lundi_release(x);
  }
}

/* ---- errors ---- */

static void test_attention_errors(void) {
  int64_t a[3] = {2, 3, 4}, b[3] = {2, 5, 3}, c[3] = {2, 5, 4}, d[3] = {2, 6, 4}, e[3] = {3, 5, 4}, m1[2] = {4, 5},
          m2[3] = {7, 3, 5}, o[1] = {4}, r[3] = {2, 3, 5};
  lundi_tensor *q = randn_t(3, a, 1, 0), *kb = randn_t(3, b, 1, 0), *k = randn_t(3, c, 1, 0), *vb = randn_t(3, d, 1, 0),
               *kx = randn_t(3, e, 1, 0), *mb = randn_t(2, m1, 1, 0), *mx = randn_t(3, m2, 1, 0),
               *v1 = randn_t(1, o, 1, 0), *odd = randn_t(3, r, 1, 0);
  CHECK_ERR(lundi_sdpa(q, kb, k, NULL, 0, 0), "sdpa: q and k differ in the last (head) dim ([2,3,4] and [2,5,3])");
  CHECK_ERR(lundi_sdpa(q, k, vb, NULL, 0, 0), "sdpa: k and v differ in sequence length ([2,5,4] and [2,6,4])");
  CHECK_ERR(lundi_sdpa(q, kx, kx, NULL, 0, 0), "shapes [2] and [3] do not broadcast");
  CHECK_ERR(lundi_sdpa(q, k, k, mb, 0, 0), "sdpa: mask [4,5] does not broadcast to the scores [2,3,5]");
  CHECK_ERR(lundi_sdpa(q, k, k, mx, 0, 0), "sdpa: mask [7,3,5] does not broadcast to the scores [2,3,5]");
  CHECK_ERR(lundi_sdpa(v1, k, k, NULL, 0, 0), "sdpa: q [4], k [2,5,4], v [2,5,4] must be");
  CHECK_ERR(lundi_rope(odd, 10000.0f, 0), "rope: input [2,3,5] must be [..., L, D] with D even");
  CHECK_ERR(lundi_rope(v1, 10000.0f, 0), "rope: input [4] must be");
  CHECK_ERR(lundi_rope(q, 0.0f, 0), "rope: base 0 must be > 0");
  lundi_release(q), lundi_release(kb), lundi_release(k), lundi_release(vb), lundi_release(kx);
  lundi_release(mb), lundi_release(mx), lundi_release(v1), lundi_release(odd);
}

static const test_case tests[] = {
    {"sdpa_forward", test_sdpa_forward},
    {"sdpa_grad", test_sdpa_grad},
    {"sdpa_fully_masked", test_sdpa_fully_masked},
    {"rope_forward", test_rope_forward},
    {"rope_grad", test_rope_grad},
    {"attention_errors", test_attention_errors},
};
TEST_MAIN(tests)
