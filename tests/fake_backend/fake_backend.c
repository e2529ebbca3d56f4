/* A test-only backend outside the library: "fake", one device ("fake:0") whose storage is
 * plain host memory reached only through upload/download, with its own fill and copy
 * kernels and nothing else. It shows that a backend is a folder filling two structs
 * (core/backend.h, core/backend_desc.h) and needs no edit to the core: the plugin loader
 * finds LUNDI_BACKEND_EXPORT and the device registry lists it. */
#include "core/backend_desc.h"
#include "tensor/tensor_internal.h"

#include <stdlib.h>
#include <string.h>

static int64_t live_bytes;

static void *fake_alloc(lundi_device *dev, size_t n) {
  (void)dev;
  void *p = calloc(1, n ? n : 1);
  if (p) __atomic_add_fetch(&live_bytes, (int64_t)n, __ATOMIC_RELAXED);
  return p;
}

static void fake_free(lundi_device *dev, void *p, size_t n) {
  (void)dev;
  if (!p) return;
  free(p);
  __atomic_sub_fetch(&live_bytes, (int64_t)n, __ATOMIC_RELAXED);
}

static int fake_upload(lundi_device *dev, void *dst, size_t off, const void *src, size_t n) {
  (void)dev;
  memcpy((char *)dst + off, src, n);
  return 0;
}

static int fake_download(lundi_device *dev, const void *src, size_t off, void *dst, size_t n) {
  (void)dev;
  memcpy(dst, (const char *)src + off, n);
  return 0;
}

static int fake_sync(lundi_device *dev) { return (void)dev, 0; }

/* Byte address of element k (in row-major order of t's shape) of the view t. */
static char *element(const lundi_tensor *t, int64_t k) {
  int64_t at = t->offset;
  for (int d = t->ndim - 1; d >= 0; d--) {
    at += k % t->shape[d] * t->stride[d];
    k /= t->shape[d];
  }
  return (char *)t->storage->data + at * (int64_t)lundi_dtype_size(t->dtype);
}

static int64_t count(const lundi_tensor *t) {
  int64_t n = 1;
  for (int d = 0; d < t->ndim; d++) n *= t->shape[d];
  return n;
}

static int fake_fill(const lundi_kcall *c) {
  lundi_tensor *o = c->out[0];
  float f = (float)c->f[0];
  int32_t i = (int32_t)c->f[0];
  if (o->dtype != LUNDI_F32 && o->dtype != LUNDI_I32)
    return lundi__err(LUNDI_EUNSUPPORTED, "fake fill: dtype %s", lundi_dtype_name(o->dtype));
  for (int64_t k = 0, n = count(o); k < n; k++) memcpy(element(o, k), o->dtype == LUNDI_F32 ? (void *)&f : (void *)&i, 4);
  return 0;
}

static int fake_copy(const lundi_kcall *c) {
  const lundi_tensor *x = c->in[0];
  lundi_tensor *o = c->out[0];
  size_t es = lundi_dtype_size(o->dtype);
  if (x->dtype != o->dtype) return lundi__err(LUNDI_EUNSUPPORTED, "fake copy: %s to %s", lundi_dtype_name(x->dtype),
                                              lundi_dtype_name(o->dtype));
  for (int64_t k = 0, n = count(o); k < n; k++) memmove(element(o, k), element(x, k), es);
  return 0;
}

static const lundi_backend fake_kernels = {
    .name = "fake", .alloc = fake_alloc, .free = fake_free, .upload = fake_upload,
    .download = fake_download, .sync = fake_sync,
    .kernels = {[LUNDI_K_FILL] = fake_fill, [LUNDI_K_COPY] = fake_copy},
};

static lundi_device fake_device = {.backend = &fake_kernels, .name = "fake:0", .is_host = 0};

static int fake_count(void) { return 1; }

static int fake_info(int index, lundi_device_info *o) {
  if (index != 0) return lundi__err(LUNDI_EINVAL, "device_info: no fake device %d", index);
  memset(o, 0, sizeof *o);
  strcpy(o->name, "fake host-memory device (tests)");
  o->type = "other";
  strcpy(o->driver, "lundi test backend");
  return 0;
}

static int fake_rank(int index) { return (void)index, LUNDI_RANK_OTHER; } /* never auto */

static lundi_device *fake_open(int index) {
  if (index != 0) return lundi__errp(LUNDI_EINVAL, "fake:%d: no such device", index);
  return &fake_device;
}

static int fake_memory(lundi_device *dev, uint64_t *used, uint64_t *reserved) {
  (void)dev;
  *used = *reserved = (uint64_t)__atomic_load_n(&live_bytes, __ATOMIC_RELAXED);
  return 0;
}

static const lundi_backend_desc fake_desc = {
    .name = "fake", .label = "fake", .single = 0, .kernel_count = LUNDI_K_COUNT,
    .device_count = fake_count, .device_info = fake_info, .rank = fake_rank, .open = fake_open,
    .memory = fake_memory, .unavailable = NULL,
};

LUNDI_BACKEND_EXPORT(fake_desc)
