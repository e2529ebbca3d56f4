#include "common.h"

lundi_unet1d_config u1_tiny(void) {
  lundi_unet1d_config c = lundi_unet1d_defaults();
  c.action_dim = 2, c.global_cond_dim = 3;
  c.n_levels = 2, c.down_dims[0] = 4, c.down_dims[1] = 8;
  c.kernel_size = 3, c.n_groups = 2, c.step_embed_dim = 4;
  return c;
}

int u1_params(lundi_unet1d *u, lundi_param_list *out) {
  if (lundi_module_parameters(lundi_unet1d_module(u), out)) return -1;
  lundi_param_list_sort(out);
  return 0;
}

lundi_unet1d *u1_model(const lundi_unet1d_config *cfg, uint64_t seed) {
  lundi_rng rng = lundi_rng_make(seed);
  lundi_unet1d *u = lundi_unet1d_new(cfg, &rng);
  if (!u) return NULL;
  lundi_param_list p = {0};
  int rc = u1_params(u, &p);
  for (int i = 0; i < p.n && !rc; i++) {
    /* a GroupNorm's parameters are <path>.block.1.{weight,bias} */
    const char *name = p.names[i];
    size_t n = strlen(name);
    if (n > 15 && !strcmp(name + n - 15, ".block.1.weight")) rc = lundi_normal_(p.tensors[i], &rng, 1.0f, 0.3f);
    else if (n > 13 && !strcmp(name + n - 13, ".block.1.bias")) rc = lundi_normal_(p.tensors[i], &rng, 0.0f, 0.3f);
  }
  lundi_param_list_free(&p);
  if (rc) {
    lundi_unet1d_free(u);
    return NULL;
  }
  return u;
}

double u1_rel_diff(lundi_tensor *a, lundi_tensor *b) {
  if (!a || !b || lundi_numel(a) != lundi_numel(b)) return INFINITY;
  float *x = t_read(a), *y = t_read(b);
  double d = 0, m = 0;
  for (int64_t i = 0; i < lundi_numel(a); i++) {
    if (!isfinite(x[i]) || !isfinite(y[i])) d = INFINITY;
    d = fmax(d, fabs((double)x[i] - y[i]));
    m = fmax(m, fabs(x[i]));
  }
  free(x);
  free(y);
  return m > 0 ? d / m : d;
}
