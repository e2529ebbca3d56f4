/* CPU normalisation kernels: group norm, layer norm, RMS norm (forward and backward).
 *
 * Statistics: one pass of shifted sums, sum(x - k) and sum((x - k)^2) with k the first
 * element of the span, so the variance does not cancel when |mean| >> std. Inner loops
 * accumulate in float over blocks (vectorised with omp simd) and fold each block into
 * double. var is the biased variance; rstd = 1 / sqrt(var + eps).
 * All tensors are contiguous; optional tensors (gamma, beta, gradients) may be NULL. */
#include "cpu/kernels.h"

#include <math.h>
#include <stdlib.h>

#include "cpu/vexp.h" /* last: its pragma applies to everything after it */

#define BLOCK 2048

/* s1 = sum(x - k), s2 = sum((x - k)^2) over m contiguous floats. */
static void shifted_sums(const float *x, int64_t m, float k, double *s1, double *s2) {
  double a = 0, b = 0;
  for (int64_t i0 = 0; i0 < m; i0 += BLOCK) {
    int64_t n = m - i0 < BLOCK ? m - i0 : BLOCK;
    const float *p = x + i0;
    float fa = 0, fb = 0;
#pragma omp simd reduction(+ : fa, fb)
    for (int64_t i = 0; i < n; i++) {
      float d = p[i] - k;
      fa += d;
      fb += d * d;
    }
    a += fa;
    b += fb;
  }
  *s1 = a;
  *s2 = b;
}

/* Mean (0 when !centered) and rstd of m contiguous floats. */
static void span_stats(const float *x, int64_t m, int centered, double eps, float *mean, float *rstd) {
  if (m == 0) {
    *mean = 0;
    *rstd = (float)(1.0 / sqrt(eps));
    return;
  }
  double s1, s2;
  float k = centered ? x[0] : 0.0f;
  shifted_sums(x, m, k, &s1, &s2);
  double mu = s1 / (double)m, var = s2 / (double)m - (centered ? mu * mu : 0.0);
  if (var < 0) var = 0;
  *mean = centered ? (float)(k + mu) : 0.0f;
  *rstd = (float)(1.0 / sqrt(var + eps));
}

/* sg = sum(g), sgx = sum(g * (x - mean)) over m contiguous floats. */
static void grad_sums(const float *x, const float *g, int64_t m, float mean, double *sg, double *sgx) {
  double a = 0, b = 0;
  for (int64_t i0 = 0; i0 < m; i0 += BLOCK) {
    int64_t n = m - i0 < BLOCK ? m - i0 : BLOCK;
    const float *px = x + i0, *pg = g + i0;
    float fa = 0, fb = 0;
#pragma omp simd reduction(+ : fa, fb)
    for (int64_t i = 0; i < n; i++) {
      fa += pg[i];
      fb += pg[i] * (px[i] - mean);
    }
    a += fa;
    b += fb;
  }
  *sg = a;
  *sgx = b;
}

static float *f32_or_null(lundi_tensor *t) { return t ? lundi__f32(t) : NULL; }

/* ---- group norm ---- */

/* Mean and rstd of group (n, g) of x + e, where channel row cc (HW floats) is shifted by
 * sh[cc] (sh NULL: no shift). The shifted sums use k = the first element of the span. */
static void group_stats(const float *xs, const float *sh, int64_t Cg, int64_t HW, double eps, float *mean,
                        float *rstd) {
  if (!sh) {
    span_stats(xs, Cg * HW, 1, eps, mean, rstd);
    return;
  }
  const int64_t m = Cg * HW;
  if (m == 0) {
    *mean = 0, *rstd = (float)(1.0 / sqrt(eps));
    return;
  }
  float k = xs[0] + sh[0];
  double s1 = 0, s2 = 0;
  for (int64_t cc = 0; cc < Cg; cc++) {
    double a, b;
    shifted_sums(xs + cc * HW, HW, k - sh[cc], &a, &b);
    s1 += a, s2 += b;
  }
  double mu = s1 / (double)m, var = s2 / (double)m - mu * mu;
  if (var < 0) var = 0;
  *mean = (float)(k + mu);
  *rstd = (float)(1.0 / sqrt(var + eps));
}

/* LUNDI_K_GROUP_NORM_FWD
 * in[0] x [N, C, HW], in[1] gamma [C] or NULL, in[2] beta [C] or NULL, in[3] shift [N, C],
 * NULL or absent: the norm is of x + shift[n, c] (broadcast over HW; a U-Net res block's
 * time embedding), which is never written out;
 * out[0] y like x, out[1] mean [N, G], out[2] rstd [N, G];
 * i[0] N, i[1] C, i[2] HW (product of the spatial dims), i[3] G (divides C); f[0] eps.
 * Group (n, g) is channels [g*C/G, (g+1)*C/G) of sample n, one contiguous span.
 * y = (x - mean) * rstd * gamma[c] + beta[c], with x shifted when asked and mean/rstd those
 * of the shifted x. Parallel over (n, g).
 * LUNDI_K_GROUP_NORM_SILU_FWD: the same contract, with y = silu(z) for that z (the U-Net
 * follows every GroupNorm with SiLU; fusing saves a read and a write of the activation). */
/* The SiLU variants are compute-bound (exp + divide per element): LUNDI_WIDE_CLONES. */

LUNDI_WIDE_CLONES static int group_norm_fwd(const lundi_kcall *c, int silu) {
  const float *x = lundi__f32(c->in[0]), *gamma = f32_or_null(c->in[1]), *beta = f32_or_null(c->in[2]);
  const float *shift = c->n_in > 3 ? f32_or_null(c->in[3]) : NULL;
  float *y = lundi__f32(c->out[0]), *mean = lundi__f32(c->out[1]), *rstd = lundi__f32(c->out[2]);
  int64_t N = c->i[0], C = c->i[1], HW = c->i[2], G = c->i[3], Cg = C / G;
  double eps = c->f[0];
#pragma omp parallel for schedule(static) if (N * C * HW > 32768)
  for (int64_t ng = 0; ng < N * G; ng++) {
    int64_t c0 = (ng % G) * Cg;
    const float *xs = x + ng * Cg * HW, *sh = shift ? shift + ng * Cg : NULL; /* [N, C] = [N*G, Cg] */
    float *ys = y + ng * Cg * HW;
    float mu, rs;
    group_stats(xs, sh, Cg, HW, eps, &mu, &rs);
    mean[ng] = mu;
    rstd[ng] = rs;
    for (int64_t cc = 0; cc < Cg; cc++) {
      float a = rs * (gamma ? gamma[c0 + cc] : 1.0f), b = beta ? beta[c0 + cc] : 0.0f;
      const float *xr = xs + cc * HW;
      const float mc = sh ? mu - sh[cc] : mu; /* x - mc: the shifted x's deviation */
      float *yr = ys + cc * HW;
      if (silu) {
#pragma omp simd
        for (int64_t i = 0; i < HW; i++) {
          float z = (xr[i] - mc) * a + b;
          yr[i] = z * lundi__sigmoid(z);
        }
      } else {
#pragma omp simd
        for (int64_t i = 0; i < HW; i++) yr[i] = (xr[i] - mc) * a + b;
      }
    }
  }
  return 0;
}

int lundi_cpu_group_norm_fwd(const lundi_kcall *c) { return group_norm_fwd(c, 0); }
int lundi_cpu_group_norm_silu_fwd(const lundi_kcall *c) { return group_norm_fwd(c, 1); }

/* For one channel row of m floats: dz = g * silu'(z) with z = (x - mu) * a + b, stored in
 * dz when it is not NULL; *sdz = sum dz, *sdzx = sum dz * (x - mu) (float blocks folded
 * into double, a fixed order). */
static inline __attribute__((always_inline)) void dz_row(const float *x, const float *g, float *dz, int64_t m,
                                                         float mu, float a, float b, double *sdz, double *sdzx) {
  double sa = 0, sb = 0;
  for (int64_t i0 = 0; i0 < m; i0 += 2048) {
    int64_t n = m - i0 < 2048 ? m - i0 : 2048;
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

/* LUNDI_K_GROUP_NORM_BWD
 * in[0] x, in[1] gout (both [N, C, HW]), in[2] mean [N, G], in[3] rstd [N, G] (from the
 * forward), in[4] gamma [C] or NULL; out[0] dx or NULL, out[1] dgamma [C] or NULL,
 * out[2] dbeta [C] or NULL; i[] as the forward (f[0] unused).
 * With xh = (x - mean) * rstd and M = C/G * HW, per group:
 *   dx = rstd * (gamma g - mean(gamma g) - xh * mean(gamma g xh)),
 * written as rstd*gamma[c]*g + c2*(x - mean) + c3 from per-channel sums of g and
 * g*(x - mean). Parallel over (n, g); dgamma/dbeta are summed over n afterwards in double,
 * in a fixed order, so results do not depend on the thread count.
 * LUNDI_K_GROUP_NORM_SILU_BWD: the same, plus in[5] beta [C] or NULL. z = gamma xh + beta
 * is recomputed and g above becomes dz = gout * s * (1 + z (1 - s)), s = sigmoid(z); dz is
 * written into dx on a first pass and turned into dx on a second, while still in cache.
 * Both: in[6] the forward's shift [N, C], NULL or absent (in[5] is then NULL for plain group
 * norm); dx is then the gradient of x + shift, so also of x. */
LUNDI_WIDE_CLONES static int group_norm_bwd(const lundi_kcall *c, int silu) {
  const float *x = lundi__f32(c->in[0]), *g = lundi__f32(c->in[1]);
  const float *mean = lundi__f32(c->in[2]), *rstd = lundi__f32(c->in[3]), *gamma = f32_or_null(c->in[4]);
  const float *beta = silu ? f32_or_null(c->in[5]) : NULL, *shift = c->n_in > 6 ? f32_or_null(c->in[6]) : NULL;
  float *dx = f32_or_null(c->out[0]), *dgamma = f32_or_null(c->out[1]), *dbeta = f32_or_null(c->out[2]);
  int64_t N = c->i[0], C = c->i[1], HW = c->i[2], G = c->i[3], Cg = C / G;
  double M = (double)(Cg * HW);
  /* per (n, c): sum g, and sum g (x - mean) * rstd */
  double *sg = malloc(sizeof(double) * (size_t)(N * C + 1)), *sgx = malloc(sizeof(double) * (size_t)(N * C + 1));
  if (!sg || !sgx) {
    free(sg);
    free(sgx);
    return lundi__err(LUNDI_ENOMEM, "%s: out of host memory", silu ? "group_norm_silu_backward" : "group_norm_backward");
  }
#pragma omp parallel for schedule(static) if (N * C * HW > 32768)
  for (int64_t ng = 0; ng < N * G; ng++) {
    int64_t n = ng / G, c0 = (ng % G) * Cg;
    const float *xs = x + ng * Cg * HW, *gs = g + ng * Cg * HW;
    float *ds = dx ? dx + ng * Cg * HW : NULL;
    const float *sh = shift ? shift + ng * Cg : NULL;
    double rs = rstd[ng], A = 0, B = 0; /* sum gamma*sgx, sum gamma*sg over the group */
    for (int64_t cc = 0; cc < Cg; cc++) {
      double a, b, gm = gamma ? gamma[c0 + cc] : 1.0;
      const float mu = sh ? mean[ng] - sh[cc] : mean[ng];
      if (silu) {
        float za = (float)(rs * gm), zb = beta ? beta[c0 + cc] : 0.0f;
        if (ds) dz_row(xs + cc * HW, gs + cc * HW, ds + cc * HW, HW, mu, za, zb, &a, &b);
        else dz_row(xs + cc * HW, gs + cc * HW, NULL, HW, mu, za, zb, &a, &b);
      } else {
        grad_sums(xs + cc * HW, gs + cc * HW, HW, mu, &a, &b);
      }
      sg[n * C + c0 + cc] = a;
      sgx[n * C + c0 + cc] = b * rs;
      A += gm * b;
      B += gm * a;
    }
    if (!ds) continue;
    float c2 = (float)(-rs * rs * rs * A / M), c3 = (float)(-rs * B / M);
    for (int64_t cc = 0; cc < Cg; cc++) {
      float c1 = (float)(rs * (gamma ? gamma[c0 + cc] : 1.0));
      const float mu = sh ? mean[ng] - sh[cc] : mean[ng];
      const float *xr = xs + cc * HW, *gr = silu ? ds + cc * HW : gs + cc * HW; /* dz lives in dx */
      float *dr = ds + cc * HW;
#pragma omp simd
      for (int64_t i = 0; i < HW; i++) dr[i] = c1 * gr[i] + c2 * (xr[i] - mu) + c3;
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

int lundi_cpu_group_norm_bwd(const lundi_kcall *c) { return group_norm_bwd(c, 0); }
int lundi_cpu_group_norm_silu_bwd(const lundi_kcall *c) { return group_norm_bwd(c, 1); }

/* ---- layer norm and RMS norm: rows of D, the same code with centered = 1 / 0 ---- */

static void rows_fwd(const float *x, const float *gamma, const float *beta, float *y, float *mean, float *rstd,
                     int64_t R, int64_t D, double eps, int centered) {
#pragma omp parallel for schedule(static) if (R * D > 32768)
  for (int64_t r = 0; r < R; r++) {
    const float *xr = x + r * D;
    float *yr = y + r * D, mu, rs;
    span_stats(xr, D, centered, eps, &mu, &rs);
    if (mean) mean[r] = mu;
    rstd[r] = rs;
    if (gamma && beta) {
#pragma omp simd
      for (int64_t i = 0; i < D; i++) yr[i] = (xr[i] - mu) * rs * gamma[i] + beta[i];
    } else if (gamma) {
#pragma omp simd
      for (int64_t i = 0; i < D; i++) yr[i] = (xr[i] - mu) * rs * gamma[i];
    } else {
#pragma omp simd
      for (int64_t i = 0; i < D; i++) yr[i] = (xr[i] - mu) * rs + (beta ? beta[i] : 0.0f);
    }
  }
}

/* Rows are split into a fixed number of chunks (independent of the thread count, so
 * results are deterministic); each chunk keeps float partial sums for dgamma/dbeta,
 * which are then added in double. */
#define ROW_CHUNKS 64

static int rows_bwd(const char *op, const float *x, const float *g, const float *mean, const float *rstd,
                    const float *gamma, float *dx, float *dgamma, float *dbeta, int64_t R, int64_t D,
                    int centered) {
  int64_t nch = R < ROW_CHUNKS ? (R > 0 ? R : 1) : ROW_CHUNKS;
  int need_p = dgamma || dbeta;
  float *pg = need_p ? calloc((size_t)(nch * D + 1), sizeof(float)) : NULL;
  float *pb = need_p ? calloc((size_t)(nch * D + 1), sizeof(float)) : NULL;
  if (need_p && (!pg || !pb)) {
    free(pg);
    free(pb);
    return lundi__err(LUNDI_ENOMEM, "%s: out of host memory", op);
  }
#pragma omp parallel for schedule(static) if (R * D > 32768)
  for (int64_t ch = 0; ch < nch; ch++) {
    int64_t r0 = R * ch / nch, r1 = R * (ch + 1) / nch;
    float *qg = need_p ? pg + ch * D : NULL, *qb = need_p ? pb + ch * D : NULL;
    for (int64_t r = r0; r < r1; r++) {
      const float *xr = x + r * D, *gr = g + r * D;
      float mu = mean ? mean[r] : 0.0f, rs = rstd[r];
      if (need_p) {
#pragma omp simd
        for (int64_t i = 0; i < D; i++) {
          qg[i] += gr[i] * (xr[i] - mu) * rs;
          qb[i] += gr[i];
        }
      }
      if (!dx) continue;
      /* a = mean(gamma g), b = mean(gamma g xh) */
      float sa = 0, sb = 0;
#pragma omp simd reduction(+ : sa, sb)
      for (int64_t i = 0; i < D; i++) {
        float dh = gr[i] * (gamma ? gamma[i] : 1.0f);
        sa += dh;
        sb += dh * (xr[i] - mu);
      }
      float a = centered ? sa / (float)D : 0.0f, b = sb * rs / (float)D;
      float *dr = dx + r * D;
#pragma omp simd
      for (int64_t i = 0; i < D; i++)
        dr[i] = rs * (gr[i] * (gamma ? gamma[i] : 1.0f) - a - (xr[i] - mu) * rs * b);
    }
  }
  for (int64_t i = 0; i < D && need_p; i++) {
    double a = 0, b = 0;
    for (int64_t ch = 0; ch < nch; ch++) {
      a += pg[ch * D + i];
      b += pb[ch * D + i];
    }
    if (dgamma) dgamma[i] = (float)a;
    if (dbeta) dbeta[i] = (float)b;
  }
  free(pg);
  free(pb);
  return 0;
}

/* LUNDI_K_LAYER_NORM_FWD
 * in[0] x [R, D], in[1] gamma [D] or NULL, in[2] beta [D] or NULL;
 * out[0] y like x, out[1] mean [R], out[2] rstd [R]; i[0] R, i[1] D; f[0] eps.
 * y = (x - mean) * rstd * gamma + beta per row. Parallel over rows. */
int lundi_cpu_layer_norm_fwd(const lundi_kcall *c) {
  rows_fwd(lundi__f32(c->in[0]), f32_or_null(c->in[1]), f32_or_null(c->in[2]), lundi__f32(c->out[0]),
           lundi__f32(c->out[1]), lundi__f32(c->out[2]), c->i[0], c->i[1], c->f[0], 1);
  return 0;
}

/* LUNDI_K_LAYER_NORM_BWD
 * in[0] x, in[1] gout (both [R, D]), in[2] mean [R], in[3] rstd [R], in[4] gamma or NULL;
 * out[0] dx or NULL, out[1] dgamma [D] or NULL, out[2] dbeta [D] or NULL; i[0] R, i[1] D.
 * dx = rstd * (gamma g - mean(gamma g) - xh * mean(gamma g xh)), xh = (x - mean) rstd. */
int lundi_cpu_layer_norm_bwd(const lundi_kcall *c) {
  return rows_bwd("layer_norm_backward", lundi__f32(c->in[0]), lundi__f32(c->in[1]), lundi__f32(c->in[2]),
                  lundi__f32(c->in[3]), f32_or_null(c->in[4]), f32_or_null(c->out[0]), f32_or_null(c->out[1]),
                  f32_or_null(c->out[2]), c->i[0], c->i[1], 1);
}

/* LUNDI_K_RMS_NORM_FWD
 * in[0] x [R, D], in[1] gamma [D] or NULL; out[0] y like x, out[1] rstd [R];
 * i[0] R, i[1] D; f[0] eps. rstd = 1 / sqrt(mean(x^2) + eps), y = x * rstd * gamma. */
int lundi_cpu_rms_norm_fwd(const lundi_kcall *c) {
  rows_fwd(lundi__f32(c->in[0]), f32_or_null(c->in[1]), NULL, lundi__f32(c->out[0]), NULL,
           lundi__f32(c->out[1]), c->i[0], c->i[1], c->f[0], 0);
  return 0;
}

/* LUNDI_K_RMS_NORM_BWD
 * in[0] x, in[1] gout (both [R, D]), in[2] rstd [R], in[3] gamma [D] or NULL;
 * out[0] dx or NULL, out[1] dgamma [D] or NULL; i[0] R, i[1] D.
 * dx = rstd * (gamma g - xh * mean(gamma g xh)), xh = x rstd. */
int lundi_cpu_rms_norm_bwd(const lundi_kcall *c) {
  return rows_bwd("rms_norm_backward", lundi__f32(c->in[0]), lundi__f32(c->in[1]), NULL, lundi__f32(c->in[2]),
                  f32_or_null(c->in[3]), f32_or_null(c->out[0]), f32_or_null(c->out[1]), NULL, c->i[0], c->i[1],
                  0);
}
