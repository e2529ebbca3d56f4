/* One step of LLaDA's sampler on host arrays (llada_step.c): the prediction x0 and its
 * confidence at every masked position, then the commit of the most confident ones inside
 * the current block. Internal to the llada sampler. */
#ifndef LUNDI_SAMPLERS_LLADA_STEP_H
#define LUNDI_SAMPLERS_LLADA_STEP_H

#include <stdint.h>

typedef struct lundi__llada_step {
  int64_t B, L, V;
  int32_t mask;       /* its logit never wins; it is left out of the confidence's softmax */
  double temperature; /* 0: argmax; else Gumbel-max with gumbel_u */
  int random;         /* remasking = random: confidence is conf_u */
} lundi__llada_step;

/* For each position of x [B, L]: a masked one gets x0 = argmax over v != mask of
 * logits - temperature log(-log u) (u = gumbel_u[b, j, v], in double; the same argmax as
 * LLaDA's exp(logits) / (-log u)^temperature, without its overflow), and conf = the
 * softmax probability of x0 under the plain logits (low_confidence) or conf_u[b, j]
 * (random); any other gets x0 = x and conf = -inf. gumbel_u may be NULL when temperature is
 * 0, conf_u when not random. */
void lundi__llada_predict(const lundi__llada_step *s, const float *logits, const float *gumbel_u,
                          const float *conf_u, const int32_t *x, int32_t *x0, double *conf);

/* Row b commits its k[b] most confident masked positions of columns [lo, hi) (ties: the
 * lower column first) to x0; positions outside the block never change. Uses scratch of L
 * entries. Returns the number of tokens committed over all rows. */
int64_t lundi__llada_commit(const lundi__llada_step *s, int32_t *x, const int32_t *x0, const double *conf,
                            int64_t lo, int64_t hi, const int64_t *k, int64_t *scratch);

/* Classifier-free guidance on logits: out = u + (scale + 1)(c - u), n values. */
void lundi__llada_guide(const float *c, const float *u, int64_t n, double scale, float *out);

#endif
