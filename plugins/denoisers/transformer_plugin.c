/* transformer as a denoiser plugin: forward(x = token ids i32 [N, L], t, cond, rng) -> logits
 * f32 [N, L, vocab_size]. t and cond are accepted and ignored (LLaDA has no time input: the
 * mask tokens in x tell the model how much is hidden). */
#include "builtins.h"
#include "lundi/device.h"
#include "transformer.h"

static const lundi_param_spec specs[] = {
    {"vocab_size", LUNDI_PARAM_INT, "260", 1, 10000000, NULL,
     "vocabulary size; ids must lie in [0, vocab_size) (260: the bytes tokenizer)"},
    {"d_model", LUNDI_PARAM_INT, "128", 2, 65536, NULL, "width of the residual stream"},
    {"n_layers", LUNDI_PARAM_INT, "4", 1, 1024, NULL, "transformer blocks (attention + SwiGLU each)"},
    {"n_heads", LUNDI_PARAM_INT, "4", 1, 4096, NULL, "attention heads; d_model / n_heads must be even (RoPE)"},
    {"d_ff", LUNDI_PARAM_INT, "0", 0, 1000000, NULL,
     "SwiGLU hidden width (0: 8/3 d_model rounded up to a multiple of 32, e.g. 352 at d_model 128)"},
    {"max_len", LUNDI_PARAM_INT, "512", 1, 1000000, NULL, "longest sequence accepted (RoPE has no table to size)"},
    {"rope_base", LUNDI_PARAM_FLOAT, "10000", 1, 1e9, NULL, "RoPE base: pair i turns by pos * base^(-2i/head_dim)"},
    {"norm_eps", LUNDI_PARAM_FLOAT, "1e-5", 1e-12, 1, NULL, "RMSNorm epsilon"},
    {"dropout", LUNDI_PARAM_FLOAT, "0", 0, 0.99, NULL,
     "dropout on the embedding and on each attention / SwiGLU output while training"},
    {"causal", LUNDI_PARAM_BOOL, "false", 0, 0, NULL,
     "true: each position attends to itself and earlier ones only (the autoregressive twin)"},
    {"tie_embeddings", LUNDI_PARAM_BOOL, "false", 0, 0, NULL, "true: the output head reuses tok_emb.weight"},
    {"init_std", LUNDI_PARAM_FLOAT, "0.02", 1e-6, 10, NULL,
     "weights drawn from N(0, init_std); wo and w2 from N(0, init_std / sqrt(2 n_layers)); norms 1"},
    {"seed", LUNDI_PARAM_INT, "0", 0, 4294967295.0, NULL, "seed of the weight initialisation"},
};

static int create(void *user, const lundi_params *p, void **self) {
  (void)user;
  lundi_transformer_config c = {
      .vocab_size = (int)lundi_params_int(p, "vocab_size"),
      .d_model = (int)lundi_params_int(p, "d_model"),
      .n_layers = (int)lundi_params_int(p, "n_layers"),
      .n_heads = (int)lundi_params_int(p, "n_heads"),
      .d_ff = (int)lundi_params_int(p, "d_ff"),
      .max_len = (int)lundi_params_int(p, "max_len"),
      .rope_base = (float)lundi_params_float(p, "rope_base"),
      .norm_eps = (float)lundi_params_float(p, "norm_eps"),
      .dropout = (float)lundi_params_float(p, "dropout"),
      .init_std = (float)lundi_params_float(p, "init_std"),
      .causal = lundi_params_bool(p, "causal"),
      .tie_embeddings = lundi_params_bool(p, "tie_embeddings"),
      .seed = (uint64_t)lundi_params_int(p, "seed"),
  };
  lundi_transformer *tf = lundi_transformer_new(&c);
  if (!tf) return lundi_last_error_code() ? lundi_last_error_code() : LUNDI_ENOMEM;
  /* Initialised on the CPU (the same weights on every device), then placed. */
  if (lundi_module_to(lundi_transformer_module(tf), lundi_default_device())) {
    lundi_transformer_free(tf);
    return lundi_last_error_code();
  }
  *self = tf;
  return 0;
}

static void destroy(void *self) { lundi_transformer_free(self); }

static lundi_tensor *forward(void *self, lundi_tensor *x, lundi_tensor *t, const lundi_cond *cond, lundi_rng *rng) {
  (void)t, (void)cond;
  return lundi_transformer_forward(self, x, rng);
}

static lundi_module *module(void *self) { return lundi_transformer_module(self); }

static const lundi_denoiser_api api = {.forward = forward, .module = module};

int lundi_builtin_transformer(lundi_registry *r) {
  lundi_plugin_desc d = {
      .abi_version = LUNDI_ABI_VERSION,
      .kind = LUNDI_DENOISER,
      .name = "transformer",
      .version = "1.0.0",
      .description = "LLaMA-style transformer (RoPE, SwiGLU) over token ids x i32 [N, L] -> logits "
                     "[N, L, vocab_size]; bidirectional (LLaDA) or causal; t, cond ignored",
      .params = specs,
      .n_params = (int)(sizeof specs / sizeof *specs),
      .create = create,
      .destroy = destroy,
      .api = &api,
  };
  return lundi_register(r, &d, NULL);
}
