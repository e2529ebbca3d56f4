/* Shared by the PNG files of runtime/io: limits and libpng error plumbing. */
#ifndef LUNDI_IO_PNG_INTERNAL_H
#define LUNDI_IO_PNG_INTERNAL_H

#include <png.h>
#include <stddef.h>
#include <stdint.h>

/* Decoding refuses images above these, so a 100-byte file cannot ask for gigabytes
 * (a "decompression bomb"). 16384 x 16384 RGBA would be 1 GiB; the byte cap is lower. */
#define LUNDI_PNG_MAX_DIM 16384u
#define LUNDI_PNG_MAX_BYTES ((size_t)256 << 20)
/* Largest decompressed text or other ancillary chunk libpng may allocate. */
#define LUNDI_PNG_MAX_CHUNK ((size_t)8 << 20)

/* libpng reports errors through a callback that must not return; it stores libpng's
 * message here and longjmps back to png_jmpbuf. Every PNG call site keeps its state in
 * one of these, owned by a caller outside the function holding setjmp, so nothing it
 * needs after a longjmp lives in that function's locals. */
typedef struct lundi_png_io {
  png_structp png;
  png_infop info;
  char msg[200];
  const uint8_t *data; /* reading: the input and the read position */
  size_t size, pos;
  uint8_t *out;        /* writing: growable output buffer */
  size_t out_size, out_cap;
  uint8_t *pixels;     /* decoding: the image being filled */
  uint8_t *row;        /* scratch row (find_text) */
  png_bytep *rows;
} lundi_png_io;

void lundi__png_error_fn(png_structp png, png_const_charp msg);
void lundi__png_warning_fn(png_structp png, png_const_charp msg);

#endif
