/* upsample_conv2d: conv2d(upsample_nearest2d(x, s), w, bias, padding p), stride 1, without
 * building the upsampled image.
 *
 * Output row r = s*i + a reads upsampled rows r - p + t (t < kh), which are low-res rows
 * i + floor((a - p + t) / s). So for each phase a the kh taps land on a few consecutive
 * low-res rows, and phase (a, b) of the output is an ordinary conv of x whose kernel taps
 * are sums of w's taps: wp = F_ab w, with F_ab a 0/1 matrix [na*nb, kh*kw]. A 3x3 conv at
 * scale 2 becomes four 2x2 convs on the small image, 16/36 of the multiply-adds. The phases
 * run on the device's conv2d kernels (whose outputs may be larger than the size formula
 * gives: taps past the input read zeros) and are interleaved into the output; the backward
 * sums the phases' data gradients and folds their weight gradients back with F_ab^T. */
#include "ops/ops_internal.h"

#include <stdlib.h>
#include <string.h>

#define MAX_SCALE 8

static int64_t floor_div(int64_t a, int64_t s) { return a >= 0 ? a / s : -((-a + s - 1) / s); }

/* One dimension of one phase: taps land on low-res offsets lo .. lo + n - 1 (lo <= 0, so
 * the phase conv's padding is -lo), and the phase has cnt output rows. */
typedef struct pdim {
  int64_t lo, n, cnt;
} pdim;

static pdim phase_dim(int64_t s, int64_t k, int64_t p, int64_t a, int64_t out) {
  pdim d;
  d.lo = floor_div(a - p, s);
  d.n = floor_div(a - p + k - 1, s) - d.lo + 1;
  d.cnt = a < out ? (out - a + s - 1) / s : 0;
  return d;
}

typedef struct geom {
  int64_t N, C, H, W, O, kh, kw, OH, OW, s, p;
} geom;

/* F_ab [na*nb, kh*kw] on dev: row j*nb + l sums the taps (t, u) that land on phase tap (j, l). */
static lundi_tensor *fold_matrix(const geom *g, int64_t a, int64_t b, lundi_device *dev) {
  pdim pa = phase_dim(g->s, g->kh, g->p, a, g->OH), pb = phase_dim(g->s, g->kw, g->p, b, g->OW);
  int64_t rows = pa.n * pb.n, cols = g->kh * g->kw;
  float *f = calloc((size_t)(rows * cols), sizeof(float));
  if (!f) return lundi__errp(LUNDI_ENOMEM, "upsample_conv2d: out of host memory");
  for (int64_t t = 0; t < g->kh; t++)
    for (int64_t u = 0; u < g->kw; u++) {
      int64_t j = floor_div(a - g->p + t, g->s) - pa.lo, l = floor_div(b - g->p + u, g->s) - pb.lo;
      int64_t r = j * pb.n + l, c = t * g->kw + u;
      f[r * cols + c] = 1.0f;
    }
  int64_t shape[2] = {rows, cols};
  lundi_tensor *h = lundi_from_f32(2, shape, f);
  free(f);
  if (!h || dev->is_host) return h;
  lundi_tensor *m = lundi_to_device(h, dev);
  lundi_release(h);
  return m;
}

/* Phase (a, b)'s weight [O, C, na, nb] = w F_ab^T, from w [O, C, kh, kw] (contiguous) and
 * F_ab, outside autograd. */
static lundi_tensor *phase_weight(const geom *g, lundi_tensor *w, lundi_tensor *f, int64_t a, int64_t b) {
  pdim pa = phase_dim(g->s, g->kh, g->p, a, g->OH), pb = phase_dim(g->s, g->kw, g->p, b, g->OW);
  lundi_tensor *ft = lundi_transpose(f, 0, 1);
  lundi_tensor *w2 = ft ? lundi_reshape(w, 2, (int64_t[]){g->O * g->C, g->kh * g->kw}) : NULL;
  lundi_tensor *p2 = w2 ? lundi_matmul(w2, ft) : NULL;
  lundi_tensor *wp = p2 ? lundi_reshape(p2, 4, (int64_t[]){g->O, g->C, pa.n, pb.n}) : NULL;
  lundi_release(ft);
  lundi_release(w2);
  lundi_release(p2);
  return wp;
}

static int run_conv(int id, lundi_tensor *in0, lundi_tensor *in1, lundi_tensor *in2, lundi_tensor *out0,
                    const pdim *pa, const pdim *pb) {
  lundi_kcall k = {.id = id, .n_in = 3, .n_out = 1, .in = {in0, in1, in2}, .out = {out0},
                   .i = {1, 1, -pa->lo, -pb->lo, 1, 1, 1}};
  return lundi__run(&k);
}

/* Phase (a, b) of y [N, O, OH, OW] as a strided view [N, O, cnt_a, cnt_b]. */
static lundi_tensor *phase_view(const geom *g, lundi_tensor *y, int64_t a, int64_t b, const pdim *pa, const pdim *pb) {
  int64_t shape[4] = {g->N, g->O, pa->cnt, pb->cnt};
  int64_t stride[4] = {y->stride[0], y->stride[1], g->s * y->stride[2], g->s * y->stride[3]};
  return lundi__view(y, 4, shape, stride, y->offset + a * y->stride[2] + b * y->stride[3]);
}

static void geom_from_node(const lundi_node *n, geom *g) {
  g->N = n->i[0], g->C = n->i[1], g->H = n->i[2], g->W = n->i[3], g->O = n->i[4], g->kh = n->i[5];
  g->kw = n->i[6], g->OH = n->i[7], g->OW = n->i[8], g->s = n->i[9], g->p = n->i[10];
}

static void geom_to_node(lundi_node *n, const geom *g) {
  int64_t v[11] = {g->N, g->C, g->H, g->W, g->O, g->kh, g->kw, g->OH, g->OW, g->s, g->p};
  memcpy(n->i, v, sizeof v);
}

/* Phase (a, b)'s weight gradient [O, C, kh, kw]: the conv weight gradient of the phase,
 * folded back onto w's taps with F_ab. */
static lundi_tensor *phase_wgrad(const geom *g, lundi_tensor *x, lundi_tensor *gp, lundi_tensor *wp, lundi_tensor *f,
                                 const pdim *pa, const pdim *pb) {
  lundi_device *dev = x->storage->device;
  lundi_tensor *gwp = lundi_empty(4, wp->shape, LUNDI_F32, dev), *g2 = NULL, *folded = NULL, *out = NULL;
  lundi_kcall k = {.id = LUNDI_K_CONV2D_BWD_WEIGHT, .n_in = 2, .n_out = 1, .in = {x, gp}, .out = {gwp},
                   .i = {1, 1, -pa->lo, -pb->lo, 1, 1, 1}};
  if (gwp && !lundi__run(&k) && (g2 = lundi_reshape(gwp, 2, (int64_t[]){g->O * g->C, pa->n * pb->n})) &&
      (folded = lundi_matmul(g2, f)))
    out = lundi_reshape(folded, 4, (int64_t[]){g->O, g->C, g->kh, g->kw});
  lundi_release(gwp);
  lundi_release(g2);
  lundi_release(folded);
  return out;
}

/* One phase of the backward: its data gradient added into *gx, its weight gradient into
 * *gw (either may be NULL when not needed). */
static int phase_bw(const geom *g, lundi_tensor *x, lundi_tensor *w, lundi_tensor *gy, int64_t a, int64_t b,
                    lundi_tensor **gx, lundi_tensor **gw) {
  pdim pa = phase_dim(g->s, g->kh, g->p, a, g->OH), pb = phase_dim(g->s, g->kw, g->p, b, g->OW);
  if (!pa.cnt || !pb.cnt) return 0;
  lundi_device *dev = x->storage->device;
  lundi_tensor *view = phase_view(g, gy, a, b, &pa, &pb), *gp = NULL, *f = NULL, *wp = NULL;
  int rc = -1;
  if (view && (gp = lundi_empty(4, view->shape, LUNDI_F32, dev)) && !lundi_copy_(gp, view) &&
      (f = fold_matrix(g, a, b, dev)) && (wp = phase_weight(g, w, f, a, b))) {
    rc = 0;
    if (gx) {
      lundi_tensor *t = lundi_empty(4, x->shape, LUNDI_F32, dev);
      rc = t && !run_conv(LUNDI_K_CONV2D_BWD_DATA, gp, wp, NULL, t, &pa, &pb) ? 0 : -1;
      if (rc) lundi_release(t);
      else rc = lundi__accumulate(gx, t);
    }
    if (!rc && gw) {
      lundi_tensor *t = phase_wgrad(g, x, gp, wp, f, &pa, &pb);
      rc = t ? lundi__accumulate(gw, t) : -1;
    }
  }
  lundi_release(wp);
  lundi_release(f);
  lundi_release(gp);
  lundi_release(view);
  return rc;
}

/* A zero tensor shaped like t on t's device (for a gradient no phase contributed to). */
static lundi_tensor *zeros_like(const lundi_tensor *t) {
  lundi_tensor *z = lundi_empty(t->ndim, t->shape, LUNDI_F32, t->storage->device);
  if (z && lundi_fill_(z, 0.0f)) {
    lundi_release(z);
    return NULL;
  }
  return z;
}

/* saved[0] = x, saved[1] = w (contiguous). */
static int upconv_bw(lundi_node *n, lundi_tensor *gout, lundi_tensor **gin) {
  geom g;
  geom_from_node(n, &g);
  lundi_tensor *x = n->saved[0], *w = n->saved[1], *bias = n->n_in > 2 ? n->in[2] : NULL;
  int need_x = n->in[0]->requires_grad, need_w = n->in[1]->requires_grad, need_b = bias && bias->requires_grad;
  lundi_tensor *gy = lundi_contiguous(gout);
  if (!gy) return -1;
  int rc = 0;
  lundi_no_grad_enter();
  for (int64_t a = 0; a < g.s && !rc; a++)
    for (int64_t b = 0; b < g.s && !rc; b++)
      rc = phase_bw(&g, x, w, gy, a, b, need_x ? &gin[0] : NULL, need_w ? &gin[1] : NULL);
  /* phases with no output rows contribute nothing; a gradient must still exist */
  if (!rc && need_x && !gin[0]) rc = !(gin[0] = zeros_like(x)) ? -1 : 0;
  if (!rc && need_w && !gin[1]) rc = !(gin[1] = zeros_like(w)) ? -1 : 0;
  if (!rc && need_b) {
    int axes[3] = {0, 2, 3};
    rc = !(gin[2] = lundi_sum(gy, 3, axes, 0)) ? -1 : 0;
  }
  lundi_no_grad_exit();
  lundi_release(gy);
  return rc;
}

static lundi_tensor *check(lundi_tensor *x, int scale, lundi_tensor *w, lundi_tensor *bias, int padding, geom *g) {
  const char *op = "upsample_conv2d";
  char s1[160], s2[160];
  if (lundi__check_f32(op, "input", x) || lundi__check_f32(op, "weight", w)) return NULL;
  if (bias && lundi__check_f32(op, "bias", bias)) return NULL;
  lundi_tensor *all[3] = {x, w, bias};
  if (lundi__same_device(op, bias ? 3 : 2, all)) return NULL;
  lundi_shape_str(x->ndim, x->shape, s1, sizeof s1);
  lundi_shape_str(w->ndim, w->shape, s2, sizeof s2);
  if (scale < 1 || scale > MAX_SCALE)
    return lundi__errp(LUNDI_EINVAL, "%s: scale must be 1..%d, got %d", op, MAX_SCALE, scale);
  if (padding < 0) return lundi__errp(LUNDI_EINVAL, "%s: padding %d must not be negative", op, padding);
  if (x->ndim != 4 || w->ndim != 4)
    return lundi__errp(LUNDI_ESHAPE, "%s: input %s must be [N, C, H, W] and weight %s [Cout, C, kh, kw]", op, s1, s2);
  if (w->shape[1] != x->shape[1] || w->shape[0] < 1 || w->shape[2] < 1 || w->shape[3] < 1)
    return lundi__errp(LUNDI_ESHAPE, "%s: input %s has %lld channels but weight %s expects %lld", op, s1,
                       (long long)x->shape[1], s2, (long long)w->shape[1]);
  if (bias && (bias->ndim != 1 || bias->shape[0] != w->shape[0]))
    return lundi__errp(LUNDI_ESHAPE, "%s: bias %s does not match %lld output channels (weight %s)", op,
                       lundi_shape_str(bias->ndim, bias->shape, s1, sizeof s1), (long long)w->shape[0], s2);
  *g = (geom){x->shape[0], x->shape[1], x->shape[2], x->shape[3], w->shape[0], w->shape[2], w->shape[3], 0, 0,
              scale, padding};
  g->OH = scale * g->H + 2 * padding - g->kh + 1;
  g->OW = scale * g->W + 2 * padding - g->kw + 1;
  if (g->OH < 1 || g->OW < 1)
    return lundi__errp(LUNDI_ESHAPE, "%s: input %s upsampled %dx and padded by %d is smaller than the kernel of weight %s",
                       op, s1, scale, padding, s2);
  return x;
}

/* Phase (a, b) of the output into yp [N, O, cnt_a, cnt_b] (contiguous). */
static int phase_forward(const geom *g, lundi_tensor *x, lundi_tensor *w, lundi_tensor *bias, lundi_tensor *yp,
                         int64_t a, int64_t b) {
  pdim pa = phase_dim(g->s, g->kh, g->p, a, g->OH), pb = phase_dim(g->s, g->kw, g->p, b, g->OW);
  lundi_tensor *f = fold_matrix(g, a, b, w->storage->device), *wp = f ? phase_weight(g, w, f, a, b) : NULL;
  int rc = wp ? run_conv(LUNDI_K_CONV2D_FWD, x, wp, bias, yp, &pa, &pb) : -1;
  lundi_release(f);
  lundi_release(wp);
  return rc;
}

/* When every phase has the same size, the phases go into one buffer [s, s, N, O, h, w] and
 * one copy interleaves them (four strided copies would each pull all of y through the
 * cache). */
static int forward_stacked(const geom *g, lundi_tensor *x, lundi_tensor *w, lundi_tensor *bias, lundi_tensor *y) {
  const int64_t s = g->s, h = g->OH / s, wd = g->OW / s, ph = g->N * g->O * h * wd;
  lundi_tensor *buf = lundi_empty(1, (int64_t[]){s * s * ph}, LUNDI_F32, x->storage->device);
  int rc = buf ? 0 : -1;
  for (int64_t a = 0; a < s && !rc; a++)
    for (int64_t b = 0; b < s && !rc; b++) {
      int64_t shape[4] = {g->N, g->O, h, wd}, stride[4] = {g->O * h * wd, h * wd, wd, 1};
      lundi_tensor *yp = lundi__view(buf, 4, shape, stride, buf->offset + (a * s + b) * ph);
      rc = yp ? phase_forward(g, x, w, bias, yp, a, b) : -1;
      lundi_release(yp);
    }
  if (!rc) { /* y[n, o, i*s + a, j*s + b] = buf[a, b, n, o, i, j] */
    int64_t shape[6] = {g->N, g->O, h, s, wd, s};
    int64_t ys[6] = {g->O * g->OH * g->OW, g->OH * g->OW, s * g->OW, g->OW, s, 1};
    int64_t bs[6] = {g->O * h * wd, h * wd, wd, s * ph, 1, ph};
    lundi_tensor *dst = lundi__view(y, 6, shape, ys, y->offset), *src = lundi__view(buf, 6, shape, bs, buf->offset);
    rc = dst && src ? lundi_copy_(dst, src) : -1;
    lundi_release(dst);
    lundi_release(src);
  }
  lundi_release(buf);
  return rc;
}

lundi_tensor *lundi_upsample_conv2d(lundi_tensor *x, int scale, lundi_tensor *w, lundi_tensor *bias, int padding) {
  geom g;
  if (!check(x, scale, w, bias, padding, &g)) return NULL;
  lundi_device *dev = x->storage->device;
  lundi_no_grad_enter();
  lundi_tensor *xc = lundi_contiguous(x), *wc = lundi_contiguous(w), *bc = bias ? lundi_contiguous(bias) : NULL;
  lundi_tensor *y = xc && wc && (!bias || bc) ? lundi_empty(4, (int64_t[]){g.N, g.O, g.OH, g.OW}, LUNDI_F32, dev) : NULL;
  int rc = y ? 0 : -1;
  if (!rc && g.OH % g.s == 0 && g.OW % g.s == 0)
    rc = forward_stacked(&g, xc, wc, bc, y);
  else
    for (int64_t a = 0; a < g.s && !rc; a++)
      for (int64_t b = 0; b < g.s && !rc; b++) {
        pdim pa = phase_dim(g.s, g.kh, g.p, a, g.OH), pb = phase_dim(g.s, g.kw, g.p, b, g.OW);
        if (!pa.cnt || !pb.cnt) continue;
        lundi_tensor *yp = lundi_empty(4, (int64_t[]){g.N, g.O, pa.cnt, pb.cnt}, LUNDI_F32, dev);
        lundi_tensor *view = yp ? phase_view(&g, y, a, b, &pa, &pb) : NULL;
        rc = view && !phase_forward(&g, xc, wc, bc, yp, a, b) ? lundi_copy_(view, yp) : -1;
        lundi_release(view);
        lundi_release(yp);
      }
  lundi_no_grad_exit();
  lundi_release(bc);
  if (rc) {
    lundi_release(xc);
    lundi_release(wc);
    lundi_release(y);
    return NULL;
  }
  lundi_tensor *in[3] = {x, w, bias};
  lundi_node *nd = lundi__record(y, "upsample_conv2d", upconv_bw, bias ? 3 : 2, in);
  if (nd) {
    nd->saved[0] = xc, nd->saved[1] = wc;
    geom_to_node(nd, &g);
  } else {
    lundi_release(xc);
    lundi_release(wc);
  }
  return y;
}
