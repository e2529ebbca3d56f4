/* The masked scheduler's state and the checks its training and sampling halves share
 * (masked.c: forward process and loss; masked_reverse.c: sampling). Internal. */
#ifndef LUNDI_SCHEDULERS_MASKED_H
#define LUNDI_SCHEDULERS_MASKED_H

#include "lundi/plugin.h"
#include "samplers/text_common.h"

typedef struct lundi__masked {
  int32_t mask_id;
  double eps;
  int cosine;      /* schedule = cosine */
  int per_answer;  /* normalize = answer */
  int n;           /* inference steps; 0 before set_timesteps */
} lundi__masked;

/* p_mask(t) = (1 - eps) t + eps, or (1 - eps)(1 - cos(pi t / 2)) + eps. */
double lundi__masked_p(const lundi__masked *m, double t);

/* Host copies of a checked training batch: x0 i32 [N, L], noise f32 [N, L] (finite, >= 0
 * unless flags has LUNDI__MB_ANY_NOISE), t f32 [N] in [0, 1]; x0 is read only with
 * LUNDI__MB_X0. lundi__masked_batch_free() frees them. */
#define LUNDI__MB_X0 1
#define LUNDI__MB_ANY_NOISE 2
typedef struct lundi__masked_batch {
  int64_t N, L;
  int32_t *x0;
  float *noise, *t;
} lundi__masked_batch;
int lundi__masked_batch_read(const char *fn, lundi_tensor *x0, lundi_tensor *noise, lundi_tensor *t,
                             lundi__masked_batch *b, int flags);
void lundi__masked_batch_free(lundi__masked_batch *b);

/* The reverse process (masked_reverse.c). */
lundi_tensor *lundi__masked_step(void *self, lundi_tensor *logits, int i, lundi_tensor *x, lundi_rng *rng);
lundi_tensor *lundi__masked_predict_x0(void *self, lundi_tensor *logits, int i, lundi_tensor *x);

#endif
