#include "common.h"

lundi_transformer_config tt_tiny(int causal) {
  lundi_transformer_config c = lundi_transformer_defaults();
  c.vocab_size = 7, c.d_model = 8, c.n_heads = 2, c.d_ff = 12, c.n_layers = 2, c.max_len = 16;
  c.init_std = 0.3f, c.causal = causal, c.seed = 11;
  return c;
}

int tt_params(lundi_transformer *tf, lundi_param_list *out) {
  if (lundi_module_parameters(lundi_transformer_module(tf), out)) return -1;
  lundi_param_list_sort(out);
  return 0;
}

lundi_transformer *tt_model(const lundi_transformer_config *cfg, uint64_t seed) {
  lundi_transformer *tf = lundi_transformer_new(cfg);
  if (!tf) return NULL;
  lundi_param_list p = {0};
  lundi_rng rng = lundi_rng_make(seed);
  int rc = tt_params(tf, &p);
  for (int i = 0; i < p.n && !rc; i++)
    if (strstr(p.names[i], "norm")) rc = lundi_normal_(p.tensors[i], &rng, 1.0f, 0.3f);
    else if (!strcmp(p.names[i], "tok_emb.weight")) rc = lundi_normal_(p.tensors[i], &rng, 0.0f, 1.0f);
  lundi_param_list_free(&p);
  if (rc) {
    lundi_transformer_free(tf);
    return NULL;
  }
  return tf;
}

lundi_tensor *tt_ids(lundi_rng *rng, int n, int len, int vocab) {
  return lundi_randint(rng, 2, (int64_t[]){n, len}, 0, vocab);
}
