/* unet1d: ConditionalUnet1D of Diffusion Policy. Layout, per level l of down_dims d_0..d_{L-1}:
 *   down l: res(d_{l-1} -> d_l), res(d_l -> d_l), then Conv1d(k3, s2, p1) except at the last;
 *   mid:    res(d_{L-1}), res(d_{L-1});
 *   up (L - 1 of them, deepest first, for l = L-1 .. 1): concat the output of down l (before its
 *           downsample), res(2 d_l -> d_{l-1}), res(d_{l-1}), ConvTranspose1d(k4, s2, p1);
 *   final:  Conv1dBlock(d_0), Conv1d(1x1) to action_dim.
 * So every up level upsamples, and the output of down level 0 is never used, as in the
 * reference. A res block is Conv1dBlock -> FiLM from Mish(cond) -> Conv1dBlock, plus x (1x1
 * conv when the widths differ); a Conv1dBlock is Conv1d(k, pad k/2) -> GroupNorm -> Mish.
 * Parameter names follow the reference's state_dict (down_modules.0.0.blocks.0.block.0.weight). */
#include "unet1d_internal.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

lundi_unet1d_config lundi_unet1d_defaults(void) {
  lundi_unet1d_config c;
  memset(&c, 0, sizeof c);
  c.action_dim = 2;
  c.n_levels = 2;
  c.down_dims[0] = 64, c.down_dims[1] = 128;
  c.kernel_size = 5;
  c.n_groups = 8;
  c.step_embed_dim = 64;
  c.cond_predict_scale = 1;
  return c;
}

int lundi_unet1d_parse_dims(const char *text, lundi_unet1d_config *cfg) {
  int dims[LUNDI_UNET1D_MAX_LEVELS], n = 0;
  const char *p = text ? text : "";
  for (;;) {
    char *end;
    while (*p == ' ') p++;
    long v = strtol(p, &end, 10);
    if (end == p || v < 1 || v > 65536)
      return lundi_set_error(LUNDI_EINVAL, "unet1d: down_dims = \"%s\": item %d must be an integer in [1, 65536] (e.g. \"64,128,256\")",
                             text ? text : "", n + 1);
    if (n == LUNDI_UNET1D_MAX_LEVELS)
      return lundi_set_error(LUNDI_EINVAL, "unet1d: down_dims = \"%s\": at most %d levels", text, LUNDI_UNET1D_MAX_LEVELS);
    dims[n++] = (int)v;
    p = end;
    while (*p == ' ') p++;
    if (!*p) break;
    if (*p++ != ',')
      return lundi_set_error(LUNDI_EINVAL, "unet1d: down_dims = \"%s\": expected a comma-separated list of integers", text);
  }
  memset(cfg->down_dims, 0, sizeof cfg->down_dims);
  memcpy(cfg->down_dims, dims, sizeof(int) * (size_t)n);
  cfg->n_levels = n;
  return 0;
}

int lundi_unet1d_horizon_multiple(const lundi_unet1d_config *cfg) { return 1 << (cfg->n_levels - 1); }

/* ---- construction ---- */

/* Adds child under a dotted path, creating plain containers on the way; *slot borrows it. */
static int add(lundi_module *parent, const char *path, lundi_module *child, lundi_module **slot) {
  if (!child) return -1;
  char seg[64];
  const char *dot;
  while ((dot = strchr(path, '.'))) {
    size_t n = (size_t)(dot - path) < sizeof seg - 1 ? (size_t)(dot - path) : sizeof seg - 1;
    memcpy(seg, path, n);
    seg[n] = 0;
    lundi_module *next = lundi_module_child(parent, seg);
    if (!next) {
      next = lundi_module_new("container");
      if (!next || lundi_module_add_child(parent, seg, next)) {
        lundi_module_free(child);
        return -1;
      }
    }
    parent = next;
    path = dot + 1;
  }
  if (lundi_module_add_child(parent, path, child)) return -1; /* frees child on failure */
  if (slot) *slot = child;
  return 0;
}

/* A U(-b, b) leaf of the given shape added to m as name. */
static int uniform_param(lundi_module *m, const char *name, int nd, const int64_t *shape, float b, lundi_rng *rng) {
  lundi_tensor *t = lundi_zeros(nd, shape);
  int rc = !t || lundi_uniform_(t, rng, -b, b) || lundi_set_requires_grad(t, 1) || lundi_module_add_param(m, name, t);
  lundi_release(t);
  return rc ? -1 : 0;
}

/* ConvTranspose1d(cin, cout, k) with PyTorch's default init: weight [cin, cout, k], the
 * bound 1/sqrt(fan_in) with fan_in = cout * k (PyTorch reads it from the weight's dim 1). */
static lundi_module *conv_transpose1d_new(int cin, int cout, int k, lundi_rng *rng) {
  lundi_module *m = lundi_module_new("ConvTranspose1d");
  float b = 1.0f / sqrtf((float)cout * (float)k);
  if (!m || uniform_param(m, "weight", 3, (int64_t[]){cin, cout, k}, b, rng) ||
      uniform_param(m, "bias", 1, (int64_t[]){cout}, b, rng)) {
    lundi_module_free(m);
    return NULL;
  }
  return m;
}

static int make_conv_block(lundi_module *parent, const char *name, int cin, int cout, const lundi_unet1d_config *c,
                           unet1d_conv_block *b, lundi_rng *rng) {
  lundi_conv_params p = {.padding = {c->kernel_size / 2, 0}};
  char path[96];
  snprintf(path, sizeof path, "%s.block.0", name);
  if (add(parent, path, lundi_conv1d_new(cin, cout, c->kernel_size, &p, 1, rng), &b->conv)) return -1;
  snprintf(path, sizeof path, "%s.block.1", name);
  return add(parent, path, lundi_group_norm_new(c->n_groups, cout, LUNDI__UNET1D_GN_EPS), &b->norm);
}

static int make_res(lundi_module *parent, const char *name, int cin, int cout, const lundi_unet1d_config *c,
                    unet1d_res_block *r, lundi_rng *rng) {
  lundi_module *m;
  lundi_conv_params p1 = {0};
  int cond_dim = c->step_embed_dim + c->global_cond_dim;
  r->cout = cout;
  r->residual = NULL;
  if (add(parent, name, lundi_module_new("ConditionalResidualBlock1D"), &m) ||
      make_conv_block(m, "blocks.0", cin, cout, c, &r->b0, rng) ||
      make_conv_block(m, "blocks.1", cout, cout, c, &r->b1, rng) ||
      add(m, "cond_encoder.1", lundi_linear_new(cond_dim, c->cond_predict_scale ? 2 * cout : cout, 1, rng), &r->cond))
    return -1;
  if (cin != cout && add(m, "residual_conv", lundi_conv1d_new(cin, cout, 1, &p1, 1, rng), &r->residual)) return -1;
  return 0;
}

static int build(lundi_unet1d *u, lundi_rng *rng) {
  const lundi_unet1d_config *c = &u->cfg;
  const int L = c->n_levels, dsed = c->step_embed_dim;
  lundi_conv_params down = {.stride = {2, 0}, .padding = {1, 0}}, p1 = {0};
  char name[96];
  if (add(u->root, "diffusion_step_encoder.1", lundi_linear_new(dsed, 4 * dsed, 1, rng), &u->step1) ||
      add(u->root, "diffusion_step_encoder.3", lundi_linear_new(4 * dsed, dsed, 1, rng), &u->step2))
    return -1;
  /* The reference builds mid, then down, then up; the rng draws follow that order. */
  int deep = c->down_dims[L - 1];
  for (int i = 0; i < 2; i++) {
    snprintf(name, sizeof name, "mid_modules.%d", i);
    if (make_res(u->root, name, deep, deep, c, &u->mid[i], rng)) return -1;
  }
  for (int l = 0; l < L; l++) {
    int cin = l ? c->down_dims[l - 1] : c->action_dim, cout = c->down_dims[l];
    snprintf(name, sizeof name, "down_modules.%d.0", l);
    if (make_res(u->root, name, cin, cout, c, &u->down[l][0], rng)) return -1;
    snprintf(name, sizeof name, "down_modules.%d.1", l);
    if (make_res(u->root, name, cout, cout, c, &u->down[l][1], rng)) return -1;
    u->downsample[l] = NULL;
    snprintf(name, sizeof name, "down_modules.%d.2.conv", l);
    if (l + 1 < L && add(u->root, name, lundi_conv1d_new(cout, cout, 3, &down, 1, rng), &u->downsample[l])) return -1;
  }
  for (int i = 0; i < L - 1; i++) { /* up i consumes the skip of down level L-1-i */
    int wide = c->down_dims[L - 1 - i], narrow = c->down_dims[L - 2 - i];
    snprintf(name, sizeof name, "up_modules.%d.0", i);
    if (make_res(u->root, name, 2 * wide, narrow, c, &u->up[i][0], rng)) return -1;
    snprintf(name, sizeof name, "up_modules.%d.1", i);
    if (make_res(u->root, name, narrow, narrow, c, &u->up[i][1], rng)) return -1;
    snprintf(name, sizeof name, "up_modules.%d.2.conv", i);
    if (add(u->root, name, conv_transpose1d_new(narrow, narrow, 4, rng), &u->upsample[i])) return -1;
  }
  int start = c->down_dims[0];
  if (make_conv_block(u->root, "final_conv.0", start, start, c, &u->final_block, rng) ||
      add(u->root, "final_conv.1", lundi_conv1d_new(start, c->action_dim, 1, &p1, 1, rng), &u->final_conv))
    return -1;
  return 0;
}

static int check_config(const lundi_unet1d_config *c) {
  char why[192] = "";
  if (c->n_levels < 1 || c->n_levels > LUNDI_UNET1D_MAX_LEVELS)
    snprintf(why, sizeof why, "down_dims must have 1..%d entries, got %d", LUNDI_UNET1D_MAX_LEVELS, c->n_levels);
  else if (c->action_dim < 1)
    snprintf(why, sizeof why, "action_dim must be positive, got %d", c->action_dim);
  else if (c->global_cond_dim < 0)
    snprintf(why, sizeof why, "global_cond_dim must not be negative, got %d", c->global_cond_dim);
  else if (c->kernel_size < 1 || c->kernel_size % 2 == 0)
    snprintf(why, sizeof why, "kernel_size must be odd and positive (the sequence keeps its length), got %d", c->kernel_size);
  else if (c->step_embed_dim < 4 || c->step_embed_dim % 2)
    snprintf(why, sizeof why, "diffusion_step_embed_dim must be even and at least 4, got %d", c->step_embed_dim);
  else if (c->n_groups < 1)
    snprintf(why, sizeof why, "n_groups must be positive, got %d", c->n_groups);
  for (int l = 0; !why[0] && l < c->n_levels; l++)
    if (c->down_dims[l] < 1 || c->down_dims[l] % c->n_groups)
      snprintf(why, sizeof why, "down_dims[%d] = %d is not a positive multiple of n_groups = %d", l, c->down_dims[l],
               c->n_groups);
  return why[0] ? lundi_set_error(LUNDI_EINVAL, "unet1d: %s", why) : 0;
}

lundi_unet1d *lundi_unet1d_new(const lundi_unet1d_config *cfg, lundi_rng *rng) {
  if (!cfg || !rng) {
    lundi_set_error(LUNDI_EINVAL, "unet1d: config and rng must not be NULL");
    return NULL;
  }
  if (check_config(cfg)) return NULL;
  lundi_unet1d *u = calloc(1, sizeof *u);
  if (!u) {
    lundi_set_error(LUNDI_ENOMEM, "unet1d: out of host memory");
    return NULL;
  }
  u->cfg = *cfg;
  u->root = lundi_module_new("ConditionalUnet1D");
  if (!u->root || build(u, rng)) {
    lundi_unet1d_free(u);
    return NULL;
  }
  return u;
}

void lundi_unet1d_free(lundi_unet1d *u) {
  if (!u) return;
  lundi_module_free(u->root);
  free(u);
}

lundi_module *lundi_unet1d_module(lundi_unet1d *u) { return u->root; }
const lundi_unet1d_config *lundi_unet1d_get_config(const lundi_unet1d *u) { return &u->cfg; }
