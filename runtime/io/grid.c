/* [N,C,H,W] -> one image of tiles, laid out like torchvision.utils.make_grid: nrow tiles
 * per row, a pad-wide border around the grid and a pad-wide gap between tiles; cells past
 * the last image stay pad_value. */
#include <stdlib.h>
#include <string.h>

#include "image_internal.h"
#include "lundi/image.h"
#include "png_internal.h"

int lundi_image_grid(lundi_tensor *t, int nrow, int pad, uint8_t pad_value, float lo, float hi, lundi_image *out) {
  static const char fn[] = "image_grid";
  if (out) memset(out, 0, sizeof *out);
  if (!t || !out) return lundi_set_error(LUNDI_EINVAL, "%s: tensor and out must be non-NULL", fn);
  if (nrow < 1) return lundi_set_error(LUNDI_EINVAL, "%s: nrow is %d; need at least 1 image per row", fn, nrow);
  if (pad < 0 || pad > 1024) return lundi_set_error(LUNDI_EINVAL, "%s: padding %d is outside 0..1024", fn, pad);
  float scale;
  if (lundi__image_range(fn, lo, hi, &scale)) return LUNDI_EINVAL;
  int nd = lundi_ndim(t);
  const int64_t *s = lundi_shape(t);
  char sh[96];
  lundi_shape_str(nd, s, sh, sizeof sh);
  if (nd != 4)
    return lundi_set_error(LUNDI_ESHAPE, "%s: tensor has shape %s; expected [N,C,H,W] with C = 1 or 3", fn, sh);
  int64_t n = s[0], c = s[1], h = s[2], w = s[3];
  if (c != 1 && c != 3)
    return lundi_set_error(LUNDI_ESHAPE, "%s: tensor has shape %s with %lld channels; expected 1 (gray) or 3 (RGB)", fn,
                           sh, (long long)c);
  if (n < 1 || h < 1 || w < 1) return lundi_set_error(LUNDI_ESHAPE, "%s: tensor %s is empty", fn, sh);
  int64_t cols = n < nrow ? n : nrow, rows = (n + cols - 1) / cols;
  int64_t gw = cols * (w + pad) + pad, gh = rows * (h + pad) + pad;
  if (gw > LUNDI_PNG_MAX_DIM || gh > LUNDI_PNG_MAX_DIM)
    return lundi_set_error(LUNDI_ESHAPE, "%s: a grid of %lld x %lld tiles of %s is %lldx%lld pixels, above %u", fn,
                           (long long)cols, (long long)rows, sh, (long long)gw, (long long)gh, LUNDI_PNG_MAX_DIM);
  float *v = lundi__image_read(fn, t);
  if (!v) return lundi_last_error_code();
  size_t row_bytes = (size_t)gw * (size_t)c;
  uint8_t *px = malloc(row_bytes * (size_t)gh);
  if (!px) {
    free(v);
    return lundi_set_error(LUNDI_ENOMEM, "%s: out of memory", fn);
  }
  memset(px, pad_value, row_bytes * (size_t)gh); /* padding and empty cells */
  size_t plane = (size_t)h * (size_t)w;
  for (int64_t i = 0; i < n; i++) {
    int64_t x0 = pad + (i % cols) * (w + pad), y0 = pad + (i / cols) * (h + pad);
    const float *src = v + (size_t)i * (size_t)c * plane;
    for (int64_t y = 0; y < h; y++) {
      uint8_t *dst = px + (size_t)(y0 + y) * row_bytes + (size_t)x0 * (size_t)c;
      for (int64_t x = 0; x < w; x++)
        for (int64_t k = 0; k < c; k++)
          dst[x * c + k] = lundi__to_u8(src[(size_t)k * plane + (size_t)(y * w + x)], lo, scale);
    }
  }
  free(v);
  out->width = (int)gw;
  out->height = (int)gh;
  out->channels = (int)c;
  out->pixels = px;
  return 0;
}
