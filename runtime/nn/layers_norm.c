/* Normalisation layers: GroupNorm, LayerNorm, RMSNorm. Scales start at 1, shifts at 0. */
#include "nn/nn_internal.h"

/* cfg_i[0] = groups (GroupNorm), cfg_i[1] = channels / dim; cfg_f[0] = eps. */
static lundi_module *norm_new(const char *type, int groups, int dim, float eps, int weight, int bias) {
  if (dim <= 0) return lundi__errp(LUNDI_EINVAL, "%s: size %d must be positive", type, dim);
  if (!(eps >= 0)) return lundi__errp(LUNDI_EINVAL, "%s: eps %g must be >= 0", type, eps);
  lundi_module *m = lundi_module_new(type);
  if (!m) return NULL;
  m->cfg_i[0] = groups;
  m->cfg_i[1] = dim;
  m->cfg_f[0] = eps;
  int64_t s[1] = {dim};
  if ((weight && !lundi__module_new_param(m, "weight", 1, s, LUNDI__INIT_FILL, 1, 0, NULL)) ||
      (bias && !lundi__module_new_param(m, "bias", 1, s, LUNDI__INIT_FILL, 0, 0, NULL))) {
    lundi_module_free(m);
    return NULL;
  }
  return m;
}

lundi_module *lundi_group_norm_new(int groups, int channels, float eps) {
  if (groups <= 0 || channels <= 0 || channels % groups)
    return lundi__errp(LUNDI_EINVAL, "group_norm_new: groups=%d must be positive and divide channels=%d", groups,
                       channels);
  return norm_new("GroupNorm", groups, channels, eps, 1, 1);
}

lundi_module *lundi_layer_norm_new(int dim, float eps, int affine) {
  return norm_new("LayerNorm", 0, dim, eps, affine, affine);
}

lundi_module *lundi_rms_norm_new(int dim, float eps) { return norm_new("RMSNorm", 0, dim, eps, 1, 0); }

lundi_tensor *lundi_group_norm_forward(lundi_module *m, lundi_tensor *x) {
  if (lundi__module_expect(m, "GroupNorm", "group_norm_forward")) return NULL;
  return lundi_group_norm(x, (int)m->cfg_i[0], lundi_param_list_find(&m->params, "weight"),
                          lundi_param_list_find(&m->params, "bias"), (float)m->cfg_f[0]);
}

lundi_tensor *lundi_layer_norm_forward(lundi_module *m, lundi_tensor *x) {
  if (lundi__module_expect(m, "LayerNorm", "layer_norm_forward")) return NULL;
  return lundi_layer_norm(x, lundi_param_list_find(&m->params, "weight"), lundi_param_list_find(&m->params, "bias"),
                          (float)m->cfg_f[0]);
}

lundi_tensor *lundi_rms_norm_forward(lundi_module *m, lundi_tensor *x) {
  if (lundi__module_expect(m, "RMSNorm", "rms_norm_forward")) return NULL;
  return lundi_rms_norm(x, lundi_param_list_find(&m->params, "weight"), (float)m->cfg_f[0]);
}
