/* Non-finite values in loaded weights: a corrupt checkpoint (overwritten bytes read as NaN or
 * Inf) must fail where it is loaded, naming the tensor, not as a black sample much later. */
#include "nn/nn_internal.h"

#include <math.h>
#include <stdlib.h>

static int is_float(lundi_dtype dt) { return dt == LUNDI_F32 || dt == LUNDI_F16 || dt == LUNDI_BF16; }

int lundi_param_list_check_finite(const lundi_param_list *l, const char *what) {
  if (!l) return lundi__err(LUNDI_EINVAL, "check_finite: NULL list");
  for (int i = 0; i < l->n; i++) {
    lundi_tensor *t = l->tensors[i];
    if (!is_float(t->dtype)) continue;
    int64_t n = lundi_numel(t), bad = 0, first = -1;
    float *v = malloc(sizeof *v * (size_t)(n ? n : 1));
    if (!v) return lundi__err(LUNDI_ENOMEM, "%s: out of memory checking '%s'", what, l->names[i]);
    int rc = lundi_read_f32(t, v, n);
    for (int64_t k = 0; rc == 0 && k < n; k++)
      if (!isfinite(v[k])) {
        if (first < 0) first = k;
        bad++;
      }
    free(v);
    if (rc) return rc;
    if (bad)
      return lundi__err(LUNDI_EFORMAT,
                        "%s: tensor '%s' holds %lld NaN or Inf value(s) of %lld (the first at flat index %lld); "
                        "the file is corrupt or the training that wrote it diverged",
                        what, l->names[i], (long long)bad, (long long)n, (long long)first);
  }
  return 0;
}
