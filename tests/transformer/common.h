/* Helpers shared by the transformer tests. */
#ifndef LUNDI_TEST_TRANSFORMER_COMMON_H
#define LUNDI_TEST_TRANSFORMER_COMMON_H

#include "harness.h"
#include "denoisers/transformer.h"

/* The tiny model of the gradient checks: V 7, D 8, 2 heads, d_ff 12, 2 layers, init_std 0.3
 * (q, k of order 1: gradients far above the checks' absolute tolerance, softmax not peaked). */
lundi_transformer_config tt_tiny(int causal);
/* A model from cfg with every RMSNorm weight redrawn from N(1, 0.3) (rng seeded by seed), so
 * the norms' gradients are not those of the all-ones special case, and tok_emb from N(0, 1):
 * RMSNorm of a short row is sharply curved (its derivatives grow as 1/rms), which finite
 * differences cannot follow. NULL on failure. */
lundi_transformer *tt_model(const lundi_transformer_config *cfg, uint64_t seed);
/* Random ids i32 [n, len] in [0, vocab) on the CPU. */
lundi_tensor *tt_ids(lundi_rng *rng, int n, int len, int vocab);
/* The module's parameters (sorted by name) into out; 0 on success. */
int tt_params(lundi_transformer *tf, lundi_param_list *out);

#endif
