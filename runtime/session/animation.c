/* Animations (an episode of an environment, a sampling trajectory) as outputs of a run:
 * frames -> an animated GIF (lundi_gif_write, lundi/env.h) -> an output of kind "file",
 * image/gif, with metadata {"width", "height", "frames", "delay_cs"}. */
#include "session/session_internal.h"

#include "lundi/env.h"
#include "lundi/image.h"

#include <cjson/cJSON.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

typedef struct gif_job {
  const uint8_t *frames;
  int n, w, h, delay_cs;
} gif_job;

static int write_gif(const char *path, void *ctx) {
  const gif_job *j = ctx;
  return lundi_gif_write(path, j->frames, j->n, j->w, j->h, j->delay_cs);
}

int lundi_session_save_animation(lundi_run *run, const char *name, const uint8_t *frames, int n, int w, int h,
                                 int delay_cs, int64_t *id) {
  static const char fn[] = "save_animation";
  if (!(run = lundi__session_run(run, fn))) return LUNDI_ESTATE;
  if (!name || !frames) return lundi_set_error(LUNDI_EINVAL, "%s: NULL name or frames", fn);
  if (n < 1) return lundi_set_error(LUNDI_EINVAL, "%s: needs at least one frame, got %d", fn, n);
  gif_job job = {frames, n, w, h, delay_cs};
  uint8_t *gif = NULL;
  size_t size = 0;
  int rc = lundi__session_file_bytes(run, fn, write_gif, &job, &gif, &size);
  if (rc != 0) return rc;
  cJSON *meta = cJSON_CreateObject();
  cJSON_AddNumberToObject(meta, "width", w);
  cJSON_AddNumberToObject(meta, "height", h);
  cJSON_AddNumberToObject(meta, "frames", n);
  cJSON_AddNumberToObject(meta, "delay_cs", delay_cs);
  char *meta_json = cJSON_PrintUnformatted(meta);
  cJSON_Delete(meta);
  rc = lundi_run_output(run, "file", name, "image/gif", gif, size, meta_json, id);
  free(meta_json);
  free(gif);
  return rc;
}

/* Frame i (0-based) as an 8-bit image; an error says which frame. */
static int frame_image(lundi_tensor *t, int i, int n, float lo, float hi, lundi_image *im) {
  int rc = lundi_image_from_tensor(t, lo, hi, im);
  if (rc == 0) return 0;
  char msg[1024];
  snprintf(msg, sizeof msg, "%s", lundi_last_error());
  return lundi_set_error(rc, "save_animation: frame %d (of %d): %s", i + 1, n, msg);
}

/* Frame i (0-based) as RGB8 into rgb (w * h * 3 bytes); its size must be w x h. */
static int frame_rgb(lundi_tensor *t, int i, int n, float lo, float hi, int w, int h, uint8_t *rgb) {
  lundi_image im = {0};
  int rc = frame_image(t, i, n, lo, hi, &im);
  if (rc != 0) return rc;
  if (im.width != w || im.height != h) {
    int iw = im.width, ih = im.height;
    lundi_image_free(&im);
    return lundi_set_error(LUNDI_ESHAPE, "save_animation: frame %d (of %d) is %dx%d, frame 1 is %dx%d", i + 1, n,
                           iw, ih, w, h);
  }
  size_t px = (size_t)w * (size_t)h;
  if (im.channels == 3) memcpy(rgb, im.pixels, px * 3);
  else
    for (size_t k = 0; k < px; k++) rgb[3 * k] = rgb[3 * k + 1] = rgb[3 * k + 2] = im.pixels[k];
  lundi_image_free(&im);
  return 0;
}

int lundi_session_save_animation_tensors(lundi_run *run, const char *name, lundi_tensor *const *frames, int n,
                                         float lo, float hi, int delay_cs, int64_t *id) {
  static const char fn[] = "save_animation";
  if (!(run = lundi__session_run(run, fn))) return LUNDI_ESTATE;
  if (!frames || n < 1) return lundi_set_error(LUNDI_EINVAL, "%s: needs at least one frame, got %d", fn, n < 0 ? n : 0);
  for (int i = 0; i < n; i++)
    if (!frames[i]) return lundi_set_error(LUNDI_EINVAL, "%s: frame %d (of %d) is NULL", fn, i + 1, n);
  lundi_image first = {0}; /* the size every frame must have, and frame 1's own checks */
  int rc = frame_image(frames[0], 0, n, lo, hi, &first);
  if (rc != 0) return rc;
  int w = first.width, h = first.height;
  lundi_image_free(&first);
  size_t frame_bytes = (size_t)w * (size_t)h * 3;
  if (frame_bytes * (size_t)n > ((size_t)1 << 32))
    return lundi_set_error(LUNDI_EINVAL, "%s: %d frames of %dx%d are more than 4 GiB of pixels", fn, n, w, h);
  uint8_t *rgb = malloc(frame_bytes * (size_t)n);
  if (!rgb) return lundi_set_error(LUNDI_ENOMEM, "%s: out of memory (%d frames of %dx%d)", fn, n, w, h);
  for (int i = 0; i < n && rc == 0; i++) rc = frame_rgb(frames[i], i, n, lo, hi, w, h, rgb + frame_bytes * (size_t)i);
  if (rc == 0) rc = lundi_session_save_animation(run, name, rgb, n, w, h, delay_cs, id);
  free(rgb);
  return rc;
}
