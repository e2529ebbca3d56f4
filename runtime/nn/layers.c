/* Linear layer: weight [out, in], bias [out], PyTorch's default init. The other built-in
 * layers live in layers_<kind>.c, next to the op they wrap. */
#include "nn/nn_internal.h"

/* cfg_i: [0] in features, [1] out features. */
lundi_module *lundi_linear_new(int in, int out, int bias, lundi_rng *rng) {
  if (in <= 0 || out <= 0) return lundi__errp(LUNDI_EINVAL, "linear_new: in=%d and out=%d must be positive", in, out);
  if (!rng) return lundi__errp(LUNDI_EINVAL, "linear_new: rng is NULL");
  lundi_module *m = lundi_module_new("Linear");
  if (!m) return NULL;
  m->cfg_i[0] = in;
  m->cfg_i[1] = out;
  float bound = lundi__fan_in_bound(in);
  int64_t ws[2] = {out, in}, bs[1] = {out};
  if (!lundi__module_new_param(m, "weight", 2, ws, LUNDI__INIT_UNIFORM, -bound, bound, rng) ||
      (bias && !lundi__module_new_param(m, "bias", 1, bs, LUNDI__INIT_UNIFORM, -bound, bound, rng))) {
    lundi_module_free(m);
    return NULL;
  }
  return m;
}

lundi_tensor *lundi_linear_forward(lundi_module *m, lundi_tensor *x) {
  if (lundi__module_expect(m, "Linear", "linear_forward")) return NULL;
  return lundi_linear(x, lundi_param_list_find(&m->params, "weight"), lundi_param_list_find(&m->params, "bias"));
}
