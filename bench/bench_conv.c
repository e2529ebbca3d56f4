/* Convolution throughput on the mnist-unet shapes at batch 64: forward, backward-data and
 * backward-weight kernels separately (median of runs after a warm-up), plus a full
 * autograd step (forward + all gradients) through the public API, next to the sgemm rate
 * measured in the same run. FLOPs = 2 * N * Cout * Hout * Wout * Cin/groups * kh * kw.
 * Then the same table on the Vulkan device (the default one) when there is one: operands
 * resident there, every timed call ended by lundi_device_sync, and % against that device's
 * own matmul rate (square 1024, measured in the same run).
 * Usage: bench_conv [--runs=N] [--threads=N] [--batch=N] [--filter=substring] [--pass=K]
 *                   [--device=cpu|vulkan|all]
 * (--pass=0..3 times only fwd, bwd_data, bwd_w or train; the others print 0; --device picks
 * the tables, all by default: the CPU's, then Vulkan's where a device exists) */
#include "lundi/lundi.h"
#include "tensor/tensor_internal.h"
#include "lundi/device.h"

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
  lundi_tensor *x, *w, *b, *ones; /* ones: the output gradient of the train step */
  lundi_device *dev;
} ctx;

/* A device's work is recorded, not done, until a sync: the clock stops after one. */
static int settle(ctx *c, int rc) { return rc || c->dev->is_host ? rc : lundi_device_sync(c->dev); }

static int run_kernel(void *p) { return settle(p, lundi__dispatch(&((ctx *)p)->call)); }

static int run_train(void *p) {
  ctx *c = p;
  lundi_conv_params prm = {.stride = {(int)c->call.i[0], (int)c->call.i[1]},
                           .padding = {(int)c->call.i[2], (int)c->call.i[3]}};
  lundi_tensor *y = lundi_conv2d(c->x, c->w, c->b, &prm);
  if (!y) return -1;
  int rc = lundi_backward(y, c->ones);
  lundi_release(y);
  lundi_zero_grad(c->x), lundi_zero_grad(c->w), lundi_zero_grad(c->b);
  return settle(c, rc);
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

/* Median GFLOP/s of an n x n matmul on a device, operands resident there. */
static double device_matmul_rate(lundi_device *dev, int n, int runs) {
  int64_t sh[2] = {n, n};
  lundi_rng rng = lundi_rng_make(2);
  lundi_tensor *h = lundi_randn(&rng, 2, sh), *a = h ? lundi_to_device(h, dev) : NULL;
  double t[64];
  int ok = a != NULL;
  for (int r = -1; ok && r < runs; r++) { /* r = -1: warm-up (pipeline creation) */
    double t0 = now();
    lundi_tensor *c = lundi_matmul(a, a);
    ok = c && !lundi_device_sync(dev);
    lundi_release(c);
    if (r >= 0) t[r] = now() - t0;
  }
  lundi_release(a), lundi_release(h);
  if (!ok) return 0;
  qsort(t, (size_t)runs, sizeof *t, cmp_double);
  return 2.0 * n * n * n / t[runs / 2] * 1e-9;
}

/* t on dev (t released), or NULL. */
static lundi_tensor *onto(lundi_tensor *t, lundi_device *dev) {
  if (!t || dev->is_host) return t;
  lundi_tensor *m = lundi_to_device(t, dev);
  lundi_release(t);
  return m;
}

static void table(lundi_device *dev, double peak, const char *peak_name, int batch, int runs, const char *filter,
                  int only);

int main(int argc, char **argv) {
  int runs = 7, threads = 0, batch = 64, only = -1;
  const char *filter = NULL, *device = "all";
  for (int k = 1; k < argc; k++) {
    if (!strncmp(argv[k], "--runs=", 7)) runs = atoi(argv[k] + 7);
    else if (!strncmp(argv[k], "--threads=", 10)) threads = atoi(argv[k] + 10);
    else if (!strncmp(argv[k], "--batch=", 8)) batch = atoi(argv[k] + 8);
    else if (!strncmp(argv[k], "--filter=", 9)) filter = argv[k] + 9;
    else if (!strncmp(argv[k], "--pass=", 7)) only = atoi(argv[k] + 7);
    else if (!strncmp(argv[k], "--device=", 9)) device = argv[k] + 9;
    else {
      fprintf(stderr, "usage: bench_conv [--runs=N] [--threads=N] [--batch=N] [--filter=substring] [--pass=0..3] "
                      "[--device=cpu|vulkan|all]\n");
      return 2;
    }
  }
  int want_cpu = strcmp(device, "vulkan") != 0, want_vk = strcmp(device, "cpu") != 0;
  if (!want_cpu && !want_vk) want_cpu = want_vk = 1;
  if (runs < 5) runs = 5;
  if (runs > 64) runs = 64;
  lundi_set_threads(threads);
  if (want_cpu) {
    double peak = sgemm_rate(2048, 5);
    printf("cpu: threads=%d batch=%d runs=%d sgemm_2048_gflops=%.1f\n", lundi_get_threads(), batch, runs, peak);
    table(lundi_cpu(), peak, "sgemm", batch, runs, filter, only);
  }
  if (want_vk) {
    lundi_device *dev = lundi_device_count() > 0 ? lundi_vulkan_device(-1) : NULL;
    if (!dev) {
      printf("vulkan: none (%s)\n", lundi_device_count() > 0 ? lundi_last_error() : lundi_vulkan_unavailable_reason());
      return strcmp(device, "vulkan") ? 0 : 1;
    }
    lundi_device_info info;
    int idx = atoi(lundi_device_name(dev) + 7);
    double peak = device_matmul_rate(dev, 1024, 5);
    printf("%s (%s): batch=%d runs=%d matmul_1024_gflops=%.1f\n", lundi_device_name(dev),
           lundi_device_get_info(idx, &info) ? "?" : info.name, batch, runs, peak);
    table(dev, peak, "matmul", batch, runs, filter, only);
  }
  return 0;
}

static void table(lundi_device *dev, double peak, const char *peak_name, int batch, int runs, const char *filter,
                  int only) {
  printf("%-20s %8s | %8s %5s | %8s %5s | %8s %5s | %8s %5s   (GFLOP/s, %% of %s)\n", "shape", "GFLOP", "fwd", "%",
         "bwd_data", "%", "bwd_w", "%", "train", "%", peak_name);
  lundi_rng rng = lundi_rng_make(1);
  double sum_flop[4] = {0}, sum_t[4] = {0};
  for (size_t s = 0; s < sizeof shapes / sizeof *shapes; s++) {
    const shape *sh = &shapes[s];
    if (filter && !strstr(sh->name, filter)) continue;
    int pad = sh->k / 2, oh = (sh->h + 2 * pad - sh->k) / sh->stride + 1;
    int64_t xs[4] = {batch, sh->cin, sh->h, sh->h}, wsz[4] = {sh->cout, sh->cin, sh->k, sh->k}, bs[1] = {sh->cout};
    int64_t ys[4] = {batch, sh->cout, oh, oh};
    ctx c = {.dev = dev};
    c.x = onto(lundi_randn(&rng, 4, xs), dev);
    c.w = onto(lundi_randn(&rng, 4, wsz), dev);
    c.b = onto(lundi_randn(&rng, 1, bs), dev);
    c.ones = onto(lundi_full(4, ys, 1.0f), dev);
    lundi_tensor *y = lundi_empty(4, ys, LUNDI_F32, dev), *gy = onto(lundi_randn(&rng, 4, ys), dev);
    lundi_tensor *gx = lundi_empty(4, xs, LUNDI_F32, dev), *gw = lundi_empty(4, wsz, LUNDI_F32, dev);
    lundi_tensor *gb = lundi_empty(1, bs, LUNDI_F32, dev);
    double flop = 2.0 * batch * sh->cout * oh * oh * sh->cin * sh->k * sh->k, rate[4];
    if (!c.x || !c.w || !c.b || !c.ones || !y || !gy || !gx || !gw || !gb) {
      fprintf(stderr, "%s: %s\n", sh->name, lundi_last_error());
      exit(1);
    }
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
    lundi_release(gx), lundi_release(gw), lundi_release(gb), lundi_release(c.ones);
  }
  printf("%-20s %8s |", "all (time-weighted)", "");
  for (int k = 0; k < 4; k++) {
    double r = sum_t[k] > 0 ? sum_flop[k] / sum_t[k] * 1e-9 : 0;
    printf(" %8.1f %5.0f |", r, 100 * r / peak);
  }
  printf("\n");
}
