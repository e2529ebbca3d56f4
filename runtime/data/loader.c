/* One epoch of batches over a dataset: the order is drawn when the loader is made, then
 * next() asks the source for batch_size samples at a time. */
#include "data/data_internal.h"

#include <stdlib.h>

struct lundi_loader {
  lundi_dataset *ds;
  lundi_device *device;
  int32_t *perm;
  int64_t n, pos, bs, index;
  int drop_last;
};

lundi_loader *lundi_loader_new(lundi_dataset *ds, const lundi_loader_opts *o) {
  if (!ds || !o) {
    lundi_set_error(LUNDI_EINVAL, "lundi_loader_new: NULL dataset or options");
    return NULL;
  }
  if (o->batch_size < 1) {
    lundi_set_error(LUNDI_EINVAL, "lundi_loader_new: batch_size must be >= 1, got %lld", (long long)o->batch_size);
    return NULL;
  }
  int64_t n = lundi_dataset_count(ds);
  if (n < 0 || n > INT32_MAX) {
    lundi_set_error(LUNDI_EINVAL, "lundi_loader_new: the dataset has %lld samples (0 to 2^31 - 1 work)", (long long)n);
    return NULL;
  }
  lundi_loader *ld = calloc(1, sizeof *ld);
  int32_t *perm = ld ? malloc(sizeof(int32_t) * (size_t)(n ? n : 1)) : NULL;
  if (!perm) {
    free(ld);
    lundi_set_error(LUNDI_ENOMEM, "lundi_loader_new: out of memory for %lld indices", (long long)n);
    return NULL;
  }
  if (lundi_shuffle_indices(o->rng, perm, n) != 0) {
    free(perm);
    free(ld);
    return NULL;
  }
  ld->ds = lundi_dataset_retain(ds);
  ld->device = o->device;
  ld->perm = perm;
  ld->n = n;
  ld->bs = o->batch_size;
  ld->drop_last = o->drop_last;
  return ld;
}

int lundi_loader_next(lundi_loader *ld, lundi_tensor **out, int64_t *index) {
  if (!ld || !out) return lundi_set_error(LUNDI_EINVAL, "lundi_loader_next: NULL loader or output");
  int64_t left = ld->n - ld->pos;
  if (left <= 0 || (ld->drop_last && left < ld->bs)) return 0;
  int64_t b = left < ld->bs ? left : ld->bs;
  int rc = lundi_dataset_get(ld->ds, ld->perm + ld->pos, b, ld->device, out);
  if (rc != 0) return rc;
  ld->pos += b;
  if (index) *index = ld->index;
  ld->index++;
  return 1;
}

int64_t lundi_loader_batches(const lundi_loader *ld) {
  if (!ld) return 0;
  return ld->drop_last ? ld->n / ld->bs : (ld->n + ld->bs - 1) / ld->bs;
}

const int32_t *lundi_loader_order(const lundi_loader *ld) { return ld ? ld->perm : NULL; }

void lundi_loader_free(lundi_loader *ld) {
  if (!ld) return;
  lundi_dataset_release(ld->ds);
  free(ld->perm);
  free(ld);
}
