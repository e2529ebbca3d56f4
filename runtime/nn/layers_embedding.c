/* Embedding layer: weight [num, dim] drawn from N(0, 1), as PyTorch does. */
#include "nn/nn_internal.h"

/* cfg_i: [0] num, [1] dim. */
lundi_module *lundi_embedding_new(int num, int dim, lundi_rng *rng) {
  if (num <= 0 || dim <= 0) return lundi__errp(LUNDI_EINVAL, "embedding_new: num=%d and dim=%d must be positive", num, dim);
  if (!rng) return lundi__errp(LUNDI_EINVAL, "embedding_new: rng is NULL");
  lundi_module *m = lundi_module_new("Embedding");
  if (!m) return NULL;
  m->cfg_i[0] = num;
  m->cfg_i[1] = dim;
  int64_t s[2] = {num, dim};
  if (!lundi__module_new_param(m, "weight", 2, s, LUNDI__INIT_NORMAL, 0, 1, rng)) {
    lundi_module_free(m);
    return NULL;
  }
  return m;
}

lundi_tensor *lundi_embedding_forward(lundi_module *m, lundi_tensor *idx) {
  if (lundi__module_expect(m, "Embedding", "embedding_forward")) return NULL;
  return lundi_embedding(lundi_param_list_find(&m->params, "weight"), idx);
}
