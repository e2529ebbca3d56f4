/* sgemm throughput of the linked OpenBLAS: square sizes, then the GEMM shapes behind the
 * mnist-unet 3x3 convs at batch 64 (M = Cout, N = B*H*W, K = Cin*9).
 * Prints a table and the peak as "sgemm_peak_gflops=<x>" for other benchmarks to quote.
 * Then the same square sizes through lundi_matmul on each Vulkan device (operands resident,
 * the clock stopped with the device idle), or the device LUNDI_DEVICE names ("cpu": none).
 * Usage: bench_sgemm [runs]   (median of runs, default 7, after one warm-up) */
#include "lundi/device.h"
#include "lundi/lundi.h"

#include <cblas.h>
#include <stdio.h>
#include <stdlib.h>
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

/* Median GFLOP/s of C[M,N] = A[M,K] @ B[K,N], row-major. */
static double bench(int M, int N, int K, int runs) {
  float *A = malloc(sizeof(float) * (size_t)M * K), *B = malloc(sizeof(float) * (size_t)K * N),
        *C = malloc(sizeof(float) * (size_t)M * N);
  if (!A || !B || !C) {
    free(A), free(B), free(C);
    return 0;
  }
  for (size_t i = 0; i < (size_t)M * K; i++) A[i] = (float)(i % 17) * 0.01f;
  for (size_t i = 0; i < (size_t)K * N; i++) B[i] = (float)(i % 13) * 0.01f;
  double flops = 2.0 * M * N * K, t[64];
  if (runs > 64) runs = 64;
  /* Small problems: repeat inside one timing so the clock resolution does not matter. */
  int reps = (int)(2e9 / flops) + 1;
  cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasNoTrans, M, N, K, 1, A, K, B, N, 0, C, N);
  for (int r = 0; r < runs; r++) {
    double t0 = now();
    for (int k = 0; k < reps; k++)
      cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasNoTrans, M, N, K, 1, A, K, B, N, 0, C, N);
    t[r] = (now() - t0) / reps;
  }
  qsort(t, (size_t)runs, sizeof *t, cmp_double);
  free(A), free(B), free(C);
  return flops / t[runs / 2] * 1e-9;
}

/* Median GFLOP/s of an n x n matmul on dev; 0 with the error set on failure. */
static double bench_device(lundi_device *dev, int n, int runs) {
  int64_t sh[2] = {n, n};
  lundi_rng rng = lundi_rng_make(3);
  lundi_tensor *ah = lundi_randn(&rng, 2, sh), *a = ah ? lundi_to_device(ah, dev) : NULL;
  double flops = 2.0 * n * n * n, t[64], g = 0;
  if (runs > 64) runs = 64;
  int reps = (int)(1e9 / flops) + 1, ok = a != NULL;
  for (int r = -1; ok && r < runs; r++) {
    double t0 = now();
    for (int k = 0; ok && k < reps; k++) {
      lundi_tensor *c = lundi_matmul(a, a);
      ok = c != NULL;
      lundi_release(c);
    }
    ok = ok && !lundi_device_sync(dev);
    if (r >= 0) t[r] = (now() - t0) / reps;
  }
  if (ok) {
    qsort(t, (size_t)runs, sizeof *t, cmp_double);
    g = flops / t[runs / 2] * 1e-9;
  }
  lundi_release(a), lundi_release(ah);
  return g;
}

static void device_table(lundi_device *dev, int runs) {
  double peak = 0;
  for (int n = 256; n <= 2048; n *= 2) {
    double g = bench_device(dev, n, runs);
    if (g == 0) {
      printf("%s: matmul failed: %s\n", lundi_device_name(dev), lundi_last_error());
      return;
    }
    char name[64];
    snprintf(name, sizeof name, "%s square %d", lundi_device_name(dev), n);
    printf("%-28s %8d %8d %8d %10.1f\n", name, n, n, n, g);
    if (g > peak) peak = g;
  }
  printf("%s_matmul_peak_gflops=%.1f\n", lundi_device_name(dev), peak);
}

int main(int argc, char **argv) {
  int runs = argc > 1 ? atoi(argv[1]) : 7;
  if (runs < 1) runs = 1;
  lundi_set_threads(0);
  printf("threads=%d\n", lundi_get_threads());
  printf("%-28s %8s %8s %8s %10s\n", "shape", "M", "N", "K", "GFLOP/s");
  double peak = 0;
  static const int sq[] = {256, 512, 1024, 2048};
  for (size_t i = 0; i < sizeof sq / sizeof *sq; i++) {
    double g = bench(sq[i], sq[i], sq[i], runs);
    char name[64];
    snprintf(name, sizeof name, "square %d", sq[i]);
    printf("%-28s %8d %8d %8d %10.1f\n", name, sq[i], sq[i], sq[i], g);
    if (g > peak) peak = g;
  }
  /* Conv-like: (Cout, Cin, H) of the mnist-unet 3x3 convs at batch 64. */
  static const int conv[][3] = {{32, 1, 28},   {32, 32, 28},  {64, 32, 14},  {64, 64, 14},
                                {128, 64, 7},  {128, 128, 7}, {128, 256, 7}, {64, 192, 14},
                                {32, 96, 28}};
  for (size_t i = 0; i < sizeof conv / sizeof *conv; i++) {
    int M = conv[i][0], K = conv[i][1] * 9, N = 64 * conv[i][2] * conv[i][2];
    double g = bench(M, N, K, runs);
    char name[64];
    snprintf(name, sizeof name, "conv %d->%d @%d", conv[i][1], conv[i][0], conv[i][2]);
    printf("%-28s %8d %8d %8d %10.1f\n", name, M, N, K, g);
  }
  printf("sgemm_peak_gflops=%.1f\n", peak);
  const char *only = lundi_device_env();
  if (only && *only) {
    lundi_device *dev = lundi_device_from_name(only);
    if (!dev) printf("%s: %s\n", only, lundi_last_error());
    else if (dev != lundi_cpu()) device_table(dev, runs);
    return 0;
  }
  int n_vk = lundi_device_count();
  if (n_vk == 0) printf("vulkan: none (%s)\n", lundi_vulkan_unavailable_reason());
  for (int i = 0; i < n_vk; i++) {
    lundi_device *dev = lundi_vulkan_device(i);
    if (dev) device_table(dev, runs);
    else printf("vulkan:%d: %s\n", i, lundi_last_error());
  }
  return 0;
}
