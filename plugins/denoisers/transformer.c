/* transformer: token embedding -> n_layers x [x + Attn(RMSNorm(x)), x + SwiGLU(RMSNorm(x))]
 * -> RMSNorm -> linear head (Touvron et al. 2023, LLaMA; used bidirectionally by Nie et al.
 * 2025, LLaDA). No biases; RoPE on q and k; no time input. */
#include "transformer.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* One block's parameters, borrowed from the module tree. They stay valid for the model's
 * life: lundi_module_to moves and lundi_module_load copies into the same handles. */
typedef struct layer {
  lundi_tensor *attn_norm, *wq, *wk, *wv, *wo, *ffn_norm, *w1, *w2, *w3;
} layer;

struct lundi_transformer {
  lundi_transformer_config cfg;
  int d_ff;
  lundi_module *root;
  lundi_tensor *tok_emb, *norm, *head; /* head == tok_emb when tied */
  layer *layers;
};

lundi_transformer_config lundi_transformer_defaults(void) {
  return (lundi_transformer_config){.vocab_size = 260, .d_model = 128, .n_layers = 4, .n_heads = 4, .d_ff = 0,
                                    .max_len = 512, .rope_base = 10000.0f, .norm_eps = 1e-5f, .dropout = 0.0f,
                                    .init_std = 0.02f, .causal = 0, .tie_embeddings = 0, .seed = 0};
}

int lundi_transformer_d_ff(const lundi_transformer_config *c) {
  if (c->d_ff > 0) return c->d_ff;
  int h = (int)(8LL * c->d_model / 3);
  return (h + 31) / 32 * 32;
}

int64_t lundi_transformer_param_count(const lundi_transformer_config *c) {
  int64_t V = c->vocab_size, D = c->d_model, F = lundi_transformer_d_ff(c);
  return V * D + c->n_layers * (4 * D * D + 3 * D * F + 2 * D) + D + (c->tie_embeddings ? 0 : V * D);
}

double lundi_transformer_flops(const lundi_transformer_config *c, int batch, int len) {
  double T = (double)batch * len, D = c->d_model, F = lundi_transformer_d_ff(c);
  double per_layer = 2 * T * (4 * D * D + 3 * D * F) + 2 * 2 * (double)batch * len * (double)len * D;
  return c->n_layers * per_layer + 2 * T * D * c->vocab_size;
}

static int check_config(const lundi_transformer_config *c) {
  char why[160] = "";
  if (c->vocab_size < 1) snprintf(why, sizeof why, "vocab_size %d must be >= 1", c->vocab_size);
  else if (c->d_model < 2 || c->n_heads < 1 || c->d_model % c->n_heads || (c->d_model / c->n_heads) % 2)
    snprintf(why, sizeof why, "d_model %d must split into n_heads %d heads of an even size (RoPE rotates pairs)",
             c->d_model, c->n_heads);
  else if (c->n_layers < 1) snprintf(why, sizeof why, "n_layers %d must be >= 1", c->n_layers);
  else if (c->d_ff < 0) snprintf(why, sizeof why, "d_ff %d must be >= 0 (0: 8/3 d_model rounded up to 32)", c->d_ff);
  else if (c->max_len < 1) snprintf(why, sizeof why, "max_len %d must be >= 1", c->max_len);
  else if (!(c->rope_base > 0)) snprintf(why, sizeof why, "rope_base %g must be > 0", c->rope_base);
  else if (!(c->norm_eps > 0)) snprintf(why, sizeof why, "norm_eps %g must be > 0", c->norm_eps);
  else if (!(c->dropout >= 0 && c->dropout < 1)) snprintf(why, sizeof why, "dropout %g must be in [0, 1)", c->dropout);
  else if (!(c->init_std > 0)) snprintf(why, sizeof why, "init_std %g must be > 0", c->init_std);
  return why[0] ? lundi_set_error(LUNDI_EINVAL, "transformer: %s", why) : 0;
}

/* ---- construction ---- */

/* Adds child under name and returns its "weight" (borrowed), or NULL. */
static lundi_tensor *add_layer(lundi_module *parent, const char *name, lundi_module *child) {
  if (!child || lundi_module_add_child(parent, name, child)) return NULL; /* add_child frees on failure */
  return lundi_module_param(child, "weight");
}

static lundi_module *add_container(lundi_module *parent, const char *name, const char *type) {
  lundi_module *m = lundi_module_new(type);
  return m && !lundi_module_add_child(parent, name, m) ? m : NULL;
}

/* A bias-free Linear in -> out whose weight is drawn from N(0, std) with init. */
static lundi_tensor *add_linear(lundi_module *parent, const char *name, int in, int out, float std, lundi_rng *init) {
  lundi_rng scratch = lundi_rng_make(0); /* the layer's own uniform init, overwritten below */
  lundi_tensor *w = add_layer(parent, name, lundi_linear_new(in, out, 0, &scratch));
  return w && !lundi_normal_(w, init, 0.0f, std) ? w : NULL;
}

static int build_layer(lundi_transformer *tf, int i, lundi_module *layers, lundi_rng *init) {
  const lundi_transformer_config *c = &tf->cfg;
  int D = c->d_model, F = tf->d_ff;
  float std = c->init_std, out_std = c->init_std / sqrtf(2.0f * (float)c->n_layers);
  char name[24];
  snprintf(name, sizeof name, "%d", i);
  layer *l = &tf->layers[i];
  lundi_module *blk = add_container(layers, name, "block"), *attn, *ffn;
  if (!blk || !(l->attn_norm = add_layer(blk, "attn_norm", lundi_rms_norm_new(D, c->norm_eps))) ||
      !(attn = add_container(blk, "attn", "attention")) || !(l->wq = add_linear(attn, "wq", D, D, std, init)) ||
      !(l->wk = add_linear(attn, "wk", D, D, std, init)) || !(l->wv = add_linear(attn, "wv", D, D, std, init)) ||
      !(l->wo = add_linear(attn, "wo", D, D, out_std, init)) ||
      !(l->ffn_norm = add_layer(blk, "ffn_norm", lundi_rms_norm_new(D, c->norm_eps))) ||
      !(ffn = add_container(blk, "ffn", "swiglu")) || !(l->w1 = add_linear(ffn, "w1", D, F, std, init)) ||
      !(l->w2 = add_linear(ffn, "w2", F, D, out_std, init)) || !(l->w3 = add_linear(ffn, "w3", D, F, std, init)))
    return -1;
  return 0;
}

static int build(lundi_transformer *tf) {
  const lundi_transformer_config *c = &tf->cfg;
  lundi_rng init = lundi_rng_make(c->seed), scratch = lundi_rng_make(0);
  tf->tok_emb = add_layer(tf->root, "tok_emb", lundi_embedding_new(c->vocab_size, c->d_model, &scratch));
  if (!tf->tok_emb || lundi_normal_(tf->tok_emb, &init, 0.0f, c->init_std)) return -1;
  lundi_module *layers = add_container(tf->root, "layers", "layers");
  if (!layers) return -1;
  for (int i = 0; i < c->n_layers; i++)
    if (build_layer(tf, i, layers, &init)) return -1;
  if (!(tf->norm = add_layer(tf->root, "norm", lundi_rms_norm_new(c->d_model, c->norm_eps)))) return -1;
  tf->head = c->tie_embeddings ? tf->tok_emb
                               : add_linear(tf->root, "head", c->d_model, c->vocab_size, c->init_std, &init);
  return tf->head ? 0 : -1;
}

lundi_transformer *lundi_transformer_new(const lundi_transformer_config *cfg) {
  if (!cfg) {
    lundi_set_error(LUNDI_EINVAL, "transformer: config is NULL");
    return NULL;
  }
  if (check_config(cfg)) return NULL;
  lundi_transformer *tf = calloc(1, sizeof *tf);
  if (!tf || !(tf->layers = calloc((size_t)cfg->n_layers, sizeof *tf->layers))) {
    free(tf);
    lundi_set_error(LUNDI_ENOMEM, "transformer: out of memory");
    return NULL;
  }
  tf->cfg = *cfg;
  tf->d_ff = lundi_transformer_d_ff(cfg);
  tf->root = lundi_module_new("transformer");
  if (!tf->root || build(tf)) {
    if (!lundi_last_error_code()) lundi_set_error(LUNDI_ENOMEM, "transformer: out of memory");
    lundi_transformer_free(tf);
    return NULL;
  }
  return tf;
}

void lundi_transformer_free(lundi_transformer *tf) {
  if (!tf) return;
  lundi_module_free(tf->root);
  free(tf->layers);
  free(tf);
}

lundi_module *lundi_transformer_module(lundi_transformer *tf) { return tf->root; }
const lundi_transformer_config *lundi_transformer_get_config(const lundi_transformer *tf) { return &tf->cfg; }

/* ---- forward ---- */

/* Replaces x by expr (releasing the old value); jumps to fail when expr failed. */
#define STEP(x, expr)                                                                              \
  do {                                                                                             \
    lundi_tensor *next_ = (expr);                                                                  \
    lundi_release(x);                                                                              \
    (x) = next_;                                                                                   \
    if (!(x)) goto fail;                                                                           \
  } while (0)

/* The residual stream is [N L, D], 2-D: a linear on it is one GEMM forward and one per
 * gradient. (On [N, L, D] the weight's gradient is N batched GEMMs of inner size L whose
 * [N, out, in] result is then summed: 10x slower at d_model 256.) */
typedef struct seq {
  int64_t n, len;
} seq;

/* linear(x, w) split into heads and rotated: [N L, D] -> [N, H, L, D/H]. */
static lundi_tensor *heads(const lundi_transformer *tf, const seq *s, lundi_tensor *x, lundi_tensor *w, int rotate) {
  int64_t N = s->n, L = s->len, H = tf->cfg.n_heads, Dh = tf->cfg.d_model / H;
  lundi_tensor *h = lundi_linear(x, w, NULL);
  if (!h) return NULL;
  STEP(h, lundi_reshape(h, 4, (int64_t[]){N, L, H, Dh}));
  STEP(h, lundi_transpose(h, 1, 2));
  if (rotate) STEP(h, lundi_rope(h, tf->cfg.rope_base, 0));
  return h;
fail:
  return NULL;
}

/* Multi-head self-attention of x [N L, D] (already normalised). */
static lundi_tensor *attention(const lundi_transformer *tf, const seq *s, const layer *l, lundi_tensor *x) {
  lundi_tensor *q = heads(tf, s, x, l->wq, 1), *k = q ? heads(tf, s, x, l->wk, 1) : NULL;
  lundi_tensor *v = k ? heads(tf, s, x, l->wv, 0) : NULL;
  lundi_tensor *o = v ? lundi_sdpa(q, k, v, NULL, tf->cfg.causal, 0.0f) : NULL;
  lundi_release(q);
  lundi_release(k);
  lundi_release(v);
  if (!o) return NULL;
  STEP(o, lundi_transpose(o, 1, 2));
  STEP(o, lundi_reshape(o, 2, (int64_t[]){s->n * s->len, tf->cfg.d_model}));
  STEP(o, lundi_linear(o, l->wo, NULL));
  return o;
fail:
  return NULL;
}

/* W2(silu(W1 x) * W3 x). */
static lundi_tensor *swiglu(const lundi_transformer *tf, const seq *s, const layer *l, lundi_tensor *x) {
  (void)tf, (void)s;
  lundi_tensor *a = lundi_linear(x, l->w1, NULL), *b = NULL;
  if (!a) return NULL;
  STEP(a, lundi_silu(a));
  b = lundi_linear(x, l->w3, NULL);
  if (!b) goto fail;
  STEP(a, lundi_mul(a, b));
  lundi_release(b);
  b = NULL;
  STEP(a, lundi_linear(a, l->w2, NULL));
  return a;
fail:
  lundi_release(b);
  return NULL;
}

/* x + f(norm(x)) with dropout on f's output; releases x. */
typedef lundi_tensor *(*branch_fn)(const lundi_transformer *tf, const seq *s, const layer *l, lundi_tensor *x);

static lundi_tensor *residual(const lundi_transformer *tf, const seq *s, const layer *l, lundi_tensor *x,
                              lundi_tensor *norm_w, branch_fn f, int drop, lundi_rng *rng) {
  lundi_tensor *h = lundi_rms_norm(x, norm_w, tf->cfg.norm_eps), *out = NULL;
  if (!h) goto fail;
  STEP(h, f(tf, s, l, h));
  if (drop) STEP(h, lundi_dropout(h, tf->cfg.dropout, 1, rng));
  out = lundi_add(x, h);
fail: /* and success: out is set then */
  lundi_release(h);
  lundi_release(x);
  return out;
}

/* The ids' checks, on a host copy: dtype, [N, L] with 1 <= L <= max_len, every id in range
 * (the message names the first bad one by [row, position]). */
static int check_ids(const lundi_transformer *tf, lundi_tensor *ids) {
  char s[96];
  const lundi_transformer_config *c = &tf->cfg;
  if (!ids) return lundi_set_error(LUNDI_EINVAL, "transformer: token ids are NULL");
  if (lundi_tensor_dtype(ids) != LUNDI_I32)
    return lundi_set_error(LUNDI_EINVAL, "transformer: token ids must be i32, got %s",
                           lundi_dtype_name(lundi_tensor_dtype(ids)));
  if (lundi_ndim(ids) != 2 || lundi_dim(ids, 0) < 1 || lundi_dim(ids, 1) < 1)
    return lundi_set_error(LUNDI_ESHAPE, "transformer: token ids %s must be [N, L] with N, L >= 1",
                           lundi_shape_str(lundi_ndim(ids), lundi_shape(ids), s, sizeof s));
  int64_t N = lundi_dim(ids, 0), L = lundi_dim(ids, 1);
  if (L > c->max_len)
    return lundi_set_error(LUNDI_ESHAPE, "transformer: sequence length %lld (token ids %s) exceeds max_len %d",
                           (long long)L, lundi_shape_str(2, lundi_shape(ids), s, sizeof s), c->max_len);
  lundi_tensor *h = lundi_to_device(ids, lundi_cpu()), *hc = h ? lundi_contiguous(h) : NULL;
  lundi_release(h);
  if (!hc) return lundi_last_error_code();
  const int32_t *p = lundi_data(hc);
  int rc = 0;
  for (int64_t k = 0; k < N * L && !rc; k++)
    if (p[k] < 0 || p[k] >= c->vocab_size)
      rc = lundi_set_error(LUNDI_EINVAL, "transformer: token id %d at [%lld, %lld] is outside the vocabulary [0, %d)",
                           p[k], (long long)(k / L), (long long)(k % L), c->vocab_size);
  lundi_release(hc);
  return rc;
}

lundi_tensor *lundi_transformer_forward(lundi_transformer *tf, lundi_tensor *ids, lundi_rng *rng) {
  const lundi_transformer_config *c = &tf->cfg;
  if (check_ids(tf, ids)) return NULL;
  int drop = c->dropout > 0 && lundi_module_training(tf->root);
  if (drop && !rng) {
    lundi_set_error(LUNDI_EINVAL, "transformer: dropout %g while training needs an rng", c->dropout);
    return NULL;
  }
  /* The ids go where the weights are (a data loader or a sampler may keep them on the host). */
  lundi_device *dev = lundi_tensor_device(tf->tok_emb);
  lundi_tensor *x = lundi_tensor_device(ids) == dev ? lundi_retain(ids) : lundi_to_device(ids, dev), *h = NULL;
  if (!x) return NULL;
  h = lundi_embedding(tf->tok_emb, x);
  lundi_release(x);
  if (!h) return NULL;
  if (drop) STEP(h, lundi_dropout(h, c->dropout, 1, rng));
  seq s = {lundi_dim(ids, 0), lundi_dim(ids, 1)};
  STEP(h, lundi_reshape(h, 2, (int64_t[]){s.n * s.len, c->d_model}));
  for (int i = 0; i < c->n_layers; i++) {
    const layer *l = &tf->layers[i];
    h = residual(tf, &s, l, h, l->attn_norm, attention, drop, rng);
    if (!h) return NULL;
    h = residual(tf, &s, l, h, l->ffn_norm, swiglu, drop, rng);
    if (!h) return NULL;
  }
  STEP(h, lundi_rms_norm(h, tf->norm, c->norm_eps));
  STEP(h, lundi_linear(h, tf->head, NULL));
  STEP(h, lundi_reshape(h, 3, (int64_t[]){s.n, s.len, c->vocab_size}));
  return h;
fail:
  return NULL;
}
