/* Vulkan conv2d kernels (forward, data gradient, weight gradient; runtime/vulkan/kernels_conv.c)
 * against the CPU, through the raw kernels and through the public ops (conv1d/2d and their
 * transposes, forward and autograd backward). Raw kernels write views placed inside larger
 * sentinel-filled storages (vulkan_pair.h), so a write outside an output shows.
 *
 * Tolerances. Every output is a sum of n terms (products, plus the bias): n = Cg*kh*kw + 1
 * for the forward, Og*kh*kw + 1 for the data gradient, N*OH*OW for the weight and bias
 * gradients. In any summation order with one rounding per product and per addition, each
 * side is within gamma_n S of the exact sum, S = sum of |terms|, so
 *   |vulkan - cpu| <= 2 (n + 2) u S   (u = 2^-24)
 * per element, with S computed by the CPU on |inputs| (the same kernel or op). That is the
 * bar for random data: a relative 1e-5 cannot hold for a sum that cancels, and the orders
 * differ (tiles, split-K partials on the device; blocked sgemm or direct kernels on the CPU).
 * With dyadic data (k/8, |k| <= 8) every product is a multiple of 2^-6 and every partial sum
 * stays below 2^18, so both sides are exact and must agree bit for bit (up to the sign of
 * zero). Cases exit 77 (skip) without a Vulkan device. */
#include "vulkan_pair.h"

/* ---- raw kernels ---- */

typedef struct cgeom {
  int64_t N, C, H, W, O, kh, kw, sh, sw, ph, pw, dh, dw, G;
  int shrink; /* output one smaller than the size formula (the contract allows it) */
} cgeom;

/* Odd sizes that fill no tile, strides, padding (also wider than the kernel), dilation,
 * groups (depthwise too), 1x1, 1-row (conv1d-like), thin and wide GEMMs, and reductions long
 * enough that the weight gradient splits over workgroups. */
static const cgeom geoms[] = {
    {1, 1, 1, 1, 1, 1, 1, 1, 1, 0, 0, 1, 1, 1, 0},   {2, 3, 7, 5, 4, 3, 3, 1, 1, 1, 1, 1, 1, 1, 0},
    {3, 5, 9, 11, 7, 3, 2, 2, 1, 1, 0, 1, 2, 1, 0},  {2, 6, 8, 8, 9, 3, 3, 2, 2, 1, 1, 1, 1, 3, 0},
    {1, 4, 13, 6, 4, 5, 1, 3, 1, 2, 0, 2, 1, 4, 0},  {2, 16, 10, 10, 40, 1, 1, 1, 1, 0, 0, 1, 1, 1, 0},
    {1, 3, 1, 40, 70, 1, 3, 1, 1, 0, 1, 1, 1, 1, 0}, {2, 33, 6, 7, 17, 3, 3, 1, 1, 1, 1, 1, 1, 1, 1},
    {4, 8, 15, 15, 24, 3, 3, 1, 1, 1, 1, 1, 1, 2, 0}, {1, 2, 4, 4, 3, 3, 3, 1, 1, 3, 2, 1, 1, 1, 0},
    {8, 4, 20, 20, 8, 3, 3, 1, 1, 1, 1, 1, 1, 1, 0}, {2, 4, 7, 7, 6, 2, 2, 3, 3, 0, 0, 1, 1, 1, 0},
    {2, 3, 9, 9, 130, 3, 3, 2, 2, 1, 1, 1, 1, 1, 1},
};

static void out_size(const cgeom *g, int64_t *OH, int64_t *OW) {
  *OH = (g->H + 2 * g->ph - g->dh * (g->kh - 1) - 1) / g->sh + 1 - g->shrink;
  *OW = (g->W + 2 * g->pw - g->dw * (g->kw - 1) - 1) / g->sw + 1 - g->shrink;
}

static pair abs_copy(const pair *p) {
  pair a = {0};
  a.total = p->total;
  float *v = malloc(sizeof(float) * (size_t)p->total);
  const float *s = lundi_data(p->hw);
  for (int64_t i = 0; i < p->total; i++) v[i] = fabsf(s[i]);
  a.hw = lundi_from_f32(1, &a.total, v);
  free(v);
  a.h = lundi__view(a.hw, p->h->ndim, p->h->shape, p->h->stride, p->h->offset);
  return a;
}

/* Per storage position of out[which]: the bound 2 (n + 2) u S, S from the CPU kernel run on
 * |inputs|. */
static double *bound_of(lundi_kcall c, pair *in, int n_in, pair *out, int n_out, int which, int64_t n) {
  pair a[8], o[4];
  c.n_in = n_in, c.n_out = n_out;
  for (int k = 0; k < n_in; k++) a[k] = abs_copy(&in[k]), c.in[k] = a[k].h;
  for (int k = 0; k < n_out; k++) o[k] = abs_copy(&out[k]), c.out[k] = o[k].h;
  CHECK(lundi__dispatch(&c) == 0);
  double *b = calloc((size_t)out[which].total, sizeof *b);
  const float *s = lundi_data(o[which].hw);
  for (int64_t j = 0; j < lundi_numel(out[which].h); j++) {
    int64_t i = pos_of(out[which].h, j);
    b[i] = 2.0 * (double)(n + 2) * U_F32 * s[i];
  }
  for (int k = 0; k < n_in; k++) pair_free(&a[k]);
  for (int k = 0; k < n_out; k++) pair_free(&o[k]);
  return b;
}

/* Runs kernel c on both sides and checks every output: exact for dyadic data, else within
 * the bound for n terms. */
static void run_check(const char *what, lundi_kcall c, pair *in, int n_in, pair *out, int n_out, int64_t n,
                      int exact) {
  double *b[4] = {0};
  if (!exact)
    for (int k = 0; k < n_out; k++) b[k] = bound_of(c, in, n_in, out, n_out, k, n);
  if (!run_both(c, in, n_in, out, n_out))
    for (int k = 0; k < n_out; k++) {
      char w[240];
      snprintf(w, sizeof w, "%.200s%s", what, k ? " (bias gradient)" : "");
      compare_f32(w, &out[k], (tol){0, 0, b[k]});
    }
  for (int k = 0; k < n_out; k++) free(b[k]);
}

/* The three kernels of geometry g, inputs of value kind `kind` (x, gy) and `wkind` (w, bias). */
static void kernels_case(lundi_device *dev, const cgeom *g, int kind, int wkind, int with_bias) {
  int64_t OH, OW;
  out_size(g, &OH, &OW);
  int64_t xs[4] = {g->N, g->C, g->H, g->W}, ws[4] = {g->O, g->C / g->G, g->kh, g->kw};
  int64_t ys[4] = {g->N, g->O, OH, OW}, bo = g->O, bc = g->C;
  int exact = kind == V_DYADIC && wkind == V_DYADIC;
  lundi_kcall c = {.i = {g->sh, g->sw, g->ph, g->pw, g->dh, g->dw, g->G}};
  char what[200];
  int len = snprintf(what, sizeof what,
                     "x %lldx%lldx%lldx%lld O %lld k %lldx%lld s %lld,%lld p %lld,%lld d %lld,%lld g %lld%s kind %d/%d%s",
                     (long long)g->N, (long long)g->C, (long long)g->H, (long long)g->W, (long long)g->O,
                     (long long)g->kh, (long long)g->kw, (long long)g->sh, (long long)g->sw, (long long)g->ph,
                     (long long)g->pw, (long long)g->dh, (long long)g->dw, (long long)g->G,
                     g->shrink ? " shrunk" : "", kind, wkind, with_bias ? " bias" : "");
  pair x = pair_contig(dev, LUNDI_F32, 4, xs, 3, 5, kind), w = pair_contig(dev, LUNDI_F32, 4, ws, 1, 2, wkind);
  pair b = pair_contig(dev, LUNDI_F32, 1, &bo, 2, 1, wkind), y = pair_contig(dev, LUNDI_F32, 4, ys, 4, 7, -1);
  pair fin[3] = {x, w, b};
  c.id = LUNDI_K_CONV2D_FWD;
  snprintf(what + len, sizeof what - (size_t)len, " forward");
  run_check(what, c, fin, with_bias ? 3 : 2, &y, 1, g->C / g->G * g->kh * g->kw + 1, exact);

  pair gy = pair_contig(dev, LUNDI_F32, 4, ys, 2, 3, kind), cb = pair_contig(dev, LUNDI_F32, 1, &bc, 1, 1, wkind);
  pair gx = pair_contig(dev, LUNDI_F32, 4, xs, 5, 2, -1);
  pair din[3] = {gy, w, cb};
  c.id = LUNDI_K_CONV2D_BWD_DATA;
  snprintf(what + len, sizeof what - (size_t)len, " data gradient");
  run_check(what, c, din, with_bias ? 3 : 2, &gx, 1, g->O / g->G * g->kh * g->kw + 1, exact);

  pair gw = pair_contig(dev, LUNDI_F32, 4, ws, 3, 3, -1), gb = pair_contig(dev, LUNDI_F32, 1, &bo, 2, 2, -1);
  pair win[2] = {x, gy}, wout[2] = {gw, gb};
  c.id = LUNDI_K_CONV2D_BWD_WEIGHT;
  snprintf(what + len, sizeof what - (size_t)len, " weight gradient");
  run_check(what, c, win, 2, wout, with_bias ? 2 : 1, g->N * OH * OW, exact);

  pair_free(&x), pair_free(&w), pair_free(&b), pair_free(&y), pair_free(&gy), pair_free(&cb);
  pair_free(&gx), pair_free(&gw), pair_free(&gb);
}

static void kernels_exact(void) {
  lundi_device *dev = need_device();
  for (size_t i = 0; i < sizeof geoms / sizeof *geoms; i++) kernels_case(dev, &geoms[i], V_DYADIC, V_DYADIC, (int)i % 2);
  CHECK(lundi_live_tensors() == 0);
}

static void kernels_rounding(void) {
  lundi_device *dev = need_device();
  for (size_t i = 0; i < sizeof geoms / sizeof *geoms; i++) kernels_case(dev, &geoms[i], V_MIXED, V_MIXED, (int)(i + 1) % 2);
  CHECK(lundi_live_tensors() == 0);
}

/* Random geometries (a fixed sequence; LUNDI_TEST_SEED=n for others), alternating dyadic data
 * (exact) and random data (bounded), with and without bias. */
static uint64_t shape_state = 41;
static int64_t rdim(int lo, int hi) { return t_rand_dim(&shape_state, lo, hi); }

static void random_shapes(void) {
  lundi_device *dev = need_device();
  for (int t = 0; t < 24; t++) {
    cgeom g = {0};
    g.G = rdim(1, 3);
    g.N = rdim(1, 3), g.C = g.G * rdim(1, 6), g.O = g.G * rdim(1, 24);
    g.kh = rdim(1, 4), g.kw = rdim(1, 4), g.sh = rdim(1, 3), g.sw = rdim(1, 3);
    g.dh = rdim(1, 2), g.dw = rdim(1, 2), g.ph = rdim(0, 2), g.pw = rdim(0, 2);
    /* an input at least as large as the kernel's span */
    g.H = g.dh * (g.kh - 1) + 1 + rdim(0, 12), g.W = g.dw * (g.kw - 1) + 1 + rdim(0, 12);
    int64_t OH, OW;
    out_size(&g, &OH, &OW);
    g.shrink = OH > 1 && OW > 1 && rdim(0, 3) == 0;
    int kind = t % 2 ? V_MIXED : V_DYADIC;
    kernels_case(dev, &g, kind, kind, (t / 2) % 2);
  }
  CHECK(lundi_live_tensors() == 0);
}

/* NaN, +-inf, +-0 in x and gy reach exactly the outputs whose taps read them. Weights stay
 * finite and non-zero: where a CPU kernel skips a padding tap that the device multiplies by
 * zero (or the other way round), 0 * inf would make the two differ for no fault of either. */
static void nan_inf(void) {
  lundi_device *dev = need_device();
  const int pick[] = {1, 3, 7, 9, 12};
  for (int i = 0; i < 5; i++) kernels_case(dev, &geoms[pick[i]], V_SPECIAL, V_MIXED, i % 2);
  CHECK(lundi_live_tensors() == 0);
}

/* The mnist-unet's shapes at batch 2: a 64->64 3x3 conv at 28x28 and its stride-2
 * downsampling; the device's results are the same bits when run again. */
static void mnist_unet_layer(void) {
  lundi_device *dev = need_device();
  const cgeom g[2] = {{2, 64, 28, 28, 64, 3, 3, 1, 1, 1, 1, 1, 1, 1, 0},
                      {2, 64, 28, 28, 64, 3, 3, 2, 2, 1, 1, 1, 1, 1, 0}};
  for (int k = 0; k < 2; k++) kernels_case(dev, &g[k], V_MIXED, V_MIXED, 1);
  /* determinism of the split-K weight gradient */
  int64_t xs[4] = {2, 64, 28, 28}, ws[4] = {64, 64, 3, 3}, bs = 64;
  pair x = pair_contig(dev, LUNDI_F32, 4, xs, 0, 0, V_MIXED), gy = pair_contig(dev, LUNDI_F32, 4, xs, 0, 0, V_MIXED);
  lundi_tensor *r[2][2] = {{NULL}};
  for (int k = 0; k < 2; k++) {
    r[k][0] = lundi_empty(4, ws, LUNDI_F32, dev), r[k][1] = lundi_empty(1, &bs, LUNDI_F32, dev);
    lundi_kcall c = {.id = LUNDI_K_CONV2D_BWD_WEIGHT, .n_in = 2, .n_out = 2, .in = {x.d, gy.d},
                     .out = {r[k][0], r[k][1]}, .i = {1, 1, 1, 1, 1, 1, 1}};
    CHECK(lundi__dispatch(&c) == 0);
  }
  for (int j = 0; j < 2; j++) {
    float *a = t_read(r[0][j]), *b = t_read(r[1][j]);
    CHECK(a && b && !memcmp(a, b, sizeof(float) * (size_t)lundi_numel(r[0][j])));
    free(a), free(b);
    lundi_release(r[0][j]), lundi_release(r[1][j]);
  }
  pair_free(&x), pair_free(&gy);
  CHECK(lundi_live_tensors() == 0);
}

/* ---- public ops ---- */

/* OP_UPCONV: upsample_conv2d with the scale in stride[0] and the padding in padding[0] */
enum { OP_CONV2D, OP_CONV1D, OP_CONVT2D, OP_CONVT1D, OP_UPCONV };
static const char *op_names[] = {"conv2d", "conv1d", "conv_transpose2d", "conv_transpose1d", "upsample_conv2d"};

typedef struct opcase {
  int op, nd;
  int64_t x[4], w[4];
  lundi_conv_params p;
  int bias;
} opcase;

static const opcase opcases[] = {
    {OP_CONV2D, 4, {2, 6, 9, 7}, {4, 3, 3, 3}, {{2, 1}, {1, 2}, {1, 2}, {0, 0}, 2}, 1},
    {OP_CONV2D, 4, {3, 5, 11, 10}, {7, 5, 1, 3}, {{1, 1}, {0, 0}, {1, 1}, {0, 0}, 1}, 0},
    {OP_CONV2D, 4, {1, 3, 6, 6}, {67, 3, 3, 3}, {{1, 1}, {1, 1}, {1, 1}, {0, 0}, 1}, 1},
    {OP_CONV1D, 3, {2, 4, 17}, {6, 2, 5}, {{2}, {3}, {1}, {0}, 2}, 1},
    {OP_CONV1D, 3, {3, 3, 9}, {5, 3, 3}, {{1}, {0}, {2}, {0}, 1}, 0},
    {OP_CONVT2D, 4, {2, 4, 5, 6}, {4, 3, 3, 3}, {{2, 2}, {1, 1}, {1, 1}, {1, 1}, 1}, 1},
    {OP_CONVT2D, 4, {1, 6, 4, 4}, {6, 2, 3, 2}, {{1, 2}, {0, 1}, {2, 1}, {0, 1}, 3}, 0},
    {OP_CONVT1D, 3, {2, 4, 7}, {4, 3, 4}, {{3}, {1}, {1}, {2}, 1}, 1},
    {OP_UPCONV, 4, {3, 4, 7, 7}, {16, 4, 3, 3}, {{2}, {1}, {0}, {0}, 0}, 1},
    {OP_UPCONV, 4, {2, 3, 4, 5}, {5, 3, 2, 3}, {{3}, {0}, {0}, {0}, 0}, 0},
};

static lundi_tensor *apply(const opcase *oc, lundi_tensor *x, lundi_tensor *w, lundi_tensor *b) {
  switch (oc->op) {
  case OP_CONV2D: return lundi_conv2d(x, w, b, &oc->p);
  case OP_CONV1D: return lundi_conv1d(x, w, b, &oc->p);
  case OP_CONVT2D: return lundi_conv_transpose2d(x, w, b, &oc->p);
  case OP_CONVT1D: return lundi_conv_transpose1d(x, w, b, &oc->p);
  default: return lundi_upsample_conv2d(x, oc->p.stride[0], w, b, oc->p.padding[0]);
  }
}

static lundi_tensor *abs_of(lundi_tensor *t) {
  lundi_no_grad_enter();
  lundi_tensor *a = lundi_abs(t);
  lundi_no_grad_exit();
  return a;
}

/* |d - h| <= 2 (n + 2) u s elementwise (s: the same computation on |inputs|). */
static void compare_bound(const char *what, lundi_tensor *h, lundi_tensor *d, lundi_tensor *s, int64_t n) {
  CHECK(h && d && s && lundi_numel(h) == lundi_numel(d) && lundi_numel(h) == lundi_numel(s));
  if (!h || !d || !s) return;
  float *a = t_read(h), *b = t_read(d), *m = t_read(s);
  int64_t bad = 0, first = -1, cnt = lundi_numel(h);
  for (int64_t i = 0; a && b && m && i < cnt; i++) {
    double lim = 2.0 * (double)(n + 2) * U_F32 * m[i];
    int ok = isnan(a[i]) || isnan(b[i]) ? isnan(a[i]) && isnan(b[i]) : fabs((double)a[i] - b[i]) <= lim;
    if (!ok && first < 0) first = i;
    bad += !ok;
  }
  if (bad) fprintf(stderr, "%s: %lld of %lld differ, first at %lld: cpu %.9g vulkan %.9g (bound sum %.9g)\n", what,
                   (long long)bad, (long long)cnt, (long long)first, a[first], b[first], m[first]);
  CHECK(a && b && m && bad == 0);
  free(a), free(b), free(m);
}

/* Terms per output of the op's forward (an upper bound for the transposes), and per element
 * of the gradients of x, w and bias. */
static void term_counts(const opcase *oc, lundi_tensor *y, int64_t n[4]) {
  int64_t ks = 1, in_pix = oc->x[0], out_pix = y->shape[0];
  for (int k = 2; k < oc->nd; k++) ks *= oc->w[k], in_pix *= oc->x[k], out_pix *= y->shape[k];
  int64_t G = oc->p.groups ? oc->p.groups : 1, cin = oc->x[1], cout = y->shape[1];
  n[0] = cin / G * ks + 1;
  n[1] = cout / G * ks;                                    /* grad x: over output channels and taps */
  n[2] = oc->op == OP_CONV2D || oc->op == OP_CONV1D ? out_pix : in_pix; /* grad w: over pixels */
  n[3] = out_pix;                                          /* grad bias */
  if (oc->op == OP_UPCONV) { /* scale^2 phases each add their share into x and w */
    int64_t s2 = (int64_t)oc->p.stride[0] * oc->p.stride[0];
    n[1] = cout * ks * s2, n[2] = out_pix * s2;
  }
}

static void public_case(lundi_device *dev, const opcase *oc, int backward) {
  lundi_rng rng = lundi_rng_make(17 + (uint64_t)oc->op);
  int64_t bs = oc->op == OP_CONV2D || oc->op == OP_CONV1D || oc->op == OP_UPCONV ? oc->w[0] : oc->w[1] * (oc->p.groups ? oc->p.groups : 1);
  lundi_tensor *h[3] = {t_randn(&rng, oc->nd, oc->x, 1.0f, 0), t_randn(&rng, oc->nd, oc->w, 0.5f, 0),
                        oc->bias ? t_randn(&rng, 1, &bs, 1.0f, 0) : NULL};
  lundi_tensor *d[3], *a[3];
  for (int k = 0; k < 3; k++) {
    d[k] = h[k] ? lundi_to_device(h[k], dev) : NULL;
    a[k] = h[k] ? abs_of(h[k]) : NULL;
    if (h[k] && backward) {
      lundi_set_requires_grad(h[k], 1), lundi_set_requires_grad(d[k], 1), lundi_set_requires_grad(a[k], 1);
    }
  }
  char what[128];
  snprintf(what, sizeof what, "%s x#%d%s", op_names[oc->op], (int)(oc - opcases), oc->bias ? " bias" : "");
  lundi_tensor *yh = apply(oc, h[0], h[1], h[2]), *yd = apply(oc, d[0], d[1], d[2]), *ya = apply(oc, a[0], a[1], a[2]);
  CHECK(yh && yd && ya);
  if (!yh || !yd || !ya) goto done;
  CHECK(lundi_tensor_device(yd) == dev);
  int64_t n[4];
  term_counts(oc, yh, n);
  if (!backward) {
    compare_bound(what, yh, yd, ya, n[0]);
  } else {
    /* L = sum(y * R): the gradient flowing into the op is R */
    lundi_tensor *R = t_randn(&rng, lundi_ndim(yh), yh->shape, 1.0f, 0), *Rd = lundi_to_device(R, dev), *Ra = abs_of(R);
    lundi_tensor *ph = lundi_mul(yh, R), *pd = lundi_mul(yd, Rd), *pa = lundi_mul(ya, Ra);
    lundi_tensor *lh = lundi_sum(ph, 0, NULL, 0), *ld = lundi_sum(pd, 0, NULL, 0), *la = lundi_sum(pa, 0, NULL, 0);
    CHECK(lh && ld && la && !lundi_backward(lh, NULL) && !lundi_backward(ld, NULL) && !lundi_backward(la, NULL));
    const char *names[3] = {"x", "weight", "bias"};
    for (int k = 0; k < 3; k++) {
      if (!h[k]) continue;
      char w2[160];
      snprintf(w2, sizeof w2, "%s grad %s", what, names[k]);
      compare_bound(w2, lundi_grad(h[k]), lundi_grad(d[k]), lundi_grad(a[k]), n[k + 1]);
    }
    lundi_release(R), lundi_release(Rd), lundi_release(Ra), lundi_release(ph), lundi_release(pd);
    lundi_release(pa), lundi_release(lh), lundi_release(ld), lundi_release(la);
  }
done:
  lundi_release(yh), lundi_release(yd), lundi_release(ya);
  for (int k = 0; k < 3; k++) lundi_release(h[k]), lundi_release(d[k]), lundi_release(a[k]);
}

static void public_forward(void) {
  lundi_device *dev = need_device();
  for (size_t i = 0; i < sizeof opcases / sizeof *opcases; i++) public_case(dev, &opcases[i], 0);
  CHECK(lundi_live_tensors() == 0);
}

static void public_backward(void) {
  lundi_device *dev = need_device();
  for (size_t i = 0; i < sizeof opcases / sizeof *opcases; i++) public_case(dev, &opcases[i], 1);
  CHECK(lundi_live_tensors() == 0);
}

/* ---- errors ---- */

static lundi_tensor *zeros_on(lundi_device *dev, int nd, const int64_t *shape) {
  lundi_tensor *h = lundi_zeros(nd, shape), *d = lundi_to_device(h, dev);
  lundi_release(h);
  return d;
}

static void errors(void) {
  lundi_device *dev = need_device();
  int64_t xs[4] = {1, 4, 5, 5}, ws[4] = {2, 4, 3, 3}, bad_ws[4] = {2, 3, 3, 3}, ys[4] = {1, 2, 3, 3}, b3 = 3;
  lundi_tensor *x = zeros_on(dev, 4, xs), *w = zeros_on(dev, 4, ws), *bw = zeros_on(dev, 4, bad_ws);
  lundi_tensor *y = lundi_empty(4, ys, LUNDI_F32, dev), *b = zeros_on(dev, 1, &b3);
  lundi_tensor *hx = lundi_zeros(4, xs), *h16 = lundi_to_dtype(hx, LUNDI_F16);
  lundi_tensor *x16 = h16 ? lundi_to_device(h16, dev) : NULL;
  lundi_kcall c = {.id = LUNDI_K_CONV2D_FWD, .n_in = 2, .n_out = 1, .in = {x, bw}, .out = {y}, .i = {1, 1, 0, 0, 1, 1, 1}};
  CHECK_ERR(lundi__dispatch(&c), "conv2d kernel: inconsistent shapes or parameters");
  c.in[1] = w, c.i[6] = 3; /* groups that divide nothing */
  CHECK_ERR(lundi__dispatch(&c), "conv2d kernel: inconsistent shapes or parameters");
  c.i[6] = 1, c.n_in = 3, c.in[2] = b; /* 3 bias values for 2 channels */
  CHECK_ERR(lundi__dispatch(&c), "conv2d: the bias has 3 elements, expected 2");
  c.n_in = 2, c.in[0] = x16;
  CHECK_ERR(lundi__dispatch(&c), "conv2d: x is f16; the vulkan backend supports f32");
  c.id = LUNDI_K_CONV2D_BWD_WEIGHT, c.in[0] = x, c.in[1] = y, c.out[0] = bw;
  CHECK_ERR(lundi__dispatch(&c), "conv2d_backward_weight kernel: inconsistent shapes");
  lundi_release(x), lundi_release(w), lundi_release(bw), lundi_release(y), lundi_release(b);
  lundi_release(hx), lundi_release(h16), lundi_release(x16);
  CHECK(lundi_live_tensors() == 0);
}

static const test_case cases[] = {
    {"kernels_exact", kernels_exact},
    {"kernels_rounding", kernels_rounding},
    {"random_shapes", random_shapes},
    {"nan_inf", nan_inf},
    {"mnist_unet_layer", mnist_unet_layer},
    {"public_forward", public_forward},
    {"public_backward", public_backward},
    {"errors", errors},
};
TEST_MAIN(cases)
