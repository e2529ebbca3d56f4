/* transformer: the text denoiser, a LLaMA-style decoder stack over token ids. Bidirectional
 * it is LLaDA's mask predictor (no time input: the masked tokens say how noisy x is); with
 * causal set, the same weights layout is the autoregressive baseline. */
#ifndef LUNDI_TRANSFORMER_H
#define LUNDI_TRANSFORMER_H

#include "lundi/nn.h"

typedef struct lundi_transformer_config {
  int vocab_size;
  int d_model;
  int n_layers;
  int n_heads;        /* d_model / n_heads must be even (RoPE rotates pairs) */
  int d_ff;           /* SwiGLU hidden width; 0: lundi_transformer_d_ff's rule */
  int max_len;        /* longest input accepted */
  float rope_base;
  float norm_eps;
  float dropout;      /* on the embedding and each residual branch, while training */
  float init_std;     /* N(0, init_std) weights; wo and w2 use init_std / sqrt(2 n_layers) */
  int causal;         /* 1: each position sees only itself and earlier ones */
  int tie_embeddings; /* 1: the output head is tok_emb.weight (no head.weight) */
  uint64_t seed;      /* of the initialisation: the same config gives the same weights */
} lundi_transformer_config;

/* The plugin's defaults: vocab 260 (the bytes tokenizer), d_model 128, 4 layers, 4 heads,
 * d_ff 0, max_len 512, rope_base 1e4, norm_eps 1e-5, no dropout, bidirectional, untied,
 * init_std 0.02, seed 0. */
lundi_transformer_config lundi_transformer_defaults(void);
/* The SwiGLU width: cfg->d_ff, or when 0 LLaMA's rule 8/3 d_model (floor) rounded up to a
 * multiple of 32 (d_model 128: 352; 256: 704). */
int lundi_transformer_d_ff(const lundi_transformer_config *cfg);
/* Parameters of the model cfg describes: V D (tok_emb) + n_layers (4 D^2 + 3 D F + 2 D)
 * + D (norm) + V D (head, unless tied), F = lundi_transformer_d_ff(cfg). */
int64_t lundi_transformer_param_count(const lundi_transformer_config *cfg);
/* Multiply-adds x 2 of one forward pass at [batch, len]: the linears, the head and the
 * two attention matmuls (over all L x L pairs, causal or not). */
double lundi_transformer_flops(const lundi_transformer_config *cfg, int batch, int len);

typedef struct lundi_transformer lundi_transformer;
/* Checks cfg and builds the model on the CPU, initialised from cfg->seed; NULL with the
 * error set (naming the bad field) when cfg is invalid. */
lundi_transformer *lundi_transformer_new(const lundi_transformer_config *cfg);
void lundi_transformer_free(lundi_transformer *tf); /* NULL is fine */
/* Borrowed. Parameter names: tok_emb.weight, layers.<i>.attn_norm.weight,
 * layers.<i>.attn.{wq,wk,wv,wo}.weight, layers.<i>.ffn_norm.weight,
 * layers.<i>.ffn.{w1,w2,w3}.weight, norm.weight, head.weight (untied only). */
lundi_module *lundi_transformer_module(lundi_transformer *tf);
const lundi_transformer_config *lundi_transformer_get_config(const lundi_transformer *tf);
/* ids i32 [N, L] (1 <= L <= max_len, each id in [0, vocab_size)) on any device -> logits
 * f32 [N, L, vocab_size] on the model's device. rng drives dropout; it may be NULL when
 * dropout is 0 or the module is in eval mode. */
lundi_tensor *lundi_transformer_forward(lundi_transformer *tf, lundi_tensor *ids, lundi_rng *rng);

#endif
