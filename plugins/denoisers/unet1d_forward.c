/* unet1d's forward pass and its step embedding (the layout is in unet1d.c). */
#include "unet1d_internal.h"

#include <math.h>
#include <stdlib.h>

lundi_tensor *lundi_unet1d_step_embedding(lundi_tensor *t, int dim) {
  char s[96];
  if (!t) return (lundi_set_error(LUNDI_EINVAL, "unet1d: step embedding: t is NULL"), NULL);
  if (lundi_ndim(t) != 1) {
    lundi_set_error(LUNDI_ESHAPE, "unet1d: diffusion steps %s must be 1-D [B]",
                    lundi_shape_str(lundi_ndim(t), lundi_shape(t), s, sizeof s));
    return NULL;
  }
  if (dim < 4 || dim % 2) {
    lundi_set_error(LUNDI_EINVAL, "unet1d: step embedding width %d must be even and at least 4", dim);
    return NULL;
  }
  int64_t n = lundi_dim(t, 0), half = dim / 2;
  float *tv = malloc(sizeof(float) * (size_t)(n ? n : 1)), *ev = malloc(sizeof(float) * (size_t)(n ? n : 1) * (size_t)dim);
  lundi_tensor *out = NULL;
  if (!tv || !ev) {
    lundi_set_error(LUNDI_ENOMEM, "unet1d: step embedding: out of host memory");
  } else if (!lundi_read_f32(t, tv, n)) {
    double step = log(10000.0) / (double)(half - 1);
    for (int64_t r = 0; r < n; r++)
      for (int64_t i = 0; i < half; i++) {
        double arg = (double)tv[r] * exp(-step * (double)i);
        ev[r * dim + i] = (float)sin(arg);
        ev[r * dim + half + i] = (float)cos(arg);
      }
    lundi_tensor *h = lundi_from_f32(2, (int64_t[]){n, dim}, ev);
    out = h ? lundi_to_device(h, lundi_tensor_device(t)) : NULL;
    lundi_release(h);
  }
  free(tv);
  free(ev);
  return out;
}

/* Replaces x by expr (releasing the old value); jumps to fail when expr failed. */
#define STEP(x, expr)                                                                              \
  do {                                                                                             \
    lundi_tensor *next_ = (expr);                                                                  \
    lundi_release(x);                                                                              \
    (x) = next_;                                                                                   \
    if (!(x)) goto fail;                                                                           \
  } while (0)

/* Conv1d -> GroupNorm -> Mish. */
static lundi_tensor *conv_block_forward(const lundi_unet1d *u, const unet1d_conv_block *b, lundi_tensor *x) {
  lundi_tensor *h = lundi_conv1d_forward(b->conv, x);
  if (!h) return NULL;
  STEP(h, lundi_group_norm(h, u->cfg.n_groups, lundi_module_param(b->norm, "weight"),
                           lundi_module_param(b->norm, "bias"), LUNDI__UNET1D_GN_EPS));
  STEP(h, lundi_mish(h));
  return h;
fail:
  return NULL;
}

/* x [B, cin, T]; cond_act = Mish(global feature) [B, cond_dim]. */
static lundi_tensor *res_forward(const lundi_unet1d *u, const unet1d_res_block *r, lundi_tensor *x, lundi_tensor *cond_act) {
  lundi_tensor *h = conv_block_forward(u, &r->b0, x), *e = NULL, *scale = NULL, *bias = NULL, *s = NULL;
  if (!h) return NULL;
  e = lundi_linear_forward(r->cond, cond_act); /* [B, 2 cout] (scale, bias) or [B, cout] */
  if (!e) goto fail;
  if (u->cfg.cond_predict_scale) {
    STEP(scale, lundi_slice(e, 1, 0, r->cout, 1));
    STEP(scale, lundi_unsqueeze(scale, 2));
    STEP(bias, lundi_slice(e, 1, r->cout, 2 * r->cout, 1));
    STEP(bias, lundi_unsqueeze(bias, 2));
    STEP(h, lundi_mul(h, scale));
  } else {
    STEP(bias, lundi_unsqueeze(e, 2));
  }
  STEP(h, lundi_add(h, bias));
  STEP(h, conv_block_forward(u, &r->b1, h));
  s = r->residual ? lundi_conv1d_forward(r->residual, x) : lundi_retain(x);
  if (!s) goto fail;
  STEP(h, lundi_add(h, s));
  lundi_release(e), lundi_release(scale), lundi_release(bias), lundi_release(s);
  return h;
fail:
  lundi_release(h), lundi_release(e), lundi_release(scale), lundi_release(bias), lundi_release(s);
  return NULL;
}

static int check_inputs(const lundi_unet1d *u, lundi_tensor *x, lundi_tensor *t, lundi_tensor *g) {
  const lundi_unet1d_config *c = &u->cfg;
  char s1[96];
  int mult = lundi_unet1d_horizon_multiple(c);
  if (!x || !t) return lundi_set_error(LUNDI_EINVAL, "unet1d: the sample and the diffusion steps must not be NULL");
  if (lundi_ndim(x) != 3 || lundi_dim(x, 2) != c->action_dim || lundi_dim(x, 1) < 1)
    return lundi_set_error(LUNDI_ESHAPE, "unet1d: sample %s must be [B, T, action_dim = %d]",
                           lundi_shape_str(lundi_ndim(x), lundi_shape(x), s1, sizeof s1), c->action_dim);
  if (lundi_dim(x, 1) % mult)
    return lundi_set_error(LUNDI_ESHAPE,
                           "unet1d: horizon T = %lld must be a multiple of %d (2^(levels - 1) for %d levels of down_dims)",
                           (long long)lundi_dim(x, 1), mult, c->n_levels);
  if (lundi_ndim(t) != 1 || lundi_dim(t, 0) != lundi_dim(x, 0))
    return lundi_set_error(LUNDI_ESHAPE, "unet1d: diffusion steps %s must be [B = %lld]",
                           lundi_shape_str(lundi_ndim(t), lundi_shape(t), s1, sizeof s1), (long long)lundi_dim(x, 0));
  if (c->global_cond_dim > 0 && !g)
    return lundi_set_error(LUNDI_EINVAL, "unet1d: global_cond_dim = %d needs a global condition (cond.vector [B, %d])",
                           c->global_cond_dim, c->global_cond_dim);
  if (c->global_cond_dim == 0 && g)
    return lundi_set_error(LUNDI_EINVAL, "unet1d: got a global condition, but global_cond_dim = 0");
  if (g && (lundi_ndim(g) != 2 || lundi_dim(g, 0) != lundi_dim(x, 0) || lundi_dim(g, 1) != c->global_cond_dim))
    return lundi_set_error(LUNDI_ESHAPE, "unet1d: global condition %s must be [B = %lld, global_cond_dim = %d]",
                           lundi_shape_str(lundi_ndim(g), lundi_shape(g), s1, sizeof s1), (long long)lundi_dim(x, 0),
                           c->global_cond_dim);
  return 0;
}

lundi_tensor *lundi_unet1d_forward(lundi_unet1d *u, lundi_tensor *x, lundi_tensor *t, lundi_tensor *global_cond) {
  if (!u) return (lundi_set_error(LUNDI_EINVAL, "unet1d: model is NULL"), NULL);
  if (check_inputs(u, x, t, global_cond)) return NULL;
  const lundi_unet1d_config *c = &u->cfg;
  const int L = c->n_levels;
  static const int swap[3] = {0, 2, 1};
  lundi_tensor *skips[LUNDI_UNET1D_MAX_LEVELS];
  int ns = 0;
  lundi_tensor *feat = NULL, *h = NULL;
  /* global feature: step encoder (sinusoidal -> Linear -> Mish -> Linear), then the
   * condition; every cond encoder starts with Mish, computed here once */
  feat = lundi_unet1d_step_embedding(t, c->step_embed_dim);
  if (!feat) goto fail;
  if (lundi_tensor_device(feat) != lundi_tensor_device(x)) STEP(feat, lundi_to_device(feat, lundi_tensor_device(x)));
  STEP(feat, lundi_linear_forward(u->step1, feat));
  STEP(feat, lundi_mish(feat));
  STEP(feat, lundi_linear_forward(u->step2, feat));
  if (global_cond) {
    lundi_tensor *pair[2] = {feat, global_cond};
    STEP(feat, lundi_concat(2, pair, 1));
  }
  STEP(feat, lundi_mish(feat));
  h = lundi_permute(x, swap); /* [B, action_dim, T] */
  if (!h) goto fail;
  for (int l = 0; l < L; l++) {
    STEP(h, res_forward(u, &u->down[l][0], h, feat));
    STEP(h, res_forward(u, &u->down[l][1], h, feat));
    if (l > 0) skips[ns++] = lundi_retain(h); /* level 0's output is never consumed */
    if (u->downsample[l]) STEP(h, lundi_conv1d_forward(u->downsample[l], h));
  }
  for (int i = 0; i < 2; i++) STEP(h, res_forward(u, &u->mid[i], h, feat));
  for (int i = 0; i < L - 1; i++) {
    lundi_tensor *skip = skips[--ns];
    lundi_tensor *pair[2] = {h, skip};
    lundi_tensor *cat = lundi_concat(2, pair, 1);
    lundi_release(skip);
    STEP(h, cat);
    STEP(h, res_forward(u, &u->up[i][0], h, feat));
    STEP(h, res_forward(u, &u->up[i][1], h, feat));
    const lundi_module *m = u->upsample[i];
    lundi_conv_params up = {.stride = {2, 0}, .padding = {1, 0}};
    STEP(h, lundi_conv_transpose1d(h, lundi_module_param(m, "weight"), lundi_module_param(m, "bias"), &up));
  }
  STEP(h, conv_block_forward(u, &u->final_block, h));
  STEP(h, lundi_conv1d_forward(u->final_conv, h));
  STEP(h, lundi_permute(h, swap));
  STEP(h, lundi_contiguous(h));
  lundi_release(feat);
  return h;
fail:
  while (ns > 0) lundi_release(skips[--ns]);
  lundi_release(feat);
  lundi_release(h);
  return NULL;
}
