/* Scaled dot-product attention on the fused ATTN_FWD / ATTN_BWD kernels.
 * Batch dims of q, k and v broadcast together; broadcast operands are materialised at the
 * full batch size for the kernel and their gradients summed back. The mask is added to
 * the scaled scores and must broadcast to [batch..., L, S]; it gets a gradient too when it
 * requires one. A fully masked query row yields a zero output row and zero gradients
 * (where the usual formula would give NaN). */
#include "ops/ops_internal.h"

#include <math.h>
#include <string.h>

/* Expands t to (nd, shape) and makes it contiguous, outside autograd. */
static lundi_tensor *full_contig(lundi_tensor *t, int nd, const int64_t *shape) {
  lundi_no_grad_enter();
  lundi_tensor *e = lundi_expand(t, nd, shape);
  lundi_tensor *c = e ? lundi_contiguous(e) : NULL;
  lundi_no_grad_exit();
  lundi_release(e);
  return c;
}

/* saved[]: 0..2 q, k, v at full batch size (contiguous), 3 mask view or NULL, 4 lse.
 * i[0..5]: the kernel's i[]; f[0]: scale. */
static int sdpa_bw(lundi_node *n, lundi_tensor *g, lundi_tensor **gin) {
  lundi_tensor *qf = n->saved[0], *kf = n->saved[1], *vf = n->saved[2], *mv = n->saved[3];
  lundi_tensor *mask = n->in[3];
  lundi_device *dev = qf->storage->device;
  int nb = qf->ndim - 2;
  int64_t sc[LUNDI_MAX_DIMS];
  memcpy(sc, qf->shape, sizeof(int64_t) * (size_t)nb);
  sc[nb] = n->i[1], sc[nb + 1] = n->i[2];
  lundi_tensor *gc = lundi_contiguous(g);
  lundi_tensor *d[4] = {NULL, NULL, NULL, NULL};
  /* d[0] always exists so the call dispatches on it */
  d[0] = lundi_empty(qf->ndim, qf->shape, LUNDI_F32, dev);
  if (n->in[1]->requires_grad) d[1] = lundi_empty(kf->ndim, kf->shape, LUNDI_F32, dev);
  if (n->in[2]->requires_grad) d[2] = lundi_empty(vf->ndim, vf->shape, LUNDI_F32, dev);
  if (mask && mask->requires_grad) d[3] = lundi_empty(nb + 2, sc, LUNDI_F32, dev);
  int rc = -1;
  if (gc && d[0] && (d[1] || !n->in[1]->requires_grad) && (d[2] || !n->in[2]->requires_grad) &&
      (d[3] || !(mask && mask->requires_grad))) {
    lundi_kcall c = {.id = LUNDI_K_ATTN_BWD, .n_in = 6, .n_out = 4, .in = {qf, kf, vf, mv, gc, n->saved[4]},
                     .out = {d[0], d[1], d[2], d[3]}, .f = {n->f[0]}};
    memcpy(c.i, n->i, sizeof(int64_t) * 6);
    rc = lundi__run(&c);
  }
  lundi_release(gc);
  for (int k = 0; k < 4 && !rc; k++) {
    lundi_tensor *t = n->in[k];
    if (!t || !t->requires_grad || !d[k]) continue;
    gin[k] = lundi_sum_to(d[k], t->ndim, t->shape);
    if (!gin[k]) rc = -1;
  }
  for (int k = 0; k < 4; k++) lundi_release(d[k]);
  return rc ? -1 : 0;
}

static lundi_tensor *shape_err(const char *what, lundi_tensor *a, lundi_tensor *b) {
  char s1[160], s2[160];
  return lundi__errp(LUNDI_ESHAPE, "sdpa: %s (%s and %s)", what, lundi_shape_str(a->ndim, a->shape, s1, sizeof s1),
                     lundi_shape_str(b->ndim, b->shape, s2, sizeof s2));
}

lundi_tensor *lundi_sdpa(lundi_tensor *q, lundi_tensor *k, lundi_tensor *v, lundi_tensor *mask, int causal,
                         float scale) {
  char s1[160], s2[160], s3[160];
  if (lundi__check_f32("sdpa", "q", q) || lundi__check_f32("sdpa", "k", k) || lundi__check_f32("sdpa", "v", v) ||
      (mask && lundi__check_f32("sdpa", "mask", mask)))
    return NULL;
  lundi_tensor *all[4] = {q, k, v, mask};
  if (lundi__same_device("sdpa", 4, all)) return NULL;
  if (q->ndim < 2 || k->ndim < 2 || v->ndim < 2)
    return lundi__errp(LUNDI_ESHAPE, "sdpa: q %s, k %s, v %s must be [..., L, D], [..., S, D], [..., S, Dv]",
                       lundi_shape_str(q->ndim, q->shape, s1, sizeof s1), lundi_shape_str(k->ndim, k->shape, s2, sizeof s2),
                       lundi_shape_str(v->ndim, v->shape, s3, sizeof s3));
  int64_t L = q->shape[q->ndim - 2], D = q->shape[q->ndim - 1], S = k->shape[k->ndim - 2], Dv = v->shape[v->ndim - 1];
  if (k->shape[k->ndim - 1] != D) return shape_err("q and k differ in the last (head) dim", q, k);
  if (v->shape[v->ndim - 2] != S) return shape_err("k and v differ in sequence length", k, v);
  if (S == 0 || D == 0) return shape_err("keys and the head dim must be non-empty", q, k);
  int nb1, nb;
  int64_t b1[LUNDI_MAX_DIMS], bs[LUNDI_MAX_DIMS];
  if (lundi__broadcast_shape("sdpa (batch dims of q, k)", q->ndim - 2, q->shape, k->ndim - 2, k->shape, &nb1, b1) ||
      lundi__broadcast_shape("sdpa (batch dims of q, k, v)", nb1, b1, v->ndim - 2, v->shape, &nb, bs))
    return NULL;
  int64_t sq[LUNDI_MAX_DIMS], sk[LUNDI_MAX_DIMS], sv[LUNDI_MAX_DIMS], sc[LUNDI_MAX_DIMS], so[LUNDI_MAX_DIMS];
  memcpy(sq, bs, sizeof(int64_t) * (size_t)nb);
  memcpy(sk, bs, sizeof(int64_t) * (size_t)nb);
  memcpy(sv, bs, sizeof(int64_t) * (size_t)nb);
  memcpy(sc, bs, sizeof(int64_t) * (size_t)nb);
  memcpy(so, bs, sizeof(int64_t) * (size_t)nb);
  sq[nb] = L, sq[nb + 1] = D, sk[nb] = S, sk[nb + 1] = D, sv[nb] = S, sv[nb + 1] = Dv;
  sc[nb] = L, sc[nb + 1] = S, so[nb] = L, so[nb + 1] = Dv;
  if (mask) {
    int mnd;
    int64_t ms[LUNDI_MAX_DIMS];
    if (lundi__broadcast_shape("sdpa (mask)", mask->ndim, mask->shape, nb + 2, sc, &mnd, ms) || mnd != nb + 2 ||
        memcmp(ms, sc, sizeof(int64_t) * (size_t)mnd)) {
      lundi_clear_error();
      return lundi__errp(LUNDI_ESHAPE, "sdpa: mask %s does not broadcast to the scores %s",
                         lundi_shape_str(mask->ndim, mask->shape, s1, sizeof s1), lundi_shape_str(nb + 2, sc, s2, sizeof s2));
    }
  }
  if (!(scale > 0)) scale = (float)(1.0 / sqrt((double)D));
  lundi_device *dev = q->storage->device;
  lundi_tensor *qf = full_contig(q, nb + 2, sq), *kf = full_contig(k, nb + 2, sk), *vf = full_contig(v, nb + 2, sv);
  lundi_no_grad_enter();
  lundi_tensor *mv = mask ? lundi_expand(mask, nb + 2, sc) : NULL;
  lundi_no_grad_exit();
  lundi_tensor *out = lundi_empty(nb + 2, so, LUNDI_F32, dev), *lse = lundi_empty(nb + 1, sc, LUNDI_F32, dev);
  int64_t ki[6] = {lundi__numel(nb, bs), L, S, D, Dv, causal != 0};
  int rc = -1;
  if (qf && kf && vf && (mv || !mask) && out && lse) {
    lundi_kcall c = {.id = LUNDI_K_ATTN_FWD, .n_in = 4, .n_out = 2, .in = {qf, kf, vf, mv}, .out = {out, lse},
                     .f = {scale}};
    memcpy(c.i, ki, sizeof ki);
    rc = lundi__run(&c);
  }
  lundi_node *nd = rc ? NULL : lundi__record(out, "sdpa", sdpa_bw, 4, all);
  if (nd) {
    nd->saved[0] = lundi_retain(qf), nd->saved[1] = lundi_retain(kf), nd->saved[2] = lundi_retain(vf);
    nd->saved[3] = lundi_retain(mv), nd->saved[4] = lundi_retain(lse);
    memcpy(nd->i, ki, sizeof ki);
    nd->f[0] = scale;
  }
  lundi_release(qf);
  lundi_release(kf);
  lundi_release(vf);
  lundi_release(mv);
  lundi_release(lse);
  if (rc) {
    lundi_release(out);
    return NULL;
  }
  return out;
}
