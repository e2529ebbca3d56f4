/* Tensor -> image mapping, grid geometry and line plots, checked pixel by pixel. */
#include "harness.h"
#include "lundi/image.h"

static void from_tensor_mapping(void) {
  /* [1,2,4]: lo..hi = -1..1; clamping, rounding and NaN -> 0 */
  const float v[8] = {-1.0f, 1.0f, 0.0f, -5.0f, 7.0f, NAN, 0.5f, -INFINITY};
  const uint8_t want[8] = {0, 255, 128, 0, 255, 0, 191, 0}; /* 0 -> 127.5 -> 128; 0.5 -> 191.25 */
  int64_t shape[3] = {1, 2, 4};
  lundi_tensor *t = lundi_from_f32(3, shape, v);
  lundi_image im = {0};
  CHECK(lundi_image_from_tensor(t, -1, 1, &im) == 0);
  CHECK(im.width == 4 && im.height == 2 && im.channels == 1);
  CHECK(im.pixels && !memcmp(im.pixels, want, 8));
  lundi_image_free(&im);
  /* [H,W] with range 0..1 */
  lundi_tensor *t2 = lundi_from_f32(2, shape + 1, v);
  CHECK(lundi_image_from_tensor(t2, 0, 1, &im) == 0 && im.channels == 1 && im.pixels[2] == 0 && im.pixels[6] == 128);
  lundi_image_free(&im);
  /* [3,H,W] planar -> interleaved RGB */
  float rgb[3 * 2 * 3];
  for (int c = 0; c < 3; c++)
    for (int i = 0; i < 6; i++) rgb[c * 6 + i] = (float)(c * 6 + i) / 17.0f;
  int64_t s3[3] = {3, 2, 3};
  lundi_tensor *t3 = lundi_from_f32(3, s3, rgb);
  CHECK(lundi_image_from_tensor(t3, 0, 1, &im) == 0 && im.channels == 3 && im.width == 3 && im.height == 2);
  for (int i = 0; i < 6 && im.pixels; i++)
    for (int c = 0; c < 3; c++) CHECK(im.pixels[i * 3 + c] == (int)lroundf((float)(c * 6 + i) / 17.0f * 255.0f));
  lundi_image_free(&im);
  /* a non-contiguous view: the transpose of [2,4] is [4,2] */
  lundi_tensor *tt = lundi_transpose(t2, 0, 1);
  CHECK(lundi_image_from_tensor(tt, -1, 1, &im) == 0 && im.width == 2 && im.height == 4);
  CHECK(im.pixels && im.pixels[0] == 0 && im.pixels[1] == 255 && im.pixels[2] == 255 && im.pixels[3] == 0);
  lundi_image_free(&im);
  lundi_release(tt);
  lundi_release(t);
  lundi_release(t2);
  lundi_release(t3);
}

static void from_tensor_errors(void) {
  lundi_image im = {0};
  int64_t s2[3] = {2, 3, 3}, s4[4] = {1, 1, 2, 2}, s1[1] = {5};
  lundi_tensor *a = lundi_zeros(3, s2), *b = lundi_zeros(4, s4), *c = lundi_zeros(1, s1);
  CHECK_ERR(lundi_image_from_tensor(a, -1, 1, &im), "2 channels; expected 1 (gray) or 3 (RGB)");
  CHECK_ERR(lundi_image_from_tensor(b, -1, 1, &im), "use image_grid");
  CHECK_ERR(lundi_image_from_tensor(c, -1, 1, &im), "shape [5]");
  CHECK_ERR(lundi_image_from_tensor(a, 1, 1, &im), "need finite lo < hi");
  CHECK_ERR(lundi_image_from_tensor(a, NAN, 1, &im), "need finite lo < hi");
  CHECK(im.pixels == NULL);
  lundi_release(a);
  lundi_release(b);
  lundi_release(c);
}

static void grid_geometry(void) {
  /* 5 RGB images of 3x4 (HxW), 3 per row, padding 2, pad value 77: 2 rows, the last
   * row has 2 images and one empty cell. Image i has every value (i + 1) / 10, channel c
   * adds c / 100, so each tile's colour is known. */
  const int N = 5, C = 3, H = 3, W = 4, nrow = 3, pad = 2;
  float *v = malloc(sizeof(float) * N * C * H * W);
  for (int i = 0; i < N; i++)
    for (int c = 0; c < C; c++)
      for (int k = 0; k < H * W; k++) v[((i * C) + c) * H * W + k] = (float)(i + 1) / 10 + (float)c / 100 + (k == 0 ? 0.05f : 0.0f);
  int64_t shape[4] = {N, C, H, W};
  lundi_tensor *t = lundi_from_f32(4, shape, v);
  lundi_image g = {0};
  CHECK(lundi_image_grid(t, nrow, pad, 77, 0, 1, &g) == 0);
  CHECK(g.width == 3 * (W + pad) + pad && g.height == 2 * (H + pad) + pad && g.channels == 3);
  int bad_tile = 0, bad_pad = 0;
  for (int y = 0; y < g.height && g.pixels; y++)
    for (int x = 0; x < g.width; x++) {
      int col = (x - pad) / (W + pad), row = (y - pad) / (H + pad);
      int in_x = x >= pad && (x - pad) % (W + pad) < W, in_y = y >= pad && (y - pad) % (H + pad) < H;
      int i = row * nrow + col;
      const uint8_t *p = g.pixels + ((size_t)y * g.width + x) * 3;
      if (in_x && in_y && i < N) {
        int k = ((y - pad) % (H + pad)) * W + (x - pad) % (W + pad);
        for (int c = 0; c < 3; c++) {
          float f = (float)(i + 1) / 10 + (float)c / 100 + (k == 0 ? 0.05f : 0.0f);
          bad_tile += p[c] != (uint8_t)(f * 255.0f + 0.5f);
        }
      } else {
        bad_pad += p[0] != 77 || p[1] != 77 || p[2] != 77;
      }
    }
  CHECK(bad_tile == 0);
  CHECK(bad_pad == 0);
  /* tile 4 (row 1, col 1) starts at x = pad + 1 * (W + pad), y = pad + 1 * (H + pad) */
  const uint8_t *corner = g.pixels + ((size_t)(pad + H + pad) * g.width + (pad + W + pad)) * 3;
  CHECK(corner[0] == (uint8_t)((0.5f + 0.05f) * 255.0f + 0.5f));
  lundi_image_free(&g);
  /* gray stays gray; nrow larger than N gives one row; pad 0 */
  int64_t gs[4] = {2, 1, 2, 2};
  lundi_tensor *gt = lundi_full(4, gs, 1.0f);
  CHECK(lundi_image_grid(gt, 8, 0, 0, -1, 1, &g) == 0 && g.channels == 1 && g.width == 4 && g.height == 2);
  CHECK(g.pixels && g.pixels[0] == 255 && g.pixels[7] == 255);
  lundi_image_free(&g);
  CHECK_ERR(lundi_image_grid(gt, 0, 2, 0, -1, 1, &g), "nrow is 0");
  CHECK_ERR(lundi_image_grid(t, 2, -1, 0, -1, 1, &g), "padding -1");
  int64_t s3[3] = {3, 2, 2};
  lundi_tensor *three = lundi_zeros(3, s3);
  CHECK_ERR(lundi_image_grid(three, 2, 2, 0, -1, 1, &g), "expected [N,C,H,W]");
  lundi_release(three);
  lundi_release(gt);
  lundi_release(t);
  free(v);
}

/* --- plots --- */

static const uint8_t BLUE[3] = {0x1f, 0x77, 0xb4}, ORANGE[3] = {0xff, 0x7f, 0x0e};

static int is_rgb(const lundi_image *im, int x, int y, const uint8_t c[3]) {
  const uint8_t *p = im->pixels + ((size_t)y * im->width + x) * 3;
  return p[0] == c[0] && p[1] == c[1] && p[2] == c[2];
}

static int count_rgb(const lundi_image *im, const uint8_t c[3], int x0, int x1) {
  int n = 0;
  for (int y = 0; y < im->height; y++)
    for (int x = x0; x < x1; x++) n += is_rgb(im, x, y, c);
  return n;
}

/* A pixel tinted by c (anti-aliased edges included): saturated, with c's channel order
 * (blue: b > g > r; orange: r > g > b). Gray ink, gridlines and white never match. */
static int is_tint(const lundi_image *im, int x, int y, const uint8_t c[3]) {
  const uint8_t *p = im->pixels + ((size_t)y * im->width + x) * 3;
  int mx = p[0] > p[1] ? (p[0] > p[2] ? p[0] : p[2]) : (p[1] > p[2] ? p[1] : p[2]);
  int mn = p[0] < p[1] ? (p[0] < p[2] ? p[0] : p[2]) : (p[1] < p[2] ? p[1] : p[2]);
  if (mx - mn < 30) return 0;
  return (c[0] < c[1]) == (p[0] < p[1]) && (c[1] < c[2]) == (p[1] < p[2]) && (c[0] < c[2]) == (p[0] < p[2]);
}

static int count_tint(const lundi_image *im, const uint8_t c[3]) {
  int n = 0;
  for (int y = 0; y < im->height; y++)
    for (int x = 0; x < im->width; x++) n += is_tint(im, x, y, c);
  return n;
}

/* Columns (x) where colour c appears at all. */
static void columns_with(const lundi_image *im, const uint8_t c[3], char *has) {
  for (int x = 0; x < im->width; x++) {
    has[x] = 0;
    for (int y = 0; y < im->height && !has[x]; y++) has[x] = (char)is_tint(im, x, y, c);
  }
}

static void plot_basics(void) {
  double y1[100], y2[100], x2[100];
  for (int i = 0; i < 100; i++) {
    y1[i] = 1.0 - i / 100.0;
    y2[i] = 0.5;
    x2[i] = 50 + i * 0.5;
  }
  lundi_plot_series s[2] = {{"falling", NULL, y1, 100}, {"flat", x2, y2, 100}};
  lundi_image im = {0};
  CHECK(lundi_plot_lines(s, 2, 400, 300, "Two series", 0, &im) == 0);
  CHECK(im.width == 400 && im.height == 300 && im.channels == 3 && im.pixels);
  if (!im.pixels) return;
  const uint8_t white[3] = {255, 255, 255};
  CHECK(is_rgb(&im, 0, 0, white) && is_rgb(&im, 399, 299, white) && is_rgb(&im, 399, 0, white));
  CHECK(count_rgb(&im, white, 0, 400) > 400 * 300 / 2); /* mostly background */
  CHECK(count_rgb(&im, BLUE, 0, 400) > 100);
  CHECK(count_rgb(&im, ORANGE, 0, 400) > 50);
  /* the flat series spans x 50..99.5 of 0..99.5: none of it in the left third of the
   * plot, but in the legend (top right) and the right half */
  char has[400];
  columns_with(&im, ORANGE, has);
  int left = 0;
  for (int x = 0; x < 150; x++) left += has[x];
  CHECK(left == 0);
  /* text is drawn in dark ink: the title and tick labels */
  const uint8_t ink[3] = {40, 40, 40};
  int ink_top = 0;
  for (int y = 0; y < 20; y++)
    for (int x = 0; x < 400; x++) ink_top += is_rgb(&im, x, y, ink);
  CHECK(ink_top > 30);
  lundi_image_free(&im);
  /* the same without a title: no ink in the top band */
  CHECK(lundi_plot_lines(s, 1, 400, 300, NULL, 0, &im) == 0);
  ink_top = 0;
  for (int y = 0; y < 10; y++)
    for (int x = 0; x < 400; x++) ink_top += is_rgb(&im, x, y, ink);
  CHECK(ink_top == 0);
  CHECK(count_rgb(&im, ORANGE, 0, 400) == 0); /* only the first series */
  lundi_image_free(&im);
}

static void plot_nan_gap(void) {
  /* A horizontal line y = 1 with the middle third NaN/inf: the colour is missing from the
   * columns of the gap and present on both sides. */
  double y[90];
  for (int i = 0; i < 90; i++) y[i] = (i >= 30 && i < 60) ? (i % 2 ? NAN : INFINITY) : 1.0 + i * 1e-3;
  lundi_plot_series s = {NULL, NULL, y, 90};
  lundi_image im = {0};
  CHECK(lundi_plot_lines(&s, 1, 600, 200, NULL, 0, &im) == 0);
  if (!im.pixels) return;
  char has[600];
  columns_with(&im, BLUE, has);
  int first = -1, last = -1, holes = 0;
  for (int x = 0; x < 600; x++)
    if (has[x]) {
      if (first < 0) first = x;
      last = x;
    }
  for (int x = first; x <= last && first >= 0; x++) holes += !has[x];
  /* 29 of 89 steps missing: about a third of the span */
  CHECK(first >= 0 && holes > (last - first) / 4 && holes < (last - first) / 2);
  lundi_image_free(&im);
}

static void plot_log_y(void) {
  /* log_y: non-positive values are skipped like NaN. Values 1, 10, 100 map to evenly
   * spaced heights; 0 and -1 leave gaps. */
  double x[5] = {0, 1, 2, 3, 4}, y[5] = {1, 10, 100, 0, -1};
  lundi_plot_series s = {"decades", x, y, 5};
  lundi_image im = {0};
  CHECK(lundi_plot_lines(&s, 1, 400, 300, NULL, 1, &im) == 0);
  if (!im.pixels) return;
  /* on a log axis the three points lie on one straight line: the blue pixels' centre
   * row in each column changes linearly with x */
  double rows[400];
  int nc = 0, xs[400];
  for (int x = 0; x < 400; x++) {
    double sum = 0;
    int n = 0;
    for (int y = 0; y < 300; y++)
      if (is_rgb(&im, x, y, BLUE) && y > 40) { /* below the legend */
        sum += y;
        n++;
      }
    if (n) {
      xs[nc] = x;
      rows[nc++] = sum / n;
    }
  }
  CHECK(nc > 100);
  if (nc > 100) { /* slope between quarter points stays the same */
    double s1 = (rows[nc / 2] - rows[nc / 4]) / (xs[nc / 2] - xs[nc / 4]);
    double s2 = (rows[3 * nc / 4] - rows[nc / 2]) / (xs[3 * nc / 4] - xs[nc / 2]);
    CHECK_NEAR(s1, s2, 0.05 * fabs(s1));
    CHECK(s1 < 0); /* rising: rows decrease */
  }
  lundi_image_free(&im);
  /* all values non-positive on a log axis: still an image, with a note */
  double bad[3] = {0, -1, -2};
  lundi_plot_series sb = {"none", NULL, bad, 3};
  CHECK(lundi_plot_lines(&sb, 1, 300, 200, NULL, 1, &im) == 0 && im.pixels);
  CHECK(count_tint(&im, BLUE) == 36); /* the legend sample only */
  lundi_image_free(&im);
}

static void plot_edge_cases(void) {
  lundi_image im = {0};
  CHECK(lundi_plot_lines(NULL, 0, 300, 200, "empty", 0, &im) == 0 && im.width == 300);
  lundi_image_free(&im);
  double one = 3.0;
  lundi_plot_series s1 = {"one", NULL, &one, 1};
  CHECK(lundi_plot_lines(&s1, 1, 300, 200, NULL, 0, &im) == 0);
  CHECK(im.pixels && count_rgb(&im, BLUE, 0, 300) > 36 + 8); /* legend sample (18x2) + a dot */
  lundi_image_free(&im);
  lundi_plot_series empty = {"e", NULL, NULL, 0};
  CHECK(lundi_plot_lines(&empty, 1, 300, 200, NULL, 1, &im) == 0);
  lundi_image_free(&im);
  /* ten series: eleven would reuse the palette, but ten are distinct */
  double ys[12][4];
  lundi_plot_series many[12];
  for (int k = 0; k < 12; k++) {
    for (int i = 0; i < 4; i++) ys[k][i] = k + i * 0.1;
    many[k] = (lundi_plot_series){"a label that is far too long to show in a legend, so it is cut", NULL, ys[k], 4};
  }
  CHECK(lundi_plot_lines(many, 12, 640, 480, "many", 0, &im) == 0);
  lundi_image_free(&im);
  lundi_plot_series bad = {"bad", NULL, NULL, 3};
  CHECK_ERR(lundi_plot_lines(&bad, 1, 300, 200, NULL, 0, &im), "has n = 3 but no ys");
  CHECK_ERR(lundi_plot_lines(&s1, 1, 20, 200, NULL, 0, &im), "outside 160x120");
  CHECK(im.pixels == NULL);
}

static const test_case TESTS[] = {
    {"from_tensor_mapping", from_tensor_mapping},
    {"from_tensor_errors", from_tensor_errors},
    {"grid_geometry", grid_geometry},
    {"plot_basics", plot_basics},
    {"plot_nan_gap", plot_nan_gap},
    {"plot_log_y", plot_log_y},
    {"plot_edge_cases", plot_edge_cases},
};
TEST_MAIN(TESTS)
