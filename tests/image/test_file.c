/* PNG files as tensors and text (runtime/io/image_file.c, plot_file.c): the CHW layout and
 * [0, 1] scale of lundi_image_load, text lookup, errors that name the file, and writing
 * images, grids and plots. */
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

/* lundi_image_save_png: one image or a grid, with text chunks (what lundi.save_image does). */
static void save_png(void) {
  const char *p = tmp_path("save.png");
  float v[2 * 1 * 2 * 2] = {0, 0.5f, 1, 1, 1, 1, 0, 0};
  int64_t s4[4] = {2, 1, 2, 2}, s3[3] = {1, 2, 2};
  lundi_tensor *grid = lundi_from_f32(4, s4, v), *one = lundi_from_f32(3, s3, v);
  const char *keys[] = {"a", "b"}, *values[] = {"1", "two"};
  lundi_image_save_opts o = {.nrow = 2, .padding = 1, .pad_value = 7, .lo = 0, .hi = 1,
                             .text_keys = keys, .text_values = values, .n_texts = 2};
  CHECK(lundi_image_save_png(p, grid, &o) == 0);
  lundi_tensor *t = lundi_image_load(p);
  CHECK(t && lundi_ndim(t) == 3 && lundi_dim(t, 1) == 4 && lundi_dim(t, 2) == 7); /* 2 images + padding */
  lundi_release(t);
  char *got = NULL;
  CHECK(lundi_png_file_text(p, "b", &got) == 0 && got && !strcmp(got, "two"));
  free(got);
  o.n_texts = 0;
  CHECK(lundi_image_save_png(p, one, &o) == 0);
  t = lundi_image_load(p);
  CHECK(t && lundi_dim(t, 1) == 2 && lundi_dim(t, 2) == 2);
  if (t) {
    float *r = t_read(t);
    CHECK(r[0] == 0 && r[1] == 128 / 255.0f && r[2] == 1);
    free(r);
  }
  lundi_release(t);
  CHECK_ERR(lundi_image_save_png("/nonexistent/dir/x.png", one, &o) != 0, "/nonexistent/dir/x.png");
  lundi_release(grid);
  lundi_release(one);
  remove(p);
}

/* lundi_plot_values and lundi_plot_file: a tensor's values as a series, drawn to a file. */
static void plot_file(void) {
  const char *p = tmp_path("plot.png");
  float v[4] = {1, 2.5f, -3, 4};
  int64_t n = 4;
  lundi_tensor *t = lundi_from_f32(1, &n, v);
  double ys[4] = {0};
  CHECK(lundi_plot_values(t, ys) == 0);
  CHECK(ys[0] == 1 && ys[1] == 2.5 && ys[2] == -3 && ys[3] == 4);
  lundi_plot_series s = {"y", NULL, ys, 4};
  CHECK(lundi_plot_file(p, &s, 1, 200, 150, "title", 0) == 0);
  lundi_tensor *im = lundi_image_load(p);
  CHECK(im && lundi_dim(im, 1) == 150 && lundi_dim(im, 2) == 200);
  lundi_release(im);
  CHECK(lundi_plot_file(p, &s, 1, 10, 10, NULL, 0) != 0); /* too small a canvas */
  lundi_release(t);
  remove(p);
}

static const test_case tests[] = {
    {"load_tensor", load_tensor},
    {"file_text", file_text},
    {"file_errors", file_errors},
    {"save_png", save_png},
    {"plot_file", plot_file},
};
TEST_MAIN(tests)
