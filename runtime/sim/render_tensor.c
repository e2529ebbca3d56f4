/* A render as an image tensor: the RGB8 top view (lundi_env_render) as f32 [3, H, W] in
 * [0, 1], planar, on the host; the layout lundi_image_from_tensor (and so save_image and
 * the session's animations) reads with range {0, 1}, byte for byte. */
#include <stdlib.h>

#include "core/error.h"
#include "sim/sim_internal.h"

lundi_tensor *lundi_env_render_tensor(lundi_env *env, int w, int h) {
  if (w < 8 || h < 8 || w > 4096 || h > 4096)
    return lundi__errp(LUNDI_EINVAL, "env_render: size %dx%d is outside 8x8 .. 4096x4096", w, h);
  size_t plane = (size_t)w * (size_t)h;
  uint8_t *rgb = malloc(plane * 3);
  if (!rgb) return lundi__errp(LUNDI_ENOMEM, "env_render: out of memory (%dx%d)", w, h);
  if (lundi_env_render(env, rgb, w, h) != 0) {
    free(rgb);
    return NULL;
  }
  int64_t shape[3] = {3, h, w};
  lundi_tensor *t = lundi_empty(3, shape, LUNDI_F32, NULL);
  float *v = t ? lundi_data(t) : NULL;
  if (v) {
    /* interleaved HWC bytes -> planar CHW; k / 255 maps back to k exactly (round(k) = k) */
    for (size_t i = 0; i < plane; i++)
      for (int c = 0; c < 3; c++) v[(size_t)c * plane + i] = (float)rgb[i * 3 + (size_t)c] / 255.0f;
  }
  free(rgb);
  return t;
}
