/* Likelihoods of text models: what a masked-diffusion model (LLaDA) and its causal twin
 * assign to given token sequences, to compare them on the same data. Both score the
 * positions [s, L) of each row, s = max(prompt_len[n], 1), given the positions before
 * (position 0 is always given: a BOS, or the prompt's first token), in nats summed over
 * those A = L - s tokens. The probabilities are softmax over the denoiser's whole vocabulary,
 * as in the training losses. Both run without gradients, the denoiser in eval mode, the
 * rows batched; tokens i32 [N, L] on any device; prompt_len NULL means 0 for every row. */
#ifndef LUNDI_LIKELIHOOD_H
#define LUNDI_LIKELIHOOD_H

#include "lundi/plugin.h"

#ifdef __cplusplus
extern "C" {
#endif

/* LLaDA's Monte-Carlo upper bound on -log p(answer | prompt) for a masked-diffusion model
 * (get_log_likelihood.py): per draw, l of the A answer tokens are masked (l in 1..A,
 * stratified over the draws: evenly spaced with a random offset, so each l is equally likely
 * for every draw), at l positions chosen uniformly, and the draw's value is
 * (A / l) sum over the masked j of -log p(x_j | the visible tokens). nll[n] is the mean over
 * n_mc draws; se[n] its standard error by the i.i.d. formula, sd / sqrt(n_mc) (NaN when
 * n_mc is 1). Stratifying l removes the part of the spread that comes from l, so the true
 * error is smaller: se is conservative. The mask id comes from scheduler (a masking one:
 * add_noise at t = 1 gives it); the denoiser sees t = l / A per row. mc_batch draws of
 * every row go through one denoiser call (N * mc_batch rows); 0 chooses about 256 rows per
 * call. rng drives the offsets and the positions. */
int lundi_masked_elbo(lundi_instance *denoiser, lundi_instance *scheduler, lundi_tensor *tokens,
                      const int32_t *prompt_len, int n_mc, int mc_batch, lundi_rng *rng, double *nll,
                      double *se);

/* The exact -sum_j log p(x_j | x_<j) over the same positions from a causal model: one call
 * of the denoiser on the whole rows, the logits at j - 1 predicting x_j. Meaningful only for
 * a causal (left-to-right) denoiser. */
int lundi_ar_nll(lundi_instance *denoiser, lundi_tensor *tokens, const int32_t *prompt_len, double *nll);

#ifdef __cplusplus
}
#endif
#endif
