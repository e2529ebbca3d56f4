/* Saving images: tensor -> 8-bit image (or grid) -> PNG with its text chunks -> an output of
 * the run, and optionally a file written atomically. */
#include "core/atomic_file.h"
#include "session/session_internal.h"

#include "lundi/image.h"

#include <cjson/cJSON.h>
#include <math.h>
#include <stdlib.h>

/* {"run": uuid, "output": name}: the chunk `lundi which` reads to find the run. */
static char *tag_json(lundi_run *run, const char *name) {
  cJSON *tag = cJSON_CreateObject();
  cJSON_AddStringToObject(tag, "run", lundi_run_uuid(run));
  cJSON_AddStringToObject(tag, "output", name);
  char *s = cJSON_PrintUnformatted(tag);
  cJSON_Delete(tag);
  return s;
}

static char *meta_json(const lundi_image *im, int images, const char *parameters) {
  cJSON *meta = cJSON_CreateObject();
  cJSON_AddNumberToObject(meta, "width", im->width);
  cJSON_AddNumberToObject(meta, "height", im->height);
  cJSON_AddNumberToObject(meta, "channels", im->channels);
  cJSON_AddNumberToObject(meta, "images", images);
  cJSON_AddStringToObject(meta, "parameters", parameters);
  char *s = cJSON_PrintUnformatted(meta);
  cJSON_Delete(meta);
  return s;
}

int lundi_session_save_image(lundi_run *run, const char *name, lundi_tensor *t,
                             const lundi_save_image_opts *opts, int64_t *id) {
  static const lundi_save_image_opts defaults = LUNDI_SAVE_IMAGE_OPTS_INIT;
  if (!(run = lundi__session_run(run, "save_image"))) return LUNDI_ESTATE;
  if (!opts) opts = &defaults;
  if (!name || !t) return lundi_set_error(LUNDI_EINVAL, "save_image: NULL name or tensor");
  int nd = lundi_ndim(t);
  if (nd != 3 && nd != 4)
    return lundi_set_error(LUNDI_EINVAL, "save_image: image tensor must be [C, H, W] or [N, C, H, W], got %d dims",
                           nd);
  if (opts->nrow < 0) return lundi_set_error(LUNDI_EINVAL, "save_image: opts.nrow must be a positive integer");
  int n = nd == 4 ? (int)lundi_dim(t, 0) : 1;
  int nrow = opts->nrow ? opts->nrow : (int)ceil(sqrt((double)n));
  char *params = lundi_session_parameters_text(opts->parameters, (int)lundi_dim(t, -1), (int)lundi_dim(t, -2));
  if (!params) return LUNDI_ENOMEM;
  lundi_image im = {0};
  int rc = nd == 4 ? lundi_image_grid(t, nrow, 2, 0, opts->lo, opts->hi, &im)
                   : lundi_image_from_tensor(t, opts->lo, opts->hi, &im);
  if (rc != 0) {
    free(params);
    return rc;
  }
  char *tag = tag_json(run, name);
  lundi_png_text texts[2] = {{"parameters", params}, {"lundi", tag}};
  uint8_t *png = NULL;
  size_t png_n = 0;
  rc = lundi_png_encode(&im, texts, 2, &png, &png_n);
  free(tag);
  char *meta = meta_json(&im, n, params);
  lundi_image_free(&im);
  free(params);
  if (rc == 0) rc = lundi_run_output(run, "image", name, "image/png", png, png_n, meta, id);
  free(meta);
  if (rc == 0 && opts->file) rc = lundi__write_file_atomic(opts->file, png, png_n, "save_image");
  free(png);
  return rc;
}
