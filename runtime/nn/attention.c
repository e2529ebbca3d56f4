/* Multi-head attention: q/k/v/out Linear children around lundi_sdpa. Self-attention
 * takes k and v from x; cross attention from a context with its own length and width. */
#include "nn/nn_internal.h"

/* cfg_i: [0] dim, [1] heads, [2] kv_dim. */
lundi_module *lundi_mha_new(int dim, int heads, int kv_dim, int bias, lundi_rng *rng) {
  if (dim <= 0 || heads <= 0 || dim % heads || kv_dim < 0)
    return lundi__errp(LUNDI_EINVAL, "mha_new: dim=%d must be a positive multiple of heads=%d (kv_dim=%d)", dim,
                       heads, kv_dim);
  if (!kv_dim) kv_dim = dim;
  lundi_module *m = lundi_module_new("MultiheadAttention");
  if (!m) return NULL;
  m->cfg_i[0] = dim;
  m->cfg_i[1] = heads;
  m->cfg_i[2] = kv_dim;
  if (lundi_module_add_child(m, "q_proj", lundi_linear_new(dim, dim, bias, rng)) ||
      lundi_module_add_child(m, "k_proj", lundi_linear_new(kv_dim, dim, bias, rng)) ||
      lundi_module_add_child(m, "v_proj", lundi_linear_new(kv_dim, dim, bias, rng)) ||
      lundi_module_add_child(m, "out_proj", lundi_linear_new(dim, dim, bias, rng))) {
    lundi_module_free(m);
    return NULL;
  }
  return m;
}

/* [B, T, H*hd] projection of src -> [B, H, T, hd] view. */
static lundi_tensor *project_heads(lundi_module *proj, lundi_tensor *src, int64_t heads) {
  lundi_tensor *y = lundi_linear_forward(proj, src);
  if (!y) return NULL;
  int64_t s[4] = {y->shape[0], y->shape[1], heads, y->shape[2] / heads};
  int perm[4] = {0, 2, 1, 3};
  lundi_tensor *r = lundi_reshape(y, 4, s);
  lundi_tensor *p = r ? lundi_permute(r, perm) : NULL;
  lundi_release(y);
  lundi_release(r);
  return p;
}

lundi_tensor *lundi_mha_forward(lundi_module *m, lundi_tensor *x, lundi_tensor *ctx, lundi_tensor *mask,
                                int causal) {
  if (lundi__module_expect(m, "MultiheadAttention", "mha_forward")) return NULL;
  if (!x) return lundi__errp(LUNDI_EINVAL, "mha_forward: x is NULL");
  int64_t dim = m->cfg_i[0], heads = m->cfg_i[1], kv_dim = m->cfg_i[2];
  char s1[160], s2[160];
  if (x->ndim != 3 || x->shape[2] != dim)
    return lundi__errp(LUNDI_ESHAPE, "mha_forward: x %s must be [B, L, %lld]", lundi_shape_str(x->ndim, x->shape, s1, sizeof s1),
                       (long long)dim);
  if (!ctx) {
    if (kv_dim != dim)
      return lundi__errp(LUNDI_EINVAL, "mha_forward: module expects a context of width %lld, got none", (long long)kv_dim);
    ctx = x;
  }
  if (ctx->ndim != 3 || ctx->shape[0] != x->shape[0] || ctx->shape[2] != kv_dim)
    return lundi__errp(LUNDI_ESHAPE, "mha_forward: context %s must be [%lld, S, %lld] for x %s",
                       lundi_shape_str(ctx->ndim, ctx->shape, s1, sizeof s1), (long long)x->shape[0], (long long)kv_dim,
                       lundi_shape_str(x->ndim, x->shape, s2, sizeof s2));
  lundi_tensor *q = project_heads(lundi_module_child(m, "q_proj"), x, heads);
  lundi_tensor *k = q ? project_heads(lundi_module_child(m, "k_proj"), ctx, heads) : NULL;
  lundi_tensor *v = k ? project_heads(lundi_module_child(m, "v_proj"), ctx, heads) : NULL;
  /* A 3-D mask is per batch ([B, L or 1, S], e.g. key padding): give it the head axis. */
  lundi_tensor *m4 = mask && mask->ndim == 3 ? lundi_unsqueeze(mask, 1) : (mask ? lundi_retain(mask) : NULL);
  lundi_tensor *o = v && (m4 || !mask) ? lundi_sdpa(q, k, v, m4, causal, 0) : NULL; /* [B, H, L, hd] */
  lundi_release(m4);
  lundi_release(q);
  lundi_release(k);
  lundi_release(v);
  if (!o) return NULL;
  int perm[4] = {0, 2, 1, 3};
  int64_t s[3] = {x->shape[0], x->shape[1], dim};
  lundi_tensor *t = lundi_permute(o, perm);
  lundi_tensor *merged = t ? lundi_reshape(t, 3, s) : NULL;
  lundi_release(o);
  lundi_release(t);
  if (!merged) return NULL;
  lundi_tensor *y = lundi_linear_forward(lundi_module_child(m, "out_proj"), merged);
  lundi_release(merged);
  return y;
}
