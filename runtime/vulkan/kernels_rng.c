/* Philox4x32-10 fills (shaders/rng.comp): the counters of include/lundi/tensor.h, one thread
 * per 4-element block. i[0] = seed, i[1] = offset (u64 as int64); f[0], f[1] = lo, hi for
 * uniform and mean, std for normal. The output is contiguous (runtime/tensor/philox.c). */
#include "vulkan/vk.h"

typedef struct rng_push {
  uint32_t n, blocks, off, normal;
  uint32_t seed_lo, seed_hi, ctr_lo, ctr_hi;
  float a, b;
} rng_push;

static int rng(const lundi_kcall *c, int normal) {
  lundi_tensor *o = c->out[0];
  const char *op = normal ? "rng_normal" : "rng_uniform";
  if (o->dtype != LUNDI_F32)
    return lundi__err(LUNDI_EUNSUPPORTED, "%s: %s tensors are not supported on vulkan (f32 is)", op,
                      lundi_dtype_name(o->dtype));
  if (!lundi_is_contiguous(o)) return lundi__err(LUNDI_EINVAL, "%s: the output must be contiguous", op);
  int64_t n = lundi_numel(o);
  if (!n) return 0;
  if (o->offset + n >= (int64_t)UINT32_MAX || (uint64_t)(o->offset + n) * 4 > o->storage->nbytes)
    return lundi__err(LUNDI_EUNSUPPORTED, "%s: output beyond 2^32 elements or its storage", op);
  uint64_t seed = (uint64_t)c->i[0], ctr = (uint64_t)c->i[1];
  rng_push p = {(uint32_t)n, (uint32_t)((n + 3) / 4), (uint32_t)o->offset, (uint32_t)normal,
                (uint32_t)seed, (uint32_t)(seed >> 32), (uint32_t)ctr, (uint32_t)(ctr >> 32),
                /* exactly the CPU's float parameters: lo and span = (float)(hi - lo) */
                (float)c->f[0], normal ? (float)c->f[1] : (float)(c->f[1] - c->f[0])};
  vk_buf *b = o->storage->data;
  return lundi_vk_dispatch(lundi_vk_dev(o->storage->device), VK_SH_RNG, &b, 1, 1u, &p, sizeof p, p.blocks);
}

int lundi_vk_rng_uniform(const lundi_kcall *c) { return rng(c, 0); }
int lundi_vk_rng_normal(const lundi_kcall *c) { return rng(c, 1); }
