/* Convolutions: conv2d, conv1d, conv_transpose2d/1d. Forward and all three gradients are
 * compared with a naive double-precision reference on random shapes (covering every
 * blocking path of the CPU kernels at 1 and 2 threads), and gradcheck verifies the tape
 * against finite differences, including strided (sliced / transposed) inputs. */
#include "gradcheck.h"
#include "cpu/conv.h" /* lundi__conv_avx512_allow */

#include <omp.h>

static lundi_rng rng = {4321, 0};
static unsigned lcg = 12345;
static int rnd(int lo, int hi) { /* uniform in [lo, hi] */
  lcg = lcg * 1103515245u + 12345u;
  return lo + (int)((lcg >> 16) % (unsigned)(hi - lo + 1));
}

/* One convolution problem in 2-D terms (1-D problems have H = 1, kh = 1). */
typedef struct geo {
  int N, C, H, W, O, kh, kw, sh, sw, ph, pw, dh, dw, oph, opw, G, OH, OW;
  int transposed, bias, conv1d;
} geo;

static void out_size(geo *g) {
  if (!g->transposed) {
    g->OH = (g->H + 2 * g->ph - g->dh * (g->kh - 1) - 1) / g->sh + 1;
    g->OW = (g->W + 2 * g->pw - g->dw * (g->kw - 1) - 1) / g->sw + 1;
  } else {
    g->OH = (g->H - 1) * g->sh - 2 * g->ph + g->dh * (g->kh - 1) + g->oph + 1;
    g->OW = (g->W - 1) * g->sw - 2 * g->pw + g->dw * (g->kw - 1) + g->opw + 1;
  }
}

static lundi_conv_params params_of(const geo *g) {
  lundi_conv_params p = {{g->sh, g->sw}, {g->ph, g->pw}, {g->dh, g->dw}, {g->oph, g->opw}, g->G};
  if (g->conv1d) /* the 1-D op reads slot 0 */
    p = (lundi_conv_params){{g->sw, 0}, {g->pw, 0}, {g->dw, 0}, {g->opw, 0}, g->G};
  return p;
}

static int64_t wshape_n(const geo *g, int64_t *s) {
  int Cg = g->C / g->G, Og = g->O / g->G;
  s[0] = g->transposed ? g->C : g->O;
  s[1] = g->transposed ? Og : Cg;
  s[2] = g->kh, s[3] = g->kw;
  return s[0] * s[1] * s[2] * s[3];
}

/* Naive reference straight from the definition: y = conv(x, w) + b and, when gy is given,
 * the adjoints gx, gw, gb of sum(y * gy). For transposed convs x is [N, C, H, W] with C
 * input channels and every (x, w) pair scatters into y. */
static void reference(const geo *g, const float *x, const float *w, const float *b, const float *gy, double *y,
                      double *gx, double *gw, double *gb) {
  int Cg = g->C / g->G, Og = g->O / g->G;
  int64_t ny = (int64_t)g->N * g->O * g->OH * g->OW;
  memset(y, 0, sizeof(double) * (size_t)ny);
  if (gy) {
    memset(gx, 0, sizeof(double) * (size_t)g->N * g->C * g->H * g->W);
    memset(gw, 0, sizeof(double) * (size_t)g->O * Cg * g->kh * g->kw);
    memset(gb, 0, sizeof(double) * (size_t)g->O);
  }
  /* conv: loop over outputs and look up inputs; transposed: loop over inputs, scatter */
  int SH = g->transposed ? g->H : g->OH, SW = g->transposed ? g->W : g->OW;
  int TH = g->transposed ? g->OH : g->H, TW = g->transposed ? g->OW : g->W;
  for (int n = 0; n < g->N; n++)
    for (int grp = 0; grp < g->G; grp++)
      for (int og = 0; og < Og; og++)
        for (int cg = 0; cg < Cg; cg++)
          for (int ki = 0; ki < g->kh; ki++)
            for (int kj = 0; kj < g->kw; kj++)
              for (int a = 0; a < SH; a++)
                for (int bb = 0; bb < SW; bb++) {
                  int t = a * g->sh - g->ph + ki * g->dh, u = bb * g->sw - g->pw + kj * g->dw;
                  if (t < 0 || t >= TH || u < 0 || u >= TW) continue;
                  int ih = g->transposed ? a : t, iw = g->transposed ? bb : u;
                  int oh = g->transposed ? t : a, ow = g->transposed ? u : bb;
                  int c = grp * Cg + cg, o = grp * Og + og;
                  int64_t xi = (((int64_t)n * g->C + c) * g->H + ih) * g->W + iw;
                  int64_t yi = (((int64_t)n * g->O + o) * g->OH + oh) * g->OW + ow;
                  int64_t wi = g->transposed ? (((int64_t)c * Og + og) * g->kh + ki) * g->kw + kj
                                             : (((int64_t)o * Cg + cg) * g->kh + ki) * g->kw + kj;
                  y[yi] += (double)x[xi] * w[wi];
                  if (gy) {
                    gx[xi] += (double)gy[yi] * w[wi];
                    gw[wi] += (double)gy[yi] * x[xi];
                  }
                }
  if (b)
    for (int64_t i = 0; i < ny; i++) {
      int o = (int)((i / ((int64_t)g->OH * g->OW)) % g->O);
      y[i] += b[o];
      if (gy) gb[o] += gy[i];
    }
}

/* max |a - ref| / max(1, max |ref|): float rounding grows with the size of the sums, a
 * wrong or missing tap shows up at the scale of one term. */
static double rel_err(lundi_tensor *t, const double *ref, int64_t n) {
  if (!t || lundi_numel(t) != n) return INFINITY;
  float *v = t_read(t);
  double m = 0, scale = 1;
  for (int64_t i = 0; i < n; i++)
    if (fabs(ref[i]) > scale) scale = fabs(ref[i]);
  for (int64_t i = 0; i < n; i++) {
    double e = fabs(v[i] - ref[i]) / scale;
    if (!(e <= m)) m = isnan(e) ? INFINITY : e;
  }
  free(v);
  return m;
}

static lundi_tensor *apply(const geo *g, lundi_tensor *x, lundi_tensor *w, lundi_tensor *b) {
  lundi_conv_params p = params_of(g);
  if (g->conv1d)
    return g->transposed ? lundi_conv_transpose1d(x, w, b, &p) : lundi_conv1d(x, w, b, &p);
  return g->transposed ? lundi_conv_transpose2d(x, w, b, &p) : lundi_conv2d(x, w, b, &p);
}

/* Makes the operand tensors for g; with strided, x is a transposed view (H and W swapped
 * in memory) and w a slice of a wider tensor. 1-D problems use 3-D shapes. */
static lundi_tensor *make_x(lundi_rng *r, const geo *g, int strided) {
  int64_t s[4] = {g->N, g->C, g->H, g->W};
  if (g->conv1d) {
    int64_t s3[3] = {g->N, g->C, g->W};
    return t_randn(r, 3, s3, 1, 1);
  }
  if (!strided) return t_randn(r, 4, s, 1, 1);
  int64_t st[4] = {g->N, g->C, g->W, g->H};
  lundi_tensor *base = t_randn(r, 4, st, 1, 0);
  lundi_tensor *v = lundi_transpose(base, 2, 3);
  lundi_release(base);
  lundi_set_requires_grad(v, 1);
  return v;
}

static lundi_tensor *make_w(lundi_rng *r, const geo *g, int strided) {
  int64_t s[4];
  wshape_n(g, s);
  if (g->conv1d) {
    int64_t s3[3] = {s[0], s[1], s[3]};
    return t_randn(r, 3, s3, 0.5f, 1);
  }
  if (!strided) return t_randn(r, 4, s, 0.5f, 1);
  int64_t wide[4] = {s[0], s[1] * 2, s[2], s[3]};
  lundi_tensor *base = t_randn(r, 4, wide, 0.5f, 0);
  lundi_tensor *v = lundi_slice(base, 1, 1, s[1] * 2, 2);
  lundi_release(base);
  lundi_set_requires_grad(v, 1);
  return v;
}

/* Forward and the three gradients against the reference. */
/* Returns 1 (and prints the problem) when some error exceeds tol. Uses only r and its
 * own tensors, so threads may run it side by side. */
static int check_reference_rng(lundi_rng *r, const geo *g, int strided, double tol) {
  lundi_tensor *x = make_x(r, g, strided), *w = make_w(r, g, strided), *b = NULL;
  int64_t sw[4];
  int64_t nw = wshape_n(g, sw), nx = (int64_t)g->N * g->C * g->H * g->W;
  int64_t ny = (int64_t)g->N * g->O * g->OH * g->OW;
  if (g->bias) {
    int64_t sb[1] = {g->O};
    b = t_randn(r, 1, sb, 1, 1);
  }
  /* (strided views of a base without grad are leaves themselves) */
  lundi_tensor *y = apply(g, x, w, b);
  int64_t sy[4] = {g->N, g->O, g->OH, g->OW};
  lundi_tensor *R = lundi_randn(r, g->conv1d ? 3 : 4, g->conv1d ? (int64_t[]){g->N, g->O, g->OW} : sy);
  float *xv = t_read(x), *wv = t_read(w), *bv = b ? t_read(b) : NULL, *rv = t_read(R);
  double *yr = malloc(sizeof(double) * (size_t)ny), *gx = malloc(sizeof(double) * (size_t)nx);
  double *gw = malloc(sizeof(double) * (size_t)nw), *gb = malloc(sizeof(double) * (size_t)g->O);
  reference(g, xv, wv, bv, rv, yr, gx, gw, gb);
  int bad = !y;
  if (y) {
    double e[4] = {rel_err(y, yr, ny), INFINITY, INFINITY, 0};
    bad |= lundi_backward(y, R) != 0;
    e[1] = rel_err(lundi_grad(x), gx, nx);
    e[2] = rel_err(lundi_grad(w), gw, nw);
    if (b) e[3] = rel_err(lundi_grad(b), gb, g->O);
    bad |= !(e[0] <= tol && e[1] <= tol && e[2] <= tol && e[3] <= tol);
    if (bad || getenv("VERBOSE")) /* VERBOSE=1 prints the error of every problem */
      fprintf(stderr, "errors y %g gx %g gw %g gb %g: N%d C%d %dx%d O%d k%dx%d s%d,%d p%d,%d d%d,%d op%d,%d G%d T%d 1d%d "
              "strided%d threads%d\n", e[0], e[1], e[2], e[3], g->N, g->C, g->H, g->W, g->O, g->kh, g->kw, g->sh, g->sw,
              g->ph, g->pw, g->dh, g->dw, g->oph, g->opw, g->G, g->transposed, g->conv1d, strided, lundi_get_threads());
  }
  free(xv), free(wv), free(bv), free(rv), free(yr), free(gx), free(gw), free(gb);
  lundi_release(x), lundi_release(w), lundi_release(b), lundi_release(y), lundi_release(R);
  return bad;
}

static void check_against_reference(const geo *g, int strided, double tol) {
  if (check_reference_rng(&rng, g, strided, tol)) t_failures++;
}

/* A random valid problem with strides up to smax. */
static geo random_geo(int transposed, int conv1d, int smax) {
  geo g = {0};
  g.transposed = transposed, g.conv1d = conv1d;
  for (;;) {
    g.G = rnd(0, 3) ? rnd(1, 3) : 1;
    g.C = g.G * rnd(1, 3), g.O = g.G * rnd(1, 3);
    if (!rnd(0, 5)) g.C = g.O = g.G = rnd(2, 5); /* depthwise */
    g.N = rnd(1, 3);
    g.kh = conv1d ? 1 : rnd(1, 4), g.kw = rnd(1, 4);
    g.sh = conv1d ? 1 : rnd(1, smax), g.sw = rnd(1, smax);
    g.dh = conv1d ? 1 : rnd(1, 2), g.dw = rnd(1, 2);
    g.ph = conv1d ? 0 : rnd(0, 2), g.pw = rnd(0, 2);
    g.H = conv1d ? 1 : rnd(1, 9), g.W = rnd(1, 9);
    g.oph = g.opw = 0;
    if (transposed) {
      g.oph = conv1d ? 0 : rnd(0, (g.sh > g.dh ? g.sh : g.dh) - 1);
      g.opw = rnd(0, (g.sw > g.dw ? g.sw : g.dw) - 1);
    }
    g.bias = rnd(0, 1);
    if (!transposed && (g.H + 2 * g.ph < g.dh * (g.kh - 1) + 1 || g.W + 2 * g.pw < g.dw * (g.kw - 1) + 1)) continue;
    out_size(&g);
    if (g.OH >= 1 && g.OW >= 1) return g;
  }
}

static void random_forward(int transposed, int conv1d) {
  for (int t = 0; t < 40; t++) {
    geo g = random_geo(transposed, conv1d, 3);
    check_against_reference(&g, !conv1d && t % 3 == 0, 2e-5);
  }
}

static void test_conv2d_forward(void) { random_forward(0, 0); }
static void test_conv1d_forward(void) { random_forward(0, 1); }
static void test_conv_transpose2d_forward(void) { random_forward(1, 0); }
static void test_conv_transpose1d_forward(void) { random_forward(1, 1); }

/* Shapes that reach each path of the CPU kernels: im2col blocks of several images, row
 * bands, 1x1 in place and gathered, strided; the direct kernels in place (with and
 * without tail lanes, OH != H), across image boundaries (7x7, 14x14), with channel tails
 * (Og % 8, Og % 32 == 16, K % 12); at 1 thread (serial, threaded GEMM) and 2 threads. */
static void kernel_paths(void) {
  static const int cases[][14] = {
      /* N, C, H, W, O, kh, kw, s, ph, pw, d, G, bias, transposed */
      {8, 16, 12, 12, 8, 3, 3, 1, 1, 1, 1, 1, 1, 0},   /* im2col: several images per block */
      {2, 64, 40, 40, 4, 3, 3, 1, 1, 1, 1, 1, 1, 0},   /* im2col row bands / direct tiles */
      {3, 6, 20, 20, 5, 1, 1, 1, 0, 0, 1, 1, 1, 0},    /* 1x1 */
      {3, 6, 20, 20, 4, 1, 1, 1, 0, 0, 1, 2, 1, 0},    /* 1x1 grouped */
      {6, 12, 7, 7, 8, 1, 1, 1, 0, 0, 1, 1, 1, 0},     /* 1x1, 7x7 */
      {5, 8, 15, 15, 8, 3, 3, 2, 1, 1, 1, 1, 1, 0},    /* stride 2 */
      {4, 8, 15, 15, 6, 3, 3, 2, 1, 1, 1, 1, 1, 1},    /* stride 2, transposed */
      {2, 32, 40, 40, 4, 3, 3, 1, 1, 1, 1, 1, 1, 1},   /* transposed, large */
      {8, 12, 9, 9, 12, 3, 3, 1, 2, 2, 2, 12, 1, 0},   /* depthwise, dilated */
      {3, 16, 33, 33, 32, 3, 3, 1, 1, 1, 1, 1, 1, 0},  /* direct in place with tail lanes */
      {5, 21, 14, 14, 48, 3, 3, 1, 1, 1, 1, 1, 1, 0},  /* direct across images; Og%32, K%12 tails */
      {9, 32, 7, 7, 32, 3, 3, 1, 1, 1, 1, 1, 0, 0},    /* direct across images, 7x7 */
      {4, 10, 9, 11, 32, 3, 2, 1, 0, 1, 1, 1, 1, 0},   /* OH != H, non-square kernel */
      {3, 8, 10, 10, 32, 3, 3, 1, 1, 1, 1, 2, 1, 0},   /* groups with Og = 16 */
      {4, 32, 7, 7, 16, 3, 3, 1, 1, 1, 1, 1, 1, 1},    /* transposed stride 1: direct */
      {2, 24, 28, 28, 32, 1, 1, 1, 0, 0, 1, 1, 1, 0},  /* 1x1 at 28x28 */
      {4, 32, 14, 14, 32, 3, 3, 2, 1, 1, 1, 1, 1, 0},  /* stride 2, Og = 32 */
      {1, 16, 15, 15, 32, 3, 3, 2, 1, 1, 1, 1, 1, 0},  /* one image: copy shared by threads */
      {1, 32, 12, 12, 72, 3, 3, 1, 1, 1, 1, 1, 1, 0},  /* one image: split by output channels */
      {1, 8, 9, 9, 4, 3, 3, 3, 1, 1, 1, 1, 1, 0},      /* stride 3, one image */
      {3, 8, 11, 11, 16, 3, 3, 2, 0, 0, 1, 1, 1, 0},   /* no padding: x read in place */
      {1, 4, 70, 70, 16, 3, 3, 1, 0, 0, 1, 1, 1, 0},   /* no padding, row bands */
  };
  for (int th = 1; th <= 2; th++) {
    lundi_set_threads(th);
    for (size_t k = 0; k < sizeof cases / sizeof *cases; k++) {
      const int *c = cases[k];
      geo g = {.N = c[0], .C = c[1], .H = c[2], .W = c[3], .O = c[4], .kh = c[5], .kw = c[6], .sh = c[7], .sw = c[7],
               .ph = c[8], .pw = c[9], .dh = c[10], .dw = c[10], .G = c[11], .bias = c[12], .transposed = c[13]};
      if (g.transposed && g.sh > 1) g.oph = g.opw = 1;
      out_size(&g);
      check_against_reference(&g, (int)k % 2, 1e-5);
    }
  }
  lundi_set_threads(0);
}

static void test_kernel_paths(void) { kernel_paths(); }

/* ---- gradchecks ---- */

typedef struct gctx {
  geo g;
  int strided; /* x arrives as a transposed view, w as a sliced view */
} gctx;

static lundi_tensor *f_conv(lundi_tensor **in, void *ctx) {
  gctx *c = ctx;
  lundi_tensor *x = lundi_retain(in[0]), *w = lundi_retain(in[1]);
  if (c->strided) {
    lundi_tensor *xt = lundi_transpose(in[0], -1, -2); /* leaf stored [.., W, H] */
    lundi_tensor *ws = lundi_slice(in[1], 1, 1, lundi_dim(in[1], 1), 2);
    lundi_release(x), lundi_release(w);
    x = xt, w = ws;
  }
  lundi_tensor *y = apply(&c->g, x, w, c->g.bias ? in[2] : NULL);
  lundi_release(x), lundi_release(w);
  return y;
}

static void run_gradcheck(const char *name, geo g, int strided) {
  gctx c = {g, strided};
  int64_t sw[4];
  wshape_n(&g, sw);
  lundi_tensor *in[3] = {0};
  int nd = g.conv1d ? 3 : 4;
  int64_t sx[4] = {g.N, g.C, g.H, g.W};
  if (g.conv1d) sx[2] = g.W;
  if (strided) { /* transposed view of [.., W, H]; weight slice of a 2x wider dim 1 */
    int64_t t = sx[nd - 1];
    sx[nd - 1] = sx[nd - 2], sx[nd - 2] = t;
    sw[1] = sw[1] * 2;
  }
  if (g.conv1d) sw[2] = sw[3];
  in[0] = t_randn(&rng, nd, sx, 1, 1);
  in[1] = t_randn(&rng, nd, sw, 0.5f, 1);
  int64_t sb[1] = {g.O};
  if (g.bias) in[2] = t_randn(&rng, 1, sb, 1, 1);
  gradcheck(name, f_conv, g.bias ? 3 : 2, in, &c, NULL);
  for (int k = 0; k < 3; k++) lundi_release(in[k]);
}

static geo mk(int N, int C, int H, int W, int O, int kh, int kw, int s, int p, int d, int G, int op, int T, int d1) {
  geo g = {.N = N, .C = C, .H = H, .W = W, .O = O, .kh = kh, .kw = kw, .sh = s, .sw = s, .ph = p, .pw = p, .dh = d,
           .dw = d, .G = G, .oph = op, .opw = op, .transposed = T, .conv1d = d1, .bias = 1};
  if (d1) g.H = g.kh = g.sh = g.dh = 1, g.ph = g.oph = 0;
  out_size(&g);
  return g;
}

static void test_conv2d_grad(void) {
  run_gradcheck("conv2d_3x3", mk(2, 3, 5, 6, 4, 3, 3, 1, 1, 1, 1, 0, 0, 0), 0);
  run_gradcheck("conv2d_strided_pad_dil", mk(2, 2, 7, 6, 3, 2, 3, 2, 2, 2, 1, 0, 0, 0), 0);
  run_gradcheck("conv2d_groups", mk(1, 4, 5, 5, 6, 3, 2, 1, 1, 1, 2, 0, 0, 0), 0);
  run_gradcheck("conv2d_depthwise", mk(2, 3, 5, 4, 3, 3, 3, 1, 1, 1, 3, 0, 0, 0), 0);
  run_gradcheck("conv2d_1x1", mk(2, 3, 4, 4, 2, 1, 1, 1, 0, 1, 1, 0, 0, 0), 0);
  /* 16 output channels: the AVX-512 weight-gradient kernel takes these */
  run_gradcheck("conv2d_16_out", mk(2, 2, 4, 5, 16, 3, 3, 1, 1, 1, 1, 0, 0, 0), 0);
  run_gradcheck("conv2d_16_out_stride2", mk(1, 2, 5, 5, 16, 3, 3, 2, 1, 1, 1, 0, 0, 0), 1);
  run_gradcheck("conv2d_strided_views", mk(2, 3, 5, 6, 2, 3, 2, 2, 1, 1, 1, 0, 0, 0), 1);
  geo nb = mk(2, 3, 5, 5, 2, 3, 3, 1, 0, 1, 1, 0, 0, 0);
  nb.bias = 0;
  run_gradcheck("conv2d_no_bias", nb, 0);
}

static void test_conv1d_grad(void) {
  run_gradcheck("conv1d", mk(2, 3, 1, 9, 4, 1, 3, 1, 1, 1, 1, 0, 0, 1), 0);
  run_gradcheck("conv1d_stride_dil_groups", mk(2, 4, 1, 11, 2, 1, 3, 2, 2, 2, 2, 0, 0, 1), 0);
  run_gradcheck("conv1d_strided_views", mk(2, 3, 1, 8, 2, 1, 3, 1, 1, 1, 1, 0, 0, 1), 1);
}

static void test_conv_transpose_grad(void) {
  run_gradcheck("conv_transpose2d", mk(2, 3, 4, 3, 2, 3, 3, 1, 1, 1, 1, 0, 1, 0), 0);
  run_gradcheck("conv_transpose2d_stride_outpad", mk(2, 2, 3, 4, 3, 3, 2, 2, 1, 1, 1, 1, 1, 0), 0);
  run_gradcheck("conv_transpose2d_groups_dil", mk(1, 4, 3, 3, 6, 2, 3, 2, 0, 2, 2, 1, 1, 0), 0);
  run_gradcheck("conv_transpose2d_strided_views", mk(2, 2, 3, 4, 2, 3, 3, 2, 1, 1, 1, 1, 1, 0), 1);
  run_gradcheck("conv_transpose1d", mk(2, 3, 1, 5, 2, 1, 4, 2, 1, 1, 1, 1, 1, 1), 0);
  run_gradcheck("conv_transpose2d_16_in", mk(1, 16, 3, 3, 2, 3, 3, 1, 1, 1, 1, 0, 1, 0), 0);
  run_gradcheck("conv_transpose1d_strided_views", mk(2, 2, 1, 5, 4, 1, 3, 3, 1, 1, 2, 2, 1, 1), 1);
}

/* Convs called from inside a caller's OpenMP parallel region (nested parallelism off: the
 * kernels get a team of one) must still be right; each thread runs its own problems. */
static void test_inside_parallel_region(void) {
  int bad = 0;
#pragma omp parallel num_threads(2) reduction(+ : bad)
  {
    lundi_rng r = lundi_rng_make(100 + (uint64_t)omp_get_thread_num());
    static const int shapes[][4] = {{2, 8, 9, 32}, {3, 4, 7, 1}, {2, 6, 8, 16}}; /* N, C, H=W, O */
    for (int k = 0; k < 3; k++) {
      geo g = {.N = shapes[k][0], .C = shapes[k][1], .H = shapes[k][2], .W = shapes[k][2], .O = shapes[k][3],
               .kh = 3, .kw = 3, .sh = 1 + k % 2, .sw = 1 + k % 2, .ph = 1, .pw = 1, .dh = 1, .dw = 1, .G = 1,
               .bias = 1};
      out_size(&g);
      bad += check_reference_rng(&r, &g, 0, 1e-5);
    }
  }
  CHECK(bad == 0);
}

/* Everything again through the portable im2col + sgemm kernels only (on AVX-512 machines
 * the direct kernels would otherwise take most of these shapes). */
static void test_portable_kernels(void) {
  lundi__conv_avx512_allow(0);
  kernel_paths();
  random_forward(0, 0);
  random_forward(1, 0);
  test_conv2d_grad();
  test_conv1d_grad();
  test_conv_transpose_grad();
  lundi__conv_avx512_allow(1);
}

/* ---- errors ---- */

static void test_errors(void) {
  int64_t sx[4] = {2, 4, 8, 8}, sw[4] = {6, 4, 3, 3}, sg[4] = {6, 3, 3, 3}, sb[1] = {5}, s3[3] = {2, 4, 8};
  lundi_tensor *x = lundi_zeros(4, sx), *w = lundi_zeros(4, sw), *wg = lundi_zeros(4, sg), *b = lundi_zeros(1, sb);
  lundi_tensor *x3 = lundi_zeros(3, s3);
  lundi_conv_params p = {0}, g2 = {.groups = 2}, g4 = {.groups = 4}, big = {.dilation = {5, 5}};
  lundi_conv_params neg = {.padding = {-1, 0}}, op = {.output_padding = {1, 1}}, opbig = {.stride = {2, 2}, .output_padding = {2, 0}};
  CHECK_ERR(lundi_conv2d(x, wg, NULL, &p), "input [2,4,8,8] has 4 channels but weight [6,3,3,3]");
  CHECK_ERR(lundi_conv2d(x, w, NULL, &g2), "expects 8");
  CHECK_ERR(lundi_conv2d(x, w, NULL, &g4), "groups=4 must divide");
  CHECK_ERR(lundi_conv2d(x, w, b, &p), "bias [5] does not match 6 output channels");
  CHECK_ERR(lundi_conv2d(x, w, NULL, &big), "input [2,4,8,8] is too small");
  CHECK_ERR(lundi_conv2d(x3, w, NULL, &p), "conv2d: input must be [N, C, H, W], got [2,4,8]");
  CHECK_ERR(lundi_conv1d(x, w, NULL, &p), "conv1d: input must be [N, C, L]");
  CHECK_ERR(lundi_conv2d(x, x3, NULL, &p), "conv2d: weight must be");
  CHECK_ERR(lundi_conv2d(x, w, NULL, &neg), "must not be negative");
  CHECK_ERR(lundi_conv2d(x, w, NULL, &op), "output_padding applies to transposed");
  CHECK_ERR(lundi_conv_transpose2d(x, w, NULL, &opbig), "output_padding 2 must be smaller than stride 2");
  CHECK_ERR(lundi_conv_transpose2d(x, wg, NULL, &p), "conv_transpose2d: input [2,4,8,8] has 4 channels but weight [6,3,3,3] expects 6");
  int64_t sk[3] = {6, 4, 5}, sl[3] = {2, 4, 3};
  lundi_tensor *wk = lundi_zeros(3, sk), *xs = lundi_zeros(3, sl);
  CHECK_ERR(lundi_conv1d(xs, wk, NULL, &p), "conv1d: input [2,4,3] is too small");
  lundi_release(x), lundi_release(w), lundi_release(wg), lundi_release(b), lundi_release(x3);
  lundi_release(wk), lundi_release(xs);
}

static const test_case tests[] = {
    {"conv2d_forward", test_conv2d_forward},
    {"conv1d_forward", test_conv1d_forward},
    {"conv_transpose2d_forward", test_conv_transpose2d_forward},
    {"conv_transpose1d_forward", test_conv_transpose1d_forward},
    {"kernel_paths", test_kernel_paths},
    {"portable_kernels", test_portable_kernels},
    {"inside_parallel_region", test_inside_parallel_region},
    {"conv2d_grad", test_conv2d_grad},
    {"conv1d_grad", test_conv1d_grad},
    {"conv_transpose_grad", test_conv_transpose_grad},
    {"errors", test_errors},
};
TEST_MAIN(tests)
