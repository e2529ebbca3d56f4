/* CPU cross-entropy over rows of logits, with ignore_index, per-row weights (mask) and
 * label smoothing, using a numerically stable log-sum-exp. */
#include "cpu/kernels.h"

#include <math.h>
#include <stdlib.h>

/* Row weight: 0 for ignored targets, else the mask value (1 without a mask). */
static inline double row_weight(int32_t t, int64_t ignore, const float *mask, int64_t r) {
  if (t == ignore) return 0.0;
  return mask ? (double)mask[r] : 1.0;
}

/* LUNDI_K_CROSS_ENTROPY_FWD:
 *   in[0] logits [R, C] f32 contiguous, in[1] target [R] i32 contiguous,
 *   in[2] mask [R] f32 contiguous (only when n_in == 3);
 *   i[0] = ignore_index, f[0] = label smoothing ls in [0, 1).
 *   out[0] loss (1 element) = sum_r w_r l_r / sum_r w_r, or 0 when sum_r w_r == 0,
 *   out[1] lse [R] = log sum_c exp(logits[r, c]) (kept for the backward),
 *   out[2] wsum (1 element) = sum_r w_r,
 * with w_r = 0 if target[r] == ignore_index else mask[r] (1 without mask) and
 * l_r = (1 - ls) (lse_r - x[r, t_r]) + ls (lse_r - mean_c x[r, c]) (PyTorch's smoothing).
 * Targets other than ignore_index must be in [0, C); the front-end checks them.
 * Rows run in parallel; the final sums are serial in double so the result is deterministic. */
int lundi_cpu_cross_entropy_fwd(const lundi_kcall *c) {
  lundi_tensor *x = c->in[0];
  const float *xp = lundi__f32(x), *mask = c->n_in > 2 && c->in[2] ? lundi__f32(c->in[2]) : NULL;
  const int32_t *tp = lundi__i32(c->in[1]);
  float *lse = lundi__f32(c->out[1]);
  int64_t R = x->shape[0], C = x->shape[1], ignore = c->i[0];
  double ls = c->f[0];
  double *rl = malloc(sizeof(double) * (size_t)(R ? R : 1));
  if (!rl) return lundi__err(LUNDI_ENOMEM, "cross_entropy: out of host memory for %lld rows", (long long)R);
#pragma omp parallel for schedule(static) if (R * C > 32768)
  for (int64_t r = 0; r < R; r++) {
    const float *row = xp + r * C;
    float m = -INFINITY;
    for (int64_t k = 0; k < C; k++) m = row[k] > m ? row[k] : m;
    double se = 0, sx = 0;
    for (int64_t k = 0; k < C; k++) {
      se += exp((double)row[k] - m);
      sx += row[k];
    }
    double l = (double)m + log(se);
    lse[r] = (float)l;
    double w = row_weight(tp[r], ignore, mask, r);
    rl[r] = w == 0.0 ? 0.0 : w * ((1.0 - ls) * (l - row[tp[r]]) + ls * (l - sx / (double)C));
  }
  double sl = 0, sw = 0;
  for (int64_t r = 0; r < R; r++) {
    sl += rl[r];
    sw += row_weight(tp[r], ignore, mask, r);
  }
  free(rl);
  *lundi__f32(c->out[0]) = sw != 0.0 ? (float)(sl / sw) : 0.0f;
  *lundi__f32(c->out[2]) = (float)sw;
  return 0;
}

/* LUNDI_K_CROSS_ENTROPY_BWD:
 *   in[0] logits [R, C], in[1] target [R] i32, in[2] lse [R] (from the forward),
 *   in[3] wsum (1 element, from the forward), in[4] gout (1 element),
 *   in[5] mask [R] (only when n_in == 6); all contiguous. i[0], f[0] as in the forward.
 *   out[0] glogits [R, C] contiguous, overwritten:
 *   g[r, c] = gout / wsum * w_r * (softmax(x_r)_c - (1 - ls) [c == t_r] - ls / C),
 *   and 0 everywhere when wsum == 0. */
int lundi_cpu_cross_entropy_bwd(const lundi_kcall *c) {
  lundi_tensor *x = c->in[0], *o = c->out[0];
  const float *xp = lundi__f32(x), *lse = lundi__f32(c->in[2]);
  const float *mask = c->n_in > 5 && c->in[5] ? lundi__f32(c->in[5]) : NULL;
  const int32_t *tp = lundi__i32(c->in[1]);
  float *gp = lundi__f32(o);
  int64_t R = x->shape[0], C = x->shape[1], ignore = c->i[0];
  float wsum = *lundi__f32(c->in[3]), gout = *lundi__f32(c->in[4]);
  float ls = (float)c->f[0];
  float scale = wsum != 0.0f ? gout / wsum : 0.0f, off = ls / (float)C;
#pragma omp parallel for schedule(static) if (R * C > 32768)
  for (int64_t r = 0; r < R; r++) {
    const float *row = xp + r * C;
    float *g = gp + r * C;
    float s = scale * (float)row_weight(tp[r], ignore, mask, r);
    if (s == 0.0f) {
      for (int64_t k = 0; k < C; k++) g[k] = 0.0f;
      continue;
    }
    float l = lse[r];
    for (int64_t k = 0; k < C; k++) g[k] = s * (expf(row[k] - l) - off);
    g[tp[r]] -= s * (1.0f - ls);
  }
  return 0;
}
