/* CPU conv2d kernels: the kernel-call contract, and the choice between the AVX-512 direct
 * kernels (conv_direct.c, conv_direct_wgrad.c) and the portable im2col + sgemm ones
 * (conv_gemm.c, im2col.c).
 *
 * All tensors are f32, contiguous, NCHW; weights [O, C/G, kh, kw]. Common to the three
 * kernels: i[0..6] = stride h, w; padding h, w; dilation h, w; groups (validated by the
 * front-end: stride, dilation, groups >= 1, padding >= 0). Sizes come from the tensors, so
 * an output may be smaller than the usual size formula gives (conv_transpose's backward
 * relies on that); taps falling outside the input read zeros.
 *
 *   LUNDI_K_CONV2D_FWD          in[0] = x [N, C, H, W], in[1] = w, in[2] = bias [O] or NULL;
 *                               out[0] = y [N, O, OH, OW] = conv(x, w) + bias (overwritten).
 *   LUNDI_K_CONV2D_BWD_DATA     in[0] = gy [N, O, OH, OW], in[1] = w, in[2] = bias [C] or
 *                               NULL; out[0] = gx [N, C, H, W] = the conv's adjoint in x
 *                               applied to gy, plus bias (conv_transpose2d's forward).
 *   LUNDI_K_CONV2D_BWD_WEIGHT   in[0] = x [N, C, H, W], in[1] = gy [N, O, OH, OW];
 *                               out[0] = gw [O, C/G, kh, kw], out[1] = gb [O] or absent
 *                               (n_out 1): the weight and bias gradients (overwritten).
 */
#include "cpu/conv.h"
#include "cpu/kernels.h"

#include <stdlib.h>

/* ---- per-thread scratch: grow-only, bounded by the block sizes of the kernels ---- */
static _Thread_local struct {
  float *p;
  size_t cap;
} ws[LUNDI_CONV_WS_COUNT];

float *lundi__conv_scratch(int slot, size_t n) {
  if (ws[slot].cap < n) {
    free(ws[slot].p);
    ws[slot].cap = 0;
    if (posix_memalign((void **)&ws[slot].p, 64, sizeof(float) * (n ? n : 1))) ws[slot].p = NULL;
    if (!ws[slot].p) return NULL;
    ws[slot].cap = n;
  }
  return ws[slot].p;
}

/* x: the conv's input, w: its weight, y: its output (whatever the kernel's direction). */
static int geom_init(const char *op, lundi_conv_geom *g, const lundi_kcall *c, const lundi_tensor *x,
                     const lundi_tensor *w, const lundi_tensor *y) {
  g->N = x->shape[0], g->C = x->shape[1], g->H = x->shape[2], g->W = x->shape[3];
  g->O = y->shape[1], g->OH = y->shape[2], g->OW = y->shape[3];
  g->kh = w->shape[2], g->kw = w->shape[3];
  g->sh = c->i[0], g->sw = c->i[1], g->ph = c->i[2], g->pw = c->i[3], g->dh = c->i[4], g->dw = c->i[5];
  g->G = c->i[6];
  if (x->ndim != 4 || w->ndim != 4 || y->ndim != 4 || g->G < 1 || g->sh < 1 || g->sw < 1 || g->dh < 1 ||
      g->dw < 1 || g->ph < 0 || g->pw < 0 || g->C % g->G || g->O % g->G || w->shape[0] != g->O ||
      w->shape[1] * g->G != g->C || y->shape[0] != g->N)
    return lundi__err(LUNDI_EINVAL, "%s kernel: inconsistent shapes or parameters", op);
  g->Cg = g->C / g->G, g->Og = g->O / g->G, g->K = g->Cg * g->kh * g->kw;
  return 0;
}

static int oom(const char *op) { return lundi__err(LUNDI_ENOMEM, "%s: out of memory for conv scratch", op); }

/* 1x1 convs over images whose pixels are not a multiple of 16 (and not tiny): per-image
 * sgemm reading x in place beat the direct kernel's batch layout (~190 vs ~140 GFLOP/s at
 * 14x14, bench_conv); at 7x7 the batch layout is the faster. */
static int pointwise_small(const lundi_conv_geom *g) {
  return g->kh == 1 && g->kw == 1 && g->sh == 1 && g->sw == 1 && g->ph == 0 && g->pw == 0 && g->OH == g->H &&
         g->OW == g->W && (g->OH * g->OW) % 16 != 0 && g->OH * g->OW >= 128;
}

int lundi_cpu_conv2d_fwd(const lundi_kcall *c) {
  lundi_conv_geom g;
  if (geom_init("conv2d", &g, c, c->in[0], c->in[1], c->out[0])) return -1;
  if (g.N * g.O * g.OH * g.OW == 0) return 0;
  const float *x = lundi__f32(c->in[0]), *w = lundi__f32(c->in[1]);
  const float *bias = c->n_in > 2 && c->in[2] ? lundi__f32(c->in[2]) : NULL;
  float *y = lundi__f32(c->out[0]);
  int rc = lundi__conv_direct_fwd_ok(&g) && !pointwise_small(&g) ? lundi__conv_direct_fwd(&g, x, w, bias, y)
                                                                 : lundi__conv_gemm_fwd(&g, x, w, bias, y);
  return rc ? oom("conv2d") : 0;
}

int lundi_cpu_conv2d_bwd_data(const lundi_kcall *c) {
  lundi_conv_geom g;
  if (geom_init("conv2d_backward_data", &g, c, c->out[0], c->in[1], c->in[0])) return -1;
  if (g.N * g.C * g.H * g.W == 0) return 0;
  const float *gy = lundi__f32(c->in[0]), *w = lundi__f32(c->in[1]);
  const float *bias = c->n_in > 2 && c->in[2] ? lundi__f32(c->in[2]) : NULL;
  float *gx = lundi__f32(c->out[0]);
  if (g.O * g.OH * g.OW == 0) { /* nothing flows back: gx is the bias alone */
    for (int64_t r = 0; r < g.N * g.C; r++)
      for (int64_t k = 0; k < g.H * g.W; k++) gx[r * g.H * g.W + k] = bias ? bias[r % g.C] : 0.0f;
    return 0;
  }
  int rc = lundi__conv_direct_bwd_data_ok(&g) ? lundi__conv_direct_bwd_data(&g, gy, w, bias, gx)
                                              : lundi__conv_gemm_bwd_data(&g, gy, w, bias, gx);
  return rc ? oom("conv2d_backward_data") : 0;
}

int lundi_cpu_conv2d_bwd_weight(const lundi_kcall *c) {
  lundi_conv_geom g;
  if (geom_init("conv2d_backward_weight", &g, c, c->in[0], c->out[0], c->in[1])) return -1;
  const float *x = lundi__f32(c->in[0]), *gy = lundi__f32(c->in[1]);
  float *gw = lundi__f32(c->out[0]);
  float *gb = c->n_out > 1 && c->out[1] ? lundi__f32(c->out[1]) : NULL;
  int rc;
  if (g.N * g.OH * g.OW > 0 && lundi__conv_direct_wgrad_ok(&g))
    rc = lundi__conv_direct_wgrad(&g, x, gy, gw, gb);
  else if (g.N * g.OH * g.OW > 0 && g.Og < 16 && lundi__conv_direct_fwd_ok(&g))
    rc = lundi__conv_direct_wgrad_thin(&g, x, gy, gw, gb);
  else
    rc = lundi__conv_gemm_bwd_weight(&g, x, gy, gw, gb);
  return rc ? oom("conv2d_backward_weight") : 0;
}
