/* CPU kernels for indexing and resampling: embedding lookup, nearest upsampling and
 * average pooling, forward and backward. Outputs are contiguous; inputs that are read
 * elementwise may be strided views where noted. */
#include "cpu/kernels.h"

#include <string.h>

#define PAR_MIN 32768 /* elements below which threading costs more than it saves */

/* ---- embedding ---- */

/* LUNDI_K_EMBEDDING_FWD: in[0] weight [V, D] f32 contiguous, in[1] ids [N] i32 contiguous,
 * out[0] [N, D] contiguous: out[n] = weight[ids[n]]. Every id must be in [0, V); the
 * front-end checks that before dispatching. No f/i. */
int lundi_cpu_embedding_fwd(const lundi_kcall *c) {
  lundi_tensor *w = c->in[0], *o = c->out[0];
  const float *wp = lundi__f32(w);
  const int32_t *ids = lundi__i32(c->in[1]);
  float *op = lundi__f32(o);
  int64_t N = c->in[1]->shape[0], D = w->shape[1];
#pragma omp parallel for schedule(static) if (N * D > PAR_MIN)
  for (int64_t n = 0; n < N; n++) memcpy(op + n * D, wp + (int64_t)ids[n] * D, sizeof(float) * (size_t)D);
  return 0;
}

/* LUNDI_K_EMBEDDING_BWD: in[0] gout [N, D] f32 contiguous, in[1] ids [N] i32 contiguous,
 * out[0] gweight [V, D] contiguous, overwritten: gweight[v] = sum of gout[n] with ids[n] == v.
 * Threads own disjoint column blocks of D and each walks the ids in order, so repeated ids
 * never race and the summation order (hence the result) does not depend on the thread count. */
int lundi_cpu_embedding_bwd(const lundi_kcall *c) {
  lundi_tensor *g = c->in[0], *o = c->out[0];
  const float *gp = lundi__f32(g);
  const int32_t *ids = lundi__i32(c->in[1]);
  float *op = lundi__f32(o);
  int64_t N = g->shape[0], D = g->shape[1], V = o->shape[0];
  const int64_t B = 16; /* one 64-byte line of columns per block: no false sharing */
  int64_t nblk = (D + B - 1) / B;
#pragma omp parallel for schedule(static) if (N * D > PAR_MIN && nblk > 1)
  for (int64_t b = 0; b < nblk; b++) {
    int64_t d0 = b * B, d1 = d0 + B < D ? d0 + B : D;
    for (int64_t v = 0; v < V; v++) memset(op + v * D + d0, 0, sizeof(float) * (size_t)(d1 - d0));
    for (int64_t n = 0; n < N; n++) {
      float *dst = op + (int64_t)ids[n] * D;
      const float *src = gp + n * D;
      for (int64_t d = d0; d < d1; d++) dst[d] += src[d];
    }
  }
  return 0;
}

/* ---- nearest upsampling ---- */

/* LUNDI_K_UPSAMPLE_FWD: in[0] x [N, C, H, W] f32, any strides; out[0] [N, C, H*s, W*s]
 * contiguous; i[0] = s >= 1. out[n, c, h, w] = x[n, c, h / s, w / s]. Each input row is
 * widened once and the result memcpy'd to the other s-1 output rows. */
int lundi_cpu_upsample_fwd(const lundi_kcall *c) {
  lundi_tensor *x = c->in[0], *o = c->out[0];
  int64_t s = c->i[0], C = x->shape[1], H = x->shape[2], W = x->shape[3], Wo = W * s;
  int64_t rows = x->shape[0] * C * H;
  const int64_t *xs = x->stride;
  const float *xp = lundi__f32(x);
  float *op = lundi__f32(o);
#pragma omp parallel for schedule(static) if (lundi_numel(o) > PAR_MIN)
  for (int64_t r = 0; r < rows; r++) {
    int64_t h = r % H, nc = r / H, n = nc / C, ch = nc % C;
    const float *src = xp + n * xs[0] + ch * xs[1] + h * xs[2];
    int64_t sw = xs[3];
    float *dst = op + (nc * H + h) * s * Wo;
    if (s == 2 && sw == 1) {
      for (int64_t w = 0; w < W; w++) dst[2 * w] = dst[2 * w + 1] = src[w];
    } else {
      for (int64_t w = 0; w < W; w++) {
        float v = src[w * sw];
        for (int64_t k = 0; k < s; k++) dst[w * s + k] = v;
      }
    }
    for (int64_t k = 1; k < s; k++) memcpy(dst + k * Wo, dst, sizeof(float) * (size_t)Wo);
  }
  return 0;
}

/* LUNDI_K_UPSAMPLE_BWD: in[0] gout [N, C, H*s, W*s] f32, any strides; out[0] gx [N, C, H, W]
 * contiguous, overwritten; i[0] = s. gx[n, c, h, w] = sum of the s x s block of gout above it. */
int lundi_cpu_upsample_bwd(const lundi_kcall *c) {
  lundi_tensor *g = c->in[0], *o = c->out[0];
  int64_t s = c->i[0], C = o->shape[1], H = o->shape[2], W = o->shape[3];
  int64_t rows = o->shape[0] * C * H;
  const int64_t *gs = g->stride;
  const float *gp = lundi__f32(g);
  float *op = lundi__f32(o);
#pragma omp parallel for schedule(static) if (lundi_numel(g) > PAR_MIN)
  for (int64_t r = 0; r < rows; r++) {
    int64_t h = r % H, nc = r / H, n = nc / C, ch = nc % C;
    const float *src = gp + n * gs[0] + ch * gs[1] + h * s * gs[2];
    int64_t sw = gs[3];
    float *dst = op + r * W;
    if (s == 2 && sw == 1) {
      const float *s1 = src + gs[2];
      for (int64_t w = 0; w < W; w++) dst[w] = (src[2 * w] + src[2 * w + 1]) + (s1[2 * w] + s1[2 * w + 1]);
    } else {
      for (int64_t w = 0; w < W; w++) {
        float acc = 0;
        for (int64_t a = 0; a < s; a++)
          for (int64_t b = 0; b < s; b++) acc += src[a * gs[2] + (w * s + b) * sw];
        dst[w] = acc;
      }
    }
  }
  return 0;
}

/* ---- average pooling (1-d pooling arrives as 2-d with H = kh = sh = 1) ---- */

/* LUNDI_K_AVGPOOL_FWD: in[0] x [N, C, H, W] f32, any strides; out[0] [N, C, Ho, Wo]
 * contiguous with Ho = (H - kh) / sh + 1, Wo likewise; i[0..3] = kh, kw, sh, sw (all >= 1).
 * No padding: every window lies inside x and is divided by kh * kw. */
int lundi_cpu_avgpool_fwd(const lundi_kcall *c) {
  lundi_tensor *x = c->in[0], *o = c->out[0];
  int64_t kh = c->i[0], kw = c->i[1], sh = c->i[2], sw = c->i[3];
  int64_t C = x->shape[1], Ho = o->shape[2], Wo = o->shape[3];
  const int64_t *xs = x->stride;
  const float *xp = lundi__f32(x);
  float *op = lundi__f32(o);
  float inv = 1.0f / (float)(kh * kw);
  int64_t rows = o->shape[0] * C * Ho;
#pragma omp parallel for schedule(static) if (lundi_numel(x) > PAR_MIN)
  for (int64_t r = 0; r < rows; r++) {
    int64_t oh = r % Ho, nc = r / Ho;
    const float *src = xp + (nc / C) * xs[0] + (nc % C) * xs[1] + oh * sh * xs[2];
    float *dst = op + r * Wo;
    for (int64_t ow = 0; ow < Wo; ow++) {
      float acc = 0;
      for (int64_t a = 0; a < kh; a++)
        for (int64_t b = 0; b < kw; b++) acc += src[a * xs[2] + (ow * sw + b) * xs[3]];
      dst[ow] = acc * inv;
    }
  }
  return 0;
}

/* LUNDI_K_AVGPOOL_BWD: in[0] gout [N, C, Ho, Wo] f32, any strides; out[0] gx [N, C, H, W]
 * contiguous, overwritten; i[0..3] as in the forward. Each gout value, divided by kh * kw, is
 * added to its window. Windows may overlap, so threads own whole (n, c) planes. */
int lundi_cpu_avgpool_bwd(const lundi_kcall *c) {
  lundi_tensor *g = c->in[0], *o = c->out[0];
  int64_t kh = c->i[0], kw = c->i[1], sh = c->i[2], sw = c->i[3];
  int64_t C = o->shape[1], H = o->shape[2], W = o->shape[3], Ho = g->shape[2], Wo = g->shape[3];
  const int64_t *gs = g->stride;
  const float *gp = lundi__f32(g);
  float *op = lundi__f32(o);
  float inv = 1.0f / (float)(kh * kw);
  int64_t planes = o->shape[0] * C;
#pragma omp parallel for schedule(static) if (lundi_numel(o) > PAR_MIN)
  for (int64_t p = 0; p < planes; p++) {
    const float *src = gp + (p / C) * gs[0] + (p % C) * gs[1];
    float *dst = op + p * H * W;
    memset(dst, 0, sizeof(float) * (size_t)(H * W));
    for (int64_t oh = 0; oh < Ho; oh++)
      for (int64_t ow = 0; ow < Wo; ow++) {
        float v = src[oh * gs[2] + ow * gs[3]] * inv;
        float *win = dst + oh * sh * W + ow * sw;
        for (int64_t a = 0; a < kh; a++)
          for (int64_t b = 0; b < kw; b++) win[a * W + b] += v;
      }
  }
  return 0;
}
