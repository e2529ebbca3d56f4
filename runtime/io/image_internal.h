/* Shared by image.c and grid.c: float -> 8-bit mapping and tensor reads. */
#ifndef LUNDI_IO_IMAGE_INTERNAL_H
#define LUNDI_IO_IMAGE_INTERNAL_H

#include <stdint.h>

#include "lundi/tensor.h"

/* lo..hi -> 0..255, clamped and rounded; NaN -> 0. */
static inline uint8_t lundi__to_u8(float v, float lo, float scale) {
  if (!(v == v)) return 0;
  float s = (v - lo) * scale;
  if (!(s > 0.0f)) return 0; /* also -inf */
  if (s >= 255.0f) return 255;
  return (uint8_t)(s + 0.5f);
}

/* Checks lo < hi (both finite) for fn; returns 255 / (hi - lo) in *scale. */
int lundi__image_range(const char *fn, float lo, float hi, float *scale);
/* All values of t in logical order (malloc'd), or NULL with the error set. */
float *lundi__image_read(const char *fn, lundi_tensor *t);

#endif
