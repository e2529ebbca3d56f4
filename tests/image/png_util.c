#include "png_util.h"

#include <setjmp.h>
#include <stdlib.h>
#include <string.h>

static int channels_of(int ct) {
  switch (ct) {
  case PNG_COLOR_TYPE_GRAY: return 1;
  case PNG_COLOR_TYPE_GRAY_ALPHA: return 2;
  case PNG_COLOR_TYPE_RGB: return 3;
  case PNG_COLOR_TYPE_RGB_ALPHA: return 4;
  default: return 1; /* palette */
  }
}

png_util_spec png_util_default(int width, int height, int color_type, int bit_depth) {
  png_util_spec s = {0};
  s.width = width;
  s.height = height;
  s.color_type = color_type;
  s.bit_depth = bit_depth;
  s.samples = calloc((size_t)width * height * channels_of(color_type), sizeof *s.samples);
  return s;
}

void png_util_free(png_util_spec *s) {
  free(s->samples);
  s->samples = NULL;
}

typedef struct {
  uint8_t *p;
  size_t n, cap;
} membuf;

static void wr(png_structp png, png_bytep d, size_t n) {
  membuf *b = png_get_io_ptr(png);
  if (b->n + n > b->cap) {
    b->cap = (b->n + n) * 2;
    b->p = realloc(b->p, b->cap);
  }
  memcpy(b->p + b->n, d, n);
  b->n += n;
}
static void fl(png_structp png) { (void)png; }

/* Packs samples MSB first, as PNG stores them. */
static void pack_rows(const png_util_spec *s, uint8_t *rows, size_t rowbytes) {
  int ch = channels_of(s->color_type), bd = s->bit_depth;
  for (int y = 0; y < s->height; y++) {
    uint8_t *r = rows + (size_t)y * rowbytes;
    memset(r, 0, rowbytes);
    for (int i = 0; i < s->width * ch; i++) {
      uint16_t v = s->samples[(size_t)y * s->width * ch + i];
      if (bd == 16) {
        r[2 * i] = (uint8_t)(v >> 8);
        r[2 * i + 1] = (uint8_t)v;
      } else if (bd == 8) {
        r[i] = (uint8_t)v;
      } else {
        int bit = i * bd;
        r[bit / 8] |= (uint8_t)(v << (8 - bd - bit % 8));
      }
    }
  }
}

uint8_t *png_util_write(const png_util_spec *s, size_t *len) {
  membuf b = {0};
  png_structp png = png_create_write_struct(PNG_LIBPNG_VER_STRING, NULL, NULL, NULL);
  png_infop info = png_create_info_struct(png);
  size_t rowbytes = ((size_t)s->width * channels_of(s->color_type) * s->bit_depth + 7) / 8;
  uint8_t *volatile rows = malloc(rowbytes * s->height);
  png_bytep *volatile ptrs = malloc(sizeof *ptrs * s->height);
  if (setjmp(png_jmpbuf(png))) {
    png_destroy_write_struct(&png, &info);
    free(rows);
    free(ptrs);
    free(b.p);
    return NULL;
  }
  png_set_write_fn(png, &b, wr, fl);
  png_set_IHDR(png, info, s->width, s->height, s->bit_depth, s->color_type,
               s->interlace ? PNG_INTERLACE_ADAM7 : PNG_INTERLACE_NONE, PNG_COMPRESSION_TYPE_DEFAULT,
               PNG_FILTER_TYPE_DEFAULT);
  if (s->palette) png_set_PLTE(png, info, s->palette, s->n_palette);
  if (s->n_trans) {
    png_color_16 tc = {0};
    tc.gray = s->trans_gray;
    png_set_tRNS(png, info, s->trans_alpha, s->n_trans, &tc);
  }
  png_write_info(png, info);
  if (s->interlace) png_set_interlace_handling(png);
  pack_rows(s, rows, rowbytes);
  for (int y = 0; y < s->height; y++) ptrs[y] = rows + (size_t)y * rowbytes;
  png_write_image(png, ptrs);
  png_infop end = png_create_info_struct(png);
  if (s->n_end_texts) png_set_text(png, end, s->end_texts, s->n_end_texts);
  png_write_end(png, end);
  png_destroy_info_struct(png, &end);
  png_destroy_write_struct(&png, &info);
  free(rows);
  free(ptrs);
  *len = b.n;
  return b.p;
}

uint32_t png_util_crc(const uint8_t *p, size_t n) {
  uint32_t c = 0xFFFFFFFFu;
  for (size_t i = 0; i < n; i++) {
    c ^= p[i];
    for (int k = 0; k < 8; k++) c = (c >> 1) ^ (0xEDB88320u & (0u - (c & 1)));
  }
  return c ^ 0xFFFFFFFFu;
}

static void put32(uint8_t *p, uint32_t v) {
  p[0] = (uint8_t)(v >> 24);
  p[1] = (uint8_t)(v >> 16);
  p[2] = (uint8_t)(v >> 8);
  p[3] = (uint8_t)v;
}

void png_util_set_ihdr_size(uint8_t *png, uint32_t w, uint32_t h) {
  put32(png + 16, w);
  put32(png + 20, h);
  put32(png + 29, png_util_crc(png + 12, 17)); /* type + 13 data bytes */
}
