/* Strided views (reshape, permute, slice, expand) and their backward passes. */
#include "core/internal.h"

#include <string.h>

int lundi__normalize_dim(const char *op, int dim, int ndim, int *out) {
  int d = dim < 0 ? dim + ndim : dim;
  if (d < 0 || d >= (ndim > 0 ? ndim : 1))
    return lundi__err(LUNDI_EINVAL, "%s: dim %d is out of range for a %d-dim tensor", op, dim, ndim);
  *out = d;
  return 0;
}

/* ---- reshape ---- */

/* Strides for viewing t as (ndim, shape) without a copy, if possible (PyTorch's rule:
 * each run of merged input dims must be contiguous within itself). */
static int view_strides(const lundi_tensor *t, int ndim, const int64_t *shape, int64_t *st) {
  if (lundi_is_contiguous(t)) {
    lundi__contig_strides(ndim, shape, st);
    return 1;
  }
  int i = 0, o = 0;
  while (i < t->ndim || o < ndim) {
    /* skip size-1 dims */
    if (o < ndim && shape[o] == 1) { st[o] = 1; o++; continue; }
    if (i < t->ndim && t->shape[i] == 1) { i++; continue; }
    if (i >= t->ndim || o >= ndim) return 0;
    /* gather a group of input dims [i, ie) forming one contiguous chunk matching outputs */
    int64_t in_n = t->shape[i], out_n = shape[o];
    int ie = i + 1, oe = o + 1;
    while (in_n != out_n) {
      if (in_n < out_n) {
        if (ie >= t->ndim) return 0;
        if (t->shape[ie] == 1) { ie++; continue; }
        if (t->stride[ie - 1] != t->stride[ie] * t->shape[ie]) {
          /* the previous non-1 dim must chain to this one */
          int pj = ie - 1;
          while (pj > i && t->shape[pj] == 1) pj--;
          if (t->stride[pj] != t->stride[ie] * t->shape[ie]) return 0;
        }
        in_n *= t->shape[ie++];
      } else {
        if (oe >= ndim) return 0;
        out_n *= shape[oe++];
      }
    }
    /* input group must be internally contiguous */
    int last = ie - 1;
    while (last > i && t->shape[last] == 1) last--;
    for (int j = i; j < last; j++) {
      if (t->shape[j] == 1) continue;
      int nx = j + 1;
      while (t->shape[nx] == 1) nx++;
      if (t->stride[j] != t->stride[nx] * t->shape[nx]) return 0;
    }
    int64_t s = t->stride[last];
    for (int j = oe - 1; j >= o; j--) {
      st[j] = s;
      s *= shape[j];
    }
    i = ie;
    o = oe;
  }
  return 1;
}

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
  if (view_strides(t, ndim, shape, st)) {
    out = lundi__view(t, ndim, shape, st, t->offset);
  } else {
    lundi_no_grad_enter();
    lundi_tensor *c = lundi_contiguous(t);
    lundi_no_grad_exit();
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

int lundi_copy_(lundi_tensor *dst, lundi_tensor *src) {
  char s1[160], s2[160];
  if (dst->ndim != src->ndim || memcmp(dst->shape, src->shape, sizeof(int64_t) * (size_t)dst->ndim))
    return lundi__err(LUNDI_ESHAPE, "copy: destination %s and source %s differ",
                      lundi_shape_str(dst->ndim, dst->shape, s1, sizeof s1),
                      lundi_shape_str(src->ndim, src->shape, s2, sizeof s2));
  if (dst->dtype != src->dtype)
    return lundi__err(LUNDI_EINVAL, "copy: dtypes differ (%s and %s); use lundi_to_dtype",
                      lundi_dtype_name(dst->dtype), lundi_dtype_name(src->dtype));
  lundi_kcall c = {.id = LUNDI_K_COPY, .n_in = 1, .n_out = 1, .in = {src}, .out = {dst}};
  return lundi__dispatch(&c);
}

int lundi_fill_(lundi_tensor *dst, float value) {
  lundi_kcall c = {.id = LUNDI_K_FILL, .n_out = 1, .out = {dst}, .f = {value}};
  return lundi__dispatch(&c);
}

lundi_tensor *lundi_clone(lundi_tensor *t) {
  lundi_tensor *out = lundi_empty(t->ndim, t->shape, t->dtype, t->storage->device);
  if (!out) return NULL;
  if (lundi_copy_(out, t)) {
    lundi_release(out);
    return NULL;
  }
  lundi__record(out, "clone", identity_bw, 1, &t);
  return out;
}

lundi_tensor *lundi_contiguous(lundi_tensor *t) {
  if (lundi_is_contiguous(t)) return lundi_retain(t);
  return lundi_clone(t);
}

lundi_tensor *lundi_detach(lundi_tensor *t) { return lundi__alias(t); }

lundi_tensor *lundi_to_dtype(lundi_tensor *t, lundi_dtype dt) {
  lundi_tensor *src = lundi_contiguous(t);
  if (!src) return NULL;
  lundi_tensor *out = lundi_empty(t->ndim, t->shape, dt, t->storage->device);
  if (out) {
    lundi_kcall c = {.id = LUNDI_K_CAST, .n_in = 1, .n_out = 1, .in = {src}, .out = {out}};
    if (lundi__dispatch(&c)) {
      lundi_release(out);
      out = NULL;
    }
  }
  lundi_release(src);
  return out;
}

lundi_tensor *lundi_to_device(lundi_tensor *t, lundi_device *dev) {
  if (t->storage->device == dev) return lundi_retain(t);
  lundi_tensor *src = lundi_contiguous(t);
  if (!src) return NULL;
  lundi_tensor *out = lundi_empty(t->ndim, t->shape, t->dtype, dev);
  int rc = -1;
  if (out) {
    size_t nb = (size_t)lundi_numel(t) * lundi_dtype_size(t->dtype);
    size_t off = (size_t)src->offset * lundi_dtype_size(t->dtype);
    lundi_device *sd = src->storage->device;
    if (sd->is_host)
      rc = dev->backend->upload(dev, out->storage->data, 0, (char *)src->storage->data + off, nb);
    else if (dev->is_host)
      rc = sd->backend->download(sd, src->storage->data, off, out->storage->data, nb);
    else
      rc = lundi__err(LUNDI_EUNSUPPORTED, "to_device: %s -> %s needs a host hop", sd->name, dev->name);
  }
  lundi_release(src);
  if (rc) {
    lundi_release(out);
    return NULL;
  }
  return out;
}

int lundi_move_to_device_(lundi_tensor *t, lundi_device *dev) {
  if (!t || !dev) return lundi__err(LUNDI_EINVAL, "move_to_device_: tensor and device must be non-NULL");
  if (t->node)
    return lundi__err(LUNDI_EINVAL, "move_to_device_: only leaf tensors can move in place (this one came from an op)");
  if (t->storage->device == dev && (!t->grad || t->grad->storage->device == dev)) return 0;
  lundi_tensor *m = lundi_to_device(t, dev), *g = m && t->grad ? lundi_to_device(t->grad, dev) : NULL;
  if (!m || (t->grad && !g)) {
    lundi_release(m);
    return lundi_last_error_code();
  }
  /* Swap storages so every holder of t (optimisers, parameter lists) sees the new place. */
  lundi_storage *old = t->storage;
  t->storage = m->storage;
  m->storage = old;
  t->offset = 0;
  lundi__contig_strides(t->ndim, t->shape, t->stride);
  lundi_release(m);
  lundi_release(t->grad);
  t->grad = g;
  return 0;
}

/* ---- host transfers ---- */

static lundi_tensor *host_contig(const lundi_tensor *t) {
  lundi_tensor *tt = (lundi_tensor *)t;
  lundi_no_grad_enter();
  lundi_tensor *c = lundi_contiguous(tt);
  lundi_no_grad_exit();
  if (!c) return NULL;
  lundi_tensor *h = lundi_to_device(c, lundi_cpu());
  lundi_release(c);
  return h;
}

int lundi_read_f32(const lundi_tensor *t, float *dst, int64_t n) {
  if (n != lundi_numel(t))
    return lundi__err(LUNDI_EINVAL, "read_f32: buffer holds %lld values, tensor has %lld", (long long)n,
                      (long long)lundi_numel(t));
  lundi_tensor *h = host_contig(t);
  if (!h) return lundi_last_error_code();
  if (h->dtype == LUNDI_F32) {
    memcpy(dst, lundi__f32(h), sizeof(float) * (size_t)n);
  } else if (h->dtype == LUNDI_I32) {
    const int32_t *p = lundi__i32(h);
    for (int64_t i = 0; i < n; i++) dst[i] = (float)p[i];
  } else {
    lundi_release(h);
    return lundi__err(LUNDI_EINVAL, "read_f32: convert %s with lundi_to_dtype first", lundi_dtype_name(t->dtype));
  }
  lundi_release(h);
  return 0;
}

int lundi_write_f32(lundi_tensor *t, const float *src, int64_t n) {
  if (n != lundi_numel(t))
    return lundi__err(LUNDI_EINVAL, "write_f32: buffer holds %lld values, tensor has %lld", (long long)n,
                      (long long)lundi_numel(t));
  if (t->dtype != LUNDI_F32) return lundi__err(LUNDI_EINVAL, "write_f32: tensor is %s", lundi_dtype_name(t->dtype));
  lundi_tensor *h = lundi_from_f32(t->ndim, t->shape, src);
  if (!h) return lundi_last_error_code();
  lundi_tensor *d = lundi_to_device(h, t->storage->device);
  lundi_release(h);
  if (!d) return lundi_last_error_code();
  int rc = lundi_copy_(t, d);
  lundi_release(d);
  return rc;
}

int lundi_item(const lundi_tensor *t, float *out) {
  if (lundi_numel(t) != 1)
    return lundi__err(LUNDI_EINVAL, "item: tensor has %lld elements, not 1", (long long)lundi_numel(t));
  return lundi_read_f32(t, out, 1);
}

/* ---- broadcasting ---- */

int lundi__broadcast_shape(const char *op, int na, const int64_t *sa, int nb, const int64_t *sb,
                           int *nout, int64_t *out) {
  int n = na > nb ? na : nb;
  for (int i = 0; i < n; i++) {
    int ia = i - (n - na), ib = i - (n - nb);
    int64_t a = ia >= 0 ? sa[ia] : 1, b = ib >= 0 ? sb[ib] : 1;
    if (a != b && a != 1 && b != 1) {
      char s1[160], s2[160];
      return lundi__err(LUNDI_ESHAPE, "%s: shapes %s and %s do not broadcast (dim %d: %lld vs %lld)", op,
                        lundi_shape_str(na, sa, s1, sizeof s1), lundi_shape_str(nb, sb, s2, sizeof s2), i,
                        (long long)a, (long long)b);
    }
    out[i] = a == 1 ? b : a;
  }
  *nout = n;
  return 0;
}

void lundi__broadcast_strides(const lundi_tensor *t, int nout, const int64_t *out, int64_t *st) {
  int lead = nout - t->ndim;
  for (int i = 0; i < nout; i++) {
    int j = i - lead;
    st[i] = (j < 0 || (t->shape[j] == 1 && out[i] != 1)) ? 0 : t->stride[j];
  }
}
