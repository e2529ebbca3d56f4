/* Sinusoidal timestep embedding (DDPM / guided-diffusion convention): frequencies
 * f_i = max_period^(-i/half), i < half; out = [cos(t f), sin(t f)], a zero column when dim
 * is odd. Computed in double on the host; the result lives on t's device. */
#include "nn/nn_internal.h"

#include <math.h>
#include <stdlib.h>

lundi_tensor *lundi_timestep_embedding(lundi_tensor *t, int dim, float max_period) {
  char s[160];
  if (!t) return lundi__errp(LUNDI_EINVAL, "timestep_embedding: t is NULL");
  if (t->ndim != 1)
    return lundi__errp(LUNDI_ESHAPE, "timestep_embedding: t %s must be 1-D [N]", lundi_shape_str(t->ndim, t->shape, s, sizeof s));
  if (dim <= 0 || !(max_period > 0))
    return lundi__errp(LUNDI_EINVAL, "timestep_embedding: dim=%d and max_period=%g must be positive", dim, max_period);
  int64_t n = t->shape[0], half = dim / 2;
  float *tv = malloc(sizeof(float) * (size_t)(n ? n : 1));
  float *ev = malloc(sizeof(float) * (size_t)(n ? n : 1) * (size_t)dim);
  lundi_tensor *out = NULL;
  if (!tv || !ev) {
    lundi__err(LUNDI_ENOMEM, "timestep_embedding: out of host memory");
  } else if (!lundi_read_f32(t, tv, n)) {
    for (int64_t r = 0; r < n; r++) {
      float *row = ev + r * dim;
      for (int64_t i = 0; i < half; i++) {
        double arg = (double)tv[r] * exp(-log((double)max_period) * (double)i / (double)half);
        row[i] = (float)cos(arg);
        row[half + i] = (float)sin(arg);
      }
      if (dim % 2) row[dim - 1] = 0.0f;
    }
    int64_t shape[2] = {n, dim};
    lundi_tensor *h = lundi_from_f32(2, shape, ev);
    out = h ? lundi_to_device(h, t->storage->device) : NULL;
    lundi_release(h);
  }
  free(tv);
  free(ev);
  return out;
}
