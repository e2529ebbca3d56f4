/* Direct AVX-512 forward convolution for stride-1 convs whose output rows are as wide as
 * the input rows (OW == W: "same" padding, any kernel and dilation, 1x1 included); conv2d's
 * backward-data of such convs is the same kind of conv with flipped weights.
 *
 * With OW == W, output pixel p = oh * W + ow reads input pixel p + delta(tap) of each
 * channel, so the im2col matrix never needs to exist: the GEMM micro-kernel loads its B
 * vectors straight from x with masked loads (the mask zeroes padding taps; precomputed
 * per tap and pixel vector) and writes y in NCHW with the bias fused. This saves the 9x
 * column matrix, its packing and the output scatter, which cost about as much as the GEMM
 * when a conv has only 32..64 output channels.
 *
 * Pixels are numbered across the batch and cut into 16-wide vectors. Images whose pixel
 * count is a multiple of 16 (or large) are read in place, one image per vector. Smaller
 * ones (7x7, 14x14) are first copied to a [C][N*HW] layout so vectors run on across image
 * boundaries without wasted lanes; the mask table is then periodic in the vector index.
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
/* Bound on the batch-layout copy of x; larger batches are processed in image chunks. */
#define CAT_MAX_FLOATS (8 << 20)

int lundi__conv_avx512(void) {
  static int have = -1;
  if (have < 0) {
    __builtin_cpu_init();
    have = __builtin_cpu_supports("avx512f") != 0;
  }
  return have;
}

int lundi__conv_direct_fwd_ok(const lundi_conv_geom *g) {
  return lundi__conv_avx512() && g->sh == 1 && g->sw == 1 && g->OW == g->W && g->C * g->H * g->W < (1 << 30) &&
         g->O * g->OH * g->OW < (1 << 30);
}

int lundi__conv_direct_bwd_data_ok(const lundi_conv_geom *g) {
  return lundi__conv_direct_fwd_ok(g) && g->dh * (g->kh - 1) >= g->ph && g->dw * (g->kw - 1) >= g->pw;
}

/* Shared, read-only description of one direct conv. */
typedef struct dplan {
  const lundi_conv_geom *g;
  int cat;               /* x copied to [C][N*HW]: vectors cross image boundaries */
  int64_t ohw, hw, cs;   /* output / input pixels per image; channel stride of the source */
  int64_t vpi;           /* in-place layout: vectors per image (its tail lanes are unused) */
  int64_t period;        /* mask table length per tap, in vectors */
  int32_t *delta, *moff; /* per row k of a group: input offset, mask row offset */
  __mmask16 *mask;       /* [kh * kw][period]: lanes whose tap lies inside the image */
  float *wp;             /* [G][otiles][K][MR] weights, rows past Og zero */
  int64_t otiles;
  int64_t oblock;        /* output-channel tiles per pass over a unit's pixel tiles */
} dplan;

static void dplan_free(dplan *d) { free(d->delta), free(d->moff), free(d->mask), free(d->wp); }

static int64_t gcd64(int64_t a, int64_t b) {
  while (b) {
    int64_t t = a % b;
    a = b, b = t;
  }
  return a;
}

static int dplan_init(dplan *d, const lundi_conv_geom *g, const float *w, int flip) {
  memset(d, 0, sizeof *d);
  d->g = g;
  d->ohw = g->OH * g->OW, d->hw = g->H * g->W;
  d->cat = d->ohw % 16 && d->ohw < CAT_MAX_PIXELS && d->ohw >= 16 && g->OH == g->H;
  d->vpi = (d->ohw + 15) / 16;
  d->period = d->cat ? d->ohw / gcd64(d->ohw, 16) : d->vpi;
  d->otiles = (g->Og + MR - 1) / MR;
  d->oblock = OUT_ROWS_PER_PASS / MR;
  const int64_t kk = g->kh * g->kw;
  d->delta = malloc(sizeof(int32_t) * (size_t)g->K);
  d->moff = malloc(sizeof(int32_t) * (size_t)g->K);
  d->mask = malloc(sizeof(__mmask16) * (size_t)(kk * d->period));
  size_t wbytes = sizeof(float) * (size_t)(g->G * d->otiles * g->K * MR);
  d->wp = aligned_alloc(64, (wbytes + 63) & ~(size_t)63);
  if (!d->delta || !d->moff || !d->mask || !d->wp) {
    dplan_free(d);
    return -1;
  }
  for (int64_t t = 0; t < kk; t++) {
    int64_t dy = (t / g->kw) * g->dh - g->ph, dx = (t % g->kw) * g->dw - g->pw;
    for (int64_t v = 0; v < d->period; v++) {
      unsigned m = 0;
      for (int l = 0; l < 16; l++) {
        int64_t q = v * 16 + l, p = d->cat ? q % d->ohw : q;
        int64_t ih = p / g->OW + dy, iw = p % g->OW + dx;
        if (p < d->ohw && ih >= 0 && ih < g->H && iw >= 0 && iw < g->W) m |= 1u << l;
      }
      d->mask[t * d->period + v] = (__mmask16)m;
    }
  }
  /* pack [G][otiles][K][MR]; rows past Og stay zero */
  memset(d->wp, 0, wbytes);
  if (!w) return 0; /* backward-weight: offsets and masks only */
  const int64_t kw = g->kw;
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
          for (int64_t t = 0; t < kk; t++) {
            int64_t ki = t / kw, kj = t % kw, tm = (g->kh - 1 - ki) * kw + (kw - 1 - kj);
            dst[(c * kk + tm) * MR] = src[t];
          }
        }
      }
    }
  return 0;
}

/* Offsets depend on the source's channel stride (in place: H*W; batch layout: N*H*W). */
static void dplan_offsets(dplan *d, int64_t cs) {
  const lundi_conv_geom *g = d->g;
  const int64_t kk = g->kh * g->kw;
  d->cs = cs;
  for (int64_t k = 0; k < g->K; k++) {
    int64_t c = k / kk, t = k % kk, ki = t / g->kw, kj = t % g->kw;
    d->delta[k] = (int32_t)(c * cs + (ki * g->dh - g->ph) * g->W + (kj * g->dw - g->pw));
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
    r->s = src + r->n * d->g->C * d->hw + r->p;
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
                                void *ctx) {
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
  const int64_t ob = d->oblock;
  for (int64_t grp = 0; grp < g->G; grp++) {
    const int64_t goff = grp * g->Cg * d->cs;
    for (int64_t ot0 = 0; ot0 < d->otiles; ot0 += ob)
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

typedef void (*unit_fn)(const dplan *d, const float *src, int64_t n0, int64_t nimg, int64_t v0, int64_t v1,
                        void *ctx);

/* Runs fn over the batch in units of unit_vec pixel vectors, in parallel; x is NCHW.
 * Small images are first copied, a chunk of images at a time, to the batch layout. */
static int run_units(dplan *d, const float *x, int64_t unit_vec, unit_fn fn, void *ctx) {
  const lundi_conv_geom *g = d->g;
  const int nt = lundi__threads();
  int64_t chunk = g->N;
  float *cat = NULL;
  if (d->cat) {
    int64_t per = g->C * d->hw;
    chunk = CAT_MAX_FLOATS / per > 1 ? CAT_MAX_FLOATS / per : 1;
    if (chunk > g->N) chunk = g->N;
    /* slack past the end: lanes beyond the last pixel still read their (masked-in) taps */
    int64_t reach = ((g->kh - 1) * g->dh - g->ph) * g->W + (g->kw - 1) * g->dw - g->pw;
    size_t n = (size_t)(g->C * chunk * d->hw + 16 + (reach > 0 ? reach : 0));
    cat = lundi__conv_scratch(WS_CAT, n);
    if (!cat) return -1;
    memset(cat + g->C * chunk * d->hw, 0, sizeof(float) * (n - (size_t)(g->C * chunk * d->hw)));
    dplan_offsets(d, chunk * d->hw);
  } else {
    dplan_offsets(d, d->hw);
  }
  for (int64_t n0 = 0; n0 < g->N; n0 += chunk) {
    const int64_t nimg = g->N - n0 < chunk ? g->N - n0 : chunk;
    const float *src = x + n0 * g->C * d->hw;
    int64_t nvec = nimg * d->vpi;
    if (d->cat) {
#pragma omp parallel for schedule(static) num_threads(nt) if (nt > 1 && g->C * nimg * d->hw > 65536)
      for (int64_t c = 0; c < g->C; c++)
        for (int64_t i = 0; i < nimg; i++)
          memcpy(cat + c * chunk * d->hw + i * d->hw, src + (i * g->C + c) * d->hw, sizeof(float) * (size_t)d->hw);
      src = cat;
      nvec = (nimg * d->ohw + 15) / 16;
    }
    const int64_t units = (nvec + unit_vec - 1) / unit_vec;
#pragma omp parallel for schedule(dynamic) num_threads(nt) if (nt > 1 && units > 1)
    for (int64_t u = 0; u < units; u++) {
      int64_t v0 = u * unit_vec, v1 = v0 + unit_vec < nvec ? v0 + unit_vec : nvec;
      fn(d, src, n0, nimg, v0, v1, ctx);
    }
  }
  return 0;
}

int lundi__conv_direct_fwd(const lundi_conv_geom *g, const float *x, const float *w, const float *bias, float *y) {
  dplan d;
  if (dplan_init(&d, g, w, 0)) return -1;
  fwd_args a = {bias, y};
  int rc = run_units(&d, x, UNIT_VEC, fwd_unit, &a);
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
  int rc = run_units(&d, gy, UNIT_VEC, fwd_unit, &args);
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
                                 void *ctx) {
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

int lundi__conv_direct_bwd_weight_thin(const lundi_conv_geom *g, const float *x, const float *gy, float *gw,
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
  if (!rc) rc = run_units(&d, x, THIN_UNIT_VEC, thin_unit, &a);
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
