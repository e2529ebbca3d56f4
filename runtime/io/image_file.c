/* PNG files as tensors and text: reading, decoding and the HWC -> CHW layout, so that the
 * Lua binding only converts values. */
#include <stdio.h>
#include <stdlib.h>

#include "lundi/image.h"

/* Prefixes the pending error with the file's name: decode messages do not name it. */
static int name_file(const char *path) {
  char msg[512];
  snprintf(msg, sizeof msg, "%s", lundi_last_error());
  return lundi_set_error(lundi_last_error_code(), "'%s': %s", path, msg);
}

static int read_png(const char *path, lundi_image *im) {
  uint8_t *data = NULL;
  size_t n = 0;
  if (lundi_file_read_all(path, &data, &n)) return lundi_last_error_code();
  int rc = lundi_png_decode(data, n, im);
  free(data);
  return rc ? name_file(path) : 0;
}

lundi_tensor *lundi_image_load(const char *path) {
  lundi_image im = {0};
  if (read_png(path, &im)) return NULL;
  int64_t shape[3] = {im.channels, im.height, im.width};
  size_t plane = (size_t)im.width * (size_t)im.height, nc = (size_t)im.channels;
  float *v = malloc(sizeof *v * plane * nc);
  lundi_tensor *t = NULL;
  if (v) {
    for (size_t i = 0; i < plane; i++) /* interleaved HWC -> planar CHW */
      for (size_t c = 0; c < nc; c++) v[c * plane + i] = im.pixels[i * nc + c] / 255.0f;
    t = lundi_from_f32(3, shape, v);
  } else {
    lundi_set_error(LUNDI_ENOMEM, "out of memory for a %dx%d image", im.width, im.height);
  }
  free(v);
  lundi_image_free(&im);
  return t;
}

int lundi_png_file_text(const char *path, const char *key, char **value) {
  *value = NULL;
  uint8_t *data = NULL;
  size_t n = 0;
  if (lundi_file_read_all(path, &data, &n)) return lundi_last_error_code();
  int rc = lundi_png_find_text(data, n, key, value);
  free(data);
  return rc ? name_file(path) : 0;
}

int lundi_image_save_png(const char *path, lundi_tensor *t, const lundi_image_save_opts *o) {
  if (!path || !t || !o || o->n_texts < 0 || (o->n_texts && (!o->text_keys || !o->text_values)))
    return lundi_set_error(LUNDI_EINVAL, "image_save_png: NULL path, tensor, options or texts");
  lundi_png_text *texts = malloc(sizeof *texts * (size_t)(o->n_texts ? o->n_texts : 1));
  if (!texts) return lundi_set_error(LUNDI_ENOMEM, "image_save_png: out of memory");
  for (int i = 0; i < o->n_texts; i++) texts[i] = (lundi_png_text){o->text_keys[i], o->text_values[i]};
  lundi_image im = {0};
  int rc = lundi_ndim(t) == 4 ? lundi_image_grid(t, o->nrow, o->padding, o->pad_value, o->lo, o->hi, &im)
                              : lundi_image_from_tensor(t, o->lo, o->hi, &im);
  if (!rc) rc = lundi_png_write_file(path, &im, texts, o->n_texts);
  lundi_image_free(&im);
  free(texts);
  return rc;
}
