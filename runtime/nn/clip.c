/* Global gradient-norm clipping. Per-tensor sums of squares run on the gradient's own
 * device (lundi_mul + lundi_sum, which accumulates in double on the CPU); only one scalar
 * per tensor comes back to the host. Scaling reuses the in-place unary kernel, which is
 * safe because leaf gradients are owned by their tensor alone (see autograd/tape.c). */
#include "nn/nn_internal.h"

#include <math.h>

static int sum_sq(lundi_tensor *g, double *acc) {
  lundi_tensor *sq = lundi_mul(g, g);
  lundi_tensor *s = sq ? lundi_sum(sq, 0, NULL, 0) : NULL;
  float v = 0;
  int rc = s ? lundi_item(s, &v) : lundi_last_error_code();
  lundi_release(sq);
  lundi_release(s);
  *acc += v;
  return rc;
}

/* Scales like PyTorch: coef = max_norm / (norm + 1e-6), applied only when below 1. A
 * non-finite norm is reported and the grads are left alone: skip that step. */
int lundi_clip_grad_norm(const lundi_param_list *params, float max_norm, float *total_norm) {
  if (!params) return lundi__err(LUNDI_EINVAL, "clip_grad_norm: params is NULL");
  if (!(max_norm > 0)) return lundi__err(LUNDI_EINVAL, "clip_grad_norm: max_norm %g must be positive", max_norm);
  double acc = 0;
  int rc = 0;
  lundi_no_grad_enter();
  for (int i = 0; i < params->n && !rc; i++) {
    lundi_tensor *g = params->tensors[i]->grad;
    if (g) rc = sum_sq(g, &acc);
  }
  double norm = sqrt(acc);
  double coef = max_norm / (norm + 1e-6);
  for (int i = 0; i < params->n && !rc && isfinite(norm) && coef < 1; i++) {
    lundi_tensor *g = params->tensors[i]->grad;
    if (!g) continue;
    lundi_kcall c = {.id = LUNDI_K_UNARY, .n_in = 1, .n_out = 1, .in = {g}, .out = {g}, .i = {LUNDI_UN_MUL_S},
                     .f = {coef, 0}};
    rc = lundi__run(&c);
  }
  lundi_no_grad_exit();
  if (total_norm) *total_norm = (float)norm;
  return rc;
}
