/* CPU rotary position embedding (rotate-half convention). */
#include "cpu/kernels.h"

#include <math.h>
#include <stdlib.h>

/* LUNDI_K_ROPE
 * in[0] x, out[0] y: contiguous [R, L, D] (any shape with R*L*D elements), D even;
 * i[0] R, i[1] L, i[2] D, i[3] pos_offset, i[4] inverse (1: rotate by -angle, the
 * backward); f[0] base.
 * For h = D/2, i < h, angle t = (pos_offset + l) * base^(-2i/D):
 *   y[i] = x[i] cos t - x[i+h] sin t,  y[i+h] = x[i+h] cos t + x[i] sin t.
 * Angles are formed in double so large positions keep their precision. */
int lundi_cpu_rope(const lundi_kcall *c) {
  const float *x = lundi__f32(c->in[0]);
  float *y = lundi__f32(c->out[0]);
  int64_t R = c->i[0], L = c->i[1], D = c->i[2], pos0 = c->i[3], h = D / 2;
  double base = c->f[0], sign = c->i[4] ? -1.0 : 1.0;
  if (R * L * D == 0) return 0;
  float *cs = malloc(sizeof(float) * (size_t)(2 * L * h)); /* [L, h] cos then [L, h] sin */
  if (!cs) return lundi__err(LUNDI_ENOMEM, "rope: out of host memory for the angle table");
  float *sn = cs + L * h;
  for (int64_t i = 0; i < h; i++) {
    double f = pow(base, -2.0 * (double)i / (double)D);
    for (int64_t l = 0; l < L; l++) {
      double t = (double)(pos0 + l) * f;
      cs[l * h + i] = (float)cos(t);
      sn[l * h + i] = (float)(sign * sin(t));
    }
  }
#pragma omp parallel for schedule(static) if (R * L * D > 32768)
  for (int64_t rl = 0; rl < R * L; rl++) {
    int64_t l = rl % L;
    const float *xa = x + rl * D, *xb = xa + h, *cr = cs + l * h, *sr = sn + l * h;
    float *ya = y + rl * D, *yb = ya + h;
#pragma omp simd
    for (int64_t i = 0; i < h; i++) {
      float a = xa[i], b = xb[i];
      ya[i] = a * cr[i] - b * sr[i];
      yb[i] = b * cr[i] + a * sr[i];
    }
  }
  free(cs);
  return 0;
}
