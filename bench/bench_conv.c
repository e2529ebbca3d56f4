/* Convolution throughput on the mnist-unet shapes at batch 64: forward, backward-data and
 * backward-weight kernels separately (median of runs after a warm-up), plus a full
 * autograd step (forward + all gradients) through the public API, next to the sgemm rate
 * measured in the same run. FLOPs = 2 * N * Cout * Hout * Wout * Cin/groups * kh * kw.
 * Usage: bench_conv [--runs=N] [--threads=N] [--batch=N] [--filter=substring] [--pass=K]
 * (--pass=0..3 times only fwd, bwd_data, bwd_w or train; the others print 0) */
#include "core/internal.h"

#include <cblas.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

static double now(void) {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return (double)ts.tv_sec + 1e-9 * (double)ts.tv_nsec;
}

static int cmp_double(const void *a, const void *b) {
  double x = *(const double *)a, y = *(const double *)b;
  return (x > y) - (x < y);
}

typedef struct shape {
  const char *name;
  int cin, cout, h, k, stride;
} shape;

static const shape shapes[] = {
    {"in 1->32 @28", 1, 32, 28, 3, 1},
    {"32->32 @28", 32, 32, 28, 3, 1},
    {"32->64 @14", 32, 64, 14, 3, 1},
    {"64->64 @14", 64, 64, 14, 3, 1},
    {"64->128 @7", 64, 128, 7, 3, 1},
    {"128->128 @7", 128, 128, 7, 3, 1},
    {"down 32->32 28->14", 32, 32, 28, 3, 2},
    {"down 64->64 14->7", 64, 64, 14, 3, 2},
    {"up 256->128 @7", 256, 128, 7, 3, 1},
    {"up 192->128 @7", 192, 128, 7, 3, 1},
    {"up 192->64 @14", 192, 64, 14, 3, 1},
    {"up 128->64 @14", 128, 64, 14, 3, 1},
    {"up 96->64 @14", 96, 64, 14, 3, 1},
    {"up 96->32 @28", 96, 32, 28, 3, 1},
    {"up 64->32 @28", 64, 32, 28, 3, 1},
    {"out 32->1 @28", 32, 1, 28, 3, 1},
    {"1x1 96->32 @28", 96, 32, 28, 1, 1},
    {"1x1 64->32 @28", 64, 32, 28, 1, 1},
    {"1x1 192->64 @14", 192, 64, 14, 1, 1},
    {"1x1 256->128 @7", 256, 128, 7, 1, 1},
};

/* Median seconds of fn over runs, after one warm-up call. */
typedef int (*bench_fn)(void *ctx);
static double median_time(bench_fn fn, void *ctx, int runs) {
  double t[64];
  if (runs > 64) runs = 64;
  if (fn(ctx)) return -1;
  for (int r = 0; r < runs; r++) {
    double t0 = now();
    if (fn(ctx)) return -1;
    t[r] = now() - t0;
  }
  qsort(t, (size_t)runs, sizeof *t, cmp_double);
  return t[runs / 2];
}

typedef struct ctx {
  lundi_kcall call;
  lundi_tensor *x, *w, *b;
} ctx;

static int run_kernel(void *p) { return lundi__dispatch(&((ctx *)p)->call); }

static int run_train(void *p) {
  ctx *c = p;
  lundi_conv_params prm = {.stride = {(int)c->call.i[0], (int)c->call.i[1]},
                           .padding = {(int)c->call.i[2], (int)c->call.i[3]}};
  lundi_tensor *y = lundi_conv2d(c->x, c->w, c->b, &prm);
  if (!y) return -1;
  lundi_tensor *g = lundi_full(y->ndim, y->shape, 1.0f);
  int rc = g ? lundi_backward(y, g) : -1;
  lundi_release(g);
  lundi_release(y);
  lundi_zero_grad(c->x), lundi_zero_grad(c->w), lundi_zero_grad(c->b);
  return rc;
}

static double sgemm_rate(int n, int runs) {
  float *A = calloc((size_t)n * n, 4), *B = calloc((size_t)n * n, 4), *C = calloc((size_t)n * n, 4);
  double t[64];
  cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasNoTrans, n, n, n, 1, A, n, B, n, 0, C, n);
  for (int r = 0; r < runs; r++) {
    double t0 = now();
    cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasNoTrans, n, n, n, 1, A, n, B, n, 0, C, n);
    t[r] = now() - t0;
  }
  qsort(t, (size_t)runs, sizeof *t, cmp_double);
  free(A), free(B), free(C);
  return 2.0 * n * n * n / t[runs / 2] * 1e-9;
}

int main(int argc, char **argv) {
  int runs = 7, threads = 0, batch = 64, only = -1;
  const char *filter = NULL;
  for (int k = 1; k < argc; k++) {
    if (!strncmp(argv[k], "--runs=", 7)) runs = atoi(argv[k] + 7);
    else if (!strncmp(argv[k], "--threads=", 10)) threads = atoi(argv[k] + 10);
    else if (!strncmp(argv[k], "--batch=", 8)) batch = atoi(argv[k] + 8);
    else if (!strncmp(argv[k], "--filter=", 9)) filter = argv[k] + 9;
    else if (!strncmp(argv[k], "--pass=", 7)) only = atoi(argv[k] + 7);
    else {
      fprintf(stderr, "usage: bench_conv [--runs=N] [--threads=N] [--batch=N] [--filter=substring] [--pass=0..3]\n");
      return 2;
    }
  }
  if (runs < 5) runs = 5;
  if (runs > 64) runs = 64;
  lundi_set_threads(threads);
  double peak = sgemm_rate(2048, 5);
  printf("threads=%d batch=%d runs=%d sgemm_2048_gflops=%.1f\n", lundi_get_threads(), batch, runs, peak);
  printf("%-20s %8s | %8s %5s | %8s %5s | %8s %5s | %8s %5s\n", "shape", "GFLOP", "fwd", "%", "bwd_data", "%",
         "bwd_w", "%", "train", "%");
  lundi_rng rng = lundi_rng_make(1);
  double sum_flop[4] = {0}, sum_t[4] = {0};
  for (size_t s = 0; s < sizeof shapes / sizeof *shapes; s++) {
    const shape *sh = &shapes[s];
    if (filter && !strstr(sh->name, filter)) continue;
    int pad = sh->k / 2, oh = (sh->h + 2 * pad - sh->k) / sh->stride + 1;
    int64_t xs[4] = {batch, sh->cin, sh->h, sh->h}, wsz[4] = {sh->cout, sh->cin, sh->k, sh->k}, bs[1] = {sh->cout};
    int64_t ys[4] = {batch, sh->cout, oh, oh};
    ctx c = {0};
    c.x = lundi_randn(&rng, 4, xs);
    c.w = lundi_randn(&rng, 4, wsz);
    c.b = lundi_randn(&rng, 1, bs);
    lundi_tensor *y = lundi_empty(4, ys, LUNDI_F32, NULL), *gy = lundi_randn(&rng, 4, ys);
    lundi_tensor *gx = lundi_empty(4, xs, LUNDI_F32, NULL), *gw = lundi_empty(4, wsz, LUNDI_F32, NULL);
    lundi_tensor *gb = lundi_empty(1, bs, LUNDI_F32, NULL);
    double flop = 2.0 * batch * sh->cout * oh * oh * sh->cin * sh->k * sh->k, rate[4];
    lundi_kcall base = {.n_in = 3, .n_out = 1, .i = {sh->stride, sh->stride, pad, pad, 1, 1, 1}};
    lundi_kcall calls[3];
    calls[0] = base, calls[0].id = LUNDI_K_CONV2D_FWD, calls[0].in[0] = c.x, calls[0].in[1] = c.w;
    calls[0].in[2] = c.b, calls[0].out[0] = y;
    calls[1] = base, calls[1].id = LUNDI_K_CONV2D_BWD_DATA, calls[1].in[0] = gy, calls[1].in[1] = c.w;
    calls[1].out[0] = gx;
    calls[2] = base, calls[2].id = LUNDI_K_CONV2D_BWD_WEIGHT, calls[2].in[0] = c.x, calls[2].in[1] = gy;
    calls[2].out[0] = gw, calls[2].out[1] = gb, calls[2].n_out = 2;
    for (int k = 0; k < 3; k++) {
      c.call = calls[k];
      double t = only < 0 || only == k ? median_time(run_kernel, &c, runs) : 0;
      rate[k] = t > 0 ? flop / t * 1e-9 : 0;
      sum_flop[k] += flop, sum_t[k] += t;
    }
    lundi_set_requires_grad(c.x, 1), lundi_set_requires_grad(c.w, 1), lundi_set_requires_grad(c.b, 1);
    c.call = calls[0];
    double t = only < 0 || only == 3 ? median_time(run_train, &c, runs) : 0;
    rate[3] = t > 0 ? 3 * flop / t * 1e-9 : 0;
    sum_flop[3] += 3 * flop, sum_t[3] += t;
    printf("%-20s %8.2f |", sh->name, flop * 1e-9);
    for (int k = 0; k < 4; k++) printf(" %8.1f %5.0f |", rate[k], 100 * rate[k] / peak);
    printf("\n");
    if (lundi_last_error()[0]) fprintf(stderr, "  error: %s\n", lundi_last_error());
    lundi_release(c.x), lundi_release(c.w), lundi_release(c.b), lundi_release(y), lundi_release(gy);
    lundi_release(gx), lundi_release(gw), lundi_release(gb);
  }
  printf("%-20s %8s |", "all (time-weighted)", "");
  for (int k = 0; k < 4; k++) {
    double r = sum_t[k] > 0 ? sum_flop[k] / sum_t[k] * 1e-9 : 0;
    printf(" %8.1f %5.0f |", r, 100 * r / peak);
  }
  printf("\n");
  return 0;
}
