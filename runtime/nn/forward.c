/* One forward for every built-in layer, chosen by the module's type name (m(x) in Lua). */
#include "nn/nn_internal.h"

#include <string.h>

typedef lundi_tensor *(*forward_fn)(lundi_module *, lundi_tensor *);
static const struct {
  const char *type;
  forward_fn fn;
} forwards[] = {
  {"Linear", lundi_linear_forward},       {"Conv2d", lundi_conv2d_forward},   {"Conv1d", lundi_conv1d_forward},
  {"GroupNorm", lundi_group_norm_forward}, {"LayerNorm", lundi_layer_norm_forward},
  {"RMSNorm", lundi_rms_norm_forward},    {"Embedding", lundi_embedding_forward},
};

lundi_tensor *lundi_layer_forward(lundi_module *m, lundi_tensor *x, lundi_tensor *ctx, lundi_tensor *mask, int causal) {
  if (!m || !x) return lundi__errp(LUNDI_EINVAL, "forward: module and input must be non-NULL");
  const char *type = lundi_module_type(m);
  if (!strcmp(type, "MultiheadAttention")) return lundi_mha_forward(m, x, ctx, mask, causal);
  for (size_t i = 0; i < sizeof forwards / sizeof forwards[0]; i++)
    if (!strcmp(type, forwards[i].type)) return forwards[i].fn(m, x);
  return lundi__errp(LUNDI_EUNSUPPORTED, "forward: a %s module has no forward of its own (only built-in layers do)",
                     type);
}
