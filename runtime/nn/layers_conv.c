/* Conv1d / Conv2d layers: weight [cout, cin/groups, k(, k)], bias [cout], PyTorch's
 * default init (fan_in = cin/groups * kernel area). */
#include "nn/nn_internal.h"

#include <string.h>

/* cfg_i: [0] cin, [1] cout, [2] kernel; m->conv holds the conv parameters. */
static lundi_module *conv_new(const char *type, int spatial, int cin, int cout, int kernel,
                              const lundi_conv_params *p, int bias, lundi_rng *rng) {
  lundi_conv_params cp;
  if (p) cp = *p;
  else memset(&cp, 0, sizeof cp);
  int g = cp.groups > 0 ? cp.groups : 1;
  if (cin <= 0 || cout <= 0 || kernel <= 0)
    return lundi__errp(LUNDI_EINVAL, "%s: cin=%d, cout=%d and kernel=%d must be positive", type, cin, cout, kernel);
  if (cp.groups < 0 || cin % g || cout % g)
    return lundi__errp(LUNDI_EINVAL, "%s: groups=%d must divide cin=%d and cout=%d", type, cp.groups, cin, cout);
  if (!rng) return lundi__errp(LUNDI_EINVAL, "%s: rng is NULL", type);
  lundi_module *m = lundi_module_new(type);
  if (!m) return NULL;
  m->cfg_i[0] = cin;
  m->cfg_i[1] = cout;
  m->cfg_i[2] = kernel;
  m->conv = cp;
  int64_t ws[4] = {cout, cin / g, kernel, kernel}, bs[1] = {cout};
  int64_t fan_in = (int64_t)(cin / g) * kernel * (spatial == 2 ? kernel : 1);
  float bound = lundi__fan_in_bound(fan_in);
  if (!lundi__module_new_param(m, "weight", 2 + spatial, ws, LUNDI__INIT_UNIFORM, -bound, bound, rng) ||
      (bias && !lundi__module_new_param(m, "bias", 1, bs, LUNDI__INIT_UNIFORM, -bound, bound, rng))) {
    lundi_module_free(m);
    return NULL;
  }
  return m;
}

lundi_module *lundi_conv2d_new(int cin, int cout, int kernel, const lundi_conv_params *p, int bias,
                               lundi_rng *rng) {
  return conv_new("Conv2d", 2, cin, cout, kernel, p, bias, rng);
}

lundi_module *lundi_conv1d_new(int cin, int cout, int kernel, const lundi_conv_params *p, int bias,
                               lundi_rng *rng) {
  return conv_new("Conv1d", 1, cin, cout, kernel, p, bias, rng);
}

lundi_tensor *lundi_conv2d_forward(lundi_module *m, lundi_tensor *x) {
  if (lundi__module_expect(m, "Conv2d", "conv2d_forward")) return NULL;
  return lundi_conv2d(x, lundi_param_list_find(&m->params, "weight"), lundi_param_list_find(&m->params, "bias"),
                      &m->conv);
}

lundi_tensor *lundi_conv1d_forward(lundi_module *m, lundi_tensor *x) {
  if (lundi__module_expect(m, "Conv1d", "conv1d_forward")) return NULL;
  return lundi_conv1d(x, lundi_param_list_find(&m->params, "weight"), lundi_param_list_find(&m->params, "bias"),
                      &m->conv);
}
