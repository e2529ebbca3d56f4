/* Backward of the fused silu(group_norm(x)) (the forward shares norm.c's group norm kernel):
 * the U-Net follows every GroupNorm with a SiLU, and fusing saves a read and write each way.
 * Statistics are those of the group norm kernels (lundi_cpu_span_stats), so the fused op
 * normalises exactly as group_norm does. All tensors are contiguous; optional tensors
 * (gamma, beta, gradients) may be NULL. */
#include "cpu/kernels.h"

#include <math.h>
#include <stdlib.h>

#include "cpu/vexp.h" /* last: its pragma applies to everything after it */

#define BLOCK 2048

static float *f32_or_null(lundi_tensor *t) { return t ? lundi__f32(t) : NULL; }

/* For one channel row of m floats: dz = g * silu'(z) with z = (x - mu) * a + b, stored in
 * dz when it is not NULL; *sdz = sum dz, *sdzx = sum dz * (x - mu) (float blocks folded
 * into double, a fixed order). */
static inline __attribute__((always_inline)) void dz_row(const float *x, const float *g, float *dz, int64_t m,
                                                         float mu, float a, float b, double *sdz, double *sdzx) {
  double sa = 0, sb = 0;
  for (int64_t i0 = 0; i0 < m; i0 += BLOCK) {
    int64_t n = m - i0 < BLOCK ? m - i0 : BLOCK;
    const float *px = x + i0, *pg = g + i0;
    float fa = 0, fb = 0;
#pragma omp simd reduction(+ : fa, fb)
    for (int64_t i = 0; i < n; i++) {
      float d = px[i] - mu, z = d * a + b, s = lundi__sigmoid(z);
      float v = pg[i] * s * (1.0f + z * (1.0f - s));
      if (dz) dz[i0 + i] = v;
      fa += v;
      fb += v * d;
    }
    sa += fa;
    sb += fb;
  }
  *sdz = sa;
  *sdzx = sb;
}

/* LUNDI_K_GROUP_NORM_SILU_BWD
 * in[0] x, in[1] gout (both [N, C, HW]), in[2] mean [N, G], in[3] rstd [N, G] (from the
 * forward), in[4] gamma [C] or NULL, in[5] beta [C] or NULL; out[0] dx or NULL,
 * out[1] dgamma [C] or NULL, out[2] dbeta [C] or NULL; i[] as the forward (f[0] unused).
 * z is recomputed from x, mean, rstd, gamma, beta; dz = gout * s * (1 + z (1 - s)) with
 * s = sigmoid(z); then the group norm backward from dz:
 *   dgamma = sum dz * xh, dbeta = sum dz, with xh = (x - mean) * rstd,
 *   dx = rstd * (gamma dz - mean(gamma dz) - xh * mean(gamma dz xh)) per group.
 * Per (n, g): one pass reads x and gout, writes dz into dx and sums it per channel; a second
 * pass, over data still in cache, turns dx into rstd*gamma[c]*dz + c2*(x - mean) + c3.
 * Parallel over (n, g); dgamma/dbeta are summed over n afterwards in double, in a fixed
 * order, so results do not depend on the thread count. */
int lundi_cpu_group_norm_silu_bwd(const lundi_kcall *c) {
  const float *x = lundi__f32(c->in[0]), *g = lundi__f32(c->in[1]);
  const float *mean = lundi__f32(c->in[2]), *rstd = lundi__f32(c->in[3]);
  const float *gamma = f32_or_null(c->in[4]), *beta = f32_or_null(c->in[5]);
  float *dx = f32_or_null(c->out[0]), *dgamma = f32_or_null(c->out[1]), *dbeta = f32_or_null(c->out[2]);
  int64_t N = c->i[0], C = c->i[1], HW = c->i[2], G = c->i[3], Cg = C / G;
  double M = (double)(Cg * HW);
  /* per (n, c): sum dz, and sum dz (x - mean) * rstd */
  double *sg = malloc(sizeof(double) * (size_t)(N * C + 1)), *sgx = malloc(sizeof(double) * (size_t)(N * C + 1));
  if (!sg || !sgx) {
    free(sg);
    free(sgx);
    return lundi__err(LUNDI_ENOMEM, "group_norm_silu_backward: out of host memory");
  }
#pragma omp parallel for schedule(static) if (N * C * HW > 32768)
  for (int64_t ng = 0; ng < N * G; ng++) {
    int64_t n = ng / G, c0 = (ng % G) * Cg;
    const float *xs = x + ng * Cg * HW, *gs = g + ng * Cg * HW;
    float *ds = dx ? dx + ng * Cg * HW : NULL;
    float mu = mean[ng];
    double rs = rstd[ng], A = 0, B = 0; /* sum gamma*sum(dz (x - mean)), sum gamma*sum(dz) over the group */
    for (int64_t cc = 0; cc < Cg; cc++) {
      double a, b, gm = gamma ? gamma[c0 + cc] : 1.0;
      float za = (float)(rs * gm), zb = beta ? beta[c0 + cc] : 0.0f;
      if (ds) dz_row(xs + cc * HW, gs + cc * HW, ds + cc * HW, HW, mu, za, zb, &a, &b);
      else dz_row(xs + cc * HW, gs + cc * HW, NULL, HW, mu, za, zb, &a, &b);
      sg[n * C + c0 + cc] = a;
      sgx[n * C + c0 + cc] = b * rs;
      A += gm * b;
      B += gm * a;
    }
    if (!ds) continue;
    float c2 = (float)(-rs * rs * rs * A / M), c3 = (float)(-rs * B / M);
    for (int64_t cc = 0; cc < Cg; cc++) {
      float c1 = (float)(rs * (gamma ? gamma[c0 + cc] : 1.0));
      const float *xr = xs + cc * HW;
      float *dr = ds + cc * HW;
#pragma omp simd
      for (int64_t i = 0; i < HW; i++) dr[i] = c1 * dr[i] + c2 * (xr[i] - mu) + c3;
    }
  }
  for (int64_t ch = 0; ch < C && (dgamma || dbeta); ch++) {
    double a = 0, b = 0;
    for (int64_t n = 0; n < N; n++) {
      a += sgx[n * C + ch];
      b += sg[n * C + ch];
    }
    if (dgamma) dgamma[ch] = (float)a;
    if (dbeta) dbeta[ch] = (float)b;
  }
  free(sg);
  free(sgx);
  return 0;
}
