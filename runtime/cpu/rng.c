/* Philox-based uniform and normal fills; counters as documented in tensor.h. */
#include "cpu/kernels.h"
#include "tensor/normal_math.h"

static inline float u24(uint32_t x) { return (float)(x >> 8) * (1.0f / 16777216.0f); }

int lundi_cpu_rng_uniform(const lundi_kcall *c) {
  lundi_tensor *o = c->out[0];
  float *p = lundi__f32(o);
  uint64_t seed = (uint64_t)c->i[0], off = (uint64_t)c->i[1];
  float lo = (float)c->f[0], span = (float)(c->f[1] - c->f[0]);
  int64_t n = lundi_numel(o), blocks = (n + 3) / 4;
#pragma omp parallel for schedule(static) if (n > 65536)
  for (int64_t b = 0; b < blocks; b++) {
    uint32_t r[4];
    lundi_philox4x32_10(off + (uint64_t)b, 0, seed, r);
    for (int k = 0; k < 4 && b * 4 + k < n; k++) p[b * 4 + k] = lo + span * u24(r[k]);
  }
  return 0;
}

int lundi_cpu_rng_normal(const lundi_kcall *c) {
  lundi_tensor *o = c->out[0];
  float *p = lundi__f32(o);
  uint64_t seed = (uint64_t)c->i[0], off = (uint64_t)c->i[1];
  float mean = (float)c->f[0], std = (float)c->f[1];
  int64_t n = lundi_numel(o), blocks = (n + 3) / 4;
#pragma omp parallel for schedule(static) if (n > 65536)
  for (int64_t b = 0; b < blocks; b++) {
    uint32_t r[4];
    float z[4];
    lundi_philox4x32_10(off + (uint64_t)b, 0, seed, r);
    /* bit-identical to the Vulkan shader: see tensor/normal_math.h */
    lundi_nm_box_muller(r[0], r[1], &z[0], &z[1]);
    lundi_nm_box_muller(r[2], r[3], &z[2], &z[3]);
    for (int k = 0; k < 4 && b * 4 + k < n; k++) p[b * 4 + k] = mean + std * z[k];
  }
  return 0;
}
