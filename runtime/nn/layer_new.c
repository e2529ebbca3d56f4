/* Every built-in layer by its type name: what its constructor takes (sizes, options and
 * their defaults) and the constructor itself, so a front-end (lundi.nn) only reads values. */
#include "nn/nn_internal.h"

#include <string.h>

static lundi_module *make_linear(const lundi_layer_args *a) {
  return lundi_linear_new(a->n[0], a->n[1], a->bias, a->rng);
}
static lundi_module *make_conv2d(const lundi_layer_args *a) {
  return lundi_conv2d_new(a->n[0], a->n[1], a->n[2], &a->conv, a->bias, a->rng);
}
static lundi_module *make_conv1d(const lundi_layer_args *a) {
  return lundi_conv1d_new(a->n[0], a->n[1], a->n[2], &a->conv, a->bias, a->rng);
}
static lundi_module *make_group_norm(const lundi_layer_args *a) {
  return lundi_group_norm_new(a->n[0], a->n[1], a->eps);
}
static lundi_module *make_layer_norm(const lundi_layer_args *a) {
  return lundi_layer_norm_new(a->n[0], a->eps, a->affine);
}
static lundi_module *make_rms_norm(const lundi_layer_args *a) {
  return lundi_rms_norm_new(a->n[0], a->eps);
}
static lundi_module *make_embedding(const lundi_layer_args *a) {
  return lundi_embedding_new(a->n[0], a->n[1], a->rng);
}
static lundi_module *make_mha(const lundi_layer_args *a) {
  return lundi_mha_new(a->n[0], a->n[1], a->kv_dim, a->bias, a->rng);
}

static const char *const bias_rng[] = {"bias", "rng", NULL};
static const char *const eps_affine[] = {"eps", "affine", NULL};
static const char *const eps_only[] = {"eps", NULL};
static const char *const rng_only[] = {"rng", NULL};
static const char *const mha_keys[] = {"kv_dim", "bias", "rng", NULL};

static const struct row {
  lundi_layer_desc d;
  lundi_module *(*make)(const lundi_layer_args *);
} rows[] = {
  {{"Linear", 2, 0, 0, 0, bias_rng}, make_linear},
  {{"Conv2d", 3, 1, 0, 0, bias_rng}, make_conv2d},
  {{"Conv1d", 3, 1, 0, 0, bias_rng}, make_conv1d},
  {{"GroupNorm", 2, 0, 0, 1e-5, NULL}, make_group_norm},
  {{"LayerNorm", 1, 0, 0, 1e-5, eps_affine}, make_layer_norm},
  {{"RMSNorm", 1, 0, 0, 1e-6, eps_only}, make_rms_norm},
  {{"Embedding", 2, 0, 0, 0, rng_only}, make_embedding},
  {{"MultiheadAttention", 2, 0, 1, 0, mha_keys}, make_mha},
};
#define N_ROWS ((int)(sizeof rows / sizeof rows[0]))

int lundi_layer_count(void) { return N_ROWS; }

const lundi_layer_desc *lundi_layer_desc_at(int i) { return i >= 0 && i < N_ROWS ? &rows[i].d : NULL; }

static const struct row *find(const char *type) {
  for (int i = 0; type && i < N_ROWS; i++)
    if (!strcmp(type, rows[i].d.type)) return &rows[i];
  return NULL;
}

const lundi_layer_desc *lundi_layer_desc_of(const char *type) {
  const struct row *r = find(type);
  return r ? &r->d : NULL;
}

lundi_layer_args lundi_layer_defaults(const lundi_layer_desc *d) {
  lundi_layer_args a;
  memset(&a, 0, sizeof a);
  a.eps = d ? (float)d->eps : 0.0f;
  a.affine = 1;
  a.bias = 1;
  return a;
}

lundi_module *lundi_layer_new(const char *type, const lundi_layer_args *a) {
  if (!type || !a) return lundi__errp(LUNDI_EINVAL, "layer_new: type and arguments must be non-NULL");
  const struct row *r = find(type);
  if (!r) return lundi__errp(LUNDI_EUNSUPPORTED, "layer_new: '%s' is not a built-in layer", type);
  return r->make(a);
}
