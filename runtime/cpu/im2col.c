/* im2col / col2im without per-pixel branches: for each kernel tap the valid output
 * columns [lo, hi) are computed once, so the inner loops are plain (vectorisable) copies
 * and adds, with the padding written as zero runs around them. */
#include "cpu/conv.h"

#include <string.h>

static inline int64_t ceil_div(int64_t a, int64_t b) { return a >= 0 ? (a + b - 1) / b : -((-a) / b); }
static inline int64_t clamp64(int64_t v, int64_t lo, int64_t hi) { return v < lo ? lo : v > hi ? hi : v; }

/* Output columns ow whose input column ow * sw + off lies in [0, W). */
static inline void valid_cols(const lundi_conv_geom *g, int64_t off, int64_t *lo, int64_t *hi) {
  *lo = clamp64(ceil_div(-off, g->sw), 0, g->OW);
  *hi = clamp64(ceil_div(g->W - off, g->sw), *lo, g->OW);
}

void lundi__im2col(const lundi_conv_geom *g, const lundi_conv_block *b, const float *x, float *col,
                   int64_t ld, int par) {
  const int64_t kk = g->kh * g->kw, rows = g->C * kk, OW = g->OW, HW = g->H * g->W;
#pragma omp parallel for schedule(static) if (par && rows > 1)
  for (int64_t r = 0; r < rows; r++) {
    const int64_t c = r / kk, ki = (r % kk) / g->kw, kj = r % g->kw;
    const int64_t off = kj * g->dw - g->pw, sw = g->sw;
    int64_t lo, hi;
    valid_cols(g, off, &lo, &hi);
    float *dst = col + r * ld;
    for (int64_t img = 0; img < b->nb; img++) {
      const float *plane = x + ((b->n0 + img) * g->C + c) * HW;
      for (int64_t oh = b->oh0; oh < b->oh1; oh++, dst += OW) {
        const int64_t ih = oh * g->sh - g->ph + ki * g->dh;
        if (ih < 0 || ih >= g->H) {
          memset(dst, 0, sizeof(float) * (size_t)OW);
          continue;
        }
        const float *src = plane + ih * g->W;
        for (int64_t ow = 0; ow < lo; ow++) dst[ow] = 0;
        if (sw == 1)
          for (int64_t ow = lo; ow < hi; ow++) dst[ow] = src[ow + off];
        else
          for (int64_t ow = lo; ow < hi; ow++) dst[ow] = src[ow * sw + off];
        for (int64_t ow = hi; ow < OW; ow++) dst[ow] = 0;
      }
    }
  }
}

void lundi__col2im(const lundi_conv_geom *g, const lundi_conv_block *b, const float *col, int64_t ld,
                   float *x, int par) {
  const int64_t kk = g->kh * g->kw, OW = g->OW, HW = g->H * g->W;
  /* One thread per channel: the taps of a channel overlap in x, different channels do not. */
#pragma omp parallel for schedule(static) if (par && g->C > 1)
  for (int64_t c = 0; c < g->C; c++) {
    for (int64_t t = 0; t < kk; t++) {
      const int64_t ki = t / g->kw, kj = t % g->kw;
      const int64_t off = kj * g->dw - g->pw, sw = g->sw;
      int64_t lo, hi;
      valid_cols(g, off, &lo, &hi);
      const float *src = col + (c * kk + t) * ld;
      for (int64_t img = 0; img < b->nb; img++) {
        float *plane = x + ((b->n0 + img) * g->C + c) * HW;
        for (int64_t oh = b->oh0; oh < b->oh1; oh++, src += OW) {
          const int64_t ih = oh * g->sh - g->ph + ki * g->dh;
          if (ih < 0 || ih >= g->H) continue;
          float *dst = plane + ih * g->W;
          if (sw == 1)
            for (int64_t ow = lo; ow < hi; ow++) dst[ow + off] += src[ow];
          else
            for (int64_t ow = lo; ow < hi; ow++) dst[ow * sw + off] += src[ow];
        }
      }
    }
  }
}
