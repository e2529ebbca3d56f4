/* An epoch over tensors in memory (lundi/data.h), checked in the words of its arguments
 * (x, y, batch_size) before the dataset and loader check again in theirs. */
#include "core/error.h"
#include "lundi/data.h"

lundi_loader *lundi_loader_from_tensors(lundi_tensor *x, lundi_tensor *y,
                                        const lundi_loader_opts *opts) {
  if (!x || !opts) return lundi__errp(LUNDI_EINVAL, "x and opts must not be NULL");
  if (opts->batch_size < 1)
    return lundi__errp(LUNDI_EINVAL, "batch_size must be >= 1, got %d", (int)opts->batch_size);
  if (lundi_ndim(x) < 1)
    return lundi__errp(LUNDI_EINVAL, "x must have a batch dimension (got a 0-dim tensor)");
  int64_t n = lundi_dim(x, 0);
  if (y && (lundi_ndim(y) < 1 || lundi_dim(y, 0) != n))
    return lundi__errp(LUNDI_EINVAL, "x has %lld samples but y has %lld; they must match",
                       (long long)n, (long long)(lundi_ndim(y) < 1 ? 0 : lundi_dim(y, 0)));
  if (n > INT32_MAX) return lundi__errp(LUNDI_EINVAL, "more than 2^31 samples");
  lundi_tensor *fields[2] = {x, y};
  lundi_dataset *ds = lundi_dataset_from_tensors(y ? 2 : 1, fields);
  if (!ds) return NULL;
  lundi_loader *ld = lundi_loader_new(ds, opts);
  lundi_dataset_release(ds); /* the loader holds it */
  return ld;
}
