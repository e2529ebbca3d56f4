/* Scaled dot-product attention (LUNDI_K_ATTN_FWD / _BWD) on shaders/attn.comp, with the
 * kcall contract of runtime/cpu/attention.c. Flash-attention style: a workgroup owns 32
 * rows and one chunk of up to 128 output columns and streams over the other side in tiles
 * of 32 with an online softmax, so shared memory is fixed (under Vulkan's 16 KiB minimum)
 * whatever the sequence lengths and head dims; wider heads take more chunks (z), which
 * recompute the scores. The backward is two passes: rows (delta = rowsum(P dP), dq and
 * dscores), then keys (dk, dv), both without atomics, so results are deterministic.
 * Every dispatch stays within the 4 storage-buffer bindings every device offers: q, k, v
 * (plus gout, lse and delta for the backward) travel in one buffer, packed into a scratch
 * tensor unless they already share a storage. */
#include "vulkan/vk.h"

#include <string.h>

typedef struct attn_push {
  uint32_t mode, b0, L, S, D, Dv, causal;
  float scale;
  uint32_t qoff, koff, voff, goff, lseoff, deloff;
  uint32_t o0off, o1off;
  uint32_t flags, nz0;
  uint32_t moff, msl, mss, mnb;
  uint32_t mshape[4], mst[4];
} attn_push;
_Static_assert(sizeof(attn_push) <= LUNDI_VK_PUSH_BYTES, "push block too large");

enum { AF_MASK = 1, AF_OUT0 = 2, AF_OUT1 = 4 };

#define ROWS 32     /* rows per workgroup and per tile (shaders/attn.comp BR) */
#define THREADS 128 /* every device allows 128 invocations per workgroup */
/* The shader's shared arrays: stage[1024], W[32 * 33], red[128], red2[128], 3 x [32]. */
#define SHARED_BYTES (4 * (1024 + ROWS * 33 + 2 * THREADS + 3 * ROWS))

/* The mask view [batch..., L, S]: its batch dims must multiply to B. Fills the push block's
 * mask fields with the batch dims coalesced (size-1 dims dropped, uniform neighbours merged)
 * and checks that every element it reaches lies inside its storage. */
static int mask_geom(const char *op, const lundi_tensor *m, int64_t B, int64_t L, int64_t S,
                     attn_push *p) {
  if (m->dtype != LUNDI_F32)
    return lundi__err(LUNDI_EUNSUPPORTED, "%s: the mask is %s; the vulkan backend supports f32", op,
                      lundi_dtype_name(m->dtype));
  int nb = m->ndim - 2;
  if (nb < 0 || m->shape[nb] != L || m->shape[nb + 1] != S || lundi__numel(nb, m->shape) != B)
    return lundi__err(LUNDI_EINVAL,
                      "%s: the mask must be [batch..., %lld, %lld] with %lld batch entries", op,
                      (long long)L, (long long)S, (long long)B);
  int64_t last = m->offset, shape[LUNDI_MAX_DIMS], st[LUNDI_MAX_DIMS];
  int nd = 0;
  for (int k = 0; k < m->ndim; k++) {
    if (m->stride[k] < 0)
      return lundi__err(LUNDI_EUNSUPPORTED, "%s: negative mask strides are not supported on vulkan",
                        op);
    last += (m->shape[k] - 1) * m->stride[k];
    if (k >= nb || m->shape[k] == 1) continue;
    if (nd && st[nd - 1] == m->stride[k] * m->shape[k]) {
      shape[nd - 1] *= m->shape[k];
      st[nd - 1] = m->stride[k];
    } else {
      shape[nd] = m->shape[k], st[nd] = m->stride[k];
      nd++;
    }
  }
  if (B * L * S == 0) return 0; /* nothing is read */
  if (last >= (int64_t)1 << 31)
    return lundi__err(LUNDI_EUNSUPPORTED, "%s: the mask reaches beyond 2^31 elements", op);
  if ((uint64_t)(last + 1) * 4 > m->storage->nbytes)
    return lundi__err(LUNDI_EINVAL, "%s: the mask runs past its storage", op);
  p->flags |= AF_MASK;
  p->moff = (uint32_t)m->offset;
  p->msl = (uint32_t)m->stride[nb];
  p->mss = (uint32_t)m->stride[nb + 1];
  p->mnb = (uint32_t)nd;
  for (int k = 0; k < nd; k++) p->mshape[k] = (uint32_t)shape[k], p->mst[k] = (uint32_t)st[k];
  return 0;
}

/* One buffer holding parts[0..k) (n[j] elements each, NULL parts skipped) plus `extra`
 * elements of scratch at off[k]: the parts' own storage when they already share one and no
 * scratch is needed, else a fresh tensor they are copied into. off[j] are element offsets. */
static lundi_tensor *gather(lundi_device *dev, lundi_tensor *const *parts, const int64_t *n, int k,
                            int64_t extra, uint32_t *off) {
  int shared = extra == 0;
  for (int j = 0; j < k && shared; j++)
    shared = !parts[j] || !parts[0] || parts[j]->storage == parts[0]->storage;
  if (shared && parts[0]) {
    for (int j = 0; j < k; j++) off[j] = parts[j] ? (uint32_t)parts[j]->offset : 0;
    return lundi_retain(parts[0]);
  }
  int64_t total = 0;
  for (int j = 0; j < k; j++) {
    off[j] = (uint32_t)total;
    if (parts[j]) total += n[j];
  }
  off[k] = (uint32_t)total;
  total += extra;
  if (total >= (int64_t)1 << 31) {
    lundi__err(LUNDI_EUNSUPPORTED,
               "attention: %lld packed elements are beyond the vulkan backend's 2^31",
               (long long)total);
    return NULL;
  }
  if (!total) total = 1;
  lundi_tensor *s = lundi_empty(1, &total, LUNDI_F32, dev);
  for (int j = 0; j < k && s; j++)
    if (parts[j] && lundi_vk_copy_flat(s, s->offset + off[j], parts[j], (parts[j])->offset, n[j])) {
      lundi_release(s);
      return NULL;
    }
  if (s)
    for (int j = 0; j <= k; j++) off[j] += (uint32_t)s->offset;
  return s;
}

static uint32_t chunk_cols(int64_t n) {
  return n <= 32 ? 32 : n <= 64 ? 64 : 128;
}

/* gx blocks x B batch entries x gz chunks, the batch split where it passes the y limit. */
static int run(vk_dev *d, attn_push *p, uint32_t dc, vk_buf *const *bufs, unsigned writes,
               int64_t gx, int64_t B, int64_t gz) {
  const uint32_t *maxc = d->props.limits.maxComputeWorkGroupCount;
  if (gx > maxc[0] || gz > maxc[2])
    return lundi__err(LUNDI_EUNSUPPORTED,
                      "attention: %lld x %lld workgroups exceed the device's limits", (long long)gx,
                      (long long)gz);
  uint32_t spec[2] = {THREADS, dc};
  for (int64_t b0 = 0; b0 < B; b0 += maxc[1]) {
    int64_t gy = B - b0 < maxc[1] ? B - b0 : maxc[1];
    p->b0 = (uint32_t)b0;
    int rc = lundi_vk_dispatch_groups(d, VK_SH_ATTN, spec, 2, bufs, 4, writes, p, sizeof *p,
                                      (uint32_t)gx, (uint32_t)gy, (uint32_t)gz);
    if (rc) return rc;
  }
  return 0;
}

/* Shared checks of both directions: extents, q / k / v, the mask and the device's limits. */
static int common(const char *op, const lundi_kcall *c, attn_push *p) {
  int64_t B = c->i[0], L = c->i[1], S = c->i[2], D = c->i[3], Dv = c->i[4];
  if (B < 0 || L < 0 || S < 0 || D < 0 || Dv < 0 || B * L * (D > Dv ? D : Dv) >= (int64_t)1 << 31 ||
      B * S * (D > Dv ? D : Dv) >= (int64_t)1 << 31 || B * L * S >= (int64_t)1 << 31)
    return lundi__err(LUNDI_EINVAL, "%s: bad extents B %lld L %lld S %lld D %lld Dv %lld", op,
                      (long long)B, (long long)L, (long long)S, (long long)D, (long long)Dv);
  if (!(c->f[0] > 0)) return lundi__err(LUNDI_EINVAL, "%s: scale %g must be > 0", op, c->f[0]);
  if (lundi_vk_check_flat(op, "q", c->in[0], LUNDI_F32, B * L * D) ||
      lundi_vk_check_flat(op, "k", c->in[1], LUNDI_F32, B * S * D) ||
      lundi_vk_check_flat(op, "v", c->in[2], LUNDI_F32, B * S * Dv))
    return lundi_last_error_code();
  *p = (attn_push){.L = (uint32_t)L,
                   .S = (uint32_t)S,
                   .D = (uint32_t)D,
                   .Dv = (uint32_t)Dv,
                   .causal = c->i[5] != 0,
                   .scale = (float)c->f[0]};
  if (c->n_in > 3 && c->in[3] && mask_geom(op, c->in[3], B, L, S, p))
    return lundi_last_error_code();
  vk_dev *d = lundi_vk_dev(c->in[0]->storage->device);
  if (d->props.limits.maxComputeSharedMemorySize < SHARED_BYTES ||
      d->props.limits.maxComputeWorkGroupSize[0] < THREADS)
    return lundi__err(
        LUNDI_EUNSUPPORTED,
        "%s: vulkan:%d offers %u bytes of shared memory and %u threads per workgroup; the kernel "
        "needs %d and %d",
        op, d->index, d->props.limits.maxComputeSharedMemorySize,
        d->props.limits.maxComputeWorkGroupSize[0], SHARED_BYTES, THREADS);
  return 0;
}

int lundi_vk_attn_fwd(const lundi_kcall *c) {
  const char *op = "attention";
  attn_push p;
  if (common(op, c, &p)) return lundi_last_error_code();
  int64_t B = c->i[0], L = c->i[1], S = c->i[2], D = c->i[3], Dv = c->i[4];
  lundi_tensor *o = c->out[0], *lse = c->out[1];
  if (lundi_vk_check_flat(op, "the output", o, LUNDI_F32, B * L * Dv) ||
      lundi_vk_check_flat(op, "lse", lse, LUNDI_F32, B * L))
    return lundi_last_error_code();
  if (!B || !L) return 0;
  lundi_device *dev = o->storage->device;
  vk_dev *d = lundi_vk_dev(dev);
  lundi_tensor *parts[3] = {c->in[0], c->in[1], c->in[2]};
  int64_t lens[3] = {B * L * D, B * S * D, B * S * Dv};
  uint32_t off[4];
  lundi_tensor *X = gather(dev, parts, lens, 3, 0, off);
  if (!X) return lundi_last_error_code();
  p.mode = 0;
  p.qoff = off[0], p.koff = off[1], p.voff = off[2];
  p.o0off = (uint32_t)o->offset, p.o1off = (uint32_t)lse->offset;
  p.flags |= AF_OUT0 | AF_OUT1;
  uint32_t dc = chunk_cols(Dv);
  int64_t nz = Dv ? (Dv + dc - 1) / dc : 1; /* one chunk writes lse even when Dv == 0 */
  vk_buf *bufs[4] = {X->storage->data, (p.flags & AF_MASK ? c->in[3] : X)->storage->data,
                     o->storage->data, lse->storage->data};
  int rc = run(d, &p, dc, bufs, 0xcu, (L + ROWS - 1) / ROWS, B, nz);
  lundi_release(X);
  return rc;
}

int lundi_vk_attn_bwd(const lundi_kcall *c) {
  const char *op = "attention_backward";
  attn_push p;
  if (common(op, c, &p)) return lundi_last_error_code();
  int64_t B = c->i[0], L = c->i[1], S = c->i[2], D = c->i[3], Dv = c->i[4];
  lundi_tensor *dq = c->out[0], *dk = c->out[1], *dv = c->out[2],
               *dsc = c->n_out > 3 ? c->out[3] : NULL;
  if (lundi_vk_check_flat(op, "gout", c->in[4], LUNDI_F32, B * L * Dv) ||
      lundi_vk_check_flat(op, "lse", c->in[5], LUNDI_F32, B * L) ||
      (dq && lundi_vk_check_flat(op, "dq", dq, LUNDI_F32, B * L * D)) ||
      (dk && lundi_vk_check_flat(op, "dk", dk, LUNDI_F32, B * S * D)) ||
      (dv && lundi_vk_check_flat(op, "dv", dv, LUNDI_F32, B * S * Dv)) ||
      (dsc && lundi_vk_check_flat(op, "dscores", dsc, LUNDI_F32, B * L * S)))
    return lundi_last_error_code();
  if (!B || (!dq && !dk && !dv && !dsc)) return 0;
  lundi_tensor *any = dq ? dq : dk ? dk : dv ? dv : dsc;
  lundi_device *dev = any->storage->device;
  vk_dev *d = lundi_vk_dev(dev);
  /* q, k, v, gout, lse, then a fresh delta [B, L] that the rows pass writes */
  lundi_tensor *parts[5] = {c->in[0], c->in[1], c->in[2], c->in[4], c->in[5]};
  int64_t lens[5] = {B * L * D, B * S * D, B * S * Dv, B * L * Dv, B * L};
  uint32_t off[6];
  lundi_tensor *X = gather(dev, parts, lens, 5, B * L > 0 ? B * L : 1, off);
  if (!X) return lundi_last_error_code();
  p.qoff = off[0], p.koff = off[1], p.voff = off[2], p.goff = off[3], p.lseoff = off[4],
  p.deloff = off[5];
  vk_buf *xb = X->storage->data, *mb = (p.flags & AF_MASK ? c->in[3] : X)->storage->data;
  int rc = 0;
  /* rows pass: delta (needed by dk), dq, dscores */
  if (L && S && (dq || dk || dsc)) {
    attn_push r = p;
    r.mode = 1;
    r.flags |= (dq ? AF_OUT0 : 0) | (dsc ? AF_OUT1 : 0);
    r.o0off = dq ? (uint32_t)dq->offset : 0;
    r.o1off = dsc ? (uint32_t)dsc->offset : 0;
    uint32_t dc = chunk_cols(D);
    int64_t nz = dq ? (D + dc - 1) / dc : 1;
    vk_buf *bufs[4] = {xb, mb, (dq ? dq : X)->storage->data, (dsc ? dsc : X)->storage->data};
    rc = run(d, &r, dc, bufs, 0x1u | (dq ? 0x4u : 0) | (dsc ? 0x8u : 0), (L + ROWS - 1) / ROWS, B,
             nz ? nz : 1);
  } else if (L && dq) { /* no keys: nothing reaches q (the CPU's GEMM over S = 0 gives 0) */
    rc = lundi_fill_(dq, 0.0f);
  }
  /* keys pass: dv chunks first, then dk chunks; an empty L still writes zeros */
  if (!rc && S && (dk || dv)) {
    attn_push k = p;
    k.mode = 2;
    k.flags |= (dk ? AF_OUT0 : 0) | (dv ? AF_OUT1 : 0);
    k.o0off = dk ? (uint32_t)dk->offset : 0;
    k.o1off = dv ? (uint32_t)dv->offset : 0;
    uint32_t dc = chunk_cols(D > Dv ? D : Dv);
    int64_t nzv = dv ? (Dv + dc - 1) / dc : 0, nzk = dk ? (D + dc - 1) / dc : 0;
    k.nz0 = (uint32_t)nzv;
    vk_buf *bufs[4] = {xb, mb, (dk ? dk : X)->storage->data, (dv ? dv : X)->storage->data};
    if (nzv + nzk)
      rc = run(d, &k, dc, bufs, (dk ? 0x4u : 0) | (dv ? 0x8u : 0), (S + ROWS - 1) / ROWS, B,
               nzv + nzk);
  }
  lundi_release(X);
  return rc;
}
