/* Kernels run outside autograd: copy, fill, cast and the broadcast binary kernel, moves
 * between devices and host transfers. Nothing here records on the tape (lundi_clone and
 * lundi_contiguous, the differentiable copies, are in runtime/ops/views.c), and nothing falls
 * back to the CPU: every backend has these kernels. */
#include "tensor/tensor_internal.h"

#include <string.h>

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

lundi_tensor *lundi__copy_new(lundi_tensor *t) {
  lundi_tensor *out = lundi_empty(t->ndim, t->shape, t->dtype, t->storage->device);
  if (!out) return NULL;
  if (lundi_copy_(out, t)) {
    lundi_release(out);
    return NULL;
  }
  return out;
}

lundi_tensor *lundi__contiguous_copy(lundi_tensor *t) {
  if (lundi_is_contiguous(t)) return lundi_retain(t);
  return lundi__copy_new(t);
}

lundi_tensor *lundi_to_dtype(lundi_tensor *t, lundi_dtype dt) {
  lundi_tensor *src = lundi__contiguous_copy(t);
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
  lundi_tensor *src = lundi__contiguous_copy(t);
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
  lundi_tensor *c = lundi__contiguous_copy((lundi_tensor *)t);
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

/* The tape accumulates gradients with it; lundi_add & co. run it, then record. */
lundi_tensor *lundi__binary_kernel(const char *name, int op, lundi_tensor *a, lundi_tensor *b) {
  if (lundi__check_f32(name, "a", a) || lundi__check_f32(name, "b", b)) return NULL;
  lundi_tensor *ab[2] = {a, b};
  if (lundi__same_device(name, 2, ab)) return NULL;
  int nd;
  int64_t shape[LUNDI_MAX_DIMS], sa[LUNDI_MAX_DIMS], sb[LUNDI_MAX_DIMS];
  if (lundi__broadcast_shape(name, a->ndim, a->shape, b->ndim, b->shape, &nd, shape)) return NULL;
  lundi_tensor *out = lundi_empty(nd, shape, LUNDI_F32, a->storage->device);
  if (!out) return NULL;
  lundi__broadcast_strides(a, nd, shape, sa);
  lundi__broadcast_strides(b, nd, shape, sb);
  lundi_tensor *va = lundi__view(a, nd, shape, sa, a->offset);
  lundi_tensor *vb = lundi__view(b, nd, shape, sb, b->offset);
  int rc = -1;
  if (va && vb) {
    lundi_kcall c = {.id = LUNDI_K_BINARY, .n_in = 2, .n_out = 1, .in = {va, vb}, .out = {out}, .i = {op}};
    rc = lundi__dispatch(&c);
  }
  lundi_release(va);
  lundi_release(vb);
  if (rc) {
    lundi_release(out);
    return NULL;
  }
  return out;
}
