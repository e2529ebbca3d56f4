/* PNG encode/decode in memory with libpng 1.6.
 *
 * libpng reports errors by longjmp. Each public function keeps all its state in a
 * lundi_png_io owned by the caller of a small "guarded" function that does the setjmp;
 * after a longjmp the guarded function only returns, and the public function frees what
 * the io struct holds. So no local variable is read after a longjmp, and every error path
 * goes through the same cleanup. */
#include "png_internal.h"

#include <stdlib.h>
#include <string.h>

#include "lundi/image.h"
#include "lundi/tensor.h"

void lundi__png_error_fn(png_structp png, png_const_charp msg) {
  lundi_png_io *io = png_get_error_ptr(png);
  if (io) {
    strncpy(io->msg, msg ? msg : "unknown libpng error", sizeof io->msg - 1);
    io->msg[sizeof io->msg - 1] = 0;
  }
  png_longjmp(png, 1);
}

void lundi__png_warning_fn(png_structp png, png_const_charp msg) {
  (void)png; /* warnings (unknown chunks, benign oddities) do not stop a decode */
  (void)msg;
}

void lundi_image_free(lundi_image *im) {
  if (!im) return;
  free(im->pixels);
  memset(im, 0, sizeof *im);
}

/* ---------------------------------------------------------------- encoding */

static void write_cb(png_structp png, png_bytep data, size_t n) {
  lundi_png_io *io = png_get_io_ptr(png);
  if (n > io->out_cap - io->out_size) {
    size_t cap = io->out_cap ? io->out_cap : 4096;
    while (cap - io->out_size < n) {
      if (cap > SIZE_MAX / 2) png_error(png, "output too large");
      cap *= 2;
    }
    uint8_t *p = realloc(io->out, cap);
    if (!p) png_error(png, "out of memory");
    io->out = p;
    io->out_cap = cap;
  }
  memcpy(io->out + io->out_size, data, n);
  io->out_size += n;
}

static void flush_cb(png_structp png) { (void)png; }

static int is_ascii(const char *s) {
  for (; *s; s++)
    if ((unsigned char)*s >= 0x80) return 0;
  return 1;
}

/* Strict UTF-8 (no overlongs, no surrogates, <= U+10FFFF). */
static int is_utf8(const char *str) {
  const unsigned char *s = (const unsigned char *)str;
  while (*s) {
    unsigned c = *s;
    int n = c < 0x80 ? 0 : (c & 0xE0) == 0xC0 ? 1 : (c & 0xF0) == 0xE0 ? 2 : (c & 0xF8) == 0xF0 ? 3 : -1;
    if (n < 0 || (n == 1 && c < 0xC2) || c > 0xF4) return 0;
    unsigned cp = n ? c & (0x3Fu >> n) : c;
    for (int i = 1; i <= n; i++) {
      if ((s[i] & 0xC0) != 0x80) return 0;
      cp = cp << 6 | (s[i] & 0x3F);
    }
    if ((n == 2 && (cp < 0x800 || (cp >= 0xD800 && cp <= 0xDFFF))) || (n == 3 && (cp < 0x10000 || cp > 0x10FFFF)))
      return 0;
    s += n + 1;
  }
  return 1;
}

/* PNG keywords: 1-79 printable Latin-1 characters, no leading, trailing or double spaces. */
static int check_key(const char *key, int i) {
  if (!key || !*key) return lundi_set_error(LUNDI_EINVAL, "png_encode: text %d has an empty key", i);
  size_t n = strlen(key);
  if (n > 79) return lundi_set_error(LUNDI_EINVAL, "png_encode: text key '%.20s...' is %zu bytes; PNG allows 1-79", key, n);
  for (size_t k = 0; k < n; k++) {
    unsigned char c = (unsigned char)key[k];
    if (c < 32 || (c > 126 && c < 161) || (c == ' ' && (k == 0 || k == n - 1 || key[k + 1] == ' ')))
      return lundi_set_error(LUNDI_EINVAL,
                             "png_encode: text key '%s' has a character PNG forbids at byte %zu "
                             "(use printable ASCII, single inner spaces only)",
                             key, k);
  }
  return 0;
}

static int encode_guarded(lundi_png_io *io, const lundi_image *im, png_text *texts, int n_texts) {
  if (setjmp(png_jmpbuf(io->png))) return -1;
  static const int types[5] = {0, PNG_COLOR_TYPE_GRAY, PNG_COLOR_TYPE_GRAY_ALPHA, PNG_COLOR_TYPE_RGB,
                               PNG_COLOR_TYPE_RGBA};
  png_set_write_fn(io->png, io, write_cb, flush_cb);
  png_set_IHDR(io->png, io->info, (png_uint_32)im->width, (png_uint_32)im->height, 8, types[im->channels],
               PNG_INTERLACE_NONE, PNG_COMPRESSION_TYPE_DEFAULT, PNG_FILTER_TYPE_DEFAULT);
  if (n_texts > 0) png_set_text(io->png, io->info, texts, n_texts); /* before IDAT: found early */
  png_write_info(io->png, io->info);
  size_t stride = (size_t)im->width * (size_t)im->channels;
  for (int y = 0; y < im->height; y++) png_write_row(io->png, im->pixels + (size_t)y * stride);
  png_write_end(io->png, NULL);
  return 0;
}

int lundi_png_encode(const lundi_image *im, const lundi_png_text *texts, int n_texts, uint8_t **out,
                     size_t *out_size) {
  if (out) *out = NULL;
  if (out_size) *out_size = 0;
  if (!im || !out || !out_size) return lundi_set_error(LUNDI_EINVAL, "png_encode: image and outputs must be non-NULL");
  if (im->width < 1 || im->height < 1 || im->channels < 1 || im->channels > 4 || !im->pixels)
    return lundi_set_error(LUNDI_EINVAL, "png_encode: bad image %dx%d with %d channels (need >= 1x1, 1-4 channels, pixels)",
                           im->width, im->height, im->channels);
  if ((uint64_t)im->width * (uint64_t)im->height * (uint64_t)im->channels > (uint64_t)1 << 32)
    return lundi_set_error(LUNDI_EINVAL, "png_encode: image %dx%d is too large", im->width, im->height);
  if (n_texts < 0 || (n_texts > 0 && !texts)) return lundi_set_error(LUNDI_EINVAL, "png_encode: bad text list");
  png_text *pt = n_texts ? calloc((size_t)n_texts, sizeof *pt) : NULL;
  if (n_texts && !pt) return lundi_set_error(LUNDI_ENOMEM, "png_encode: out of memory");
  for (int i = 0; i < n_texts; i++) {
    if (check_key(texts[i].key, i)) {
      free(pt);
      return LUNDI_EINVAL;
    }
    const char *v = texts[i].value ? texts[i].value : "";
    pt[i].key = (png_charp)texts[i].key;
    pt[i].text = (png_charp)v;
    /* tEXt holds Latin-1, so ASCII goes there (what most readers look at); UTF-8 needs
     * iTXt. Bytes that are neither are taken as Latin-1. */
    pt[i].compression = (!is_ascii(v) && is_utf8(v)) ? PNG_ITXT_COMPRESSION_NONE : PNG_TEXT_COMPRESSION_NONE;
    pt[i].lang = NULL;
    pt[i].lang_key = NULL;
  }
  lundi_png_io io = {0};
  io.png = png_create_write_struct(PNG_LIBPNG_VER_STRING, &io, lundi__png_error_fn, lundi__png_warning_fn);
  if (io.png) io.info = png_create_info_struct(io.png);
  int rc = 0;
  if (!io.png || !io.info) rc = lundi_set_error(LUNDI_ENOMEM, "png_encode: out of memory");
  else if (encode_guarded(&io, im, pt, n_texts)) rc = lundi_set_error(LUNDI_EFORMAT, "png_encode: %s", io.msg);
  png_destroy_write_struct(&io.png, &io.info);
  free(pt);
  if (rc) {
    free(io.out);
    return rc;
  }
  *out = io.out;
  *out_size = io.out_size;
  return 0;
}

/* ---------------------------------------------------------------- decoding */

static void read_cb(png_structp png, png_bytep dst, size_t n) {
  lundi_png_io *io = png_get_io_ptr(png);
  if (n > io->size - io->pos) png_error(png, "unexpected end of data (file truncated?)");
  memcpy(dst, io->data + io->pos, n);
  io->pos += n;
}

static uint32_t be32(const uint8_t *p) {
  return (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 | (uint32_t)p[2] << 8 | p[3];
}

/* PNG's CRC-32 (bitwise: it only ever checks the 17 bytes of IHDR here). */
static uint32_t crc32_of(const uint8_t *p, size_t n) {
  uint32_t c = 0xFFFFFFFFu;
  for (size_t i = 0; i < n; i++) {
    c ^= p[i];
    for (int k = 0; k < 8; k++) c = (c >> 1) ^ (0xEDB88320u & (0u - (c & 1u)));
  }
  return c ^ 0xFFFFFFFFu;
}

/* Checks the signature and the IHDR size before libpng allocates anything, so the errors
 * for the two commonest bad inputs say what is wrong in words. */
static int precheck(const char *fn, const uint8_t *data, size_t size) {
  if (!data && size) return lundi_set_error(LUNDI_EINVAL, "%s: data is NULL", fn);
  if (size < 8 || png_sig_cmp(data, 0, 8))
    return lundi_set_error(LUNDI_EFORMAT, "%s: not a PNG file (%s)", fn,
                           size < 8 ? "shorter than the 8-byte signature" : "bad signature");
  /* Only a header with a valid CRC is judged here; a damaged one is libpng's to report. */
  if (size >= 33 && !memcmp(data + 12, "IHDR", 4) && crc32_of(data + 12, 17) == be32(data + 29)) {
    uint32_t w = be32(data + 16), h = be32(data + 20);
    if (w > LUNDI_PNG_MAX_DIM || h > LUNDI_PNG_MAX_DIM)
      return lundi_set_error(LUNDI_EFORMAT, "%s: image is %ux%u pixels, above the limit of %ux%u (refused: a "
                             "corrupt header or a decompression bomb)", fn, w, h, LUNDI_PNG_MAX_DIM, LUNDI_PNG_MAX_DIM);
  }
  /* Every chunk must fit in the data. libpng allocates (and clears) a chunk's declared
   * length before reading it, so a 40-byte file claiming a 1 GiB tEXt chunk would cost a
   * gigabyte; with this walk no allocation can exceed the input's own size. */
  for (size_t o = 8; o + 8 <= size;) {
    uint32_t len = be32(data + o);
    char type[5];
    for (int i = 0; i < 4; i++) {
      uint8_t c = data[o + 4 + i];
      type[i] = (char)(((c | 0x20) >= 'a' && (c | 0x20) <= 'z') ? c : '?');
    }
    type[4] = 0;
    if ((uint64_t)len + 12 > size - o)
      return lundi_set_error(LUNDI_EFORMAT, "PNG: chunk '%s' at byte %zu declares %u data bytes (%llu with its "
                             "header and CRC) but only %zu bytes remain (file truncated or corrupt)",
                             type, o, len, (unsigned long long)len + 12, size - o);
    if (!memcmp(type, "IEND", 4)) break;
    o += 12 + (size_t)len;
  }
  return 0;
}

static void setup_reader(lundi_png_io *io) {
  png_set_read_fn(io->png, io, read_cb);
  png_set_user_limits(io->png, LUNDI_PNG_MAX_DIM, LUNDI_PNG_MAX_DIM); /* backstop for precheck */
  png_set_chunk_malloc_max(io->png, LUNDI_PNG_MAX_CHUNK);
  png_set_chunk_cache_max(io->png, 1000);
  /* A CRC error in any chunk, text included, is an error: the file is damaged. */
  png_set_crc_action(io->png, PNG_CRC_ERROR_QUIT, PNG_CRC_ERROR_QUIT);
}

static int decode_guarded(lundi_png_io *io, lundi_image *out) {
  if (setjmp(png_jmpbuf(io->png))) return -1;
  setup_reader(io);
  png_read_info(io->png, io->info);
  png_set_expand(io->png);     /* palette -> RGB, gray < 8 bits -> 8, tRNS -> alpha */
  png_set_scale_16(io->png);   /* 16 -> 8 bits, rounded */
  png_set_packing(io->png);
  (void)png_set_interlace_handling(io->png);
  png_read_update_info(io->png, io->info);
  png_uint_32 w = png_get_image_width(io->png, io->info), h = png_get_image_height(io->png, io->info);
  int ch = png_get_channels(io->png, io->info);
  size_t rowbytes = png_get_rowbytes(io->png, io->info);
  if (ch < 1 || ch > 4 || png_get_bit_depth(io->png, io->info) != 8 || rowbytes != (size_t)w * (size_t)ch)
    png_error(io->png, "unexpected pixel layout after transforms");
  if ((size_t)h > LUNDI_PNG_MAX_BYTES / rowbytes) {
    snprintf(io->msg, sizeof io->msg, "image %ux%u with %d channels needs more than the %zu MiB decode limit", w, h,
             ch, LUNDI_PNG_MAX_BYTES >> 20);
    return -2;
  }
  io->pixels = malloc(rowbytes * h);
  io->rows = malloc(sizeof *io->rows * h);
  if (!io->pixels || !io->rows) png_error(io->png, "out of memory");
  for (png_uint_32 y = 0; y < h; y++) io->rows[y] = io->pixels + (size_t)y * rowbytes;
  png_read_image(io->png, io->rows);
  /* Read to IEND so a truncated or damaged tail is reported, not ignored. */
  png_read_end(io->png, NULL);
  out->width = (int)w;
  out->height = (int)h;
  out->channels = ch;
  return 0;
}

int lundi_png_decode(const uint8_t *data, size_t size, lundi_image *out) {
  if (!out) return lundi_set_error(LUNDI_EINVAL, "png_decode: out must be non-NULL");
  memset(out, 0, sizeof *out);
  if (precheck("png_decode", data, size)) return lundi_last_error_code();
  lundi_png_io io = {.data = data, .size = size};
  io.png = png_create_read_struct(PNG_LIBPNG_VER_STRING, &io, lundi__png_error_fn, lundi__png_warning_fn);
  if (io.png) io.info = png_create_info_struct(io.png);
  int rc = 0;
  if (!io.png || !io.info) rc = lundi_set_error(LUNDI_ENOMEM, "png_decode: out of memory");
  else if (decode_guarded(&io, out)) rc = lundi_set_error(LUNDI_EFORMAT, "PNG: %s", io.msg);
  png_destroy_read_struct(&io.png, &io.info, NULL);
  free(io.rows);
  if (rc) {
    free(io.pixels);
    memset(out, 0, sizeof *out);
    return rc;
  }
  out->pixels = io.pixels;
  return 0;
}

/* ---------------------------------------------------------------- text lookup */

static const char *lookup(png_structp png, png_infop info, const char *key) {
  png_textp t = NULL;
  int n = 0;
  png_get_text(png, info, &t, &n);
  for (int i = 0; i < n; i++)
    if (t[i].key && !strcmp(t[i].key, key)) return t[i].text ? t[i].text : "";
  return NULL;
}

/* Text chunks may come before or after the image data. Those before are read with the
 * header; only when the key is not among them are the rows read (into one scratch row)
 * to reach the chunks after IDAT. */
static int find_text_guarded(lundi_png_io *io, const char *key, char **value) {
  if (setjmp(png_jmpbuf(io->png))) return -1;
  setup_reader(io);
  /* Unknown chunks are skipped without being stored. */
  png_set_keep_unknown_chunks(io->png, PNG_HANDLE_CHUNK_NEVER, NULL, 0);
  png_read_info(io->png, io->info);
  const char *v = lookup(io->png, io->info, key);
  if (!v) {
    int passes = png_set_interlace_handling(io->png);
    png_read_update_info(io->png, io->info);
    png_uint_32 h = png_get_image_height(io->png, io->info);
    io->row = malloc(png_get_rowbytes(io->png, io->info));
    if (!io->row) png_error(io->png, "out of memory");
    for (int p = 0; p < passes; p++)
      for (png_uint_32 y = 0; y < h; y++) png_read_row(io->png, io->row, NULL);
    png_read_end(io->png, io->info);
    v = lookup(io->png, io->info, key);
  }
  if (v) {
    *value = strdup(v);
    if (!*value) png_error(io->png, "out of memory");
  }
  return 0;
}

int lundi_png_find_text(const uint8_t *data, size_t size, const char *key, char **value) {
  if (value) *value = NULL;
  if (!key || !value) return lundi_set_error(LUNDI_EINVAL, "png_find_text: key and value must be non-NULL");
  if (precheck("png_find_text", data, size)) return lundi_last_error_code();
  lundi_png_io io = {.data = data, .size = size};
  io.png = png_create_read_struct(PNG_LIBPNG_VER_STRING, &io, lundi__png_error_fn, lundi__png_warning_fn);
  if (io.png) io.info = png_create_info_struct(io.png);
  int rc = 0;
  if (!io.png || !io.info) rc = lundi_set_error(LUNDI_ENOMEM, "png_find_text: out of memory");
  else if (find_text_guarded(&io, key, value)) rc = lundi_set_error(LUNDI_EFORMAT, "PNG: %s", io.msg);
  png_destroy_read_struct(&io.png, &io.info, NULL);
  free(io.row);
  if (rc) {
    free(*value);
    *value = NULL;
  }
  return rc;
}
