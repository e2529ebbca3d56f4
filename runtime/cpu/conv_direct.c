/* Direct AVX-512 forward convolution for convs whose output rows are at least as wide as
 * the (strided) input rows: stride 1 with OW == W ("same" padding, any kernel and
 * dilation, 1x1 included), and stride s with ceil(W / s) <= OW (e.g. 3x3, padding 1,
 * stride 2). conv2d's backward-data of the stride-1 ones is the same kind of conv with
 * mirrored weights.
 *
 * With equal row lengths, output pixel p = oh * OW + ow reads input pixel p + delta(tap)
 * of each channel, so the im2col matrix never needs to exist: the GEMM micro-kernel loads
 * its B vectors straight from x with masked loads (the mask zeroes padding taps;
 * precomputed per tap and pixel vector) and writes y in NCHW with the bias fused. This
 * saves the 9x column matrix, its packing and the output scatter, which cost about as
 * much as the GEMM when a conv has only 32..64 output channels. Strided convs first split
 * x into its s * s phase planes (x[s*i + a][s*j + b]), so each tap reads one plane at a
 * unit-stride offset.
 *
 * Pixels are numbered across the batch and cut into 16-wide vectors. Images whose pixel
 * count is a multiple of 16 (or large) are read one image per vector. Smaller ones (7x7,
 * 14x14) are copied to a [C][N*HW] layout so vectors run on across image boundaries
 * without wasted lanes; the mask table is then periodic in the vector index.
 * The kernels are compiled for AVX-512F and used only when the CPU has it. */
#include "cpu/conv.h"
#include "cpu/kernels.h"

#include <immintrin.h>
#include <omp.h>
#include <stdlib.h>
#include <string.h>

enum { MR = 8, NV = 3 };
/* Vectors per work unit: a few tiles, so each unit reuses the packed weights. */
#define UNIT_VEC 24
/* Output channels written per pass over a unit's pixel tiles: more output planes at once
 * thrash the TLB and the store buffers, fewer re-read x more often (bench_conv). */
#define OUT_ROWS_PER_PASS 32
/* Images with fewer pixels than this (and not a multiple of 16) use the batch layout. */
#define CAT_MAX_PIXELS 1024
/* Most floats one thread copies (phase split / batch layout) at a time. Each thread
 * copying its own share of the batch, up to this, measured best (bench_conv); smaller
 * chunks re-stream the packed weights more often. */
#define COPY_CHUNK_FLOATS (8 << 20)

static int avx512_allowed = 1;

void lundi__conv_avx512_allow(int on) { avx512_allowed = on != 0; }

int lundi__conv_avx512(void) {
  static int have = -1;
  if (have < 0) {
    __builtin_cpu_init();
    have = __builtin_cpu_supports("avx512f") != 0;
  }
  return have && avx512_allowed;
}

int lundi__conv_direct_fwd_ok(const lundi_conv_geom *g) {
  const int64_t wq = (g->W + g->sw - 1) / g->sw;
  return lundi__conv_avx512() && (g->sw == 1 ? g->OW == g->W : wq <= g->OW) &&
         g->C * g->sh * g->sw * ((g->H + g->sh - 1) / g->sh) * g->OW < (1 << 30) && g->O * g->OH * g->OW < (1 << 30);
}

int lundi__conv_direct_bwd_data_ok(const lundi_conv_geom *g) {
  return lundi__conv_direct_fwd_ok(g) && g->sh == 1 && g->sw == 1 && g->dh * (g->kh - 1) >= g->ph &&
         g->dw * (g->kw - 1) >= g->pw;
}

/* Shared, read-only description of one direct conv. */
typedef struct dplan {
  const lundi_conv_geom *g;
  int copy;              /* x is copied: split into stride phases and/or to the batch layout */
  int cat;               /* batch layout [C][phase][N * OH * OW]: vectors cross images */
  int64_t ohw;           /* output pixels per image */
  int64_t prows, plane;  /* rows of a phase plane (rows are OW long), its size */
  int64_t ns, cs, ps;    /* strides of the source: image, channel, phase plane */
  int64_t vpi;           /* per-image layout: vectors per image (its tail lanes are unused) */
  int64_t period;        /* mask table length per tap, in vectors */
  int64_t *tap_phase;    /* per tap: its phase plane (0 for stride 1) */
  int64_t *tap_shift;    /* per tap: row shift * OW + column shift within the plane */
  int32_t *delta, *moff; /* per row k of a group: input offset, mask row offset */
  __mmask16 *mask;       /* [kh * kw][period]: lanes whose tap lies inside the image */
  float *wp;             /* [G][otiles][K][MR] weights, rows past Og zero */
  int64_t otiles;
  int64_t oblock;        /* output-channel tiles per pass over a unit's pixel tiles */
} dplan;

static void dplan_free(dplan *d) {
  free(d->tap_phase), free(d->tap_shift), free(d->delta), free(d->moff), free(d->mask), free(d->wp);
}

static int64_t gcd64(int64_t a, int64_t b) {
  while (b) {
    int64_t t = a % b;
    a = b, b = t;
  }
  return a;
}

/* A tap's input offset off = s * shift + phase (0 <= phase < s). */
static inline void split_offset(int64_t off, int64_t s, int64_t *phase, int64_t *shift) {
  *phase = ((off % s) + s) % s;
  *shift = (off - *phase) / s;
}

static int dplan_init(dplan *d, const lundi_conv_geom *g, const float *w, int flip) {
  memset(d, 0, sizeof *d);
  d->g = g;
  d->ohw = g->OH * g->OW;
  d->prows = (g->H + g->sh - 1) / g->sh;
  d->plane = d->prows * g->OW;
  d->cat = g->N > 1 && d->ohw % 16 && d->ohw < CAT_MAX_PIXELS && d->ohw >= 16 && d->prows == g->OH;
  d->copy = d->cat || g->sh > 1 || g->sw > 1;
  d->vpi = (d->ohw + 15) / 16;
  d->period = d->vpi;
  if (d->cat) { /* the masks repeat every lcm(ohw, 16) pixels; fewer when the batch is short */
    const int64_t nvec = (g->N * d->ohw + 15) / 16;
    d->period = d->ohw / gcd64(d->ohw, 16);
    if (d->period > nvec) d->period = nvec;
  }
  d->otiles = (g->Og + MR - 1) / MR;
  d->oblock = OUT_ROWS_PER_PASS / MR;
  const int64_t kk = g->kh * g->kw;
  d->tap_phase = malloc(sizeof(int64_t) * (size_t)kk);
  d->tap_shift = malloc(sizeof(int64_t) * (size_t)kk);
  d->delta = malloc(sizeof(int32_t) * (size_t)g->K);
  d->moff = malloc(sizeof(int32_t) * (size_t)g->K);
  d->mask = malloc(sizeof(__mmask16) * (size_t)(kk * d->period));
  size_t wbytes = sizeof(float) * (size_t)(g->G * d->otiles * g->K * MR);
  d->wp = aligned_alloc(64, (wbytes + 63) & ~(size_t)63);
  if (!d->tap_phase || !d->tap_shift || !d->delta || !d->moff || !d->mask || !d->wp) {
    dplan_free(d);
    return -1;
  }
  for (int64_t t = 0; t < kk; t++) {
    int64_t a, b, dy, dx;
    split_offset((t / g->kw) * g->dh - g->ph, g->sh, &a, &dy);
    split_offset((t % g->kw) * g->dw - g->pw, g->sw, &b, &dx);
    /* rows / columns that phase (a, b) has */
    const int64_t ha = (g->H - a + g->sh - 1) / g->sh, wb = (g->W - b + g->sw - 1) / g->sw;
    d->tap_phase[t] = a * g->sw + b, d->tap_shift[t] = dy * g->OW + dx;
    for (int64_t v = 0; v < d->period; v++) {
      unsigned m = 0;
      for (int l = 0; l < 16; l++) {
        int64_t q = v * 16 + l, p = d->cat ? q % d->ohw : q;
        int64_t ih = p / g->OW + dy, iw = p % g->OW + dx;
        if (p < d->ohw && ih >= 0 && ih < ha && iw >= 0 && iw < wb) m |= 1u << l;
      }
      d->mask[t * d->period + v] = (__mmask16)m;
    }
  }
  /* pack [G][otiles][K][MR]; rows past Og stay zero */
  memset(d->wp, 0, wbytes);
  if (!w) return 0; /* backward-weight: offsets and masks only */
  for (int64_t grp = 0; grp < g->G; grp++)
    for (int64_t o = 0; o < g->Og; o++) {
      float *dst = d->wp + (grp * d->otiles + o / MR) * g->K * MR + o % MR;
      if (!flip) {
        const float *src = w + (grp * g->Og + o) * g->K;
        for (int64_t k = 0; k < g->K; k++) dst[k * MR] = src[k];
      } else {
        /* g is the adjoint of a conv with weight [g->C][g->Og][kh][kw]: this conv's
         * channel o is that conv's input channel, its inputs are that conv's outputs,
         * and the taps are mirrored */
        for (int64_t c = 0; c < g->Cg; c++) {
          const float *src = w + ((grp * g->Cg + c) * g->Og + o) * kk;
          float *dc = dst + c * kk * MR;
          for (int64_t t = 0; t < kk; t++) dc[(kk - 1 - t) * MR] = src[t]; /* mirrored tap */
        }
      }
    }
  return 0;
}

/* Source strides for a copy holding `chunk` images (ignored when x is read in place),
 * and the per-row offsets that follow from them. */
static void dplan_offsets(dplan *d, int64_t chunk) {
  const lundi_conv_geom *g = d->g;
  const int64_t kk = g->kh * g->kw, nph = g->sh * g->sw;
  if (!d->copy) /* in place: one plane per channel */
    d->ps = 0, d->cs = g->H * g->W, d->ns = g->C * d->cs;
  else if (d->cat) /* [C][phase][chunk][plane] */
    d->ps = chunk * d->plane, d->cs = nph * d->ps, d->ns = d->plane;
  else /* [chunk][C][phase][plane] */
    d->ps = d->plane, d->cs = nph * d->ps, d->ns = g->C * d->cs;
  for (int64_t k = 0; k < g->K; k++) {
    int64_t c = k / kk, t = k % kk;
    d->delta[k] = (int32_t)(c * d->cs + d->tap_phase[t] * d->ps + d->tap_shift[t]);
    d->moff[k] = (int32_t)(t * d->period);
  }
}

/* One MR x 48 tile: rows o0.., three pixel vectors. src[j]: the vector's first pixel in
 * channel 0 of the group; mk[j]: its mask column; dst[j]: its first output (row o0);
 * lo[j]/hi[j]: lanes stored at dst[j] / at dst[j] + hioff (the next image). The
 * accumulators are named variables: an array indexed in a loop would be spilled. */
#define ACC_DECL(i) __m512 c##i##0 = _mm512_setzero_ps(), c##i##1 = c##i##0, c##i##2 = c##i##0
#define ACC_FMA(i)                                                                                 \
  do {                                                                                             \
    if (i >= R) break;                                                                             \
    __m512 av = _mm512_set1_ps(a[i]);                                                              \
    c##i##0 = _mm512_fmadd_ps(av, b0, c##i##0);                                                    \
    c##i##1 = _mm512_fmadd_ps(av, b1, c##i##1);                                                    \
    c##i##2 = _mm512_fmadd_ps(av, b2, c##i##2);                                                    \
  } while (0)
#define ACC_STORE1(v, j)                                                                           \
  do {                                                                                             \
    _mm512_mask_storeu_ps(dst[j] + off, lo[j], v);                                                 \
    if (hi[j]) _mm512_mask_storeu_ps(dst[j] + off + hioff, hi[j], v);                              \
  } while (0)
#define ACC_STORE(i)                                                                               \
  do {                                                                                             \
    if (i < rows) {                                                                                \
      __m512 bv = _mm512_set1_ps(bias ? bias[i] : 0.0f);                                           \
      int64_t off = i * ldy;                                                                       \
      ACC_STORE1(_mm512_add_ps(c##i##0, bv), 0);                                                   \
      ACC_STORE1(_mm512_add_ps(c##i##1, bv), 1);                                                   \
      ACC_STORE1(_mm512_add_ps(c##i##2, bv), 2);                                                   \
    }                                                                                              \
  } while (0)

static inline __attribute__((always_inline)) LUNDI_T512 void
fwd_tile(const int R, const float *const src[NV], const __mmask16 *const mk[NV], const dplan *d, const float *wp,
         float *const dst[NV], const __mmask16 lo[NV], const __mmask16 hi[NV], int64_t hioff, int rows,
         const float *bias) {
  ACC_DECL(0); ACC_DECL(1); ACC_DECL(2); ACC_DECL(3);
  ACC_DECL(4); ACC_DECL(5); ACC_DECL(6); ACC_DECL(7);
  const int64_t ldy = d->ohw;
  const float *s0 = src[0], *s1 = src[1], *s2 = src[2];
  const __mmask16 *m0 = mk[0], *m1 = mk[1], *m2 = mk[2];
  const int32_t *delta = d->delta, *moff = d->moff;
  for (int64_t k = 0; k < d->g->K; k++) {
    const int64_t dk = delta[k], mo = moff[k];
    const __m512 b0 = _mm512_maskz_loadu_ps(m0[mo], s0 + dk);
    const __m512 b1 = _mm512_maskz_loadu_ps(m1[mo], s1 + dk);
    const __m512 b2 = _mm512_maskz_loadu_ps(m2[mo], s2 + dk);
    const float *a = wp + k * MR;
    ACC_FMA(0); ACC_FMA(1); ACC_FMA(2); ACC_FMA(3);
    ACC_FMA(4); ACC_FMA(5); ACC_FMA(6); ACC_FMA(7);
  }
  ACC_STORE(0); ACC_STORE(1); ACC_STORE(2); ACC_STORE(3);
  ACC_STORE(4); ACC_STORE(5); ACC_STORE(6); ACC_STORE(7);
}

/* Row counts below MR (output heads, thin groups) skip the FMAs of the missing rows. */
#define FWD_TILE_R(R)                                                                              \
  static LUNDI_T512 void fwd_tile##R(const float *const src[NV], const __mmask16 *const mk[NV],    \
                                     const dplan *d, const float *wp, float *const dst[NV],        \
                                     const __mmask16 lo[NV], const __mmask16 hi[NV], int64_t hioff, \
                                     int rows, const float *bias) {                                \
    fwd_tile(R, src, mk, d, wp, dst, lo, hi, hioff, rows, bias);                                   \
  }
FWD_TILE_R(8)
FWD_TILE_R(4)
FWD_TILE_R(2)
FWD_TILE_R(1)

/* Where pixel vector v of a chunk (total pixels, counted from the chunk's first image)
 * reads x and which lanes belong to image n (lo) and to image n + 1 (hi). */
typedef struct vref {
  const float *s;        /* channel 0 of the vector's first pixel */
  const __mmask16 *mk;   /* mask column */
  int64_t n, p;          /* image in the chunk, pixel in the image */
  __mmask16 lo, hi;
} vref;

static inline void vec_ref(const dplan *d, const float *src, int64_t total, int64_t v, vref *r) {
  if (d->cat) {
    int64_t q = v * 16, in_img, left = total - q;
    r->n = q / d->ohw, r->p = q % d->ohw, in_img = d->ohw - r->p;
    r->s = src + q;
    r->mk = d->mask + v % d->period;
    unsigned all = left >= 16 ? 0xFFFFu : (1u << left) - 1, l = in_img >= 16 ? 0xFFFFu : (1u << in_img) - 1;
    r->lo = (__mmask16)(all & l), r->hi = (__mmask16)(all & ~l);
  } else {
    r->n = v / d->vpi, r->p = (v % d->vpi) * 16;
    int64_t in_img = d->ohw - r->p;
    r->s = src + r->n * d->ns + r->p;
    r->mk = d->mask + v % d->vpi;
    r->lo = (__mmask16)(in_img >= 16 ? 0xFFFFu : (1u << in_img) - 1), r->hi = 0;
  }
}

/* Vectors [v0, v1) of the chunk of images [n0, n0 + nimg), all groups and output
 * channels. src: x in place, or the batch-layout copy of the chunk. */
typedef struct fwd_args {
  const float *bias;
  float *y;
} fwd_args;

static LUNDI_T512 void fwd_unit(const dplan *d, const float *src, int64_t n0, int64_t nimg, int64_t v0, int64_t v1,
                                int64_t part, int64_t nparts, void *ctx) {
  const lundi_conv_geom *g = d->g;
  const float *bias = ((fwd_args *)ctx)->bias;
  float *y = ((fwd_args *)ctx)->y;
  enum { MAXT = (UNIT_VEC + NV - 1) / NV };
  const float *s[MAXT][NV];
  const __mmask16 *mk[MAXT][NV];
  float *dst[MAXT][NV];
  __mmask16 lo[MAXT][NV], hi[MAXT][NV];
  const int64_t nt = (v1 - v0 + NV - 1) / NV, hioff = (g->O - 1) * d->ohw;
  for (int64_t t = 0; t < nt; t++)
    for (int j = 0; j < NV; j++) {
      int64_t v = v0 + t * NV + j;
      vref r;
      vec_ref(d, src, nimg * d->ohw, v < v1 ? v : v0, &r); /* past the end: store nothing */
      s[t][j] = r.s, mk[t][j] = r.mk, lo[t][j] = v < v1 ? r.lo : 0, hi[t][j] = v < v1 ? r.hi : 0;
      dst[t][j] = y + ((n0 + r.n) * g->O) * d->ohw + r.p;
    }
  /* this unit's share of the output-channel tiles (all of them unless the batch is small) */
  const int64_t ob = d->oblock, nob = (d->otiles + ob - 1) / ob;
  const int64_t ot_lo = nob * part / nparts * ob, ot_hi = nob * (part + 1) / nparts * ob;
  for (int64_t grp = 0; grp < g->G; grp++) {
    const int64_t goff = grp * g->Cg * d->cs;
    for (int64_t ot0 = ot_lo; ot0 < ot_hi && ot0 < d->otiles; ot0 += ob)
      for (int64_t t = 0; t < nt; t++) {
        const float *sg[NV] = {s[t][0] + goff, s[t][1] + goff, s[t][2] + goff};
        for (int64_t ot = ot0; ot < ot0 + ob && ot < d->otiles; ot++) {
          const int64_t o0 = grp * g->Og + ot * MR;
          const int rows = (int)(g->Og - ot * MR < MR ? g->Og - ot * MR : MR);
          float *dg[NV] = {dst[t][0] + o0 * d->ohw, dst[t][1] + o0 * d->ohw, dst[t][2] + o0 * d->ohw};
          const float *wt = d->wp + (grp * d->otiles + ot) * g->K * MR, *bo = bias ? bias + o0 : NULL;
          if (rows > 4)
            fwd_tile8(sg, mk[t], d, wt, dg, lo[t], hi[t], hioff, rows, bo);
          else if (rows > 2)
            fwd_tile4(sg, mk[t], d, wt, dg, lo[t], hi[t], hioff, rows, bo);
          else if (rows > 1)
            fwd_tile2(sg, mk[t], d, wt, dg, lo[t], hi[t], hioff, rows, bo);
          else
            fwd_tile1(sg, mk[t], d, wt, dg, lo[t], hi[t], hioff, rows, bo);
        }
      }
  }
}

/* Runs vectors [v0, v1) of the chunk of images [n0, n0 + nimg), and of its outputs the
 * part-th of nparts slices (a unit that cannot split must be given nparts == 1). */
typedef void (*unit_fn)(const dplan *d, const float *src, int64_t n0, int64_t nimg, int64_t v0, int64_t v1,
                        int64_t part, int64_t nparts, void *ctx);

/* All threads on the vectors of one source; a short batch is also split by output
 * channels (when fn allows) so that every thread gets work. */
static void run_shared(const dplan *d, const float *src, int64_t nvec, int64_t unit_vec, int split, unit_fn fn,
                       void *ctx, int nt) {
  const int64_t vunits = (nvec + unit_vec - 1) / unit_vec;
  int64_t nparts = 1;
  /* (not for tiny convs, where waking the other threads costs more than it saves) */
  const double flops = 2.0 * (double)nvec * 16 * (double)(d->g->O * d->g->K);
  if (split && vunits < 2 * nt && flops > 4e6) {
    const int64_t nob = (d->otiles + d->oblock - 1) / d->oblock;
    nparts = (2 * nt + vunits - 1) / vunits;
    if (nparts > nob) nparts = nob;
  }
  const int64_t units = vunits * nparts;
  /* static: thread t gets the t-th contiguous share of the batch, the share the next op
   * (group norm, elementwise, also static) reads, so activations stay in that core's cache
   * (dynamic scheduling cost ~10% of a U-Net forward in cross-core traffic, bench_unet) */
#pragma omp parallel for schedule(static) num_threads(nt) if (nt > 1 && units > 1)
  for (int64_t u = 0; u < units; u++) {
    const int64_t v0 = u / nparts * unit_vec, v1 = v0 + unit_vec < nvec ? v0 + unit_vec : nvec;
    fn(d, src, 0, d->g->N, v0, v1, u % nparts, nparts, ctx);
  }
}

/* Splits one input row into its two column phases: even[j] = row[2j], odd[j] = row[2j+1]
 * for j < len, zero where the row has no such column. */
static LUNDI_T512 void deinterleave2(const float *row, int64_t w, float *even, float *odd, int64_t len) {
  const __m512i ie = _mm512_setr_epi32(0, 2, 4, 6, 8, 10, 12, 14, 16, 18, 20, 22, 24, 26, 28, 30);
  const __m512i io = _mm512_setr_epi32(1, 3, 5, 7, 9, 11, 13, 15, 17, 19, 21, 23, 25, 27, 29, 31);
  for (int64_t j = 0; j < len; j += 16) {
    const int64_t left = w - 2 * j, n = len - j; /* input columns from 2j on; outputs left */
    const __mmask16 m0 = (__mmask16)(left >= 16 ? 0xFFFFu : left > 0 ? (1u << left) - 1 : 0);
    const __mmask16 m1 = (__mmask16)(left >= 32 ? 0xFFFFu : left > 16 ? (1u << (left - 16)) - 1 : 0);
    const __mmask16 sm = (__mmask16)(n >= 16 ? 0xFFFFu : (1u << n) - 1);
    const __m512 lo = _mm512_maskz_loadu_ps(m0, row + 2 * j), hi = _mm512_maskz_loadu_ps(m1, row + 2 * j + 16);
    _mm512_mask_storeu_ps(even + j, sm, _mm512_permutex2var_ps(lo, ie, hi));
    _mm512_mask_storeu_ps(odd + j, sm, _mm512_permutex2var_ps(lo, io, hi));
  }
}

/* Copies images [n0, n0 + nimg) of x (NCHW) into the source layout (strides from
 * dplan_offsets): phase planes x[s*i + a][s*j + b], rows OW long, zero past the image. */
static LUNDI_T512 void copy_source(const dplan *d, const float *x, int64_t n0, int64_t nimg, float *dst, int nt) {
  const lundi_conv_geom *g = d->g;
  const int64_t OW = g->OW, sh = g->sh, sw = g->sw;
#pragma omp parallel for schedule(static) num_threads(nt) if (nt > 1 && g->C * nimg * d->plane > 65536)
  for (int64_t c = 0; c < g->C; c++)
    for (int64_t i = 0; i < nimg; i++) {
      const float *src = x + ((n0 + i) * g->C + c) * g->H * g->W;
      float *base = dst + i * d->ns + c * d->cs;
      for (int64_t a = 0; a < sh; a++)
        for (int64_t r = 0; r < d->prows; r++) {
          const int64_t ih = r * sh + a;
          float *pl0 = base + a * sw * d->ps + r * OW;
          if (ih >= g->H) {
            for (int64_t b = 0; b < sw; b++) memset(pl0 + b * d->ps, 0, sizeof(float) * (size_t)OW);
            continue;
          }
          const float *row = src + ih * g->W;
          if (sw == 2) {
            deinterleave2(row, g->W, pl0, pl0 + d->ps, OW);
            continue;
          }
          for (int64_t b = 0; b < sw; b++) {
            float *pl = pl0 + b * d->ps;
            const int64_t wb = (g->W - b + sw - 1) / sw;
            int64_t j = 0;
            for (; j < wb; j++) pl[j] = row[j * sw + b];
            for (; j < OW; j++) pl[j] = 0;
          }
        }
    }
}

/* Runs fn over the batch in units of unit_vec pixel vectors, in parallel; x is NCHW.
 * When the plan copies x (phases, batch layout), each thread copies a chunk of images
 * into its own scratch and runs that chunk's vectors; with fewer images than threads,
 * all threads copy one shared buffer and then split its vectors. */
static int run_units(dplan *d, const float *x, int64_t unit_vec, int split, unit_fn fn, void *ctx) {
  const lundi_conv_geom *g = d->g;
  const int nt = lundi__threads();
  if (!d->copy) {
    dplan_offsets(d, g->N);
    run_shared(d, x, g->N * d->vpi, unit_vec, split, fn, ctx, nt);
    return 0;
  }
  const int64_t per = g->C * g->sh * g->sw * d->plane;
  int64_t chunk = COPY_CHUNK_FLOATS / per > 1 ? COPY_CHUNK_FLOATS / per : 1;
  if (chunk > (g->N + nt - 1) / nt) chunk = (g->N + nt - 1) / nt;
  const int64_t nchunk = (g->N + chunk - 1) / chunk;
  const int private_chunks = nt == 1 || nchunk >= nt;
  if (!private_chunks) chunk = g->N; /* one shared copy, vectors split across threads */
  dplan_offsets(d, chunk);
  /* slack past the end: lanes beyond the last pixel still read their (masked-in) taps */
  int64_t reach = 0;
  for (int64_t t = 0; t < g->kh * g->kw; t++)
    if (d->tap_shift[t] > reach) reach = d->tap_shift[t];
  const size_t used = (size_t)(chunk * per), n = used + 16 + (size_t)reach;
  int failed = 0;
  if (private_chunks) {
#pragma omp parallel for schedule(static) num_threads(nt) if (nt > 1)
    for (int64_t ci = 0; ci < (g->N + chunk - 1) / chunk; ci++) {
      const int64_t n0 = ci * chunk, nimg = g->N - n0 < chunk ? g->N - n0 : chunk;
      float *buf = lundi__conv_scratch(WS_CAT, n);
      if (!buf) {
#pragma omp atomic write
        failed = 1;
        continue;
      }
      memset(buf + used, 0, sizeof(float) * (n - used));
      copy_source(d, x, n0, nimg, buf, 1);
      const int64_t nvec = d->cat ? (nimg * d->ohw + 15) / 16 : nimg * d->vpi;
      for (int64_t v0 = 0; v0 < nvec; v0 += unit_vec)
        fn(d, buf, n0, nimg, v0, v0 + unit_vec < nvec ? v0 + unit_vec : nvec, 0, 1, ctx);
    }
    return failed ? -1 : 0;
  }
  float *buf = lundi__conv_scratch(WS_CAT, n);
  if (!buf) return -1;
  memset(buf + used, 0, sizeof(float) * (n - used));
  copy_source(d, x, 0, g->N, buf, nt);
  run_shared(d, buf, d->cat ? (g->N * d->ohw + 15) / 16 : g->N * d->vpi, unit_vec, split, fn, ctx, nt);
  return 0;
}

int lundi__conv_direct_fwd(const lundi_conv_geom *g, const float *x, const float *w, const float *bias, float *y) {
  dplan d;
  if (dplan_init(&d, g, w, 0)) return -1;
  fwd_args a = {bias, y};
  int rc = run_units(&d, x, UNIT_VEC, 1, fwd_unit, &a);
  dplan_free(&d);
  return rc;
}

/* gx = conv2d backward-data of gy: a stride-1 conv of gy with the mirrored, transposed
 * weights and padding d * (k - 1) - p (which OW == W and p <= d * (k - 1) make valid). */
int lundi__conv_direct_bwd_data(const lundi_conv_geom *g, const float *gy, const float *w, const float *bias,
                                float *gx) {
  lundi_conv_geom a = *g;
  a.C = g->O, a.H = g->OH, a.W = g->OW, a.O = g->C, a.OH = g->H, a.OW = g->W;
  a.ph = g->dh * (g->kh - 1) - g->ph, a.pw = g->dw * (g->kw - 1) - g->pw;
  a.Cg = g->Og, a.Og = g->Cg, a.K = g->Og * g->kh * g->kw;
  dplan d;
  if (dplan_init(&d, &a, w, 1)) return -1;
  fwd_args args = {bias, gx};
  int rc = run_units(&d, gy, UNIT_VEC, 1, fwd_unit, &args);
  dplan_free(&d);
  return rc;
}

/* ---- backward-weight of convs with few output channels per group ----
 * gw[o][k] = sum over pixels of gy[o] * x at tap k. With Og < 16 a vector over output
 * channels would be mostly empty, so this one is vectorised over pixels instead: 12 taps'
 * masked x vectors times one gy vector, summed in lanes over a long run of pixels and
 * across lanes at the end. */
enum { TK = 12, THIN_UNIT_VEC = 196 };

typedef struct thin_args {
  const float *gy;
  float **parts;  /* per thread [O][K] */
  double **dbs;   /* per thread [O], or NULL */
} thin_args;

#define TH_DECL(i) __m512 t##i = _mm512_setzero_ps()
#define TH_FMA(i)                                                                                  \
  do {                                                                                             \
    if (i < nk) t##i = _mm512_fmadd_ps(gv, _mm512_maskz_loadu_ps(mk[mo##i], s + dl##i), t##i);      \
  } while (0)
#define TH_SUM(i)                                                                                  \
  do {                                                                                             \
    if (i < nk) pk[i] += _mm512_reduce_add_ps(t##i);                                               \
  } while (0)
#define TH_OFF(i)                                                                                  \
  const int64_t dl##i = d->delta[k0 + (i < nk ? i : 0)], mo##i = d->moff[k0 + (i < nk ? i : 0)]

static LUNDI_T512 void thin_unit(const dplan *d, const float *src, int64_t n0, int64_t nimg, int64_t v0, int64_t v1,
                                 int64_t os, int64_t nos, void *ctx) {
  (void)os, (void)nos; /* run_units(.., split = 0, ..): always the whole of the outputs */
  const thin_args *a = ctx;
  const lundi_conv_geom *g = d->g;
  const int t = omp_get_thread_num();
  float *part = a->parts[t];
  double *db = a->dbs ? a->dbs[t] : NULL;
  const int64_t hioff = (g->O - 1) * d->ohw;
  vref r[THIN_UNIT_VEC];
  for (int64_t v = v0; v < v1; v++) vec_ref(d, src, nimg * d->ohw, v, &r[v - v0]);
  const int64_t nv = v1 - v0;
  for (int64_t oc = 0; oc < g->O; oc++) {
    const int64_t goff = (oc / g->Og) * g->Cg * d->cs;
    const float *gyo = a->gy + oc * d->ohw;
    if (db) {
      __m512 sum = _mm512_setzero_ps();
      for (int64_t j = 0; j < nv; j++) {
        const float *gp = gyo + (n0 + r[j].n) * g->O * d->ohw + r[j].p;
        sum = _mm512_add_ps(sum, _mm512_maskz_loadu_ps(r[j].lo, gp));
        if (r[j].hi) sum = _mm512_add_ps(sum, _mm512_maskz_loadu_ps(r[j].hi, gp + hioff));
      }
      db[oc] += _mm512_reduce_add_ps(sum);
    }
    for (int64_t k0 = 0; k0 < g->K; k0 += TK) {
      const int nk = (int)(g->K - k0 < TK ? g->K - k0 : TK);
      TH_OFF(0); TH_OFF(1); TH_OFF(2); TH_OFF(3); TH_OFF(4); TH_OFF(5);
      TH_OFF(6); TH_OFF(7); TH_OFF(8); TH_OFF(9); TH_OFF(10); TH_OFF(11);
      TH_DECL(0); TH_DECL(1); TH_DECL(2); TH_DECL(3); TH_DECL(4); TH_DECL(5);
      TH_DECL(6); TH_DECL(7); TH_DECL(8); TH_DECL(9); TH_DECL(10); TH_DECL(11);
      for (int64_t j = 0; j < nv; j++) {
        const float *gp = gyo + (n0 + r[j].n) * g->O * d->ohw + r[j].p;
        __m512 gv = _mm512_maskz_loadu_ps(r[j].lo, gp);
        if (r[j].hi) gv = _mm512_mask_loadu_ps(gv, r[j].hi, gp + hioff);
        const float *s = r[j].s + goff;
        const __mmask16 *mk = r[j].mk;
        TH_FMA(0); TH_FMA(1); TH_FMA(2); TH_FMA(3); TH_FMA(4); TH_FMA(5);
        TH_FMA(6); TH_FMA(7); TH_FMA(8); TH_FMA(9); TH_FMA(10); TH_FMA(11);
      }
      float *pk = part + oc * g->K + k0;
      TH_SUM(0); TH_SUM(1); TH_SUM(2); TH_SUM(3); TH_SUM(4); TH_SUM(5);
      TH_SUM(6); TH_SUM(7); TH_SUM(8); TH_SUM(9); TH_SUM(10); TH_SUM(11);
    }
  }
}

int lundi__conv_direct_wgrad_thin(const lundi_conv_geom *g, const float *x, const float *gy, float *gw,
                                       float *gb) {
  dplan d;
  if (dplan_init(&d, g, NULL, 0)) return -1;
  const int nt = lundi__threads();
  const int64_t wsz = g->O * g->K;
  thin_args a = {gy, calloc((size_t)nt, sizeof(float *)), gb ? calloc((size_t)nt, sizeof(double *)) : NULL};
  int rc = !a.parts || (gb && !a.dbs) ? -1 : 0;
  for (int t = 0; t < nt && !rc; t++) {
    a.parts[t] = calloc((size_t)wsz, sizeof(float));
    if (gb) a.dbs[t] = calloc((size_t)g->O, sizeof(double));
    if (!a.parts[t] || (gb && !a.dbs[t])) rc = -1;
  }
  if (!rc) rc = run_units(&d, x, THIN_UNIT_VEC, 0, thin_unit, &a);
  if (!rc) {
    for (int64_t j = 0; j < wsz; j++) {
      float s = 0;
      for (int t = 0; t < nt; t++) s += a.parts[t][j];
      gw[j] = s;
    }
    for (int64_t o = 0; gb && o < g->O; o++) {
      double s = 0;
      for (int t = 0; t < nt; t++) s += a.dbs[t][o];
      gb[o] = (float)s;
    }
  }
  for (int t = 0; t < nt; t++) {
    if (a.parts) free(a.parts[t]);
    if (a.dbs) free(a.dbs[t]);
  }
  free(a.parts);
  free(a.dbs);
  dplan_free(&d);
  return rc;
}
