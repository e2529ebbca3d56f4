/* Reductions (sum, mean, max) over axes, sum_to, and their gradients. */
#include "ops/ops_internal.h"

#include <string.h>

/* Output shape with reduced dims kept as 1; fills mask of reduced dims. */
static int reduced_shape(const char *op, const lundi_tensor *a, int n_axes, const int *axes, int64_t *kshape,
                         int *mask) {
  memset(mask, 0, sizeof(int) * LUNDI_MAX_DIMS);
  for (int k = 0; k < n_axes; k++) {
    int d;
    if (lundi__normalize_dim(op, axes[k], a->ndim, &d)) return -1;
    if (mask[d]) return lundi__err(LUNDI_EINVAL, "%s: axis %d listed twice", op, axes[k]);
    mask[d] = 1;
  }
  for (int d = 0; d < a->ndim; d++) {
    if (n_axes == 0) mask[d] = 1;
    kshape[d] = mask[d] ? 1 : a->shape[d];
  }
  return 0;
}

static lundi_tensor *reduce_raw(const char *op, int redop, lundi_tensor *a, const int64_t *kshape) {
  lundi_tensor *out = lundi_empty(a->ndim, kshape, LUNDI_F32, a->storage->device);
  if (!out) return NULL;
  lundi_kcall c = {.id = LUNDI_K_REDUCE, .n_in = 1, .n_out = 1, .in = {a}, .out = {out}, .i = {redop}};
  if (lundi__numel(a->ndim, a->shape) == 0 && redop != LUNDI_RED_SUM) {
    lundi_release(out);
    return lundi__errp(LUNDI_ESHAPE, "%s: cannot reduce an empty tensor", op);
  }
  if (lundi__run(&c)) {
    lundi_release(out);
    return NULL;
  }
  return out;
}

/* Drops the kept size-1 dims of a keepdim result (a view, recorded). */
static lundi_tensor *squeeze_mask(lundi_tensor *t, const int *mask) {
  int64_t shape[LUNDI_MAX_DIMS];
  int nd = 0;
  for (int d = 0; d < t->ndim; d++)
    if (!mask[d]) shape[nd++] = t->shape[d];
  lundi_tensor *r = lundi_reshape(t, nd, shape);
  lundi_release(t);
  return r;
}

static int sum_bw(lundi_node *n, lundi_tensor *g, lundi_tensor **gin) {
  lundi_tensor *x = n->in[0];
  lundi_tensor *gk = lundi_reshape(g, x->ndim, (const int64_t *)n->i); /* keepdim view */
  if (!gk) return -1;
  lundi_tensor *e = n->f[0] != 1.0 ? lundi_mul_scalar(gk, (float)n->f[0]) : lundi_retain(gk);
  lundi_release(gk);
  if (!e) return -1;
  lundi_tensor *x_ex = lundi_expand(e, x->ndim, x->shape);
  lundi_release(e);
  if (!x_ex) return -1;
  gin[0] = lundi_contiguous(x_ex);
  lundi_release(x_ex);
  return gin[0] ? 0 : -1;
}

static lundi_tensor *sum_mean(const char *op, int redop, lundi_tensor *a, int n_axes, const int *axes, int keepdim) {
  if (lundi__check_f32(op, "input", a)) return NULL;
  int64_t kshape[LUNDI_MAX_DIMS];
  int mask[LUNDI_MAX_DIMS];
  if (reduced_shape(op, a, n_axes, axes, kshape, mask)) return NULL;
  lundi_tensor *out = reduce_raw(op, redop, a, kshape);
  if (!out) return NULL;
  lundi_node *nd = lundi__record(out, op, sum_bw, 1, &a);
  if (nd) {
    memcpy(nd->i, kshape, sizeof(int64_t) * (size_t)a->ndim);
    int64_t cnt = 1;
    for (int d = 0; d < a->ndim; d++) if (mask[d]) cnt *= a->shape[d];
    nd->f[0] = redop == LUNDI_RED_MEAN ? 1.0 / (double)(cnt ? cnt : 1) : 1.0;
  }
  return keepdim ? out : squeeze_mask(out, mask);
}

lundi_tensor *lundi_sum(lundi_tensor *a, int n_axes, const int *axes, int keepdim) {
  return sum_mean("sum", LUNDI_RED_SUM, a, n_axes, axes, keepdim);
}

lundi_tensor *lundi_mean(lundi_tensor *a, int n_axes, const int *axes, int keepdim) {
  return sum_mean("mean", LUNDI_RED_MEAN, a, n_axes, axes, keepdim);
}

static int max_bw(lundi_node *n, lundi_tensor *g, lundi_tensor **gin) {
  lundi_tensor *x = n->in[0], *m = n->saved[0];
  lundi_tensor *gk = lundi_reshape(g, m->ndim, m->shape);
  lundi_tensor *gc = gk ? lundi_contiguous(gk) : NULL;
  lundi_release(gk);
  lundi_tensor *xc = gc ? lundi_contiguous(x) : NULL;
  lundi_tensor *out = xc ? lundi_empty(x->ndim, x->shape, LUNDI_F32, xc->storage->device) : NULL;
  int rc = -1;
  if (out && !lundi_fill_(out, 0.0f)) {
    lundi_kcall c = {.id = LUNDI_K_MAX_BWD, .n_in = 3, .n_out = 1, .in = {xc, m, gc}, .out = {out}};
    rc = lundi__run(&c);
  }
  lundi_release(gc);
  lundi_release(xc);
  if (rc) {
    lundi_release(out);
    return -1;
  }
  gin[0] = out;
  return 0;
}

lundi_tensor *lundi_max(lundi_tensor *a, int n_axes, const int *axes, int keepdim) {
  if (lundi__check_f32("max", "input", a)) return NULL;
  int64_t kshape[LUNDI_MAX_DIMS];
  int mask[LUNDI_MAX_DIMS];
  if (reduced_shape("max", a, n_axes, axes, kshape, mask)) return NULL;
  lundi_tensor *out = reduce_raw("max", LUNDI_RED_MAX, a, kshape);
  if (!out) return NULL;
  lundi_node *nd = lundi__record(out, "max", max_bw, 1, &a);
  if (nd) nd->saved[0] = lundi__alias(out);
  return keepdim ? out : squeeze_mask(out, mask);
}

lundi_tensor *lundi_sum_to(lundi_tensor *a, int ndim, const int64_t *shape) {
  char s1[160], s2[160];
  if (ndim > a->ndim) goto bad;
  int lead = a->ndim - ndim, axes[LUNDI_MAX_DIMS], n = 0;
  for (int d = 0; d < a->ndim; d++) {
    int j = d - lead;
    if (j < 0 || (shape[j] == 1 && a->shape[d] != 1)) axes[n++] = d;
    else if (shape[j] != a->shape[d]) goto bad;
  }
  if (n == 0) return lundi_reshape(a, ndim, shape);
  lundi_tensor *s = lundi_sum(a, n, axes, 1);
  if (!s) return NULL;
  lundi_tensor *r = lundi_reshape(s, ndim, shape);
  lundi_release(s);
  return r;
bad:
  return lundi__errp(LUNDI_ESHAPE, "sum_to: cannot reduce %s to %s", lundi_shape_str(a->ndim, a->shape, s1, sizeof s1),
                     lundi_shape_str(ndim, shape, s2, sizeof s2));
}
