/* Datasets held in memory as tensors [N, ...]: each field is kept as contiguous f32 rows
 * [N, D], and a batch is the rows gathered with lundi_embedding's op (an exact copy), shaped
 * back to [n, ...] and converted back to i32 for i32 fields. */
#include "data/data_internal.h"

#include <stdlib.h>
#include <string.h>

typedef struct field {
  lundi_tensor *rows; /* f32 [N, D] */
  int was_i32;
  int nd; /* sample dims */
  int64_t shape[LUNDI_MAX_DIMS];
} field;

typedef struct tensors {
  int64_t n;
  int n_fields;
  field f[LUNDI_DATASET_MAX_FIELDS];
} tensors;

/* t [N, ...] -> contiguous f32 [N, prod(rest)] (NULL on error, message set). */
static lundi_tensor *as_rows(lundi_tensor *t, int *was_i32) {
  lundi_tensor *f = NULL;
  *was_i32 = lundi_tensor_dtype(t) == LUNDI_I32;
  if (lundi_tensor_dtype(t) == LUNDI_F32)
    f = lundi_retain(t);
  else if (*was_i32)
    f = lundi_to_dtype(t, LUNDI_F32);
  else
    return lundi_set_error(LUNDI_EINVAL, "dataset: tensors must be f32 or i32, got %s",
                           lundi_dtype_name(lundi_tensor_dtype(t))),
           NULL;
  if (!f) return NULL;
  int64_t shape[2] = {lundi_dim(f, 0), -1};
  if (lundi_numel(f) == 0) shape[1] = 0;
  lundi_tensor *c = lundi_contiguous(f), *r = c ? lundi_reshape(c, 2, shape) : NULL;
  lundi_release(f);
  lundi_release(c);
  return r;
}

static lundi_tensor *gather(const field *f, lundi_tensor *idx, int64_t b) {
  lundi_tensor *g = lundi_embedding(f->rows, idx);
  if (!g) return NULL;
  int64_t full[LUNDI_MAX_DIMS];
  full[0] = b;
  for (int d = 0; d < f->nd; d++) full[d + 1] = f->shape[d];
  lundi_tensor *r = lundi_reshape(g, f->nd + 1, full);
  lundi_release(g);
  if (r && f->was_i32) {
    lundi_tensor *i = lundi_to_dtype(r, LUNDI_I32);
    lundi_release(r);
    r = i;
  }
  return r;
}

static int64_t t_count(void *self) { return ((tensors *)self)->n; }

static int t_get(void *self, const int32_t *idx, int64_t n, lundi_device *dev, lundi_tensor **out) {
  tensors *ts = self;
  int64_t shape[1] = {n};
  lundi_tensor *h = lundi_from_i32(1, shape, idx), *on = NULL; /* the indices on the last device used */
  if (!h) return lundi_last_error_code();
  int rc = 0;
  for (int k = 0; k < ts->n_fields && rc == 0; k++) {
    const field *f = &ts->f[k];
    lundi_device *home = lundi_tensor_device(f->rows);
    if (!on || lundi_tensor_device(on) != home) {
      lundi_release(on);
      on = lundi_to_device(h, home);
    }
    lundi_tensor *b = on ? gather(f, on, n) : NULL;
    if (b && dev && dev != home) {
      lundi_tensor *moved = lundi_to_device(b, dev);
      lundi_release(b);
      b = moved;
    }
    out[k] = b;
    if (!b) rc = lundi_last_error_code() ? lundi_last_error_code() : LUNDI_ENOMEM;
  }
  lundi_release(on);
  lundi_release(h);
  return rc;
}

static void t_destroy(void *self) {
  tensors *ts = self;
  for (int k = 0; k < ts->n_fields; k++) lundi_release(ts->f[k].rows);
  free(ts);
}

lundi_dataset *lundi_dataset_from_tensors(int n_fields, lundi_tensor *const *fields) {
  if (n_fields < 1 || n_fields > LUNDI_DATASET_MAX_FIELDS || !fields) {
    lundi_set_error(LUNDI_EINVAL, "dataset: 1 to %d fields, got %d", LUNDI_DATASET_MAX_FIELDS, n_fields);
    return NULL;
  }
  for (int k = 0; k < n_fields; k++) {
    if (!fields[k] || lundi_ndim(fields[k]) < 1) {
      lundi_set_error(LUNDI_EINVAL, "dataset: field %d must have a batch dimension (got %s)", k,
                      fields[k] ? "a 0-dim tensor" : "NULL");
      return NULL;
    }
    if (lundi_dim(fields[k], 0) != lundi_dim(fields[0], 0)) {
      lundi_set_error(LUNDI_EINVAL, "dataset: field 0 has %lld samples but field %d has %lld; they must match",
                      (long long)lundi_dim(fields[0], 0), k, (long long)lundi_dim(fields[k], 0));
      return NULL;
    }
  }
  if (lundi_dim(fields[0], 0) > INT32_MAX) {
    lundi_set_error(LUNDI_EINVAL, "dataset: more than 2^31 samples");
    return NULL;
  }
  tensors *ts = calloc(1, sizeof *ts);
  if (!ts) {
    lundi_set_error(LUNDI_ENOMEM, "dataset: out of memory");
    return NULL;
  }
  ts->n = lundi_dim(fields[0], 0);
  lundi_no_grad_enter();
  for (int k = 0; k < n_fields; k++) {
    field *f = &ts->f[k];
    f->nd = lundi_ndim(fields[k]) - 1;
    memcpy(f->shape, lundi_shape(fields[k]) + 1, sizeof(int64_t) * (size_t)f->nd);
    f->rows = as_rows(fields[k], &f->was_i32);
    if (!f->rows) break;
    ts->n_fields = k + 1;
  }
  lundi_no_grad_exit();
  if (ts->n_fields < n_fields) {
    t_destroy(ts);
    return NULL;
  }
  static const lundi_dataset_source src = {t_count, t_get, t_destroy};
  return lundi_dataset_new(&src, ts, n_fields);
}

lundi_dataset *lundi_dataset_mnist(const char *split) {
  lundi_tensor *f[2] = {NULL, NULL};
  if (lundi_mnist_load(split, &f[0], &f[1]) != 0) return NULL;
  lundi_dataset *ds = lundi_dataset_from_tensors(2, f);
  lundi_release(f[0]);
  lundi_release(f[1]);
  return ds;
}
