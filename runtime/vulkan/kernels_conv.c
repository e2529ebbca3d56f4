/* Conv2d forward, data gradient and weight gradient (LUNDI_K_CONV2D_*) on shaders/conv.comp,
 * with the kcall contract of runtime/cpu/conv.c: f32 contiguous NCHW, weights [O, C/G, kh, kw],
 * i[0..6] = stride h, w, padding h, w, dilation h, w, groups; sizes from the tensors.
 *
 * Each is one implicit GEMM per group (no im2col buffer): forward Og x (N*OH*OW) over
 * Cg*kh*kw, data gradient Cg x (N*H*W) over Og*kh*kw (a gather, no atomics), weight
 * gradient Og x Cg*kh*kw over N*OH*OW, with the bias gradient (gy's row sums) taken while gy
 * is staged. The weight gradient's output is small and its reduction long, so the reduction
 * is split over workgroups into a scratch of partial sums that a second dispatch adds in a
 * fixed order: deterministic, without float atomics (Vulkan 1.0 has none).
 *
 * Tiles: 256 threads (128 where the device's workgroup limit is lower, or the grid is small),
 * 4x4 outputs per thread, BM x BN = 64x64, 32x128 or 16x256 (64x32, 32x64, 16x128 with 128
 * threads) chosen by the GEMM's row count so that thin layers (few channels per group)
 * waste little; BK 16, halved while the tiles exceed the device's shared memory. */
#include "vulkan/vk.h"

typedef struct conv_push {
  int32_t N, C, H, W, O, OH, OW, KH, KW;
  int32_t sh, sw, ph, pw, dh, dw;
  int32_t G;
  int32_t M, NC, K;
  int32_t ooff, aoff, boff, bioff;
  int32_t has_bias, tile0, kchunk, nsplit, pstride;
} conv_push;
_Static_assert(sizeof(conv_push) <= LUNDI_VK_PUSH_BYTES, "push block too large");

enum { MODE_FWD, MODE_DATA, MODE_WEIGHT, MODE_REDUCE };
#define LIM31 ((int64_t)1 << 31)
/* Weight-gradient split-K: aim for this many workgroups, each reducing at least MIN_TERMS. */
#define SPLIT_TARGET_GROUPS 256
#define SPLIT_MIN_TERMS 512
#define SPLIT_MAX 64
#define SPLIT_MAX_BYTES ((int64_t)256 << 20)

typedef struct geom {
  int64_t N, C, H, W, O, OH, OW, kh, kw, sh, sw, ph, pw, dh, dw, G;
} geom;

/* An f32, contiguous operand of ndim dims inside its storage, addressable with int32. */
static int check_operand(const char *op, const char *what, const lundi_tensor *t, int ndim) {
  if (!t) return lundi__err(LUNDI_EINVAL, "%s: %s is missing", op, what);
  if (t->dtype != LUNDI_F32)
    return lundi__err(LUNDI_EUNSUPPORTED, "%s: %s is %s; the vulkan backend supports f32", op, what,
                      lundi_dtype_name(t->dtype));
  if (t->ndim != ndim || !lundi_is_contiguous(t))
    return lundi__err(LUNDI_EINVAL, "%s: %s must be a contiguous %d-d tensor", op, what, ndim);
  int64_t n = lundi_numel((lundi_tensor *)t);
  if (t->offset + n >= LIM31)
    return lundi__err(LUNDI_EUNSUPPORTED, "%s: %s reaches past 2^31 elements, beyond the vulkan backend", op, what);
  if ((uint64_t)(t->offset + n) * 4 > t->storage->nbytes)
    return lundi__err(LUNDI_EINVAL, "%s: %s runs past its storage", op, what);
  return 0;
}

/* x: the conv's input, w: its weight, y: its output (whatever the kernel's direction);
 * names: how the kernel calls them, for errors. */
static int geom_init(const char *op, geom *g, const lundi_kcall *c, const lundi_tensor *x, const lundi_tensor *w,
                     const lundi_tensor *y, const char *const names[3]) {
  if (check_operand(op, names[0], x, 4) || check_operand(op, names[1], w, 4) || check_operand(op, names[2], y, 4))
    return -1;
  *g = (geom){x->shape[0], x->shape[1], x->shape[2], x->shape[3], y->shape[1], y->shape[2], y->shape[3],
              w->shape[2], w->shape[3], c->i[0], c->i[1], c->i[2], c->i[3], c->i[4], c->i[5], c->i[6]};
  if (g->G < 1 || g->sh < 1 || g->sw < 1 || g->dh < 1 || g->dw < 1 || g->ph < 0 || g->pw < 0 || g->C % g->G ||
      g->O % g->G || w->shape[0] != g->O || w->shape[1] * g->G != g->C || y->shape[0] != g->N)
    return lundi__err(LUNDI_EINVAL, "%s kernel: inconsistent shapes or parameters", op);
  /* The shader forms oh*sh - ph + r*dh (and ih + ph) in int32. */
  if ((g->OH + g->kh + g->H) * (g->sh + g->dh) + g->ph >= LIM31 / 2 ||
      (g->OW + g->kw + g->W) * (g->sw + g->dw) + g->pw >= LIM31 / 2 || g->O * g->kh * g->kw >= LIM31 / 2)
    return lundi__err(LUNDI_EUNSUPPORTED, "%s: strides, padding or dilation too large for the vulkan backend", op);
  return 0;
}

static int check_vector(const char *op, const char *what, const lundi_tensor *t, int64_t n) {
  if (check_operand(op, what, t, 1)) return -1;
  if (t->shape[0] != n)
    return lundi__err(LUNDI_EINVAL, "%s: %s has %lld elements, expected %lld", op, what, (long long)t->shape[0],
                      (long long)n);
  return 0;
}

static conv_push push_of(const geom *g) {
  return (conv_push){.N = (int32_t)g->N, .C = (int32_t)g->C, .H = (int32_t)g->H, .W = (int32_t)g->W,
                     .O = (int32_t)g->O, .OH = (int32_t)g->OH, .OW = (int32_t)g->OW, .KH = (int32_t)g->kh,
                     .KW = (int32_t)g->kw, .sh = (int32_t)g->sh, .sw = (int32_t)g->sw, .ph = (int32_t)g->ph,
                     .pw = (int32_t)g->pw, .dh = (int32_t)g->dh, .dw = (int32_t)g->dw, .G = (int32_t)g->G};
}

/* spec: threads, BM, BN, BK, mode. The GEMM's rows M pick the tile shape; a grid of fewer
 * than SMALL_GRID tiles (M x NC per group, G groups) takes 128-thread tiles, twice as many,
 * so that a large GPU still gets work (the 7x7 layers of the mnist-unet). */
#define SMALL_GRID 256
static void pick_tiles(const vk_dev *d, int64_t M, int64_t NC, int64_t G, uint32_t mode, uint32_t spec[5]) {
  uint32_t T = d->local_size >= 256 ? 256 : 128;
  uint32_t BM = M > 32 ? 64 : M > 16 ? 32 : 16, BN = 16 * T / BM, BK = 16;
  if (T == 256 && (int64_t)((M + BM - 1) / BM) * ((NC + BN - 1) / BN) * G < SMALL_GRID) T = 128, BN /= 2;
  uint32_t smax = d->props.limits.maxComputeSharedMemorySize;
  /* As, Bs (rows padded by one), the 6 row tables and the 3 column tables, in 4-byte words */
  while (BK > 4 && 4 * (BK * (BM + BN + 2) + 6 * BK + 3 * BN) > smax) BK /= 2;
  spec[0] = T, spec[1] = BM, spec[2] = BN, spec[3] = BK, spec[4] = mode;
}

/* Binding 3 when there is no bias: any bound buffer (the shader does not touch it). */
static int dispatch(vk_dev *d, const uint32_t *spec, conv_push *p, lundi_tensor *out, lundi_tensor *in0,
                    lundi_tensor *in1, lundi_tensor *bias, int bias_written, uint64_t gx, uint64_t gy, uint64_t gz) {
  const uint32_t *maxc = d->props.limits.maxComputeWorkGroupCount;
  if (gy > maxc[1] || gz > maxc[2])
    return lundi__err(LUNDI_EUNSUPPORTED, "vulkan:%d: conv needs %llu x %llu workgroups in y, z, more than the device's",
                      d->index, (unsigned long long)gy, (unsigned long long)gz);
  vk_buf *bufs[4] = {out->storage->data, in0->storage->data, in1->storage->data,
                     (bias ? bias : in0)->storage->data};
  unsigned writes = 1u | (bias && bias_written ? 8u : 0u);
  uint64_t chunk = maxc[0] < 65535 ? maxc[0] : 65535;
  /* Column tiles beyond the x limit go in further dispatches (tile0). */
  for (uint64_t t0 = 0; t0 < gx; t0 += chunk) {
    uint64_t n = gx - t0 < chunk ? gx - t0 : chunk;
    p->tile0 = (int32_t)t0;
    int rc = lundi_vk_dispatch_groups(d, VK_SH_CONV, spec, 5, bufs, 4, writes, p, sizeof *p, (uint32_t)n,
                                      (uint32_t)gy, (uint32_t)gz);
    if (rc) return rc;
  }
  return 0;
}

/* Forward (mode 0) or data gradient (mode 1): rows M, columns NC, reduction K per group. */
static int run_gemm(const geom *g, uint32_t mode, lundi_tensor *out, lundi_tensor *in0, lundi_tensor *in1,
                    lundi_tensor *bias, int64_t M, int64_t NC, int64_t K) {
  vk_dev *d = lundi_vk_dev(out->storage->device);
  uint32_t spec[5];
  pick_tiles(d, M, NC, g->G, mode, spec);
  conv_push p = push_of(g);
  p.M = (int32_t)M, p.NC = (int32_t)NC, p.K = (int32_t)K;
  p.ooff = (int32_t)out->offset, p.aoff = (int32_t)in0->offset, p.boff = (int32_t)in1->offset;
  p.bioff = bias ? (int32_t)bias->offset : 0, p.has_bias = bias != NULL;
  p.kchunk = (int32_t)K, p.nsplit = 1;
  return dispatch(d, spec, &p, out, in0, in1, bias, 0, ((uint64_t)NC + spec[2] - 1) / spec[2],
                  ((uint64_t)M + spec[1] - 1) / spec[1], (uint64_t)g->G);
}

int lundi_vk_conv2d_fwd(const lundi_kcall *c) {
  const char *op = "conv2d";
  geom g;
  static const char *const names[3] = {"x", "the weight", "y"};
  if (geom_init(op, &g, c, c->in[0], c->in[1], c->out[0], names)) return lundi_last_error_code();
  lundi_tensor *bias = c->n_in > 2 ? c->in[2] : NULL;
  if (bias && check_vector(op, "the bias", bias, g.O)) return lundi_last_error_code();
  if (g.N * g.O * g.OH * g.OW == 0) return 0;
  return run_gemm(&g, MODE_FWD, c->out[0], c->in[0], c->in[1], bias, g.O / g.G, g.N * g.OH * g.OW,
                  g.C / g.G * g.kh * g.kw);
}

int lundi_vk_conv2d_bwd_data(const lundi_kcall *c) {
  const char *op = "conv2d_backward_data";
  geom g;
  static const char *const names[3] = {"the input gradient", "the weight", "the output gradient"};
  if (geom_init(op, &g, c, c->out[0], c->in[1], c->in[0], names)) return lundi_last_error_code();
  lundi_tensor *bias = c->n_in > 2 ? c->in[2] : NULL;
  if (bias && check_vector(op, "the bias", bias, g.C)) return lundi_last_error_code();
  if (g.N * g.C * g.H * g.W == 0) return 0;
  /* With no gy pixels the gather finds nothing and gx is the bias alone, as on the CPU. */
  return run_gemm(&g, MODE_DATA, c->out[0], c->in[0], c->in[1], bias, g.C / g.G, g.N * g.H * g.W,
                  g.O / g.G * g.kh * g.kw);
}

int lundi_vk_conv2d_bwd_weight(const lundi_kcall *c) {
  const char *op = "conv2d_backward_weight";
  geom g;
  lundi_tensor *x = c->in[0], *gy = c->in[1], *gw = c->out[0];
  static const char *const names[3] = {"x", "the weight gradient", "the output gradient"};
  if (geom_init(op, &g, c, x, gw, gy, names)) return lundi_last_error_code();
  lundi_tensor *gb = c->n_out > 1 ? c->out[1] : NULL;
  if (gb && check_vector(op, "the bias gradient", gb, g.O)) return lundi_last_error_code();
  vk_dev *d = lundi_vk_dev(gw->storage->device);
  int64_t M = g.O / g.G, NC = g.C / g.G * g.kh * g.kw, pstride = NC + (gb != NULL), K = g.N * g.OH * g.OW;
  uint32_t spec[5];
  pick_tiles(d, M, NC, g.G, MODE_WEIGHT, spec);
  uint64_t gx = ((uint64_t)NC + spec[2] - 1) / spec[2], gy_ = ((uint64_t)M + spec[1] - 1) / spec[1];
  /* Split the reduction until the grid fills a large GPU, keeping each split long. */
  int64_t tiles = (int64_t)(gx * gy_) * g.G, nsplit = (SPLIT_TARGET_GROUPS + tiles - 1) / tiles;
  int64_t most = (K + SPLIT_MIN_TERMS - 1) / SPLIT_MIN_TERMS;
  if (nsplit > most) nsplit = most;
  if (nsplit > SPLIT_MAX) nsplit = SPLIT_MAX;
  while (nsplit > 1 && (nsplit * g.O * pstride >= LIM31 || nsplit * g.O * pstride * 4 > SPLIT_MAX_BYTES)) nsplit /= 2;
  if (nsplit < 1) nsplit = 1;
  int64_t kchunk = (K + nsplit - 1) / nsplit;
  kchunk = (kchunk + spec[3] - 1) / spec[3] * spec[3];
  if (kchunk < 1) kchunk = 1;
  nsplit = K ? (K + kchunk - 1) / kchunk : 1;
  conv_push p = push_of(&g);
  p.M = (int32_t)M, p.NC = (int32_t)NC, p.K = (int32_t)K;
  p.aoff = (int32_t)x->offset, p.boff = (int32_t)gy->offset, p.has_bias = gb != NULL;
  p.kchunk = (int32_t)kchunk, p.nsplit = (int32_t)nsplit, p.pstride = (int32_t)pstride;
  if (nsplit == 1) {
    p.ooff = (int32_t)gw->offset, p.bioff = gb ? (int32_t)gb->offset : 0;
    return dispatch(d, spec, &p, gw, x, gy, gb, 1, gx, gy_, (uint64_t)g.G);
  }
  int64_t n_part = nsplit * g.O * pstride;
  lundi_tensor *part = lundi_empty(1, &n_part, LUNDI_F32, gw->storage->device);
  if (!part) return lundi_last_error_code();
  p.ooff = 0;
  int rc = dispatch(d, spec, &p, part, x, gy, NULL, 0, gx, gy_, (uint64_t)(g.G * nsplit));
  if (!rc) { /* the partials as input (binding 1), one thread per gw element (and gb) */
    uint32_t rspec[5] = {d->local_size, 64, 64, 16, MODE_REDUCE}; /* tiles unused: one pipeline */
    conv_push r = push_of(&g);
    r.pstride = (int32_t)pstride, r.nsplit = (int32_t)nsplit, r.ooff = (int32_t)gw->offset, r.aoff = 0;
    r.bioff = gb ? (int32_t)gb->offset : 0, r.has_bias = gb != NULL;
    uint64_t groups = ((uint64_t)(g.O * pstride) + d->local_size - 1) / d->local_size;
    uint64_t rx = groups < 65535 ? groups : 65535, ry = (groups + rx - 1) / rx;
    vk_buf *bufs[4] = {gw->storage->data, part->storage->data, gw->storage->data,
                       (gb ? gb : gw)->storage->data};
    rc = lundi_vk_dispatch_groups(d, VK_SH_CONV, rspec, 5, bufs, 4, gb ? 9u : 1u, &r, sizeof r, (uint32_t)rx,
                                  (uint32_t)ry, 1);
  }
  lundi_release(part); /* freed once the recorded work is done (memory.c defers it) */
  return rc;
}
