/* A vectorisable exp for softmax-style uses, where arguments are x - max <= 0.
 * libm's expf is a scalar call that costs more than the GEMMs around it in attention;
 * this inlines into omp simd loops. Cephes polynomial, about 1 ulp on [-87.3, 0]. */
#ifndef LUNDI_CPU_VEXP_H
#define LUNDI_CPU_VEXP_H

/* lundi never enables FP exceptions; with trapping math GCC will not if-convert the
 * selects below and the exp loops stay scalar (4x slower). This applies to every function
 * defined after the include, so include this header after the others. */
#if defined(__GNUC__) && !defined(__clang__)
#pragma GCC optimize("no-trapping-math", "fp-contract=fast")
#endif

#include <math.h>
#include <stdint.h>
#include <string.h>

/* The exp/sigmoid loops are compute-bound: an AVX-512 clone of a kernel runs them twice as
 * wide where the CPU has it (the build's baseline is x86-64-v3). Helpers below are
 * always_inline so that each clone gets its own copy. */
#if defined(__x86_64__) && defined(__GNUC__) && !defined(__clang__)
#define LUNDI_WIDE_CLONES __attribute__((target_clones("arch=x86-64-v4", "default")))
#else
#define LUNDI_WIDE_CLONES
#endif

/* exp(x) for x <= 0 (positive x is treated as 0); x < -87.33 (and -inf) gives 0, NaN gives NaN. */
static inline __attribute__((always_inline)) float lundi__exp_nonpos(float x) {
  float xc = x > -88.0f ? x : -88.0f; /* also maps NaN to a safe value for the int conversion */
  xc = xc < 0.0f ? xc : 0.0f;
  float n = (xc * 1.44269504088896341f + 12582912.0f) - 12582912.0f; /* round to nearest */
  float r = xc - n * 0.693359375f;
  r = r - n * -2.12194440e-4f;
  float p = 1.9875691500e-4f;
  p = p * r + 1.3981999507e-3f;
  p = p * r + 8.3334519073e-3f;
  p = p * r + 4.1665795894e-2f;
  p = p * r + 1.6666665459e-1f;
  p = p * r + 5.0000001201e-1f;
  float y = p * r * r + r + 1.0f;
  int32_t bits = ((int32_t)n + 127) << 23; /* 2^n, n in [-127, 0] */
  float scale;
  memcpy(&scale, &bits, sizeof scale);
  y *= scale;
  return x >= -87.33654f ? y : (x == x ? 0.0f : x);
}

/* 1 / (1 + exp(-x)) for any x, without overflow; vectorises in omp simd loops. */
static inline __attribute__((always_inline)) float lundi__sigmoid(float x) {
  float e = lundi__exp_nonpos(-fabsf(x)), r = 1.0f / (1.0f + e);
  return x >= 0 ? r : e * r;
}

/* y[i] = exp(x[i] - mx) for n contiguous floats (y may alias x); returns their sum. */
static inline __attribute__((always_inline)) double lundi__exp_shift_sum(const float *x, float *y, int64_t n, float mx) {
  double sum = 0;
  for (int64_t i0 = 0; i0 < n; i0 += 1024) {
    int64_t m = n - i0 < 1024 ? n - i0 : 1024;
    float s = 0;
#pragma omp simd reduction(+ : s)
    for (int64_t i = 0; i < m; i++) {
      float e = lundi__exp_nonpos(x[i0 + i] - mx);
      y[i0 + i] = e;
      s += e;
    }
    sum += s;
  }
  return sum;
}

/* max of n contiguous floats (-inf when n == 0 or all are -inf). */
static inline __attribute__((always_inline)) float lundi__max_row(const float *x, int64_t n) {
  float mx = -INFINITY;
#pragma omp simd reduction(max : mx)
  for (int64_t i = 0; i < n; i++) mx = x[i] > mx ? x[i] : mx;
  return mx;
}

#endif
