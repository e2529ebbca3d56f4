/* PNG files as tensors and text (runtime/io/image_file.c): the CHW layout and [0, 1] scale
 * of lundi_image_load, text lookup, and errors that name the file. */
#include <unistd.h>

#include "harness.h"
#include "lundi/image.h"

static const char *tmp_path(const char *name) {
  static char buf[512];
  const char *dir = getenv("TMPDIR") ? getenv("TMPDIR") : "/tmp";
  snprintf(buf, sizeof buf, "%s/lundi_test_file_%d_%s", dir, (int)getpid(), name);
  return buf;
}

/* A 3x2 RGB image whose pixel (x, y) channel c is 10 * (3 * y + x) + c. */
static void write_rgb(const char *path, const lundi_png_text *texts, int n_texts) {
  uint8_t px[2 * 3 * 3];
  for (int y = 0; y < 2; y++)
    for (int x = 0; x < 3; x++)
      for (int c = 0; c < 3; c++) px[(y * 3 + x) * 3 + c] = (uint8_t)(10 * (3 * y + x) + c);
  lundi_image im = {3, 2, 3, px};
  CHECK(lundi_png_write_file(path, &im, texts, n_texts) == 0);
}

static void load_tensor(void) {
  const char *p = tmp_path("rgb.png");
  write_rgb(p, NULL, 0);
  lundi_tensor *t = lundi_image_load(p);
  CHECK(t && lundi_ndim(t) == 3 && lundi_dim(t, 0) == 3 && lundi_dim(t, 1) == 2 && lundi_dim(t, 2) == 3);
  if (t) {
    float *v = t_read(t);
    for (int c = 0; c < 3; c++)
      for (int i = 0; i < 6; i++) CHECK(v[c * 6 + i] == (float)(10 * i + c) / 255.0f); /* planar CHW */
    free(v);
  }
  lundi_release(t);
  remove(p);
}

static void file_text(void) {
  const char *p = tmp_path("text.png");
  lundi_png_text texts[] = {{"lundi", "run 7"}, {"utf", "Grüße"}};
  write_rgb(p, texts, 2);
  char *v = NULL;
  CHECK(lundi_png_file_text(p, "lundi", &v) == 0 && v && !strcmp(v, "run 7"));
  free(v);
  CHECK(lundi_png_file_text(p, "utf", &v) == 0 && v && !strcmp(v, "Grüße"));
  free(v);
  v = (char *)"stale";
  CHECK(lundi_png_file_text(p, "absent", &v) == 0 && v == NULL);
  remove(p);
}

static void file_errors(void) {
  const char *p = tmp_path("notpng.png");
  FILE *f = fopen(p, "wb");
  CHECK(f != NULL);
  if (f) {
    fputs("not a png at all", f);
    fclose(f);
  }
  CHECK_ERR(lundi_image_load(p), "notpng.png': png_decode: not a PNG file");
  char *v = NULL;
  CHECK_ERR(lundi_png_file_text(p, "k", &v), "notpng.png': ");
  CHECK(v == NULL);
  remove(p);
  CHECK_ERR(lundi_image_load(tmp_path("missing.png")), "cannot open");
  CHECK_ERR(lundi_png_file_text(tmp_path("missing.png"), "k", &v), "cannot open");
}

static const test_case tests[] = {
    {"load_tensor", load_tensor},
    {"file_text", file_text},
    {"file_errors", file_errors},
};
TEST_MAIN(tests)
