/* Direct AVX-512 conv2d backward-weight: gw[o][k] = sum over pixels P of gy[o][P] * x at
 * tap k of P (any stride, padding, dilation; output channels per group a multiple of 16).
 *
 * Vectorised over output channels: per block of pixels, gy is transposed to [P][O] and x
 * copied with its zero padding, so each (P, tap) is one scalar broadcast and each P a few
 * vector loads; 24 accumulators (32 channels x 12 taps) stay in registers across the whole
 * block and are added to a per-thread partial gw once. No column matrix, no horizontal
 * sums. The bias gradient is summed while gy is transposed. */
#include "cpu/conv.h"
#include "cpu/kernels.h"

#include <immintrin.h>
#include <omp.h>
#include <stdlib.h>
#include <string.h>

enum { NK = 12 };
/* Output pixels per block, at most; fewer when the block's transposed gy and padded x
 * would not fit in BLOCK_BYTES (about L2), which every tile sweeps again. */
#define BLOCK_PIXELS 3136
#define BLOCK_BYTES (1536 * 1024)

int lundi__conv_direct_wgrad_ok(const lundi_conv_geom *g) {
  return lundi__conv_avx512() && g->Og % 16 == 0 && g->C * (g->H + 2 * g->ph) * (g->W + 2 * g->pw) < (1 << 30);
}

typedef struct wblock {
  int64_t n0, nb, oh0, oh1; /* images, output rows */
  int64_t ih0, hb, wp;      /* first padded-copy row (input coords), rows, row length */
} wblock;

/* Padded copy of the input rows block b reads: xp[img][c][r][col] = x[n0+img][c][ih0+r][col-pw]
 * (0 outside the image). */
static void pad_block(const lundi_conv_geom *g, const wblock *b, const float *x, float *xp) {
  for (int64_t img = 0; img < b->nb; img++)
    for (int64_t c = 0; c < g->C; c++) {
      const float *src = x + ((b->n0 + img) * g->C + c) * g->H * g->W;
      float *dst = xp + (img * g->C + c) * b->hb * b->wp;
      for (int64_t r = 0; r < b->hb; r++, dst += b->wp) {
        int64_t ih = b->ih0 + r;
        if (ih < 0 || ih >= g->H) {
          memset(dst, 0, sizeof(float) * (size_t)b->wp);
          continue;
        }
        memset(dst, 0, sizeof(float) * (size_t)g->pw);
        memcpy(dst + g->pw, src + ih * g->W, sizeof(float) * (size_t)g->W);
        memset(dst + g->pw + g->W, 0, sizeof(float) * (size_t)(b->wp - g->pw - g->W));
      }
    }
}

/* 16x16 transpose in registers: r[i] row i in, r[c] column c out. */
static inline __attribute__((always_inline)) LUNDI_T512 void transpose16(__m512 r[16]) {
  __m512 t[16], u[16];
  for (int i = 0; i < 8; i++) {
    t[2 * i] = _mm512_unpacklo_ps(r[2 * i], r[2 * i + 1]);
    t[2 * i + 1] = _mm512_unpackhi_ps(r[2 * i], r[2 * i + 1]);
  }
  for (int i = 0; i < 4; i++) {
    __m512d a = _mm512_castps_pd(t[4 * i]), b = _mm512_castps_pd(t[4 * i + 2]);
    __m512d c = _mm512_castps_pd(t[4 * i + 1]), e = _mm512_castps_pd(t[4 * i + 3]);
    u[4 * i] = _mm512_castpd_ps(_mm512_unpacklo_pd(a, b));
    u[4 * i + 1] = _mm512_castpd_ps(_mm512_unpackhi_pd(a, b));
    u[4 * i + 2] = _mm512_castpd_ps(_mm512_unpacklo_pd(c, e));
    u[4 * i + 3] = _mm512_castpd_ps(_mm512_unpackhi_pd(c, e));
  }
  /* u[4q + j], 128-bit lane L: column 4L + j of rows 4q .. 4q + 3 */
  for (int j = 0; j < 4; j++) {
    __m512 v = _mm512_shuffle_f32x4(u[j], u[4 + j], 0x44), w = _mm512_shuffle_f32x4(u[8 + j], u[12 + j], 0x44);
    __m512 v2 = _mm512_shuffle_f32x4(u[j], u[4 + j], 0xEE), w2 = _mm512_shuffle_f32x4(u[8 + j], u[12 + j], 0xEE);
    r[j] = _mm512_shuffle_f32x4(v, w, 0x88);
    r[4 + j] = _mm512_shuffle_f32x4(v, w, 0xDD);
    r[8 + j] = _mm512_shuffle_f32x4(v2, w2, 0x88);
    r[12 + j] = _mm512_shuffle_f32x4(v2, w2, 0xDD);
  }
}

/* gt[o / 16][P][o % 16] = gy at pixel P of the block (O % 16 == 0): each 16-channel
 * slice is one contiguous stream for the tiles. db[o] += gy's sum over the block. */
static LUNDI_T512 void transpose_block(const lundi_conv_geom *g, const wblock *b, const float *gy, float *gt,
                                       double *db) {
  const int64_t ohw = g->OH * g->OW, n = (b->oh1 - b->oh0) * g->OW, npx = b->nb * n;
  for (int64_t o0 = 0; o0 < g->O; o0 += 16) {
    __m512 sum = _mm512_setzero_ps();
    for (int64_t img = 0; img < b->nb; img++) {
      const float *src = gy + ((b->n0 + img) * g->O + o0) * ohw + b->oh0 * g->OW;
      float *dst = gt + o0 * npx + img * n * 16;
      for (int64_t p0 = 0; p0 < n; p0 += 16) {
        const int64_t np = n - p0 < 16 ? n - p0 : 16;
        const __mmask16 m = (__mmask16)(np == 16 ? 0xFFFFu : (1u << np) - 1);
        __m512 r[16];
        for (int i = 0; i < 16; i++) r[i] = _mm512_maskz_loadu_ps(m, src + i * ohw + p0);
        transpose16(r);
        for (int c = 0; c < np; c++) {
          _mm512_storeu_ps(dst + (p0 + c) * 16, r[c]);
          sum = _mm512_add_ps(sum, r[c]);
        }
      }
    }
    if (db) {
      float tmp[16];
      _mm512_storeu_ps(tmp, sum);
      for (int i = 0; i < 16; i++) db[o0 + i] += tmp[i];
    }
  }
}

/* Accumulates NO x 16 channels (gt: the first 16-channel slice, the next one npx * 16
 * further) times NK taps (koff) over the block's pixels into part[k][o] (row stride ldp). */
#define BW_DECL(i) __m512 a##i##0 = _mm512_setzero_ps(), a##i##1 = a##i##0
#define BW_FMA(i)                                                                                  \
  do {                                                                                             \
    __m512 bx = _mm512_set1_ps(xq[o##i]);                                                          \
    a##i##0 = _mm512_fmadd_ps(g0, bx, a##i##0);                                                    \
    if (NO > 1) a##i##1 = _mm512_fmadd_ps(g1, bx, a##i##1);                                        \
  } while (0)
#define BW_STORE(i)                                                                                \
  do {                                                                                             \
    if (i < nk) {                                                                                  \
      float *pr = part + i * ldp;                                                                  \
      _mm512_storeu_ps(pr, _mm512_add_ps(_mm512_loadu_ps(pr), a##i##0));                           \
      if (NO > 1) _mm512_storeu_ps(pr + 16, _mm512_add_ps(_mm512_loadu_ps(pr + 16), a##i##1));      \
    }                                                                                              \
  } while (0)

static inline __attribute__((always_inline)) LUNDI_T512 void bw_tile(const int NO, const lundi_conv_geom *g,
                                                                      const wblock *b, const float *gt,
                                                                      const float *xp, const int64_t *ko, int nk,
                                                                      float *part, int64_t ldp) {
  BW_DECL(0); BW_DECL(1); BW_DECL(2); BW_DECL(3); BW_DECL(4); BW_DECL(5);
  BW_DECL(6); BW_DECL(7); BW_DECL(8); BW_DECL(9); BW_DECL(10); BW_DECL(11);
  const int64_t o0 = ko[0], o1 = ko[1], o2 = ko[2], o3 = ko[3], o4 = ko[4], o5 = ko[5];
  const int64_t o6 = ko[6], o7 = ko[7], o8 = ko[8], o9 = ko[9], o10 = ko[10], o11 = ko[11];
  const int64_t rows = b->oh1 - b->oh0, OW = g->OW, sw = g->sw, gnext = b->nb * rows * OW * 16;
  const int64_t rstep = g->sh * b->wp, istep = g->C * b->hb * b->wp;
  for (int64_t img = 0; img < b->nb; img++) {
    const float *xr = xp + img * istep;
    for (int64_t r = 0; r < rows; r++, xr += rstep) {
      const float *xq = xr;
      for (int64_t ow = 0; ow < OW; ow++, xq += sw, gt += 16) {
        const __m512 g0 = _mm512_loadu_ps(gt);
        const __m512 g1 = NO > 1 ? _mm512_loadu_ps(gt + gnext) : g0;
        BW_FMA(0); BW_FMA(1); BW_FMA(2); BW_FMA(3); BW_FMA(4); BW_FMA(5);
        BW_FMA(6); BW_FMA(7); BW_FMA(8); BW_FMA(9); BW_FMA(10); BW_FMA(11);
      }
    }
  }
  BW_STORE(0); BW_STORE(1); BW_STORE(2); BW_STORE(3); BW_STORE(4); BW_STORE(5);
  BW_STORE(6); BW_STORE(7); BW_STORE(8); BW_STORE(9); BW_STORE(10); BW_STORE(11);
}

static LUNDI_T512 void bw_tile2(const lundi_conv_geom *g, const wblock *b, const float *gt, const float *xp,
                                const int64_t *ko, int nk, float *part, int64_t ldp) {
  bw_tile(2, g, b, gt, xp, ko, nk, part, ldp);
}

static LUNDI_T512 void bw_tile1(const lundi_conv_geom *g, const wblock *b, const float *gt, const float *xp,
                                const int64_t *ko, int nk, float *part, int64_t ldp) {
  bw_tile(1, g, b, gt, xp, ko, nk, part, ldp);
}

/* All of gw's contributions from block b into part [G][K][Og]. */
static void bw_block(const lundi_conv_geom *g, const wblock *blk, const float *x, const float *gy, float *xp,
                     float *gt, float *part, double *db) {
  wblock in_place = *blk;
  const wblock *b = blk;
  const float *src = xp;
  if (g->ph == 0 && g->pw == 0 && (g->OH - 1) * g->sh + (g->kh - 1) * g->dh < g->H &&
      (g->OW - 1) * g->sw + (g->kw - 1) * g->dw < g->W) {
    /* no padding, and no output larger than the size formula gives: every tap of an output
     * pixel is inside x, so read x where it is */
    in_place.hb = g->H, in_place.wp = g->W;
    src = x + blk->n0 * g->C * g->H * g->W + blk->ih0 * g->W;
    b = &in_place;
  } else {
    pad_block(g, b, x, xp);
  }
  transpose_block(g, b, gy, gt, db);
  const int64_t kk = g->kh * g->kw, plane = b->hb * b->wp;
  for (int64_t grp = 0; grp < g->G; grp++)
    for (int64_t k0 = 0; k0 < g->K; k0 += NK) {
      int nk = (int)(g->K - k0 < NK ? g->K - k0 : NK);
      int64_t ko[NK];
      for (int i = 0; i < NK; i++) {
        int64_t k = k0 + (i < nk ? i : 0), c = grp * g->Cg + k / kk, t = k % kk;
        ko[i] = c * plane + (t / g->kw) * g->dh * b->wp + (t % g->kw) * g->dw;
      }
      float *pk = part + (grp * g->K + k0) * g->Og;
      for (int64_t o = 0; o < g->Og; o += 32) {
        const float *gto = gt + (grp * g->Og + o) * b->nb * (b->oh1 - b->oh0) * g->OW;
        if (g->Og - o >= 32)
          bw_tile2(g, b, gto, src, ko, nk, pk + o, g->Og);
        else
          bw_tile1(g, b, gto, src, ko, nk, pk + o, g->Og);
      }
    }
}

int lundi__conv_direct_wgrad(const lundi_conv_geom *g, const float *x, const float *gy, float *gw, float *gb) {
  const int nt = lundi__threads();
  const int64_t ohw = g->OH * g->OW, wsz = g->O * g->K;
  /* blocks: several whole images, or a band of rows of one */
  int64_t ipb = 1, rpb = g->OH;
  /* padded row length: both paddings, or as far as the last output column's taps reach
   * (outputs may be larger than the size formula gives; those taps read zeros) */
  const int64_t reach = g->pw + (g->OW - 1) * g->sw + (g->kw - 1) * g->dw + 1;
  const int64_t wp = g->W + 2 * g->pw > reach ? g->W + 2 * g->pw : reach;
  /* bytes per output pixel: gy row plus its share of the padded input */
  const double px_bytes = 4.0 * ((double)g->O + (double)g->C * (double)((g->OH - 1) * g->sh + (g->kh - 1) * g->dh + 1) *
                                                     (double)wp / (double)ohw);
  int64_t max_px = (int64_t)(BLOCK_BYTES / px_bytes);
  if (max_px > BLOCK_PIXELS) max_px = BLOCK_PIXELS;
  if (ohw <= max_px) {
    ipb = max_px / ohw > 1 ? max_px / ohw : 1;
    /* a multiple of the thread count of equal blocks, so no thread waits for a last one */
    int64_t nblk = (g->N + ipb - 1) / ipb;
    nblk = (nblk + nt - 1) / nt * nt;
    ipb = (g->N + nblk - 1) / nblk;
  } else {
    rpb = max_px / g->OW > 0 ? max_px / g->OW : 1;
  }
  const int64_t nchunk = (g->N + ipb - 1) / ipb, nband = (g->OH + rpb - 1) / rpb, nblk = nchunk * nband;
  const int64_t hb_max = (rpb - 1) * g->sh + (g->kh - 1) * g->dh + 1;
  const int nth = nt > 1 && nblk > 1 ? nt : 1;
  float **parts = calloc((size_t)nth, sizeof(float *));
  double *dbs = calloc((size_t)nth * (size_t)g->O, sizeof(double));
  int failed = !parts || !dbs, team = 1;
  if (!failed) {
#pragma omp parallel num_threads(nth)
    {
      /* the team may be smaller than asked (e.g. inside another parallel region) */
      const int t = omp_get_thread_num();
#pragma omp single
      team = omp_get_num_threads();
      float *part = lundi__conv_scratch(WS_PART, (size_t)wsz);
      float *xp = lundi__conv_scratch(WS_XPAD, (size_t)(ipb * g->C * hb_max * wp));
      float *gt = lundi__conv_scratch(WS_GT, (size_t)(ipb * rpb * g->OW * g->O));
      parts[t] = part;
      if (!part || !xp || !gt) {
#pragma omp atomic write
        failed = 1;
      } else {
        memset(part, 0, sizeof(float) * (size_t)wsz);
      }
#pragma omp barrier
      if (!failed) {
#pragma omp for schedule(static)
        for (int64_t k = 0; k < nblk; k++) {
          wblock b;
          int64_t chunk = k / nband, band = k % nband;
          b.n0 = chunk * ipb, b.nb = g->N - b.n0 < ipb ? g->N - b.n0 : ipb;
          b.oh0 = band * rpb, b.oh1 = b.oh0 + rpb < g->OH ? b.oh0 + rpb : g->OH;
          b.ih0 = b.oh0 * g->sh - g->ph;
          b.hb = (b.oh1 - b.oh0 - 1) * g->sh + (g->kh - 1) * g->dh + 1;
          b.wp = wp;
          bw_block(g, &b, x, gy, xp, gt, part, gb ? dbs + t * g->O : NULL);
        }
        /* gw[o][k] = sum over threads of part[grp][k][og] */
#pragma omp for schedule(static)
        for (int64_t o = 0; o < g->O; o++) {
          const int64_t grp = o / g->Og, og = o % g->Og;
          for (int64_t k = 0; k < g->K; k++) {
            float s = 0;
            for (int i = 0; i < team; i++) s += parts[i][(grp * g->K + k) * g->Og + og];
            gw[o * g->K + k] = s;
          }
        }
      }
    }
  }
  if (!failed && gb)
    for (int64_t o = 0; o < g->O; o++) {
      double s = 0;
      for (int i = 0; i < team; i++) s += dbs[i * g->O + o];
      gb[o] = (float)s;
    }
  free(parts);
  free(dbs);
  return failed ? -1 : 0;
}
