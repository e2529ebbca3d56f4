/* Fused optimiser updates: one pass over a parameter and its state, no temporaries.
 * Every operand is f32, contiguous (element k at data + offset + k), with the same numel;
 * the front-end (runtime/nn) guarantees this, so other backends may rely on it too. */
#include "cpu/kernels.h"

#include <math.h>

/* LUNDI_K_ADAMW (decoupled weight decay, PyTorch's AdamW formulation):
 *   in[0]  = grad g                     (read)
 *   out[0] = param p, out[1] = exp_avg m, out[2] = exp_avg_sq v  (read and written)
 *   f[0] = lr, f[1] = beta1, f[2] = beta2, f[3] = eps, f[4] = weight_decay,
 *   f[5] = 1 - beta1^t, f[6] = 1 - beta2^t  (bias corrections for step t >= 1)
 * Per element:
 *   p <- p * (1 - lr * wd)
 *   m <- beta1 * m + (1 - beta1) * g
 *   v <- beta2 * v + (1 - beta2) * g^2
 *   p <- p - (lr / bc1) * m / (sqrt(v) / sqrt(bc2) + eps)                         */
int lundi_cpu_adamw(const lundi_kcall *c) {
  const float *g = lundi__f32(c->in[0]);
  float *p = lundi__f32(c->out[0]), *m = lundi__f32(c->out[1]), *v = lundi__f32(c->out[2]);
  int64_t n = lundi_numel(c->out[0]);
  const float b1 = (float)c->f[1], b2 = (float)c->f[2], eps = (float)c->f[3];
  const float decay = (float)(1.0 - c->f[0] * c->f[4]);
  const float step_size = (float)(c->f[0] / c->f[5]), sqrt_bc2 = (float)sqrt(c->f[6]);
#pragma omp parallel for simd schedule(static) if (n > 65536)
  for (int64_t k = 0; k < n; k++) {
    float gk = g[k];
    float mk = b1 * m[k] + (1.0f - b1) * gk;
    float vk = b2 * v[k] + (1.0f - b2) * gk * gk;
    m[k] = mk;
    v[k] = vk;
    p[k] = p[k] * decay - step_size * mk / (sqrtf(vk) / sqrt_bc2 + eps);
  }
  return 0;
}

/* LUNDI_K_EMA: in[0] = param p (read), out[0] = shadow s (read and written),
 * f[0] = decay d.  s <- d * s + (1 - d) * p, evaluated as PyTorch's lerp does so both
 * ends are exact: d = 1 keeps s, d = 0 copies p. */
int lundi_cpu_ema(const lundi_kcall *c) {
  const float *p = lundi__f32(c->in[0]);
  float *s = lundi__f32(c->out[0]);
  int64_t n = lundi_numel(c->out[0]);
  const float d = (float)c->f[0], w = (float)(1.0 - c->f[0]);
  if (w < 0.5f) {
#pragma omp parallel for simd schedule(static) if (n > 65536)
    for (int64_t k = 0; k < n; k++) s[k] += w * (p[k] - s[k]);
  } else {
#pragma omp parallel for simd schedule(static) if (n > 65536)
    for (int64_t k = 0; k < n; k++) s[k] = p[k] - (p[k] - s[k]) * d;
  }
  return 0;
}
