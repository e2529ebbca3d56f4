/* Test helper: writes PNGs of every kind with libpng directly, so the decoder is checked
 * against pixels the test chose, not against our own encoder. */
#ifndef LUNDI_TEST_PNG_UTIL_H
#define LUNDI_TEST_PNG_UTIL_H

#include <png.h>
#include <stddef.h>
#include <stdint.h>

typedef struct png_util_spec {
  int width, height, color_type, bit_depth, interlace;
  uint16_t *samples; /* width*height*channels sample values (palette: indices), owned */
  png_color *palette;
  int n_palette;
  uint8_t *trans_alpha; /* palette tRNS */
  int n_trans;          /* > 0 enables tRNS */
  uint16_t trans_gray;  /* gray tRNS */
  png_text *end_texts;  /* written after IDAT */
  int n_end_texts;
} png_util_spec;

png_util_spec png_util_default(int width, int height, int color_type, int bit_depth);
void png_util_free(png_util_spec *s);
uint8_t *png_util_write(const png_util_spec *s, size_t *len); /* malloc'd PNG, NULL on error */
/* Rewrites the IHDR width and height of a PNG in place, with a valid CRC. */
void png_util_set_ihdr_size(uint8_t *png, uint32_t w, uint32_t h);
uint32_t png_util_crc(const uint8_t *p, size_t n);

#endif
