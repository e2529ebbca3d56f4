/* The dataset object: a source (lundi/data.h), its state and a reference count. */
#include "data/data_internal.h"

#include <stdlib.h>

struct lundi_dataset {
  lundi_dataset_source src;
  void *self;
  int n_fields;
  int refs;
};

lundi_dataset *lundi_dataset_new(const lundi_dataset_source *src, void *self, int n_fields) {
  if (!src || !src->count || !src->get || n_fields < 1 || n_fields > LUNDI_DATASET_MAX_FIELDS) {
    if (src && src->destroy) src->destroy(self);
    lundi_set_error(LUNDI_EINVAL, "lundi_dataset_new: a source needs count() and get(), and 1 to %d fields (got %d)",
                    LUNDI_DATASET_MAX_FIELDS, n_fields);
    return NULL;
  }
  lundi_dataset *ds = calloc(1, sizeof *ds);
  if (!ds) {
    if (src->destroy) src->destroy(self);
    lundi_set_error(LUNDI_ENOMEM, "lundi_dataset_new: out of memory");
    return NULL;
  }
  ds->src = *src;
  ds->self = self;
  ds->n_fields = n_fields;
  ds->refs = 1;
  return ds;
}

lundi_dataset *lundi_dataset_retain(lundi_dataset *ds) {
  if (ds) ds->refs++;
  return ds;
}

void lundi_dataset_release(lundi_dataset *ds) {
  if (!ds || --ds->refs > 0) return;
  if (ds->src.destroy) ds->src.destroy(ds->self);
  free(ds);
}

int64_t lundi_dataset_count(lundi_dataset *ds) { return ds ? ds->src.count(ds->self) : 0; }
int lundi_dataset_fields(const lundi_dataset *ds) { return ds ? ds->n_fields : 0; }

int lundi_dataset_get(lundi_dataset *ds, const int32_t *idx, int64_t n, lundi_device *dev,
                      lundi_tensor **out) {
  if (!ds || !out || n < 0 || (n > 0 && !idx)) return lundi_set_error(LUNDI_EINVAL, "lundi_dataset_get: bad arguments");
  int64_t count = ds->src.count(ds->self);
  for (int64_t i = 0; i < n; i++)
    if (idx[i] < 0 || idx[i] >= count)
      return lundi_set_error(LUNDI_EINVAL, "lundi_dataset_get: index %d is outside the %lld samples", (int)idx[i],
                             (long long)count);
  for (int f = 0; f < ds->n_fields; f++) out[f] = NULL;
  lundi_no_grad_enter();
  int rc = ds->src.get(ds->self, idx, n, dev, out);
  lundi_no_grad_exit();
  if (rc != 0)
    for (int f = 0; f < ds->n_fields; f++) {
      lundi_release(out[f]);
      out[f] = NULL;
    }
  return rc;
}
