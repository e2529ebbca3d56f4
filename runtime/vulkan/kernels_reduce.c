/* Reductions over axes (LUNDI_K_REDUCE) as parallel tree reductions (shaders/reduce.comp).
 * G threads (a power of two up to the workgroup size) cooperate on one output, so short
 * reductions pack several outputs into a workgroup and long ones use all of it. When the
 * outputs are too few to fill the device, each output's range is split into chunks whose
 * partial results land in a scratch tensor that a second dispatch reduces. */
#include "vulkan/vk.h"

#include <string.h>

typedef struct reduce_push {
  uint32_t n_out, nred, G, op;
  float scale;
  uint32_t xoff, ooff, ndim, redmask, split, chunk, scratch;
  uint32_t shape[6], xst[6], ost[6];
} reduce_push;
_Static_assert(sizeof(reduce_push) <= LUNDI_VK_PUSH_BYTES, "push block too large");

#define TARGET_THREADS 65536 /* enough to fill a large GPU; more only adds partials */

static uint32_t pow2_at_least(uint64_t n, uint32_t cap) {
  uint32_t g = 1;
  while (g < cap && g < n) g *= 2;
  return g;
}

static int go(vk_dev *d, reduce_push *p, vk_buf *out, vk_buf *x) {
  uint32_t per = d->local_size / p->G;
  uint64_t groups = ((uint64_t)p->n_out + per - 1) / per;
  uint64_t gx = groups < 65535 ? groups : 65535, gy = (groups + gx - 1) / gx;
  vk_buf *bufs[2] = {out, x};
  return lundi_vk_dispatch_groups(d, VK_SH_REDUCE, &d->local_size, 1, bufs, 2, 1u, p, sizeof *p, (uint32_t)gx,
                                  (uint32_t)gy, 1);
}

int lundi_vk_reduce(const lundi_kcall *c) {
  lundi_tensor *x = c->in[0], *o = c->out[0];
  int op = (int)c->i[0];
  if (x->dtype != LUNDI_F32 || o->dtype != LUNDI_F32)
    return lundi__err(LUNDI_EUNSUPPORTED, "reduce: %s operands are not supported on vulkan (f32 is)",
                      lundi_dtype_name(x->dtype != LUNDI_F32 ? x->dtype : o->dtype));
  if (op < LUNDI_RED_SUM || op > LUNDI_RED_MEAN) return lundi__err(LUNDI_EINVAL, "reduce: unknown op %d", op);
  if (o->ndim != x->ndim) return lundi__err(LUNDI_EINVAL, "reduce: output must keep the reduced dims");
  vk_dev *d = lundi_vk_dev(o->storage->device);
  reduce_push p;
  memset(&p, 0, sizeof p);
  /* Drop size-1 dims; merge neighbours of the same kind that walk memory uniformly. */
  int64_t shape[LUNDI_MAX_DIMS], xst[LUNDI_MAX_DIMS], ost[LUNDI_MAX_DIMS];
  int red[LUNDI_MAX_DIMS], nd = 0;
  int64_t n_out = 1, nred = 1;
  for (int k = 0; k < x->ndim; k++) {
    if (x->shape[k] == 1) continue;
    int r = o->shape[k] == 1;
    if (!r && o->shape[k] != x->shape[k]) return lundi__err(LUNDI_EINVAL, "reduce: output shape mismatch");
    int64_t os = r ? 0 : o->stride[k];
    if (r) nred *= x->shape[k];
    else n_out *= x->shape[k];
    if (nd && red[nd - 1] == r && xst[nd - 1] == x->stride[k] * x->shape[k] && ost[nd - 1] == os * x->shape[k]) {
      shape[nd - 1] *= x->shape[k];
      xst[nd - 1] = x->stride[k];
      ost[nd - 1] = os;
      continue;
    }
    shape[nd] = x->shape[k], xst[nd] = x->stride[k], ost[nd] = os, red[nd] = r;
    nd++;
  }
  if (n_out == 0) return 0;
  /* Highest elements touched must fit 32-bit indices and the storages. */
  int64_t xlast = x->offset, olast = o->offset;
  for (int k = 0; k < nd; k++) {
    if (xst[k] < 0 || ost[k] < 0)
      return lundi__err(LUNDI_EUNSUPPORTED, "reduce: negative strides are not supported on vulkan");
    xlast += (shape[k] - 1) * xst[k];
    olast += (shape[k] - 1) * ost[k];
  }
  if (xlast >= (int64_t)UINT32_MAX || olast >= (int64_t)UINT32_MAX || n_out * nred >= (int64_t)1 << 31)
    return lundi__err(LUNDI_EUNSUPPORTED, "reduce: more than 2^31 elements are not supported on vulkan");
  if ((nred && (uint64_t)(xlast + 1) * 4 > x->storage->nbytes) || (uint64_t)(olast + 1) * 4 > o->storage->nbytes)
    return lundi__err(LUNDI_EINVAL, "reduce: an operand runs past its storage");
  p.ndim = (uint32_t)nd;
  for (int k = 0; k < nd; k++) {
    p.shape[k] = (uint32_t)shape[k];
    p.xst[k] = (uint32_t)xst[k];
    p.ost[k] = (uint32_t)ost[k];
    if (red[k]) p.redmask |= 1u << k;
  }
  p.op = (uint32_t)op;
  p.xoff = (uint32_t)x->offset;
  p.ooff = (uint32_t)o->offset;
  p.nred = (uint32_t)nred;
  p.scale = op == LUNDI_RED_MEAN ? (float)(1.0 / (double)nred) : 1.0f;
  uint32_t G = pow2_at_least((uint64_t)nred, d->local_size);
  /* Chunks per output: as many as it takes to reach TARGET_THREADS, each worth >= 4 loads per thread. */
  uint64_t split = 1;
  if ((uint64_t)n_out * G < TARGET_THREADS && (uint64_t)nred > 8ull * G) {
    split = TARGET_THREADS / ((uint64_t)n_out * G);
    uint64_t most = (uint64_t)nred / (4ull * G);
    if (split > most) split = most;
    if (split > 4096) split = 4096;
  }
  if (split < 2) {
    p.n_out = (uint32_t)n_out;
    p.G = G;
    p.split = 1;
    p.chunk = (uint32_t)nred;
    return go(d, &p, o->storage->data, x->storage->data);
  }
  uint32_t chunk = (uint32_t)((nred + split - 1) / split);
  split = (nred + chunk - 1) / chunk;
  int64_t n_scr = n_out * (int64_t)split;
  lundi_tensor *scr = lundi_empty(1, &n_scr, LUNDI_F32, o->storage->device);
  if (!scr) return lundi_last_error_code();
  /* Pass 1: partials of every chunk (no mean scaling yet), into scratch[out * split + chunk]. */
  reduce_push p1 = p;
  p1.n_out = (uint32_t)n_scr;
  p1.G = G;
  p1.split = (uint32_t)split;
  p1.chunk = chunk;
  p1.scratch = 1;
  p1.scale = 1.0f;
  int rc = go(d, &p1, scr->storage->data, x->storage->data);
  if (!rc) {
    /* Pass 2: the scratch as [n_out, split], reducing its last dim into the real output. */
    reduce_push p2;
    memset(&p2, 0, sizeof p2);
    p2.op = (uint32_t)op;
    p2.scale = p.scale;
    p2.xoff = (uint32_t)scr->offset;
    p2.ooff = p.ooff;
    p2.nred = (uint32_t)split;
    p2.n_out = (uint32_t)n_out;
    p2.G = pow2_at_least(split, d->local_size);
    p2.split = 1;
    p2.chunk = (uint32_t)split;
    /* dims: the kept dims of the original (x strides of a contiguous [kept..., split]
     * scratch), then the split dim. */
    int n2 = 0;
    int64_t sst = (int64_t)split;
    for (int k = nd - 1; k >= 0; k--)
      if (!red[k]) {
        p2.shape[k] = (uint32_t)shape[k];
        p2.ost[k] = (uint32_t)ost[k];
        p2.xst[k] = (uint32_t)sst;
        sst *= shape[k];
      }
    for (int k = 0; k < nd; k++)
      if (!red[k]) {
        p2.shape[n2] = p2.shape[k];
        p2.ost[n2] = p2.ost[k];
        p2.xst[n2] = p2.xst[k];
        n2++;
      }
    p2.shape[n2] = (uint32_t)split;
    p2.xst[n2] = 1;
    p2.ost[n2] = 0;
    p2.redmask = 1u << n2;
    p2.ndim = (uint32_t)(n2 + 1);
    rc = go(d, &p2, o->storage->data, scr->storage->data);
  }
  lundi_release(scr); /* freed after the command buffer that uses it completes */
  return rc;
}
