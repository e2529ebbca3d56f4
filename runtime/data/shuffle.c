/* The order of an epoch (lundi_shuffle_indices). The rule is fixed: the demos' numbers
 * depend on drawing exactly these permutations from a seed. */
#include "data/data_internal.h"

#include <stdlib.h>

int lundi_shuffle_indices(lundi_rng *rng, int32_t *perm, int64_t n) {
  if (n < 0 || n > INT32_MAX || (n > 0 && !perm))
    return lundi_set_error(LUNDI_EINVAL, "shuffle: cannot order %lld samples (0 to 2^31 - 1)", (long long)n);
  for (int64_t i = 0; i < n; i++) perm[i] = (int32_t)i;
  if (!rng || n < 2) return 0;
  /* Fisher-Yates with one uniform draw per position: j = floor(u_i * (i + 1)). */
  int64_t shape[1] = {n};
  lundi_tensor *u = lundi_rand(rng, 1, shape);
  float *uf = u ? malloc(sizeof(float) * (size_t)n) : NULL;
  if (!u) return lundi_last_error_code() ? lundi_last_error_code() : LUNDI_ENOMEM;
  if (!uf) {
    lundi_release(u);
    return lundi_set_error(LUNDI_ENOMEM, "shuffle: out of memory for %lld draws", (long long)n);
  }
  int rc = lundi_read_f32(u, uf, n);
  lundi_release(u);
  if (rc != 0) {
    free(uf);
    return rc;
  }
  for (int64_t i = n - 1; i > 0; i--) {
    int64_t j = (int64_t)((double)uf[i] * (double)(i + 1));
    if (j > i) j = i;
    int32_t t = perm[i];
    perm[i] = perm[j];
    perm[j] = t;
  }
  free(uf);
  return 0;
}
