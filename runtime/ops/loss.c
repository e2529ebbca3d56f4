/* Losses with mean reduction: mean squared error (composed from elementwise ops) and
 * cross-entropy (one fused kernel each way). */
#include "ops/ops_internal.h"

#include <string.h>

static int same_shape(const lundi_tensor *a, const lundi_tensor *b) {
  return a->ndim == b->ndim && !memcmp(a->shape, b->shape, sizeof(int64_t) * (size_t)a->ndim);
}

lundi_tensor *lundi_mse_loss(lundi_tensor *pred, lundi_tensor *target) {
  char s1[160], s2[160];
  if (lundi__check_f32("mse_loss", "pred", pred) || lundi__check_f32("mse_loss", "target", target)) return NULL;
  /* Broadcasting here is almost always a bug (PyTorch warns), so shapes must match. */
  if (!same_shape(pred, target))
    return lundi__errp(LUNDI_ESHAPE, "mse_loss: pred %s and target %s differ",
                       lundi_shape_str(pred->ndim, pred->shape, s1, sizeof s1),
                       lundi_shape_str(target->ndim, target->shape, s2, sizeof s2));
  lundi_tensor *d = lundi_sub(pred, target);
  lundi_tensor *sq = d ? lundi_mul(d, d) : NULL;
  lundi_tensor *out = sq ? lundi_mean(sq, 0, NULL, 0) : NULL;
  lundi_release(d);
  lundi_release(sq);
  return out;
}

/* ---- cross-entropy ----
 * When nothing counts (all ignored or masked) the loss is 0 with a zero gradient, not
 * PyTorch's NaN, so one empty batch cannot poison a run. The mask is a weight and gets no
 * gradient. The logits are flattened to [R, C]. saved: 0 logits [R, C], 1 target [R], 2 lse [R],
 * 3 wsum, 4 mask [R] or NULL. i[0] = ignore_index, f[0] = label smoothing. */

static int ce_bw(lundi_node *n, lundi_tensor *g, lundi_tensor **gin) {
  lundi_tensor *x = n->in[0], *x2 = n->saved[0];
  lundi_tensor *gc = lundi_contiguous(g);
  lundi_tensor *gx = gc ? lundi_empty(2, x2->shape, LUNDI_F32, x2->storage->device) : NULL;
  int rc = -1;
  if (gx) {
    lundi_kcall c = {.id = LUNDI_K_CROSS_ENTROPY_BWD, .n_in = n->saved[4] ? 6 : 5, .n_out = 1,
                     .in = {x2, n->saved[1], n->saved[2], n->saved[3], gc, n->saved[4]}, .out = {gx},
                     .i = {n->i[0]}, .f = {n->f[0]}};
    rc = lundi__run(&c);
  }
  lundi_release(gc);
  if (!rc) {
    gin[0] = lundi_reshape(gx, x->ndim, x->shape);
    rc = gin[0] ? 0 : -1;
  }
  lundi_release(gx);
  return rc;
}

/* Every target must be ignore_index or a class in [0, C); checked on a host copy. */
static int check_targets(lundi_tensor *t, int64_t C, int ignore) {
  lundi_tensor *h = lundi_to_device(t, lundi_cpu());
  if (!h) return -1;
  const int32_t *p = lundi__i32(h);
  int64_t n = lundi_numel(h);
  int rc = 0;
  for (int64_t k = 0; k < n; k++)
    if (p[k] != ignore && (p[k] < 0 || p[k] >= C)) {
      rc = lundi__err(LUNDI_EINVAL,
                      "cross_entropy: target %d at position %lld is not a class in [0, %lld) nor ignore_index %d",
                      p[k], (long long)k, (long long)C, ignore);
      break;
    }
  lundi_release(h);
  return rc;
}

/* Contiguous [len] view of t (copied when needed), outside autograd. */
static lundi_tensor *flat(lundi_tensor *t, int nd, const int64_t *shape) {
  lundi_no_grad_enter();
  lundi_tensor *c = lundi_contiguous(t);
  lundi_no_grad_exit();
  if (!c) return NULL;
  int64_t st[2];
  lundi__contig_strides(nd, shape, st);
  lundi_tensor *v = lundi__view(c, nd, shape, st, c->offset);
  lundi_release(c);
  return v;
}

lundi_tensor *lundi_cross_entropy(lundi_tensor *logits, lundi_tensor *target, lundi_tensor *mask,
                                  int ignore_index, float label_smoothing) {
  char s1[160], s2[160];
  if (lundi__check_f32("cross_entropy", "logits", logits)) return NULL;
  if (!target || target->dtype != LUNDI_I32)
    return lundi__errp(LUNDI_EINVAL, "cross_entropy: target must be i32, got %s",
                       target ? lundi_dtype_name(target->dtype) : "NULL");
  if (mask && lundi__check_f32("cross_entropy", "mask", mask)) return NULL;
  lundi_tensor *all[3] = {logits, target, mask};
  if (lundi__same_device("cross_entropy", 3, all)) return NULL;
  if (!(label_smoothing >= 0.0f && label_smoothing < 1.0f))
    return lundi__errp(LUNDI_EINVAL, "cross_entropy: label_smoothing %g is outside [0, 1)", label_smoothing);
  int nd = logits->ndim;
  if (nd < 1 || target->ndim != nd - 1 || memcmp(target->shape, logits->shape, sizeof(int64_t) * (size_t)(nd - 1)))
    return lundi__errp(LUNDI_ESHAPE, "cross_entropy: target %s must be the logits %s without the class dim",
                       lundi_shape_str(target->ndim, target->shape, s1, sizeof s1),
                       lundi_shape_str(nd, logits->shape, s2, sizeof s2));
  if (mask && !same_shape(mask, target))
    return lundi__errp(LUNDI_ESHAPE, "cross_entropy: mask %s must have the target's shape %s",
                       lundi_shape_str(mask->ndim, mask->shape, s1, sizeof s1),
                       lundi_shape_str(target->ndim, target->shape, s2, sizeof s2));
  int64_t C = logits->shape[nd - 1], R = lundi__numel(nd - 1, logits->shape);
  if (C == 0) return lundi__errp(LUNDI_ESHAPE, "cross_entropy: logits %s have no classes",
                                 lundi_shape_str(nd, logits->shape, s1, sizeof s1));
  int64_t s2d[2] = {R, C}, s1d[1] = {R};
  lundi_device *dev = logits->storage->device;
  lundi_tensor *x2 = flat(logits, 2, s2d), *t1 = flat(target, 1, s1d), *m1 = mask ? flat(mask, 1, s1d) : NULL;
  lundi_tensor *loss = lundi_empty(0, NULL, LUNDI_F32, dev), *lse = lundi_empty(1, s1d, LUNDI_F32, dev);
  lundi_tensor *wsum = lundi_empty(0, NULL, LUNDI_F32, dev);
  int rc = -1;
  if (x2 && t1 && (m1 || !mask) && loss && lse && wsum && !check_targets(t1, C, ignore_index)) {
    lundi_kcall c = {.id = LUNDI_K_CROSS_ENTROPY_FWD, .n_in = m1 ? 3 : 2, .n_out = 3, .in = {x2, t1, m1},
                     .out = {loss, lse, wsum}, .i = {ignore_index}, .f = {label_smoothing}};
    rc = lundi__run(&c);
  }
  if (!rc) {
    lundi_node *n = lundi__record(loss, "cross_entropy", ce_bw, 1, &logits);
    if (n) {
      n->saved[0] = lundi_retain(x2);
      n->saved[1] = lundi_retain(t1);
      n->saved[2] = lundi_retain(lse);
      n->saved[3] = lundi_retain(wsum);
      n->saved[4] = lundi_retain(m1);
      n->i[0] = ignore_index;
      n->f[0] = label_smoothing;
    }
  }
  lundi_release(x2);
  lundi_release(t1);
  lundi_release(m1);
  lundi_release(lse);
  lundi_release(wsum);
  if (rc) {
    lundi_release(loss);
    return NULL;
  }
  return loss;
}
