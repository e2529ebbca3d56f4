/* CPU softmax and log-softmax over the middle dim of a contiguous [O, D, I] layout, so any
 * dim is reduced without a transpose: rows of D elements with stride I. Work is split into
 * tasks of (o, a tile of up to TILE inner columns) that run in parallel; within a tile the
 * loops over columns are unit-stride.
 * A row whose entries are all -inf gives softmax 0 and log_softmax -inf (not NaN), and
 * its backward gives a finite gradient (0 for softmax, gout for log_softmax). */
#include "cpu/kernels.h"

#include "cpu/vexp.h"

#include <math.h>

#define TILE 64

typedef struct geom {
  int64_t O, D, I, ntile;
} geom;

static geom geom_of(const lundi_kcall *c) {
  geom g = {c->i[0], c->i[1], c->i[2], 0};
  g.ntile = (g.I + TILE - 1) / TILE;
  return g;
}

/* Offset of task t's first element and its tile width. */
static int64_t task(const geom *g, int64_t t, int64_t *w) {
  int64_t o = t / g->ntile, j0 = (t % g->ntile) * TILE;
  *w = g->I - j0 < TILE ? g->I - j0 : TILE;
  return o * g->D * g->I + j0;
}

/* One contiguous row (I == 1). */
static void fwd_row(const float *x, float *y, int64_t D, int log_out) {
  float mx = lundi__max_row(x, D);
  if (mx == -INFINITY) mx = 0; /* all -inf: exp gives 0 everywhere, not NaN */
  if (log_out) {
    double sum = 0;
    for (int64_t i0 = 0; i0 < D; i0 += 1024) { /* sum without storing the exps */
      int64_t m = D - i0 < 1024 ? D - i0 : 1024;
      float s = 0;
#pragma omp simd reduction(+ : s)
      for (int64_t i = 0; i < m; i++) s += lundi__exp_nonpos(x[i0 + i] - mx);
      sum += s;
    }
    /* (x - max) - log(sum): forming max + log(sum) first would round */
    float ls = sum > 0 ? (float)log(sum) : INFINITY;
#pragma omp simd
    for (int64_t i = 0; i < D; i++) y[i] = (x[i] - mx) - ls;
  } else {
    double sum = lundi__exp_shift_sum(x, y, D, mx);
    float inv = sum > 0 ? (float)(1.0 / sum) : 0.0f;
#pragma omp simd
    for (int64_t i = 0; i < D; i++) y[i] *= inv;
  }
}

/* A tile of w <= TILE columns with stride I between the D entries of a column. */
static void fwd_tile(const float *xs, float *ys, int64_t D, int64_t I, int64_t w, int log_out) {
  float mx[TILE];
  double sum[TILE];
  for (int64_t j = 0; j < w; j++) mx[j] = -INFINITY, sum[j] = 0;
  for (int64_t d = 0; d < D; d++) {
    const float *xr = xs + d * I;
#pragma omp simd
    for (int64_t j = 0; j < w; j++) mx[j] = xr[j] > mx[j] ? xr[j] : mx[j];
  }
  for (int64_t j = 0; j < w; j++)
    if (mx[j] == -INFINITY) mx[j] = 0;
  for (int64_t d = 0; d < D; d++) {
    const float *xr = xs + d * I;
    float *yr = ys + d * I;
#pragma omp simd
    for (int64_t j = 0; j < w; j++) {
      float e = lundi__exp_nonpos(xr[j] - mx[j]);
      sum[j] += e;
      yr[j] = e; /* log_softmax overwrites it below */
    }
  }
  float f[TILE]; /* log(sum) or 1 / sum */
  for (int64_t j = 0; j < w; j++)
    f[j] = log_out ? (sum[j] > 0 ? (float)log(sum[j]) : INFINITY) : (sum[j] > 0 ? (float)(1.0 / sum[j]) : 0.0f);
  for (int64_t d = 0; d < D; d++) {
    const float *xr = xs + d * I;
    float *yr = ys + d * I;
    if (log_out) {
#pragma omp simd
      for (int64_t j = 0; j < w; j++) yr[j] = (xr[j] - mx[j]) - f[j];
    } else {
#pragma omp simd
      for (int64_t j = 0; j < w; j++) yr[j] *= f[j];
    }
  }
}

static void fwd(const lundi_kcall *c, int log_out) {
  geom g = geom_of(c);
  const float *x = lundi__f32(c->in[0]);
  float *y = lundi__f32(c->out[0]);
  int64_t ntask = g.O * g.ntile, D = g.D, I = g.I;
#pragma omp parallel for schedule(static) if (g.O * D * I > 16384 && ntask > 1)
  for (int64_t t = 0; t < ntask; t++) {
    int64_t w, base = task(&g, t, &w);
    if (I == 1) fwd_row(x + base, y + base, D, log_out);
    else fwd_tile(x + base, y + base, D, I, w, log_out);
  }
}

/* Backward of one contiguous row (I == 1); sums in float blocks folded into double. */
static void bwd_row(const float *y, const float *g, float *dx, int64_t D, int log_out) {
  double acc = 0;
  for (int64_t i0 = 0; i0 < D; i0 += 1024) {
    int64_t m = D - i0 < 1024 ? D - i0 : 1024;
    float s = 0;
#pragma omp simd reduction(+ : s)
    for (int64_t i = i0; i < i0 + m; i++) s += log_out ? g[i] : g[i] * y[i];
    acc += s;
  }
  float a = (float)acc;
  if (log_out) {
#pragma omp simd
    for (int64_t i = 0; i < D; i++) dx[i] = g[i] - lundi__exp_nonpos(y[i]) * a;
  } else {
#pragma omp simd
    for (int64_t i = 0; i < D; i++) dx[i] = y[i] * (g[i] - a);
  }
}

/* Backward of a tile of w columns with stride I. acc = sum_d g y (softmax) or sum_d g
 * (log_softmax), in double. */
static void bwd_tile(const float *ys, const float *gs, float *ds, int64_t D, int64_t I, int64_t w, int log_out) {
  double acc[TILE];
  for (int64_t j = 0; j < w; j++) acc[j] = 0;
  for (int64_t d = 0; d < D; d++) {
    const float *yr = ys + d * I, *gr = gs + d * I;
#pragma omp simd
    for (int64_t j = 0; j < w; j++) acc[j] += log_out ? gr[j] : gr[j] * yr[j];
  }
  float a[TILE];
  for (int64_t j = 0; j < w; j++) a[j] = (float)acc[j];
  for (int64_t d = 0; d < D; d++) {
    const float *yr = ys + d * I, *gr = gs + d * I;
    float *dr = ds + d * I;
    if (log_out) {
#pragma omp simd
      for (int64_t j = 0; j < w; j++) dr[j] = gr[j] - lundi__exp_nonpos(yr[j]) * a[j];
    } else {
#pragma omp simd
      for (int64_t j = 0; j < w; j++) dr[j] = yr[j] * (gr[j] - a[j]);
    }
  }
}

static void bwd(const lundi_kcall *c, int log_out) {
  geom g = geom_of(c);
  const float *y = lundi__f32(c->in[0]), *go = lundi__f32(c->in[1]);
  float *dx = lundi__f32(c->out[0]);
  int64_t ntask = g.O * g.ntile, D = g.D, I = g.I;
#pragma omp parallel for schedule(static) if (g.O * D * I > 16384 && ntask > 1)
  for (int64_t t = 0; t < ntask; t++) {
    int64_t w, base = task(&g, t, &w);
    if (I == 1) bwd_row(y + base, go + base, dx + base, D, log_out);
    else bwd_tile(y + base, go + base, dx + base, D, I, w, log_out);
  }
}

/* LUNDI_K_SOFTMAX_FWD, LUNDI_K_LOG_SOFTMAX_FWD
 * in[0] x, out[0] y, both contiguous with O*D*I elements; i[0] O, i[1] D, i[2] I.
 * Reduces over D: y[o, d, j] = exp(x - max) / sum exp(x - max) (log: x - max - log sum). */
int lundi_cpu_softmax_fwd(const lundi_kcall *c) {
  fwd(c, 0);
  return 0;
}

int lundi_cpu_log_softmax_fwd(const lundi_kcall *c) {
  fwd(c, 1);
  return 0;
}

/* LUNDI_K_SOFTMAX_BWD, LUNDI_K_LOG_SOFTMAX_BWD
 * in[0] y (the forward's output), in[1] gout; out[0] dx; all contiguous [O, D, I];
 * i[] as the forward. softmax: dx = y (g - sum_d g y); log_softmax: dx = g - exp(y) sum_d g. */
int lundi_cpu_softmax_bwd(const lundi_kcall *c) {
  bwd(c, 0);
  return 0;
}

int lundi_cpu_log_softmax_bwd(const lundi_kcall *c) {
  bwd(c, 1);
  return 0;
}
