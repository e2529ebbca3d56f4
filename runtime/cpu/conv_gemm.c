/* Portable conv2d kernels: im2col / col2im plus OpenBLAS sgemm (used where the AVX-512
 * direct kernels do not apply: other CPUs, and shapes they do not cover).
 *
 * The output pixels are cut into blocks (several whole images, or a band of output rows
 * of one image) whose im2col matrix fits a few MB. With enough blocks, each thread takes
 * whole blocks and runs single-threaded sgemm on them (OpenBLAS is the OpenMP build), so
 * im2col, GEMM and the output pass of a block stay on one core and in its cache; this beat
 * one big threaded GEMM over a batched im2col on the mnist-unet shapes (bench_conv).
 * Otherwise the blocks run one after another with threaded sgemm and threaded im2col.
 * 1x1 stride-1 unpadded convs read x in place instead of building a column matrix. */
#include "cpu/conv.h"
#include "cpu/kernels.h"

#include <cblas.h>
#include <omp.h>
#include <stdlib.h>
#include <string.h>

/* Column-matrix budget per block, in floats, and the most columns per block: measured
 * on the mnist-unet shapes, where larger blocks fall out of cache. */
#define COL_BUDGET (900 * 1024)
#define MAX_COLS 3136
/* 1x1 convs over at least this many pixels per image skip im2col entirely. */
#define IN_PLACE_MIN_PIXELS 128
#define scratch lundi__conv_scratch

static int is_pointwise(const lundi_conv_geom *g) {
  return g->kh == 1 && g->kw == 1 && g->sh == 1 && g->sw == 1 && g->ph == 0 && g->pw == 0 && g->OH == g->H &&
         g->OW == g->W;
}

/* ---- blocking plan ---- */
typedef struct plan {
  int64_t ipc, rpb;      /* images per block; output rows per block (OH unless ipc == 1) */
  int64_t nchunk, nband; /* image chunks, bands per chunk */
  int direct;            /* 1x1: blocks are single images, x read in place */
  int nt;
} plan;

static void make_plan(const lundi_conv_geom *g, plan *p) {
  int64_t rows = g->C * g->kh * g->kw, ohw = g->OH * g->OW;
  p->nt = lundi__threads();
  p->direct = is_pointwise(g) && ohw >= IN_PLACE_MIN_PIXELS;
  if (p->direct) {
    p->ipc = 1, p->rpb = g->OH;
  } else if (rows * ohw <= COL_BUDGET && ohw <= MAX_COLS) {
    p->ipc = COL_BUDGET / (rows * ohw);
    if (p->ipc * ohw > MAX_COLS) p->ipc = MAX_COLS / ohw;
    if (p->ipc < 1) p->ipc = 1;
    /* leave every thread a chunk when the batch allows */
    int64_t fair = (g->N + p->nt - 1) / p->nt;
    if (p->ipc > fair) p->ipc = fair > 0 ? fair : 1;
    p->rpb = g->OH;
  } else {
    p->ipc = 1;
    int64_t per_row = rows * g->OW;
    p->rpb = COL_BUDGET / per_row;
    if (p->rpb * g->OW > MAX_COLS) p->rpb = MAX_COLS / g->OW;
    if (p->rpb < 1) p->rpb = 1;
    if (p->rpb > g->OH) p->rpb = g->OH;
  }
  p->nchunk = (g->N + p->ipc - 1) / p->ipc;
  p->nband = (g->OH + p->rpb - 1) / p->rpb;
}

static lundi_conv_block block_at(const lundi_conv_geom *g, const plan *p, int64_t chunk, int64_t band) {
  lundi_conv_block b;
  b.n0 = chunk * p->ipc;
  b.nb = g->N - b.n0 < p->ipc ? g->N - b.n0 : p->ipc;
  b.oh0 = band * p->rpb;
  b.oh1 = b.oh0 + p->rpb < g->OH ? b.oh0 + p->rpb : g->OH;
  return b;
}

/* Gathers the rows [0, R) of per-image planes t[n][r][oh0*OW ..] of a block into a dense
 * [R, cols] matrix, returning in *sum (when not NULL) each row's total added in. */
static void gather_rows(const lundi_conv_geom *g, const lundi_conv_block *b, const float *t, int64_t R,
                        int64_t plane, float *m, double *sum) {
  int64_t n = (b->oh1 - b->oh0) * g->OW, cols = b->nb * n;
  for (int64_t r = 0; r < R; r++) {
    double s = 0;
    for (int64_t img = 0; img < b->nb; img++) {
      const float *src = t + ((b->n0 + img) * R + r) * plane + b->oh0 * g->OW;
      float *dst = m + r * cols + img * n;
      float acc = 0;
      for (int64_t k = 0; k < n; k++) {
        dst[k] = src[k];
        acc += src[k];
      }
      s += acc;
    }
    if (sum) sum[r] += s;
  }
}

/* The GEMM operand for a block: x itself for 1x1 stride-1 convs (p->direct), else its
 * im2col in scratch. NULL when scratch cannot be allocated. */
static const float *block_source(const lundi_conv_geom *g, const plan *p, const lundi_conv_block *b,
                                 const float *x, int64_t cols, int inner_par, int64_t *ldb) {
  if (p->direct) {
    *ldb = g->OH * g->OW;
    return x + b->n0 * g->C * g->OH * g->OW + b->oh0 * g->OW;
  }
  float *col = scratch(WS_COL, (size_t)(g->C * g->kh * g->kw * cols));
  if (!col) return NULL;
  lundi__im2col(g, b, x, col, cols, inner_par);
  *ldb = cols;
  return col;
}

/* ---- forward: y = conv(x, w) + bias ---- */

static int fwd_block(const lundi_conv_geom *g, const plan *p, const lundi_conv_block *b, const float *x,
                     const float *w, const float *bias, float *y, int inner_par) {
  const int64_t cols = lundi__conv_block_cols(g, b), ohw = g->OH * g->OW;
  int64_t ldb;
  const float *B = block_source(g, p, b, x, cols, inner_par, &ldb);
  if (!B) return -1;
  float *C;
  int64_t ldc;
  if (b->nb == 1) {
    C = y + b->n0 * g->O * ohw + b->oh0 * g->OW;
    ldc = ohw;
  } else {
    C = scratch(WS_MAT, (size_t)(g->O * cols));
    if (!C) return -1;
    ldc = cols;
  }
  /* single-image blocks: the GEMM adds onto the bias written first (a pass over y fewer than
   * adding it afterwards) */
  const int prefill = b->nb == 1 && bias;
  if (prefill) {
#pragma omp parallel for schedule(static) if (inner_par && g->O * cols > 65536)
    for (int64_t o = 0; o < g->O; o++)
      for (int64_t k = 0; k < cols; k++) C[o * ldc + k] = bias[o];
  }
  for (int64_t k = 0; k < g->G; k++)
    cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasNoTrans, (int)g->Og, (int)cols, (int)g->K, 1.0f, w + k * g->Og * g->K,
                (int)g->K, B + k * g->K * ldb, (int)ldb, prefill ? 1.0f : 0.0f, C + k * g->Og * ldc, (int)ldc);
  if (b->nb == 1) return 0;
  /* output pass: the bias, and the scatter of the block's images into NCHW */
  const int64_t n = cols / b->nb;
#pragma omp parallel for schedule(static) if (inner_par && g->O * cols > 65536)
  for (int64_t o = 0; o < g->O; o++) {
    const float bo = bias ? bias[o] : 0.0f;
    for (int64_t img = 0; img < b->nb; img++) {
      float *src = C + o * ldc + img * n;
      float *dst = y + ((b->n0 + img) * g->O + o) * ohw + b->oh0 * g->OW;
      for (int64_t k = 0; k < n; k++) dst[k] = src[k] + bo;
    }
  }
  return 0;
}

int lundi__conv_gemm_fwd(const lundi_conv_geom *g, const float *x, const float *w, const float *bias, float *y) {
  plan p;
  make_plan(g, &p);
  const int64_t nblk = p.nchunk * p.nband;
  const int par = p.nt > 1 && nblk >= p.nt;
  int failed = 0;
#pragma omp parallel for schedule(static) num_threads(p.nt) if (par)
  for (int64_t k = 0; k < nblk; k++) {
    lundi_conv_block b = block_at(g, &p, k / p.nband, k % p.nband);
    if (fwd_block(g, &p, &b, x, w, bias, y, !par)) {
#pragma omp atomic write
      failed = 1;
    }
  }
  return failed ? -1 : 0;
}

/* ---- backward data: gx = adjoint of the conv applied to gy, plus bias ---- */

static int bwd_data_chunk(const lundi_conv_geom *g, const plan *p, int64_t chunk, const float *gy, const float *w,
                          const float *bias, float *gx, int inner_par) {
  const int64_t hw = g->H * g->W, ohw = g->OH * g->OW;
  lundi_conv_block b0 = block_at(g, p, chunk, 0);
  /* 1x1 direct: the GEMM writes gx itself; otherwise col2im accumulates into it */
  if (!p->direct) {
#pragma omp parallel for schedule(static) if (inner_par && b0.nb * g->C * hw > 65536)
    for (int64_t r = 0; r < b0.nb * g->C; r++) {
      float *d = gx + (b0.n0 * g->C + r) * hw;
      const float v = bias ? bias[r % g->C] : 0.0f;
      for (int64_t k = 0; k < hw; k++) d[k] = v;
    }
  }
  for (int64_t band = 0; band < p->nband; band++) {
    lundi_conv_block b = block_at(g, p, chunk, band);
    const int64_t cols = lundi__conv_block_cols(g, &b);
    const float *A;
    int64_t lda;
    if (b.nb == 1) {
      A = gy + b.n0 * g->O * ohw + b.oh0 * g->OW;
      lda = ohw;
    } else {
      float *m = scratch(WS_MAT, (size_t)(g->O * cols));
      if (!m) return -1;
      gather_rows(g, &b, gy, g->O, ohw, m, NULL);
      A = m;
      lda = cols;
    }
    float *C;
    int64_t ldc;
    if (p->direct) {
      C = gx + b.n0 * g->C * hw + b.oh0 * g->W;
      ldc = hw;
    } else {
      C = scratch(WS_COL, (size_t)(g->C * g->kh * g->kw * cols));
      if (!C) return -1;
      ldc = cols;
    }
    for (int64_t k = 0; k < g->G; k++)
      cblas_sgemm(CblasRowMajor, CblasTrans, CblasNoTrans, (int)g->K, (int)cols, (int)g->Og, 1.0f,
                  w + k * g->Og * g->K, (int)g->K, A + k * g->Og * lda, (int)lda, 0.0f, C + k * g->K * ldc, (int)ldc);
    if (!p->direct) {
      lundi__col2im(g, &b, C, cols, gx, inner_par);
    } else if (bias) {
      for (int64_t ch = 0; ch < g->C; ch++)
        for (int64_t k = 0; k < cols; k++) C[ch * ldc + k] += bias[ch];
    }
  }
  return 0;
}

int lundi__conv_gemm_bwd_data(const lundi_conv_geom *g, const float *gy, const float *w, const float *bias,
                              float *gx) {
  plan p;
  make_plan(g, &p);
  /* bands of one image overlap in gx, so threads take whole chunks */
  const int par = p.nt > 1 && p.nchunk >= p.nt;
  int failed = 0;
#pragma omp parallel for schedule(static) num_threads(p.nt) if (par)
  for (int64_t k = 0; k < p.nchunk; k++)
    if (bwd_data_chunk(g, &p, k, gy, w, bias, gx, !par)) {
#pragma omp atomic write
      failed = 1;
    }
  return failed ? -1 : 0;
}

/* ---- backward weight: gw = sum of gy (x) im2col(x), gb = sum of gy ---- */

static int bwd_weight_block(const lundi_conv_geom *g, const plan *p, const lundi_conv_block *b, const float *x,
                            const float *gy, float *dw, double *db, int inner_par) {
  const int64_t cols = lundi__conv_block_cols(g, b), ohw = g->OH * g->OW;
  int64_t ldb;
  const float *B = block_source(g, p, b, x, cols, inner_par, &ldb);
  if (!B) return -1;
  const float *A;
  int64_t lda;
  if (b->nb == 1) {
    A = gy + b->n0 * g->O * ohw + b->oh0 * g->OW;
    lda = ohw;
    if (db)
      for (int64_t o = 0; o < g->O; o++) {
        float s = 0;
        for (int64_t k = 0; k < cols; k++) s += A[o * lda + k];
        db[o] += s;
      }
  } else {
    float *m = scratch(WS_MAT, (size_t)(g->O * cols));
    if (!m) return -1;
    gather_rows(g, b, gy, g->O, ohw, m, db);
    A = m;
    lda = cols;
  }
  for (int64_t k = 0; k < g->G; k++)
    cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasTrans, (int)g->Og, (int)g->K, (int)cols, 1.0f, A + k * g->Og * lda,
                (int)lda, B + k * g->K * ldb, (int)ldb, 1.0f, dw + k * g->Og * g->K, (int)g->K);
  return 0;
}

int lundi__conv_gemm_bwd_weight(const lundi_conv_geom *g, const float *x, const float *gy, float *gw, float *gb) {
  const int64_t wsz = g->O * g->K;
  memset(gw, 0, sizeof(float) * (size_t)wsz);
  if (gb) memset(gb, 0, sizeof(float) * (size_t)g->O);
  if (g->N * g->O * g->OH * g->OW == 0) return 0;
  plan p;
  make_plan(g, &p);
  const int64_t nblk = p.nchunk * p.nband;
  const int par = p.nt > 1 && nblk >= p.nt;
  double *dbs = calloc((size_t)(par ? p.nt : 1) * (size_t)g->O, sizeof(double));
  float **parts = calloc((size_t)p.nt, sizeof(float *));
  int failed = !dbs || !parts;
  if (!failed && !par) {
    for (int64_t k = 0; k < nblk && !failed; k++) {
      lundi_conv_block b = block_at(g, &p, k / p.nband, k % p.nband);
      failed = bwd_weight_block(g, &p, &b, x, gy, gw, gb ? dbs : NULL, 1);
    }
  } else if (!failed) {
    /* per-thread partial gw (thread-local scratch), summed at the end */
#pragma omp parallel num_threads(p.nt)
    {
      const int t = omp_get_thread_num(), nth = omp_get_num_threads();
      float *part = scratch(WS_DW, (size_t)wsz);
      parts[t] = part;
      if (part) memset(part, 0, sizeof(float) * (size_t)wsz);
      else {
#pragma omp atomic write
        failed = 1;
      }
#pragma omp for schedule(dynamic)
      for (int64_t k = 0; k < nblk; k++) {
        lundi_conv_block b = block_at(g, &p, k / p.nband, k % p.nband);
        if (part && bwd_weight_block(g, &p, &b, x, gy, part, gb ? dbs + t * g->O : NULL, 0)) {
#pragma omp atomic write
          failed = 1;
        }
      }
      if (!failed) {
#pragma omp for schedule(static)
        for (int64_t j = 0; j < wsz; j++) {
          float s = 0;
          for (int k = 0; k < nth; k++) s += parts[k][j];
          gw[j] = s;
        }
      }
      if (gb && t == 0)
        for (int64_t o = 0; o < g->O; o++) {
          double s = 0;
          for (int k = 0; k < nth; k++) s += dbs[k * g->O + o];
          gb[o] = (float)s;
        }
    }
  }
  if (gb && !par && dbs)
    for (int64_t o = 0; o < g->O; o++) gb[o] = (float)dbs[o];
  free(dbs);
  free(parts);
  return failed ? -1 : 0;
}
