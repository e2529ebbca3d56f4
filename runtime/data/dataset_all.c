/* A whole dataset at once (lundi/data.h): every sample, in order, as one tensor per field. */
#include <stdlib.h>

#include "core/error.h"
#include "lundi/data.h"

int lundi_dataset_all(lundi_dataset *ds, lundi_device *dev, lundi_tensor **out) {
  if (!ds || !out) return lundi__err(LUNDI_EINVAL, "dataset_all: dataset and out must not be NULL");
  int64_t n = lundi_dataset_count(ds);
  /* No prefix: callers name themselves ("text.lines: the dataset has ..."). */
  if (n < 0 || n > INT32_MAX)
    return lundi__err(LUNDI_EINVAL, "the dataset has %lld samples", (long long)n);
  int32_t *idx = malloc(sizeof *idx * (size_t)(n ? n : 1));
  if (!idx) return lundi__err(LUNDI_ENOMEM, "out of memory");
  for (int64_t i = 0; i < n; i++) idx[i] = (int32_t)i;
  int rc = lundi_dataset_get(ds, idx, n, dev, out);
  free(idx);
  return rc;
}
