/* The differentiable views (reshape, permute, slice, expand) and copies (clone,
 * contiguous), with their backward passes. The tensor floor builds the views themselves
 * (lundi__view, lundi__view_strides); this file records them on the tape. */
#include "ops/ops_internal.h"

#include <string.h>

/* ---- reshape ---- */

static int reshape_bw(lundi_node *n, lundi_tensor *g, lundi_tensor **gin) {
  lundi_tensor *c = lundi_contiguous(g);
  if (!c) return -1;
  gin[0] = lundi_reshape(c, (int)n->i[0], n->i + 1);
  lundi_release(c);
  return gin[0] ? 0 : -1;
}

lundi_tensor *lundi_reshape(lundi_tensor *t, int ndim, const int64_t *shape_in) {
  char s1[160], s2[160];
  if (ndim < 0 || ndim > LUNDI_MAX_DIMS)
    return lundi__errp(LUNDI_ESHAPE, "reshape: %d dims requested, at most %d supported", ndim, LUNDI_MAX_DIMS);
  int64_t shape[LUNDI_MAX_DIMS];
  int infer = -1;
  int64_t known = 1;
  for (int i = 0; i < ndim; i++) {
    shape[i] = shape_in[i];
    if (shape[i] == -1) {
      if (infer >= 0) return lundi__errp(LUNDI_ESHAPE, "reshape: more than one -1 in %s",
                                         lundi_shape_str(ndim, shape_in, s1, sizeof s1));
      infer = i;
    } else if (shape[i] < 0) {
      return lundi__errp(LUNDI_ESHAPE, "reshape: negative size in %s", lundi_shape_str(ndim, shape_in, s1, sizeof s1));
    } else {
      known *= shape[i];
    }
  }
  int64_t n = lundi_numel(t);
  if (infer >= 0) {
    if (known == 0 || n % known)
      return lundi__errp(LUNDI_ESHAPE, "reshape: cannot view %s as %s",
                         lundi_shape_str(t->ndim, t->shape, s1, sizeof s1), lundi_shape_str(ndim, shape_in, s2, sizeof s2));
    shape[infer] = n / known;
    known *= shape[infer];
  }
  if (known != n)
    return lundi__errp(LUNDI_ESHAPE, "reshape: cannot view %s (%lld elements) as %s",
                       lundi_shape_str(t->ndim, t->shape, s1, sizeof s1), (long long)n,
                       lundi_shape_str(ndim, shape_in, s2, sizeof s2));
  int64_t st[LUNDI_MAX_DIMS];
  lundi_tensor *out;
  if (lundi__view_strides(t, ndim, shape, st)) {
    out = lundi__view(t, ndim, shape, st, t->offset);
  } else {
    lundi_tensor *c = lundi__contiguous_copy(t); /* an implementation detail: no tape */
    if (!c) return NULL;
    lundi__contig_strides(ndim, shape, st);
    out = lundi__view(c, ndim, shape, st, c->offset);
    lundi_release(c);
  }
  if (!out) return NULL;
  lundi_node *nd = lundi__record(out, "reshape", reshape_bw, 1, &t);
  if (nd) {
    nd->i[0] = t->ndim;
    memcpy(nd->i + 1, t->shape, sizeof(int64_t) * (size_t)t->ndim);
  }
  return out;
}

lundi_tensor *lundi_unsqueeze(lundi_tensor *t, int dim) {
  int d = dim < 0 ? dim + t->ndim + 1 : dim;
  if (d < 0 || d > t->ndim || t->ndim >= LUNDI_MAX_DIMS)
    return lundi__errp(LUNDI_EINVAL, "unsqueeze: dim %d is out of range for a %d-dim tensor", dim, t->ndim);
  int64_t shape[LUNDI_MAX_DIMS];
  for (int i = 0, j = 0; i <= t->ndim; i++) shape[i] = i == d ? 1 : t->shape[j++];
  return lundi_reshape(t, t->ndim + 1, shape);
}

lundi_tensor *lundi_squeeze(lundi_tensor *t, int dim) {
  int d;
  if (lundi__normalize_dim("squeeze", dim, t->ndim, &d)) return NULL;
  if (t->ndim == 0 || t->shape[d] != 1)
    return lundi__errp(LUNDI_ESHAPE, "squeeze: dim %d has size %lld, not 1", dim,
                       (long long)(t->ndim ? t->shape[d] : 0));
  int64_t shape[LUNDI_MAX_DIMS];
  for (int i = 0, j = 0; i < t->ndim; i++)
    if (i != d) shape[j++] = t->shape[i];
  return lundi_reshape(t, t->ndim - 1, shape);
}

lundi_tensor *lundi_squeeze_all(lundi_tensor *t) {
  int64_t shape[LUNDI_MAX_DIMS];
  int nd = 0;
  for (int i = 0; i < t->ndim; i++)
    if (t->shape[i] != 1) shape[nd++] = t->shape[i];
  return lundi_reshape(t, nd, shape);
}

/* ---- permute ---- */

static int permute_bw(lundi_node *n, lundi_tensor *g, lundi_tensor **gin) {
  int inv[LUNDI_MAX_DIMS];
  for (int i = 0; i < g->ndim; i++) inv[n->i[i]] = i;
  gin[0] = lundi_permute(g, inv);
  return gin[0] ? 0 : -1;
}

lundi_tensor *lundi_permute(lundi_tensor *t, const int *perm) {
  int seen[LUNDI_MAX_DIMS] = {0};
  int64_t shape[LUNDI_MAX_DIMS], st[LUNDI_MAX_DIMS];
  for (int i = 0; i < t->ndim; i++) {
    int p = perm[i] < 0 ? perm[i] + t->ndim : perm[i];
    if (p < 0 || p >= t->ndim || seen[p]++)
      return lundi__errp(LUNDI_EINVAL, "permute: entry %d (%d) is not a valid, unused dim of a %d-dim tensor",
                         i, perm[i], t->ndim);
    shape[i] = t->shape[p];
    st[i] = t->stride[p];
  }
  lundi_tensor *out = lundi__view(t, t->ndim, shape, st, t->offset);
  if (!out) return NULL;
  lundi_node *nd = lundi__record(out, "permute", permute_bw, 1, &t);
  if (nd)
    for (int i = 0; i < t->ndim; i++) nd->i[i] = perm[i] < 0 ? perm[i] + t->ndim : perm[i];
  return out;
}

lundi_tensor *lundi_transpose(lundi_tensor *t, int d0, int d1) {
  int a, b;
  if (lundi__normalize_dim("transpose", d0, t->ndim, &a) || lundi__normalize_dim("transpose", d1, t->ndim, &b))
    return NULL;
  int perm[LUNDI_MAX_DIMS];
  for (int i = 0; i < t->ndim; i++) perm[i] = i;
  perm[a] = b;
  perm[b] = a;
  return lundi_permute(t, perm);
}

/* ---- slice ---- */

static int slice_bw(lundi_node *n, lundi_tensor *g, lundi_tensor **gin) {
  lundi_tensor *x = n->in[0];
  lundi_tensor *z = lundi_empty(x->ndim, x->shape, LUNDI_F32, x->storage->device);
  if (!z) return -1;
  lundi_tensor *v = NULL;
  if (lundi_fill_(z, 0)) goto fail;
  v = lundi_slice(z, (int)n->i[0], n->i[1], n->i[2], n->i[3]);
  if (!v || lundi_copy_(v, g)) goto fail;
  lundi_release(v);
  gin[0] = z;
  return 0;
fail:
  lundi_release(v);
  lundi_release(z);
  return -1;
}

lundi_tensor *lundi_slice(lundi_tensor *t, int dim, int64_t start, int64_t end, int64_t step) {
  int d;
  if (lundi__normalize_dim("slice", dim, t->ndim, &d)) return NULL;
  if (step <= 0) return lundi__errp(LUNDI_EINVAL, "slice: step must be positive, got %lld", (long long)step);
  int64_t n = t->shape[d];
  if (start < 0) start += n;
  if (end < 0) end += n;
  if (start < 0) start = 0;
  if (end > n) end = n;
  if (start > n) start = n;
  if (end < start) end = start;
  int64_t shape[LUNDI_MAX_DIMS], st[LUNDI_MAX_DIMS];
  memcpy(shape, t->shape, sizeof shape);
  memcpy(st, t->stride, sizeof st);
  shape[d] = (end - start + step - 1) / step;
  st[d] = t->stride[d] * step;
  lundi_tensor *out = lundi__view(t, t->ndim, shape, st, t->offset + start * t->stride[d]);
  if (!out) return NULL;
  lundi_node *nd = lundi__record(out, "slice", slice_bw, 1, &t);
  if (nd) {
    nd->i[0] = d;
    nd->i[1] = start;
    nd->i[2] = end;
    nd->i[3] = step;
  }
  return out;
}

/* ---- expand ---- */

static int expand_bw(lundi_node *n, lundi_tensor *g, lundi_tensor **gin) {
  gin[0] = lundi_sum_to(g, n->in[0]->ndim, n->in[0]->shape);
  return gin[0] ? 0 : -1;
}

lundi_tensor *lundi_expand(lundi_tensor *t, int ndim, const int64_t *shape_in) {
  char s1[160], s2[160];
  if (ndim < t->ndim || ndim > LUNDI_MAX_DIMS)
    return lundi__errp(LUNDI_ESHAPE, "expand: cannot expand %s to %d dims",
                       lundi_shape_str(t->ndim, t->shape, s1, sizeof s1), ndim);
  int64_t shape[LUNDI_MAX_DIMS], st[LUNDI_MAX_DIMS];
  int lead = ndim - t->ndim;
  for (int i = 0; i < ndim; i++) {
    int j = i - lead;
    int64_t have = j >= 0 ? t->shape[j] : 1;
    int64_t want = shape_in[i] == -1 ? have : shape_in[i];
    if (j >= 0 && have == want) {
      st[i] = t->stride[j];
    } else if (have == 1 && want >= 0) {
      st[i] = 0;
    } else {
      return lundi__errp(LUNDI_ESHAPE, "expand: cannot expand %s to %s",
                         lundi_shape_str(t->ndim, t->shape, s1, sizeof s1),
                         lundi_shape_str(ndim, shape_in, s2, sizeof s2));
    }
    shape[i] = want;
  }
  lundi_tensor *out = lundi__view(t, ndim, shape, st, t->offset);
  if (!out) return NULL;
  lundi__record(out, "expand", expand_bw, 1, &t);
  return out;
}

/* ---- copies ---- */

static int identity_bw(lundi_node *n, lundi_tensor *g, lundi_tensor **gin) {
  (void)n;
  gin[0] = lundi_retain(g);
  return 0;
}

lundi_tensor *lundi_clone(lundi_tensor *t) {
  lundi_tensor *out = lundi__copy_new(t);
  if (!out) return NULL;
  lundi__record(out, "clone", identity_bw, 1, &t);
  return out;
}

lundi_tensor *lundi_contiguous(lundi_tensor *t) {
  if (lundi_is_contiguous(t)) return lundi_retain(t);
  return lundi_clone(t);
}
