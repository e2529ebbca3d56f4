/* Philox4x32-10 (Salmon et al., SC'11) and the tensor-level random fills. */
#include "tensor/tensor_internal.h"

#include <stdlib.h>

#define PHILOX_M0 0xD2511F53u
#define PHILOX_M1 0xCD9E8D57u
#define PHILOX_W0 0x9E3779B9u
#define PHILOX_W1 0xBB67AE85u

void lundi_philox4x32_10(uint64_t counter_lo, uint64_t counter_hi, uint64_t key, uint32_t out[4]) {
  uint32_t c0 = (uint32_t)counter_lo, c1 = (uint32_t)(counter_lo >> 32);
  uint32_t c2 = (uint32_t)counter_hi, c3 = (uint32_t)(counter_hi >> 32);
  uint32_t k0 = (uint32_t)key, k1 = (uint32_t)(key >> 32);
  for (int r = 0; r < 10; r++) {
    uint64_t p0 = (uint64_t)PHILOX_M0 * c0, p1 = (uint64_t)PHILOX_M1 * c2;
    uint32_t n0 = (uint32_t)(p1 >> 32) ^ c1 ^ k0;
    uint32_t n2 = (uint32_t)(p0 >> 32) ^ c3 ^ k1;
    c1 = (uint32_t)p1;
    c3 = (uint32_t)p0;
    c0 = n0;
    c2 = n2;
    k0 += PHILOX_W0;
    k1 += PHILOX_W1;
  }
  out[0] = c0;
  out[1] = c1;
  out[2] = c2;
  out[3] = c3;
}

lundi_rng lundi_rng_make(uint64_t seed) {
  lundi_rng r = {seed, 0};
  return r;
}

static int rng_fill(lundi_tensor *t, lundi_rng *rng, int id, float a, float b) {
  if (lundi__check_f32("random fill", "tensor", t)) return lundi_last_error_code();
  lundi_tensor *dst = lundi_is_contiguous(t) ? lundi_retain(t)
                                             : lundi_empty(t->ndim, t->shape, LUNDI_F32, t->storage->device);
  if (!dst) return lundi_last_error_code();
  lundi_kcall c = {.id = id, .n_out = 1, .out = {dst}, .f = {a, b},
                   .i = {(int64_t)rng->seed, (int64_t)rng->offset}};
  int rc = lundi__dispatch(&c);
  if (!rc && dst != t) rc = lundi_copy_(t, dst);
  lundi_release(dst);
  if (!rc) rng->offset += (uint64_t)((lundi_numel(t) + 3) / 4);
  return rc;
}

int lundi_uniform_(lundi_tensor *t, lundi_rng *rng, float lo, float hi) {
  return rng_fill(t, rng, LUNDI_K_RNG_UNIFORM, lo, hi);
}

int lundi_normal_(lundi_tensor *t, lundi_rng *rng, float mean, float std) {
  return rng_fill(t, rng, LUNDI_K_RNG_NORMAL, mean, std);
}

static lundi_tensor *fresh_fill(lundi_rng *rng, int ndim, const int64_t *shape, int normal, lundi_device *dev) {
  lundi_tensor *t = lundi_empty(ndim, shape, LUNDI_F32, dev);
  if (t && (normal ? lundi_normal_(t, rng, 0, 1) : lundi_uniform_(t, rng, 0, 1))) {
    lundi_release(t);
    return NULL;
  }
  return t;
}

lundi_tensor *lundi_rand_on(lundi_rng *rng, int ndim, const int64_t *shape, lundi_device *dev) {
  return fresh_fill(rng, ndim, shape, 0, dev);
}

lundi_tensor *lundi_randn_on(lundi_rng *rng, int ndim, const int64_t *shape, lundi_device *dev) {
  return fresh_fill(rng, ndim, shape, 1, dev);
}

lundi_tensor *lundi_rand(lundi_rng *rng, int ndim, const int64_t *shape) { return fresh_fill(rng, ndim, shape, 0, NULL); }

lundi_tensor *lundi_randn(lundi_rng *rng, int ndim, const int64_t *shape) { return fresh_fill(rng, ndim, shape, 1, NULL); }

/* The uniforms are drawn on dev; turning them into integers is host bookkeeping. */
lundi_tensor *lundi_randint_on(lundi_rng *rng, int ndim, const int64_t *shape, int32_t lo, int32_t hi,
                               lundi_device *dev) {
  if (hi <= lo) return lundi__errp(LUNDI_EINVAL, "randint: empty range [%d, %d)", lo, hi);
  lundi_tensor *u = fresh_fill(rng, ndim, shape, 0, dev);
  lundi_tensor *t = u ? lundi_empty(ndim, shape, LUNDI_I32, NULL) : NULL;
  int64_t n = t ? lundi_numel(t) : 0;
  float *f = t ? malloc(sizeof(float) * (size_t)(n ? n : 1)) : NULL;
  if (t && (!f || lundi_read_f32(u, f, n))) {
    if (!f) lundi__err(LUNDI_ENOMEM, "randint: out of host memory");
    lundi_release(t);
    t = NULL;
  }
  if (t) {
    int32_t *tp = lundi__i32(t);
    for (int64_t i = 0; i < n; i++) {
      int32_t v = lo + (int32_t)(f[i] * (float)(hi - lo));
      tp[i] = v >= hi ? hi - 1 : v;
    }
  }
  free(f);
  lundi_release(u);
  if (t && dev && !dev->is_host) {
    lundi_tensor *d = lundi_to_device(t, dev);
    lundi_release(t);
    t = d;
  }
  return t;
}

lundi_tensor *lundi_randint(lundi_rng *rng, int ndim, const int64_t *shape, int32_t lo, int32_t hi) {
  return lundi_randint_on(rng, ndim, shape, lo, hi, NULL);
}
