/* Embedding, nearest upsampling, average pooling (forward and backward) and rotary
 * embeddings on shaders/index.comp, with the kcall contracts of runtime/cpu/index.c and
 * runtime/cpu/rope.c. Every output element is computed by one thread in the CPU's order of
 * operations, so results are bit-identical to the CPU. The embedding backward has one
 * thread per (row, column) of the weight gradient scanning all ids in order: deterministic
 * without float atomics (which Vulkan 1.0 does not guarantee), at O(V D N) work. */
#include "vulkan/vk.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

typedef struct index_push {
  uint32_t mode, n, N, C, H, W, H2, W2, kh, kw, sh, sw;
  float inv;
  uint32_t ooff, xoff, toff;
  uint32_t st[4];
} index_push;
_Static_assert(sizeof(index_push) <= LUNDI_VK_PUSH_BYTES, "push block too large");

/* Element reach of a tensor must fit its storage and 31-bit indices. */
static int reach_ok(const char *op, const lundi_tensor *t) {
  int64_t last = t->offset, n = lundi_numel((lundi_tensor *)t);
  for (int k = 0; k < t->ndim; k++) {
    if (t->stride[k] < 0)
      return lundi__err(LUNDI_EUNSUPPORTED, "%s: negative strides are not supported on vulkan", op);
    last += (t->shape[k] - 1) * t->stride[k];
  }
  if (n && (last >= (int64_t)1 << 31 || n >= (int64_t)1 << 31))
    return lundi__err(LUNDI_EUNSUPPORTED, "%s: more than 2^31 elements are not supported on vulkan",
                      op);
  if (n && (uint64_t)(last + 1) * 4 > t->storage->nbytes)
    return lundi__err(LUNDI_EINVAL, "%s: an operand runs past its storage", op);
  return 0;
}

static int dtype_is(const char *op, const lundi_tensor *t, lundi_dtype dt) {
  if (t->dtype != dt)
    return lundi__err(LUNDI_EUNSUPPORTED, "%s: %s operand where %s is expected on vulkan", op,
                      lundi_dtype_name(t->dtype), lundi_dtype_name(dt));
  return 0;
}

static int go(lundi_tensor *o, lundi_tensor *x, lundi_tensor *t, index_push *p) {
  vk_buf *bufs[3] = {o->storage->data, x->storage->data, (t ? t : x)->storage->data};
  p->ooff = (uint32_t)o->offset;
  p->xoff = (uint32_t)x->offset;
  p->toff = t ? (uint32_t)t->offset : 0;
  return lundi_vk_dispatch(lundi_vk_dev(o->storage->device), VK_SH_INDEX, bufs, 3, 1u, p, sizeof *p,
                           p->n);
}

static int check(const char *op, lundi_tensor *o, lundi_tensor *x, lundi_tensor *ids,
                 int need_contig_x) {
  if (dtype_is(op, o, LUNDI_F32) || dtype_is(op, x, LUNDI_F32) ||
      (ids && dtype_is(op, ids, LUNDI_I32)) || reach_ok(op, o) || reach_ok(op, x) ||
      (ids && reach_ok(op, ids)))
    return lundi_last_error_code();
  if (!lundi_is_contiguous(o) || (need_contig_x && !lundi_is_contiguous(x)) ||
      (ids && !lundi_is_contiguous(ids)))
    return lundi__err(LUNDI_EINVAL, "%s: operands must be contiguous", op);
  return 0;
}

int lundi_vk_embedding_fwd(const lundi_kcall *c) {
  lundi_tensor *w = c->in[0], *ids = c->in[1], *o = c->out[0];
  if (check("embedding", o, w, ids, 1)) return lundi_last_error_code();
  int64_t N = ids->shape[0], D = w->shape[1];
  index_push p = {.mode = 0, .n = (uint32_t)(N * D), .N = (uint32_t)N, .C = (uint32_t)D};
  return go(o, w, ids, &p);
}

int lundi_vk_embedding_bwd(const lundi_kcall *c) {
  lundi_tensor *g = c->in[0], *ids = c->in[1], *o = c->out[0];
  if (check("embedding_backward", o, g, ids, 1)) return lundi_last_error_code();
  int64_t N = g->shape[0], D = g->shape[1], V = o->shape[0];
  index_push p = {
      .mode = 1, .n = (uint32_t)(V * D), .N = (uint32_t)N, .C = (uint32_t)D, .H = (uint32_t)V};
  return go(o, g, ids, &p);
}

/* Modes 2-5: o [N, C, H, W] contiguous from x [N, C, H2, W2] with any strides. */
static int spatial(const char *op, const lundi_kcall *c, uint32_t mode) {
  lundi_tensor *x = c->in[0], *o = c->out[0];
  if (x->ndim != 4 || o->ndim != 4)
    return lundi__err(LUNDI_EINVAL, "%s: 4-d operands expected", op);
  if (check(op, o, x, NULL, 0)) return lundi_last_error_code();
  index_push p = {.mode = mode, .n = (uint32_t)lundi_numel(o)};
  p.N = (uint32_t)o->shape[0], p.C = (uint32_t)o->shape[1], p.H = (uint32_t)o->shape[2],
  p.W = (uint32_t)o->shape[3];
  p.H2 = (uint32_t)x->shape[2], p.W2 = (uint32_t)x->shape[3];
  if (mode <= 3) {
    if (c->i[0] < 1) return lundi__err(LUNDI_EINVAL, "%s: scale %lld", op, (long long)c->i[0]);
    p.kh = (uint32_t)c->i[0];
  } else {
    for (int k = 0; k < 4; k++)
      if (c->i[k] < 1) return lundi__err(LUNDI_EINVAL, "%s: window and stride must be >= 1", op);
    p.kh = (uint32_t)c->i[0], p.kw = (uint32_t)c->i[1], p.sh = (uint32_t)c->i[2],
    p.sw = (uint32_t)c->i[3];
    p.inv = 1.0f / (float)(c->i[0] * c->i[1]); /* the CPU's float */
  }
  /* The shader indexes the input through the output's coordinates: the extents must agree. */
  int64_t H = o->shape[2], W = o->shape[3], H2 = x->shape[2], W2 = x->shape[3], ok;
  if (mode == 2)
    ok = H == H2 * c->i[0] && W == W2 * c->i[0];
  else if (mode == 3)
    ok = H2 == H * c->i[0] && W2 == W * c->i[0];
  else if (mode == 4)
    ok = H2 >= c->i[0] && W2 >= c->i[1] && H == (H2 - c->i[0]) / c->i[2] + 1 &&
         W == (W2 - c->i[1]) / c->i[3] + 1;
  else
    ok = H >= c->i[0] && W >= c->i[1] && H2 == (H - c->i[0]) / c->i[2] + 1 &&
         W2 == (W - c->i[1]) / c->i[3] + 1;
  if (!ok || o->shape[0] != x->shape[0] || o->shape[1] != x->shape[1])
    return lundi__err(LUNDI_EINVAL, "%s: output %lldx%lld does not match input %lldx%lld", op,
                      (long long)H, (long long)W, (long long)H2, (long long)W2);
  for (int k = 0; k < 4; k++) p.st[k] = (uint32_t)x->stride[k];
  return go(o, x, NULL, &p);
}

int lundi_vk_upsample_fwd(const lundi_kcall *c) {
  return spatial("upsample", c, 2);
}
int lundi_vk_upsample_bwd(const lundi_kcall *c) {
  return spatial("upsample_backward", c, 3);
}
int lundi_vk_avgpool_fwd(const lundi_kcall *c) {
  return spatial("avgpool", c, 4);
}
int lundi_vk_avgpool_bwd(const lundi_kcall *c) {
  return spatial("avgpool_backward", c, 5);
}

int lundi_vk_rope(const lundi_kcall *c) {
  lundi_tensor *x = c->in[0], *o = c->out[0];
  int64_t R = c->i[0], L = c->i[1], D = c->i[2], pos0 = c->i[3], h = D / 2;
  if (D % 2 || R < 0 || L < 0)
    return lundi__err(LUNDI_EINVAL, "rope: bad extents R %lld L %lld D %lld", (long long)R,
                      (long long)L, (long long)D);
  if (check("rope", o, x, NULL, 1)) return lundi_last_error_code();
  if (lundi_numel(o) != R * L * D || lundi_numel(x) != R * L * D)
    return lundi__err(LUNDI_EINVAL, "rope: operands must hold R * L * D elements");
  if (R * L * D == 0) return 0;
  /* The CPU's angle table, computed the same way in double, so the device gets its bits. */
  int64_t nt = 2 * L * h;
  float *cs = malloc(sizeof(float) * (size_t)nt);
  if (!cs) return lundi__err(LUNDI_ENOMEM, "rope: out of host memory for the angle table");
  double base = c->f[0], sign = c->i[4] ? -1.0 : 1.0;
  for (int64_t i = 0; i < h; i++) {
    double f = pow(base, -2.0 * (double)i / (double)D);
    for (int64_t l = 0; l < L; l++) {
      double t = (double)(pos0 + l) * f;
      cs[l * h + i] = (float)cos(t);
      cs[L * h + l * h + i] = (float)(sign * sin(t));
    }
  }
  lundi_tensor *ht = lundi_from_f32(1, &nt, cs),
               *dt = ht ? lundi_to_device(ht, o->storage->device) : NULL;
  free(cs);
  int rc = dt ? 0 : lundi_last_error_code();
  if (!rc) {
    index_push p = {.mode = 6, .n = (uint32_t)(R * L * h), .H2 = (uint32_t)L, .W2 = (uint32_t)h};
    rc = go(o, x, dt, &p);
  }
  lundi_release(ht);
  lundi_release(dt);
  return rc;
}
