/* CPU scaled dot-product attention, fused: scores, mask, softmax and the value product run
 * per block of query rows, so the [L, S] score matrix never exists for the whole batch.
 * The forward keeps only the row log-sum-exp; the backward recomputes the probabilities.
 *
 * Shared contract of LUNDI_K_ATTN_FWD / LUNDI_K_ATTN_BWD:
 *   q [B, L, D], k [B, S, D], v [B, S, Dv]: contiguous (any shape with these numels);
 *   mask: NULL, or a view of shape [batch..., L, S] whose batch dims multiply to B (it
 *         may have stride 0 along broadcast dims); it is added to the scaled scores;
 *   i[0] B, i[1] L, i[2] S, i[3] D, i[4] Dv, i[5] causal; f[0] scale (> 0).
 *   causal blocks s > l + (S - L).
 * A query row whose scores are all -inf (fully masked) gets probabilities 0, not NaN: its
 * output row is 0, its lse is -inf, its q row gets a zero gradient and it adds nothing to
 * the gradients of k, v or the mask. */
#include "cpu/kernels.h"

#include <cblas.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "cpu/vexp.h"

#define ROWS 64 /* query rows per block; the forward and backward use the same blocks */

typedef struct attn {
  const float *q, *k, *v, *mask;
  int64_t B, L, S, D, Dv, causal;
  float scale;
  int mnb; /* mask batch dims */
  int64_t mshape[LUNDI_MAX_DIMS], mst[LUNDI_MAX_DIMS]; /* mask shape and strides */
} attn;

static attn attn_of(const lundi_kcall *c) {
  attn a = {.q = lundi__f32(c->in[0]), .k = lundi__f32(c->in[1]), .v = lundi__f32(c->in[2]),
            .B = c->i[0], .L = c->i[1], .S = c->i[2], .D = c->i[3], .Dv = c->i[4], .causal = c->i[5],
            .scale = (float)c->f[0]};
  lundi_tensor *m = c->in[3];
  if (m) {
    a.mask = lundi__f32(m);
    a.mnb = m->ndim - 2;
    memcpy(a.mshape, m->shape, sizeof(int64_t) * (size_t)m->ndim);
    memcpy(a.mst, m->stride, sizeof(int64_t) * (size_t)m->ndim);
  }
  return a;
}

/* s[r, :] = scale * q[b, l0 + r] . k[b]^T + mask, with causal entries set to -inf. */
static void scores(const attn *a, int64_t b, int64_t l0, int64_t nr, float *s) {
  int64_t S = a->S, D = a->D;
  cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasTrans, (int)nr, (int)S, (int)D, a->scale,
              a->q + (b * a->L + l0) * D, (int)D, a->k + b * S * D, (int)D, 0.0f, s, (int)S);
  if (a->mask) {
    int64_t off = 0, rem = b;
    for (int d = a->mnb - 1; d >= 0; d--) {
      off += (rem % a->mshape[d]) * a->mst[d];
      rem /= a->mshape[d];
    }
    int64_t sl = a->mst[a->mnb], ss = a->mst[a->mnb + 1];
    for (int64_t r = 0; r < nr; r++) {
      const float *mr = a->mask + off + (l0 + r) * sl;
      float *sr = s + r * S;
      if (ss == 1) {
#pragma omp simd
        for (int64_t j = 0; j < S; j++) sr[j] += mr[j];
      } else {
        for (int64_t j = 0; j < S; j++) sr[j] += mr[j * ss];
      }
    }
  }
  if (a->causal)
    for (int64_t r = 0; r < nr; r++) {
      int64_t first = l0 + r + (S - a->L) + 1; /* first blocked s */
      for (int64_t j = first < 0 ? 0 : first; j < S; j++) s[r * S + j] = -INFINITY;
    }
}

/* LUNDI_K_ATTN_FWD: out[0] o [B, L, Dv], out[1] lse [B, L] (log-sum-exp of each row of
 * scores, -inf for a fully masked row). Parallel over (b, block of query rows). */
LUNDI_WIDE_CLONES int lundi_cpu_attn_fwd(const lundi_kcall *c) {
  attn a = attn_of(c);
  float *o = lundi__f32(c->out[0]), *lse = lundi__f32(c->out[1]);
  int64_t nblk = (a.L + ROWS - 1) / ROWS, ntask = a.B * nblk, S = a.S, Dv = a.Dv;
  int err = 0;
#pragma omp parallel for schedule(dynamic) if (ntask > 1 && a.B * a.L * S * (a.D + Dv) > 65536)
  for (int64_t t = 0; t < ntask; t++) {
    int64_t b = t / nblk, l0 = (t % nblk) * ROWS, nr = a.L - l0 < ROWS ? a.L - l0 : ROWS;
    float *s = malloc(sizeof(float) * (size_t)(nr * S));
    if (!s) {
#pragma omp atomic write
      err = 1;
      continue;
    }
    scores(&a, b, l0, nr, s);
    for (int64_t r = 0; r < nr; r++) {
      float *sr = s + r * S, mx = lundi__max_row(sr, S);
      if (mx == -INFINITY) {
        memset(sr, 0, sizeof(float) * (size_t)S);
        lse[b * a.L + l0 + r] = -INFINITY;
        continue;
      }
      double sum = lundi__exp_shift_sum(sr, sr, S, mx);
      float inv = (float)(1.0 / sum);
#pragma omp simd
      for (int64_t j = 0; j < S; j++) sr[j] *= inv;
      lse[b * a.L + l0 + r] = mx + (float)log(sum);
    }
    if (Dv > 0)
      cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasNoTrans, (int)nr, (int)Dv, (int)S, 1.0f, s, (int)S,
                  a.v + b * S * Dv, (int)Dv, 0.0f, o + (b * a.L + l0) * Dv, (int)Dv);
    free(s);
  }
  return err ? lundi__err(LUNDI_ENOMEM, "attention: out of host memory for scores") : 0;
}

/* LUNDI_K_ATTN_BWD: in[4] gout [B, L, Dv], in[5] lse [B, L] from the forward;
 * out[0] dq [B, L, D], out[1] dk [B, S, D], out[2] dv [B, S, Dv], out[3] dscores
 * [B, L, S] (the gradient of the masked, scaled scores, i.e. of a full-size mask); each
 * output may be NULL. With P = exp(scores - lse), dP = g v^T, dS = P (dP - rowsum(P dP)):
 * dv = P^T g, dq = scale dS k, dk = scale dS^T q. Parallel over b; blocks of query rows
 * accumulate dk and dv. */
LUNDI_WIDE_CLONES int lundi_cpu_attn_bwd(const lundi_kcall *c) {
  attn a = attn_of(c);
  const float *go = lundi__f32(c->in[4]), *lse = lundi__f32(c->in[5]);
  float *dq = c->out[0] ? lundi__f32(c->out[0]) : NULL, *dk = c->out[1] ? lundi__f32(c->out[1]) : NULL;
  float *dv = c->out[2] ? lundi__f32(c->out[2]) : NULL, *dsc = c->out[3] ? lundi__f32(c->out[3]) : NULL;
  int64_t L = a.L, S = a.S, D = a.D, Dv = a.Dv, nblk = (L + ROWS - 1) / ROWS;
  int need_ds = dq || dk || dsc, err = 0;
  if (dk) memset(dk, 0, sizeof(float) * (size_t)(a.B * S * D));
  if (dv) memset(dv, 0, sizeof(float) * (size_t)(a.B * S * Dv));
#pragma omp parallel for schedule(dynamic) if (a.B > 1 && a.B * L * S * (D + Dv) > 65536)
  for (int64_t b = 0; b < a.B; b++) {
    int64_t rows = L < ROWS ? L : ROWS;
    float *p = malloc(sizeof(float) * (size_t)(rows * S + 1)), *dp = malloc(sizeof(float) * (size_t)(rows * S + 1));
    if (!p || !dp) {
      free(p);
      free(dp);
#pragma omp atomic write
      err = 1;
      continue;
    }
    const float *qb = a.q + b * L * D, *kb = a.k + b * S * D, *vb = a.v + b * S * Dv, *gb = go + b * L * Dv;
    for (int64_t blk = 0; blk < nblk; blk++) {
      int64_t l0 = blk * ROWS, nr = L - l0 < ROWS ? L - l0 : ROWS;
      scores(&a, b, l0, nr, p);
      for (int64_t r = 0; r < nr; r++) {
        float m = lse[b * L + l0 + r], *pr = p + r * S;
        if (m == -INFINITY)
          memset(pr, 0, sizeof(float) * (size_t)S);
        else
          lundi__exp_shift_sum(pr, pr, S, m);
      }
      if (dv && Dv > 0)
        cblas_sgemm(CblasRowMajor, CblasTrans, CblasNoTrans, (int)S, (int)Dv, (int)nr, 1.0f, p, (int)S,
                    gb + l0 * Dv, (int)Dv, 1.0f, dv + b * S * Dv, (int)Dv);
      if (!need_ds) continue;
      if (Dv > 0)
        cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasTrans, (int)nr, (int)S, (int)Dv, 1.0f, gb + l0 * Dv,
                    (int)Dv, vb, (int)Dv, 0.0f, dp, (int)S);
      else
        memset(dp, 0, sizeof(float) * (size_t)(nr * S));
      for (int64_t r = 0; r < nr; r++) {
        float *pr = p + r * S, *dr = dp + r * S;
        float delta = 0;
#pragma omp simd reduction(+ : delta)
        for (int64_t j = 0; j < S; j++) delta += pr[j] * dr[j];
#pragma omp simd
        for (int64_t j = 0; j < S; j++) dr[j] = pr[j] * (dr[j] - delta);
      }
      if (dsc) memcpy(dsc + (b * L + l0) * S, dp, sizeof(float) * (size_t)(nr * S));
      if (dq)
        cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasNoTrans, (int)nr, (int)D, (int)S, a.scale, dp, (int)S, kb,
                    (int)D, 0.0f, dq + (b * L + l0) * D, (int)D);
      if (dk)
        cblas_sgemm(CblasRowMajor, CblasTrans, CblasNoTrans, (int)S, (int)D, (int)nr, a.scale, dp, (int)S,
                    qb + l0 * D, (int)D, 1.0f, dk + b * S * D, (int)D);
    }
    free(p);
    free(dp);
  }
  return err ? lundi__err(LUNDI_ENOMEM, "attention_backward: out of host memory for scores") : 0;
}
