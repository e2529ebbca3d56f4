/* Tensor and storage lifetime, creation and inspection. */
#include "tensor/tensor_internal.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

size_t lundi_dtype_size(lundi_dtype dt) {
  switch (dt) {
  case LUNDI_F32: case LUNDI_I32: return 4;
  case LUNDI_F16: case LUNDI_BF16: return 2;
  case LUNDI_U8: return 1;
  }
  return 0;
}

const char *lundi_dtype_name(lundi_dtype dt) {
  switch (dt) {
  case LUNDI_F32: return "f32";
  case LUNDI_F16: return "f16";
  case LUNDI_BF16: return "bf16";
  case LUNDI_I32: return "i32";
  case LUNDI_U8: return "u8";
  }
  return "?";
}

int lundi_dtype_from_name(const char *name, lundi_dtype *out) {
  static const lundi_dtype all[] = {LUNDI_F32, LUNDI_F16, LUNDI_BF16, LUNDI_I32, LUNDI_U8};
  for (size_t i = 0; name && i < sizeof all / sizeof all[0]; i++)
    if (!strcmp(name, lundi_dtype_name(all[i]))) return *out = all[i], 0;
  return lundi__err(LUNDI_EINVAL, "unknown dtype '%s' (expected f32, f16, bf16, i32 or u8)", name ? name : "(null)");
}

int lundi_dtype_is_integral(lundi_dtype dt) { return dt == LUNDI_I32 || dt == LUNDI_U8; }

int64_t lundi_nbytes(const lundi_tensor *t) { return lundi_numel(t) * (int64_t)lundi_dtype_size(t->dtype); }

char *lundi_shape_str(int ndim, const int64_t *shape, char *buf, size_t n) {
  size_t used = 0;
  used += (size_t)snprintf(buf, n, "[");
  for (int i = 0; i < ndim && used < n; i++)
    used += (size_t)snprintf(buf + used, n - used, i ? ",%lld" : "%lld", (long long)shape[i]);
  if (used < n) snprintf(buf + used, n - used, "]");
  return buf;
}

char *lundi_describe(const lundi_tensor *t, char *buf, size_t n) {
  char s[160];
  snprintf(buf, n, "%s%s %s", lundi_dtype_name(t->dtype), lundi_shape_str(t->ndim, t->shape, s, sizeof s),
           t->storage->device->name);
  return buf;
}

static int64_t live_tensors, live_bytes;
int64_t lundi_live_tensors(void) { return __atomic_load_n(&live_tensors, __ATOMIC_RELAXED); }
int64_t lundi_live_storage_bytes(void) { return __atomic_load_n(&live_bytes, __ATOMIC_RELAXED); }
static void count_tensor(int d) { __atomic_add_fetch(&live_tensors, d, __ATOMIC_RELAXED); }

static lundi_storage *storage_new(size_t nbytes, lundi_device *dev) {
  lundi_storage *s = calloc(1, sizeof *s);
  if (!s) return NULL;
  s->refcount = 1;
  s->device = dev;
  s->nbytes = nbytes;
  s->data = dev->backend->alloc(dev, nbytes ? nbytes : 1);
  if (!s->data) {
    free(s);
    return NULL;
  }
  __atomic_add_fetch(&live_bytes, (int64_t)nbytes, __ATOMIC_RELAXED);
  return s;
}

static void storage_release(lundi_storage *s) {
  if (!s || --s->refcount > 0) return;
  __atomic_sub_fetch(&live_bytes, (int64_t)s->nbytes, __ATOMIC_RELAXED);
  s->device->backend->free(s->device, s->data, s->nbytes ? s->nbytes : 1);
  free(s);
}

static int check_shape(const char *op, int ndim, const int64_t *shape) {
  if (ndim < 0 || ndim > LUNDI_MAX_DIMS)
    return lundi__err(LUNDI_ESHAPE, "%s: %d dims requested, at most %d are supported", op, ndim,
                      LUNDI_MAX_DIMS);
  for (int i = 0; i < ndim; i++)
    if (shape[i] < 0)
      return lundi__err(LUNDI_ESHAPE, "%s: negative size %lld in dim %d", op, (long long)shape[i], i);
  return 0;
}

lundi_tensor *lundi__alloc_like_shape(int ndim, const int64_t *shape, lundi_dtype dt,
                                      lundi_device *dev) {
  if (check_shape("empty", ndim, shape)) return NULL;
  if (!dev) dev = lundi_cpu();
  int64_t n = lundi__numel(ndim, shape);
  if (n > (int64_t)1 << 40) return lundi__errp(LUNDI_ENOMEM, "empty: %lld elements is too many", (long long)n);
  lundi_tensor *t = calloc(1, sizeof *t);
  if (!t) return lundi__errp(LUNDI_ENOMEM, "empty: out of host memory");
  lundi_clear_error(); /* a backend may explain the failure (device memory, limits) */
  t->storage = storage_new((size_t)n * lundi_dtype_size(dt), dev);
  if (!t->storage) {
    free(t);
    char s[160], why[768];
    snprintf(why, sizeof why, "%s", lundi_last_error());
    return lundi__errp(LUNDI_ENOMEM, "empty: cannot allocate %s %s (%zu bytes) on %s%s%s",
                       lundi_dtype_name(dt), lundi_shape_str(ndim, shape, s, sizeof s),
                       (size_t)n * lundi_dtype_size(dt), dev->name, why[0] ? ": " : "", why);
  }
  t->refcount = 1;
  count_tensor(1);
  t->ndim = ndim;
  t->dtype = dt;
  if (ndim) memcpy(t->shape, shape, sizeof(int64_t) * (size_t)ndim);
  lundi__contig_strides(ndim, shape, t->stride);
  return t;
}

lundi_tensor *lundi_empty(int ndim, const int64_t *shape, lundi_dtype dt, lundi_device *dev) {
  return lundi__alloc_like_shape(ndim, shape, dt, dev);
}

lundi_tensor *lundi_full(int ndim, const int64_t *shape, float value) {
  lundi_tensor *t = lundi_empty(ndim, shape, LUNDI_F32, NULL);
  if (t && lundi_fill_(t, value)) {
    lundi_release(t);
    return NULL;
  }
  return t;
}

lundi_tensor *lundi_zeros(int ndim, const int64_t *shape) { return lundi_full(ndim, shape, 0.0f); }
lundi_tensor *lundi_scalar(float value) { return lundi_full(0, NULL, value); }

lundi_tensor *lundi_scalar_on(float value, lundi_device *dev) {
  lundi_tensor *h = lundi_scalar(value), *s = h ? lundi_to_device(h, dev) : NULL;
  lundi_release(h);
  return s;
}

lundi_tensor *lundi_from_f32(int ndim, const int64_t *shape, const float *data) {
  lundi_tensor *t = lundi_empty(ndim, shape, LUNDI_F32, NULL);
  if (!t) return NULL;
  memcpy(t->storage->data, data, sizeof(float) * (size_t)lundi_numel(t));
  return t;
}

lundi_tensor *lundi_from_f32_as(int ndim, const int64_t *shape, const float *data, lundi_dtype dt) {
  lundi_tensor *t = lundi_from_f32(ndim, shape, data);
  if (!t || dt == LUNDI_F32) return t;
  lundi_tensor *c = lundi_to_dtype(t, dt);
  lundi_release(t);
  return c;
}

lundi_tensor *lundi_from_i32(int ndim, const int64_t *shape, const int32_t *data) {
  lundi_tensor *t = lundi_empty(ndim, shape, LUNDI_I32, NULL);
  if (!t) return NULL;
  memcpy(t->storage->data, data, sizeof(int32_t) * (size_t)lundi_numel(t));
  return t;
}

lundi_tensor *lundi_arange(float start, float end, float step) {
  if (step == 0 || (end - start) / step < 0)
    return lundi__errp(LUNDI_EINVAL, "arange: step %g cannot go from %g to %g", step, start, end);
  int64_t n = (int64_t)ceil((double)(end - start) / step);
  lundi_tensor *t = lundi_empty(1, &n, LUNDI_F32, NULL);
  if (!t) return NULL;
  float *p = t->storage->data;
  for (int64_t i = 0; i < n; i++) p[i] = start + (float)i * step;
  return t;
}

lundi_tensor *lundi_retain(lundi_tensor *t) {
  if (t) t->refcount++;
  return t;
}

void lundi_release(lundi_tensor *t) {
  if (!t || --t->refcount > 0) return;
  lundi_release(t->grad);
  if (t->node) ((lundi_node_head *)t->node)->release(t->node);
  storage_release(t->storage);
  count_tensor(-1);
  free(t);
}

lundi_tensor *lundi__view(lundi_tensor *base, int ndim, const int64_t *shape,
                          const int64_t *stride, int64_t offset) {
  lundi_tensor *t = calloc(1, sizeof *t);
  if (!t) return lundi__errp(LUNDI_ENOMEM, "view: out of host memory");
  t->refcount = 1;
  count_tensor(1);
  t->ndim = ndim;
  t->dtype = base->dtype;
  if (ndim) {
    memcpy(t->shape, shape, sizeof(int64_t) * (size_t)ndim);
    memcpy(t->stride, stride, sizeof(int64_t) * (size_t)ndim);
  }
  t->offset = offset;
  t->storage = base->storage;
  t->storage->refcount++;
  return t;
}

lundi_tensor *lundi__alias(lundi_tensor *t) {
  return lundi__view(t, t->ndim, t->shape, t->stride, t->offset);
}

lundi_tensor *lundi_detach(lundi_tensor *t) { return lundi__alias(t); }

int lundi_ndim(const lundi_tensor *t) { return t->ndim; }
int64_t lundi_dim(const lundi_tensor *t, int i) {
  if (i < 0) i += t->ndim;
  return (i >= 0 && i < t->ndim) ? t->shape[i] : 1;
}
const int64_t *lundi_shape(const lundi_tensor *t) { return t->shape; }
const int64_t *lundi_strides(const lundi_tensor *t) { return t->stride; }
int64_t lundi_numel(const lundi_tensor *t) { return lundi__numel(t->ndim, t->shape); }
lundi_dtype lundi_tensor_dtype(const lundi_tensor *t) { return t->dtype; }
lundi_device *lundi_tensor_device(const lundi_tensor *t) { return t->storage->device; }

int lundi_is_contiguous(const lundi_tensor *t) {
  int64_t s = 1;
  for (int i = t->ndim - 1; i >= 0; i--) {
    if (t->shape[i] != 1 && t->stride[i] != s) return 0;
    s *= t->shape[i];
  }
  return 1;
}

void *lundi_data(lundi_tensor *t) {
  if (!t->storage->device->is_host) return NULL;
  return (char *)t->storage->data + (size_t)t->offset * lundi_dtype_size(t->dtype);
}

int lundi__check_f32(const char *op, const char *arg, const lundi_tensor *t) {
  if (!t) return lundi__err(LUNDI_EINVAL, "%s: %s is NULL", op, arg);
  if (t->dtype != LUNDI_F32)
    return lundi__err(LUNDI_EINVAL, "%s: %s must be f32, got %s", op, arg, lundi_dtype_name(t->dtype));
  return 0;
}

int lundi__same_device(const char *op, int n, lundi_tensor *const *ts) {
  lundi_device *d = NULL;
  for (int i = 0; i < n; i++) {
    if (!ts[i]) continue;
    if (!d) d = ts[i]->storage->device;
    else if (ts[i]->storage->device != d)
      return lundi__err(LUNDI_EINVAL, "%s: tensors are on different devices (%s and %s)", op,
                        d->name, ts[i]->storage->device->name);
  }
  return 0;
}
