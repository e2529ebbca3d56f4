/* Tensor text for printing: nested values for small tensors, the description otherwise. */
#include <stdarg.h>
#include <stdio.h>

#include "tensor/format.h"
#include "tensor/tensor_internal.h"

typedef struct text {
  char *s;
  size_t n, len;
} text;

static void put(text *o, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static void put(text *o, const char *fmt, ...) {
  if (o->len >= o->n) return; /* already truncated */
  va_list ap;
  va_start(ap, fmt);
  int k = vsnprintf(o->s + o->len, o->n - o->len, fmt, ap);
  va_end(ap);
  if (k > 0) o->len += (size_t)k;
}

/* Nested "[[1, 2], [3, 4]]" from the row-major values v; returns the values left. */
static const float *values(text *o, const float *v, int d, const lundi_tensor *t, int integral) {
  if (d == t->ndim) {
    if (integral) put(o, "%lld", (long long)*v);
    else put(o, "%.6g", (double)*v);
    return v + 1;
  }
  put(o, "[");
  for (int64_t i = 0; i < t->shape[d]; i++) {
    if (i) put(o, ", ");
    v = values(o, v, d + 1, t, integral);
  }
  put(o, "]");
  return v;
}

char *lundi__format_tensor(const lundi_tensor *t, char *buf, size_t n) {
  text o = {buf, n, 0};
  const char *grad = t->requires_grad ? ", requires_grad" : "";
  float v[LUNDI__FORMAT_MAX];
  int64_t count = lundi_numel(t);
  if (n) buf[0] = '\0';
  if (count > LUNDI__FORMAT_MAX || lundi_read_f32(t, v, count) != 0) {
    char desc[160];
    put(&o, "tensor(%s%s)", lundi_describe(t, desc, sizeof desc), grad);
    return buf;
  }
  put(&o, "tensor(");
  values(&o, v, 0, t, t->dtype == LUNDI_I32 || t->dtype == LUNDI_U8);
  put(&o, ", %s %s%s)", lundi_dtype_name(t->dtype), t->storage->device->name, grad);
  return buf;
}
