/* upsample_conv2d: forward and the three gradients against the composition it replaces
 * (upsample_nearest2d then conv2d) on random geometries, through the AVX-512 and the
 * portable conv kernels; gradcheck against finite differences; errors. Output channels of
 * 16 and 32 send the phases' weight gradients through the direct AVX-512 kernel, whose
 * outputs are then larger than the conv size formula gives (taps past x read zeros). */
#include "gradcheck.h"
#include "cpu/conv.h" /* lundi__conv_avx512_allow */

#include <math.h>
#include <stdlib.h>

static lundi_rng rng = {777, 0};
static unsigned lcg_state = 2024;
static int rnd(int lo, int hi) {
  lcg_state = lcg_state * 1103515245u + 12345u;
  return lo + (int)((lcg_state >> 16) % (unsigned)(hi - lo + 1));
}

typedef struct geo {
  int N, C, H, W, O, kh, kw, s, p;
} geo;

static lundi_tensor *composed(const geo *g, lundi_tensor *x, lundi_tensor *w, lundi_tensor *b) {
  lundi_conv_params cp = {.padding = {g->p, g->p}};
  lundi_tensor *u = lundi_upsample_nearest2d(x, g->s), *y = u ? lundi_conv2d(u, w, b, &cp) : NULL;
  lundi_release(u);
  return y;
}

/* max |a - b| / (1 + max |a|) over two tensors of the same shape */
static double rel_gap(lundi_tensor *a, lundi_tensor *b) {
  int64_t n = lundi_numel(a);
  float *u = malloc(sizeof(float) * (size_t)n), *v = malloc(sizeof(float) * (size_t)n);
  double gap = 0, scale = 0;
  if (u && v && !lundi_read_f32(a, u, n) && !lundi_read_f32(b, v, n))
    for (int64_t i = 0; i < n; i++) {
      gap = fmax(gap, fabs((double)u[i] - v[i]));
      scale = fmax(scale, fabs((double)u[i]));
    }
  else
    gap = INFINITY;
  free(u), free(v);
  return gap / (1 + scale);
}

/* Forward and gradients of both ways, on one geometry; returns the number of mismatches. */
static int compare(const geo *g) {
  int64_t sx[4] = {g->N, g->C, g->H, g->W}, sw[4] = {g->O, g->C, g->kh, g->kw}, sb[1] = {g->O};
  lundi_tensor *in[3] = {t_randn(&rng, 4, sx, 1, 1), t_randn(&rng, 4, sw, 0.5f, 1), t_randn(&rng, 1, sb, 1, 1)};
  lundi_tensor *y[2] = {composed(g, in[0], in[1], in[2]), lundi_upsample_conv2d(in[0], g->s, in[1], in[2], g->p)};
  lundi_tensor *grads[2][3] = {{0}};
  int bad = !y[0] || !y[1];
  lundi_tensor *gy = bad ? NULL : t_randn(&rng, 4, lundi_shape(y[0]), 1, 0);
  for (int k = 0; k < 2 && !bad; k++) {
    for (int i = 0; i < 3; i++) lundi_zero_grad(in[i]);
    bad |= lundi_backward(y[k], gy) != 0;
    for (int i = 0; i < 3 && !bad; i++) grads[k][i] = lundi_retain(lundi_grad(in[i]));
  }
  /* both sides sum the same products in different orders: f32 rounding of a few hundred
   * terms of size ~1 */
  const double tol = 2e-5;
  if (!bad) {
    double e[4] = {rel_gap(y[0], y[1]), rel_gap(grads[0][0], grads[1][0]), rel_gap(grads[0][1], grads[1][1]),
                   rel_gap(grads[0][2], grads[1][2])};
    for (int i = 0; i < 4; i++)
      if (!(e[i] <= tol)) {
        fprintf(stderr, "  N%d C%d %dx%d O%d k%dx%d s%d p%d: %s differs by %.3g (relative)\n", g->N, g->C, g->H, g->W,
                g->O, g->kh, g->kw, g->s, g->p, (const char *[]){"y", "grad x", "grad w", "grad b"}[i], e[i]);
        bad = 1;
      }
  } else {
    fprintf(stderr, "  N%d C%d %dx%d O%d k%dx%d s%d p%d failed: %s\n", g->N, g->C, g->H, g->W, g->O, g->kh, g->kw, g->s,
            g->p, lundi_last_error());
  }
  for (int k = 0; k < 2; k++) {
    lundi_release(y[k]);
    for (int i = 0; i < 3; i++) lundi_release(grads[k][i]);
  }
  for (int i = 0; i < 3; i++) lundi_release(in[i]);
  lundi_release(gy);
  return bad;
}

static int random_geometries(void) {
  int bad = 0;
  static const int outs[] = {1, 3, 16, 32};
  for (int t = 0; t < 40; t++) {
    geo g = {rnd(1, 3), rnd(1, 5), rnd(2, 7), rnd(2, 7), outs[rnd(0, 3)], rnd(1, 5), rnd(1, 5), rnd(1, 3), rnd(0, 3)};
    if (g.s * g.H + 2 * g.p < g.kh || g.s * g.W + 2 * g.p < g.kw) continue; /* empty output */
    bad += compare(&g);
  }
  /* the U-Net's shapes: 3x3, padding 1, scale 2, with the direct kernels' layouts */
  static const geo unet[] = {{4, 32, 7, 7, 32, 3, 3, 2, 1}, {2, 16, 14, 14, 16, 3, 3, 2, 1}, {3, 8, 5, 6, 32, 3, 3, 2, 1}};
  for (size_t i = 0; i < sizeof unet / sizeof *unet; i++) bad += compare(&unet[i]);
  return bad;
}

static void test_matches_composition(void) { CHECK(random_geometries() == 0); }

static void test_portable_kernels(void) {
  lundi__conv_avx512_allow(0);
  CHECK(random_geometries() == 0);
  lundi__conv_avx512_allow(1);
}

/* ---- gradcheck ---- */

typedef struct gctx {
  geo g;
  int strided; /* x arrives as a transposed view */
} gctx;

static lundi_tensor *f_upconv(lundi_tensor **in, void *ctx) {
  gctx *c = ctx;
  lundi_tensor *x = c->strided ? lundi_transpose(in[0], -1, -2) : lundi_retain(in[0]);
  lundi_tensor *y = x ? lundi_upsample_conv2d(x, c->g.s, in[1], in[2], c->g.p) : NULL;
  lundi_release(x);
  return y;
}

static void run_gradcheck(const char *name, geo g, int strided) {
  gctx c = {g, strided};
  int64_t sx[4] = {g.N, g.C, strided ? g.W : g.H, strided ? g.H : g.W}, sw[4] = {g.O, g.C, g.kh, g.kw}, sb[1] = {g.O};
  lundi_tensor *in[3] = {t_randn(&rng, 4, sx, 1, 1), t_randn(&rng, 4, sw, 0.5f, 1), t_randn(&rng, 1, sb, 1, 1)};
  CHECK(gradcheck(name, f_upconv, 3, in, &c, NULL) == 0);
  for (int k = 0; k < 3; k++) lundi_release(in[k]);
}

static void test_gradcheck(void) {
  run_gradcheck("upconv_3x3_s2", (geo){2, 3, 3, 4, 2, 3, 3, 2, 1}, 0);
  run_gradcheck("upconv_2x3_s3_p0", (geo){1, 2, 3, 3, 3, 2, 3, 3, 0}, 0);
  run_gradcheck("upconv_16_out", (geo){1, 2, 3, 3, 16, 3, 3, 2, 1}, 0);
  run_gradcheck("upconv_strided_view", (geo){2, 2, 3, 4, 2, 3, 3, 2, 1}, 1);
}

/* ---- errors ---- */

static void test_errors(void) {
  int64_t sx[4] = {2, 4, 3, 3}, sw[4] = {6, 4, 3, 3}, sw5[4] = {6, 5, 3, 3}, sb[1] = {5}, s3[3] = {2, 4, 3},
          big[4] = {6, 4, 9, 9};
  lundi_tensor *x = lundi_zeros(4, sx), *w = lundi_zeros(4, sw), *w5 = lundi_zeros(4, sw5), *b = lundi_zeros(1, sb);
  lundi_tensor *x3 = lundi_zeros(3, s3), *wb = lundi_zeros(4, big);
  CHECK_ERR(lundi_upsample_conv2d(x, 0, w, NULL, 1), "upsample_conv2d: scale must be 1..8, got 0");
  CHECK_ERR(lundi_upsample_conv2d(x, 2, w, NULL, -1), "padding -1 must not be negative");
  CHECK_ERR(lundi_upsample_conv2d(x3, 2, w, NULL, 1), "input [2,4,3] must be [N, C, H, W]");
  CHECK_ERR(lundi_upsample_conv2d(x, 2, w5, NULL, 1), "input [2,4,3,3] has 4 channels but weight [6,5,3,3] expects 5");
  CHECK_ERR(lundi_upsample_conv2d(x, 2, w, b, 1), "bias [5] does not match 6 output channels");
  CHECK_ERR(lundi_upsample_conv2d(x, 2, wb, NULL, 1), "smaller than the kernel");
  lundi_release(x), lundi_release(w), lundi_release(w5), lundi_release(b), lundi_release(x3), lundi_release(wb);
  CHECK(lundi_live_tensors() == 0);
}

static const test_case tests[] = {
    {"matches_composition", test_matches_composition},
    {"portable_kernels", test_portable_kernels},
    {"gradcheck", test_gradcheck},
    {"errors", test_errors},
};
TEST_MAIN(tests)
