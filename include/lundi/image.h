/* Images: PNG encode/decode (libpng) with text chunks, tensor <-> 8-bit pixels, grids and
 * line plots. Everything works in memory; callers write the bytes where they want. */
#ifndef LUNDI_IMAGE_H
#define LUNDI_IMAGE_H

#include <stddef.h>
#include <stdint.h>

#include "lundi/file.h"
#include "lundi/tensor.h"

#ifdef __cplusplus
extern "C" {
#endif

/* 8-bit pixels, row-major, channels interleaved: 1 = gray, 2 = gray+alpha, 3 = RGB, 4 = RGBA. */
typedef struct lundi_image {
  int width, height, channels;
  uint8_t *pixels; /* width * height * channels bytes, owned (free with lundi_image_free) */
} lundi_image;
void lundi_image_free(lundi_image *im); /* frees pixels and zeroes; NULL is fine */

/* A PNG text chunk (tEXt for Latin-1 keys, iTXt when the value is not ASCII). */
typedef struct lundi_png_text {
  const char *key;   /* 1..79 bytes, e.g. "parameters", "lundi" */
  const char *value;
} lundi_png_text;

/* Encodes to a malloc'd buffer (*out, *out_size); free() it. */
int lundi_png_encode(const lundi_image *im, const lundi_png_text *texts, int n_texts,
                     uint8_t **out, size_t *out_size);
/* Decodes any PNG (palette, 16-bit, interlaced, ...) to 8-bit gray/gray+alpha/RGB/RGBA. A
 * malformed or truncated file is a clear error, never a crash. */
int lundi_png_decode(const uint8_t *data, size_t size, lundi_image *out);
/* The value of text chunk key (tEXt, zTXt or iTXt) as a malloc'd string in *value; NULL when
 * absent (still returns 0). */
int lundi_png_find_text(const uint8_t *data, size_t size, const char *key, char **value);
/* Writes atomically (temporary file + rename); lundi_file_read_all (lundi/file.h) reads. */
int lundi_png_write_file(const char *path, const lundi_image *im, const lundi_png_text *texts,
                         int n_texts);

/* A PNG file as an f32 tensor [C, H, W] in [0, 1], C = 1..4 as stored; NULL and an error
 * naming the file when it cannot be read or decoded. */
lundi_tensor *lundi_image_load(const char *path);
/* Text chunk key of a PNG file, as lundi_png_find_text (NULL when absent). */
int lundi_png_file_text(const char *path, const char *key, char **value);

/* Tensor [C, H, W] or [H, W] (C = 1 or 3) -> 8-bit image, mapping lo..hi to 0..255 with
 * clamping (lo = -1, hi = 1 for diffusion samples). */
int lundi_image_from_tensor(lundi_tensor *t, float lo, float hi, lundi_image *out);
/* Tensor [N, C, H, W] -> a grid with nrow images per row and pad pixels of padding
 * (value pad_value in 0..255) between them. */
int lundi_image_grid(lundi_tensor *t, int nrow, int pad, uint8_t pad_value, float lo, float hi,
                     lundi_image *out);

/* Writes t as a PNG file (atomically): [H, W] or [C, H, W] is one image; [N, C, H, W] a grid
 * (lundi_image_grid with nrow, padding, pad_value). text_keys[i] = text_values[i] are its n_texts
 * text chunks. */
typedef struct lundi_image_save_opts {
  int nrow, padding;
  uint8_t pad_value;
  float lo, hi;
  const char *const *text_keys, *const *text_values;
  int n_texts;
} lundi_image_save_opts;
int lundi_image_save_png(const char *path, lundi_tensor *t, const lundi_image_save_opts *opts);

/* A line plot of one or more series on shared axes (white background, axes with tick labels,
 * one colour per series, a legend). xs may be NULL (0, 1, 2, ...). log_y plots log10 of
 * positive values. */
typedef struct lundi_plot_series {
  const char *label;
  const double *xs, *ys;
  int n;
} lundi_plot_series;
int lundi_plot_lines(const lundi_plot_series *series, int n_series, int width, int height,
                     const char *title, int log_y, lundi_image *out);
/* The same plot written to a PNG file at path (atomically). */
int lundi_plot_file(const char *path, const lundi_plot_series *series, int n_series, int width, int height,
                    const char *title, int log_y);
/* The numel(t) values of t (any device, f32) as doubles in out, for a series. */
int lundi_plot_values(lundi_tensor *t, double *out);

#ifdef __cplusplus
}
#endif
#endif
