/* Tensor -> 8-bit image. */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "image_internal.h"
#include "lundi/image.h"
#include "png_internal.h"

int lundi__image_range(const char *fn, float lo, float hi, float *scale) {
  if (!isfinite(lo) || !isfinite(hi) || !(lo < hi))
    return lundi_set_error(LUNDI_EINVAL, "%s: range [%g, %g] is invalid; need finite lo < hi (e.g. -1, 1)", fn,
                           (double)lo, (double)hi);
  *scale = 255.0f / (hi - lo);
  return 0;
}

float *lundi__image_read(const char *fn, lundi_tensor *t) {
  int64_t n = lundi_numel(t);
  float *v = malloc((size_t)(n > 0 ? n : 1) * sizeof *v);
  if (!v) {
    lundi_set_error(LUNDI_ENOMEM, "%s: out of memory for %lld values", fn, (long long)n);
    return NULL;
  }
  if (lundi_read_f32(t, v, n)) {
    char msg[256];
    snprintf(msg, sizeof msg, "%s", lundi_last_error());
    lundi_set_error(lundi_last_error_code(), "%s: cannot read the tensor: %s", fn, msg);
    free(v);
    return NULL;
  }
  return v;
}

int lundi_image_from_tensor(lundi_tensor *t, float lo, float hi, lundi_image *out) {
  static const char fn[] = "image_from_tensor";
  if (out) memset(out, 0, sizeof *out);
  if (!t || !out) return lundi_set_error(LUNDI_EINVAL, "%s: tensor and out must be non-NULL", fn);
  float scale;
  if (lundi__image_range(fn, lo, hi, &scale)) return LUNDI_EINVAL;
  int nd = lundi_ndim(t);
  const int64_t *s = lundi_shape(t);
  char sh[96];
  lundi_shape_str(nd, s, sh, sizeof sh);
  if (nd != 2 && nd != 3)
    return lundi_set_error(LUNDI_ESHAPE, "%s: tensor has shape %s; expected [H,W], [1,H,W] or [3,H,W]%s", fn, sh,
                           nd == 4 ? " (use image_grid for a batch [N,C,H,W])" : "");
  int64_t c = nd == 3 ? s[0] : 1, h = s[nd - 2], w = s[nd - 1];
  if (c != 1 && c != 3)
    return lundi_set_error(LUNDI_ESHAPE, "%s: tensor has shape %s with %lld channels; expected 1 (gray) or 3 (RGB)", fn,
                           sh, (long long)c);
  if (h < 1 || w < 1 || h > LUNDI_PNG_MAX_DIM || w > LUNDI_PNG_MAX_DIM)
    return lundi_set_error(LUNDI_ESHAPE, "%s: tensor has shape %s; height and width must be 1..%u", fn, sh,
                           LUNDI_PNG_MAX_DIM);
  float *v = lundi__image_read(fn, t);
  if (!v) return lundi_last_error_code();
  size_t plane = (size_t)h * (size_t)w;
  uint8_t *px = malloc(plane * (size_t)c);
  if (!px) {
    free(v);
    return lundi_set_error(LUNDI_ENOMEM, "%s: out of memory", fn);
  }
  /* planar CHW -> interleaved HWC */
  for (size_t i = 0; i < plane; i++)
    for (int64_t k = 0; k < c; k++) px[i * (size_t)c + (size_t)k] = lundi__to_u8(v[(size_t)k * plane + i], lo, scale);
  free(v);
  out->width = (int)w;
  out->height = (int)h;
  out->channels = (int)c;
  out->pixels = px;
  return 0;
}
