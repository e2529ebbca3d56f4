/* Cross-entropy forward / backward and the max-reduction backward on shaders/loss.comp,
 * with the kcall contracts of runtime/cpu/loss.c and LUNDI_K_MAX_BWD (runtime/cpu/reduce.c).
 * The cross-entropy forward runs one row per G threads (a power of two up to the workgroup
 * size) into a scratch of per-row losses and weights, then one workgroup sums those in a
 * fixed order: deterministic, no atomics. Every dispatch stays within the 4 storage-buffer
 * bindings every device offers: the small vectors (mask, lse, wsum, gout) travel packed in
 * one scratch tensor, copied there with the copy kernel. */
#include "vulkan/vk.h"

#include <string.h>

typedef struct loss_push {
  uint32_t mode, G, n, C;
  uint32_t off[4];
  uint32_t moff;
  int32_t ignore_index;
  float ls, lsc, keep;
  uint32_t flags;
  uint32_t shape[6], xst[6], ost[6];
} loss_push;
_Static_assert(sizeof(loss_push) <= LUNDI_VK_PUSH_BYTES, "push block too large");

static uint32_t pow2_at_least(uint64_t n, uint32_t cap) {
  uint32_t g = 1;
  while (g < cap && g < n) g *= 2;
  return g;
}

/* n_groups workgroups as a 2-D grid (x capped at 65535). */
static int dispatch_groups(vk_dev *d, vk_buf *const *bufs, unsigned writes, const loss_push *p,
                           uint64_t n_groups) {
  if (!n_groups) return 0;
  uint64_t gx = n_groups < 65535 ? n_groups : 65535, gy = (n_groups + gx - 1) / gx;
  if (gy > d->props.limits.maxComputeWorkGroupCount[1])
    return lundi__err(LUNDI_EUNSUPPORTED, "vulkan:%d: %llu workgroups are too many", d->index,
                      (unsigned long long)n_groups);
  return lundi_vk_dispatch_groups(d, VK_SH_LOSS, &d->local_size, 1, bufs, 4, writes, p, sizeof *p,
                                  (uint32_t)gx, (uint32_t)gy, 1);
}

/* The logits [R, C] (f32) and targets [R] (i32) of both directions; R, C out. */
static int ce_shapes(const char *op, const lundi_kcall *c, int64_t *R, int64_t *C) {
  lundi_tensor *x = c->in[0];
  if (!x || x->ndim != 2) return lundi__err(LUNDI_EINVAL, "%s: logits must be [R, C]", op);
  *R = x->shape[0], *C = x->shape[1];
  if (lundi_vk_check_flat(op, "the logits", x, LUNDI_F32, *R * *C) ||
      lundi_vk_check_flat(op, "the targets", c->in[1], LUNDI_I32, *R))
    return lundi_last_error_code();
  if (*R * 2 + 2 >= (int64_t)1 << 31)
    return lundi__err(LUNDI_EUNSUPPORTED, "%s: %lld rows are beyond the vulkan backend's limits",
                      op, (long long)*R);
  double ls = c->f[0];
  if (!(ls >= 0 && ls < 1))
    return lundi__err(LUNDI_EINVAL, "%s: label smoothing %g is outside [0, 1)", op, ls);
  if (c->i[0] < INT32_MIN || c->i[0] > INT32_MAX)
    return lundi__err(LUNDI_EINVAL, "%s: ignore_index %lld is not an i32", op, (long long)c->i[0]);
  return 0;
}

/* The CPU's constants: ls as a float, ls / C and 1 - ls in float arithmetic. */
static void ce_consts(loss_push *p, const lundi_kcall *c, int64_t C) {
  float ls = (float)c->f[0];
  p->ls = ls;
  p->lsc = C ? ls / (float)C : 0.0f;
  p->keep = 1.0f - ls;
  p->ignore_index = (int32_t)c->i[0];
  p->C = (uint32_t)C;
}

int lundi_vk_cross_entropy_fwd(const lundi_kcall *c) {
  const char *op = "cross_entropy";
  int64_t R = 0, C = 0;
  if (ce_shapes(op, c, &R, &C)) return lundi_last_error_code();
  lundi_tensor *x = c->in[0], *t = c->in[1], *mask = c->n_in > 2 ? c->in[2] : NULL;
  lundi_tensor *loss = c->out[0], *lse = c->out[1], *wsum = c->out[2];
  if ((mask && lundi_vk_check_flat(op, "the mask", mask, LUNDI_F32, R)) ||
      lundi_vk_check_flat(op, "the loss", loss, LUNDI_F32, 1) ||
      lundi_vk_check_flat(op, "lse", lse, LUNDI_F32, R) ||
      lundi_vk_check_flat(op, "wsum", wsum, LUNDI_F32, 1))
    return lundi_last_error_code();
  lundi_device *dev = loss->storage->device;
  vk_dev *d = lundi_vk_dev(dev);
  /* scratch: per-row losses [R], weights [R], then the mask's copy [R] */
  int64_t ns = 3 * R + 1;
  lundi_tensor *s = lundi_empty(1, &ns, LUNDI_F32, dev);
  int rc = s ? 0 : lundi_last_error_code();
  if (!rc && mask) rc = lundi_vk_copy_flat(s, s->offset + 2 * R, mask, (mask)->offset, R);
  if (!rc && R) {
    loss_push p = {.mode = 0,
                   .G = pow2_at_least((uint64_t)C, d->local_size),
                   .n = (uint32_t)R,
                   .off = {(uint32_t)s->offset, (uint32_t)x->offset, (uint32_t)t->offset,
                           (uint32_t)lse->offset},
                   .moff = (uint32_t)(s->offset + 2 * R),
                   .flags = mask ? 1u : 0u};
    ce_consts(&p, c, C);
    uint32_t per = d->local_size / p.G;
    vk_buf *bufs[4] = {s->storage->data, x->storage->data, t->storage->data, lse->storage->data};
    rc = dispatch_groups(d, bufs, 0x9u, &p, ((uint64_t)R + per - 1) / per);
  }
  if (!rc) {
    loss_push p = {.mode = 1,
                   .G = d->local_size,
                   .n = (uint32_t)R,
                   .off = {(uint32_t)s->offset, (uint32_t)loss->offset, 0, (uint32_t)wsum->offset}};
    vk_buf *bufs[4] = {s->storage->data, loss->storage->data, t->storage->data,
                       wsum->storage->data};
    rc = dispatch_groups(d, bufs, 0xau, &p, 1);
  }
  lundi_release(s); /* freed once the command buffer that uses it completes */
  return rc;
}

int lundi_vk_cross_entropy_bwd(const lundi_kcall *c) {
  const char *op = "cross_entropy_backward";
  int64_t R = 0, C = 0;
  if (ce_shapes(op, c, &R, &C)) return lundi_last_error_code();
  lundi_tensor *x = c->in[0], *t = c->in[1], *lse = c->in[2], *wsum = c->in[3], *gout = c->in[4];
  lundi_tensor *mask = c->n_in > 5 ? c->in[5] : NULL, *g = c->out[0];
  if (lundi_vk_check_flat(op, "lse", lse, LUNDI_F32, R) ||
      lundi_vk_check_flat(op, "wsum", wsum, LUNDI_F32, 1) ||
      lundi_vk_check_flat(op, "gout", gout, LUNDI_F32, 1) ||
      (mask && lundi_vk_check_flat(op, "the mask", mask, LUNDI_F32, R)) ||
      lundi_vk_check_flat(op, "the gradient", g, LUNDI_F32, R * C))
    return lundi_last_error_code();
  if (!R || !C) return 0;
  lundi_device *dev = g->storage->device;
  vk_dev *d = lundi_vk_dev(dev);
  /* packed: wsum, gout, lse [R], mask [R] */
  int64_t np = 2 + 2 * R;
  lundi_tensor *P = lundi_empty(1, &np, LUNDI_F32, dev);
  int rc = P ? 0 : lundi_last_error_code();
  if (!rc) rc = lundi_vk_copy_flat(P, P->offset, wsum, (wsum)->offset, 1);
  if (!rc) rc = lundi_vk_copy_flat(P, P->offset + 1, gout, (gout)->offset, 1);
  if (!rc) rc = lundi_vk_copy_flat(P, P->offset + 2, lse, (lse)->offset, R);
  if (!rc && mask) rc = lundi_vk_copy_flat(P, P->offset + 2 + R, mask, (mask)->offset, R);
  if (!rc) {
    loss_push p = {
        .mode = 2,
        .n = (uint32_t)R,
        .off = {(uint32_t)g->offset, (uint32_t)x->offset, (uint32_t)t->offset, (uint32_t)P->offset},
        .flags = mask ? 1u : 0u};
    ce_consts(&p, c, C);
    vk_buf *bufs[4] = {g->storage->data, x->storage->data, t->storage->data, P->storage->data};
    rc =
        dispatch_groups(d, bufs, 0x1u, &p, ((uint64_t)(R * C) + d->local_size - 1) / d->local_size);
  }
  lundi_release(P);
  return rc;
}

/* LUNDI_K_MAX_BWD: in[0] x, in[1] the keepdim max, in[2] gout (the max's shape), out[0] the
 * x-shaped gradient (zeroed by the caller; the kernel adds to it). The max and gout are
 * made contiguous here when they are not (they are small), so output k's entries sit at k. */
int lundi_vk_max_bwd(const lundi_kcall *c) {
  const char *op = "max_backward";
  lundi_tensor *x = c->in[0], *m = c->in[1], *g = c->in[2], *o = c->out[0];
  if (!x || !m || !g || !o) return lundi__err(LUNDI_EINVAL, "%s: missing operand", op);
  if (x->dtype != LUNDI_F32 || m->dtype != LUNDI_F32 || g->dtype != LUNDI_F32 ||
      o->dtype != LUNDI_F32)
    return lundi__err(LUNDI_EUNSUPPORTED, "%s: only f32 is supported on vulkan", op);
  if (m->ndim != x->ndim || g->ndim != x->ndim || o->ndim != x->ndim ||
      memcmp(o->shape, x->shape, sizeof(int64_t) * (size_t)x->ndim) ||
      memcmp(g->shape, m->shape, sizeof(int64_t) * (size_t)x->ndim))
    return lundi__err(LUNDI_EINVAL, "%s: shapes do not match", op);
  /* Drop size-1 dims; merge neighbours of the same kind that walk x and out uniformly. */
  int64_t shape[LUNDI_MAX_DIMS], xst[LUNDI_MAX_DIMS], ost[LUNDI_MAX_DIMS];
  int red[LUNDI_MAX_DIMS], nd = 0;
  int64_t n_out = 1, nred = 1, xlast = x->offset, olast = o->offset;
  for (int k = 0; k < x->ndim; k++) {
    if (x->stride[k] < 0 || o->stride[k] < 0)
      return lundi__err(LUNDI_EUNSUPPORTED, "%s: negative strides are not supported on vulkan", op);
    xlast += (x->shape[k] - 1) * x->stride[k];
    olast += (x->shape[k] - 1) * o->stride[k];
    if (x->shape[k] == 1) continue;
    int r = m->shape[k] == 1;
    if (!r && m->shape[k] != x->shape[k])
      return lundi__err(LUNDI_EINVAL, "%s: the max's shape does not match", op);
    if (r)
      nred *= x->shape[k];
    else
      n_out *= x->shape[k];
    if (nd && red[nd - 1] == r && xst[nd - 1] == x->stride[k] * x->shape[k] &&
        ost[nd - 1] == o->stride[k] * x->shape[k]) {
      shape[nd - 1] *= x->shape[k];
      xst[nd - 1] = x->stride[k];
      ost[nd - 1] = o->stride[k];
      continue;
    }
    shape[nd] = x->shape[k], xst[nd] = x->stride[k], ost[nd] = o->stride[k], red[nd] = r;
    nd++;
  }
  if (n_out * nred == 0) return 0;
  if (xlast >= (int64_t)1 << 31 || olast >= (int64_t)1 << 31 || n_out * nred >= (int64_t)1 << 31)
    return lundi__err(LUNDI_EUNSUPPORTED, "%s: more than 2^31 elements are not supported on vulkan",
                      op);
  if ((uint64_t)(xlast + 1) * 4 > x->storage->nbytes ||
      (uint64_t)(olast + 1) * 4 > o->storage->nbytes)
    return lundi__err(LUNDI_EINVAL, "%s: an operand runs past its storage", op);
  lundi_tensor *mc = lundi__contiguous_copy(m), *gc = mc ? lundi__contiguous_copy(g) : NULL;
  int rc = gc ? 0 : lundi_last_error_code();
  if (!rc && (lundi_vk_check_flat(op, "the max", mc, LUNDI_F32, n_out) ||
              lundi_vk_check_flat(op, "gout", gc, LUNDI_F32, n_out)))
    rc = lundi_last_error_code();
  if (!rc) {
    vk_dev *d = lundi_vk_dev(o->storage->device);
    loss_push p = {.mode = 3,
                   .G = pow2_at_least((uint64_t)nred, d->local_size),
                   .n = (uint32_t)nred,
                   .off = {(uint32_t)o->offset, (uint32_t)x->offset, (uint32_t)mc->offset,
                           (uint32_t)gc->offset}};
    uint32_t redmask = 0;
    for (int k = 0; k < nd; k++) {
      p.shape[k] = (uint32_t)shape[k];
      p.xst[k] = (uint32_t)xst[k];
      p.ost[k] = (uint32_t)ost[k];
      if (red[k]) redmask |= 1u << k;
    }
    p.C = (uint32_t)nd | redmask << 8;
    uint32_t per = d->local_size / p.G;
    vk_buf *bufs[4] = {o->storage->data, x->storage->data, mc->storage->data, gc->storage->data};
    rc = dispatch_groups(d, bufs, 0x1u, &p, ((uint64_t)n_out + per - 1) / per);
  }
  lundi_release(mc);
  lundi_release(gc);
  return rc;
}
