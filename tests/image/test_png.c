/* PNG encode/decode/text: round trips, every libpng input kind against known pixels (the
 * inputs are written here with libpng directly), and damaged input of every sort. */
#include <png.h>
#include <stdint.h>
#include <unistd.h>

#include "harness.h"
#include "lundi/image.h"
#include "png_util.h"

static void fill_random(uint8_t *p, size_t n, uint32_t seed) {
  for (size_t i = 0; i < n; i++) {
    seed = seed * 1664525u + 1013904223u;
    p[i] = (uint8_t)(seed >> 24);
  }
}

static void roundtrip(void) {
  const int sizes[][2] = {{1, 1}, {3, 7}, {7, 3}, {17, 5}, {64, 33}};
  for (int c = 1; c <= 4; c++)
    for (size_t s = 0; s < sizeof sizes / sizeof *sizes; s++) {
      lundi_image im = {sizes[s][0], sizes[s][1], c, NULL};
      size_t n = (size_t)im.width * im.height * c;
      im.pixels = malloc(n);
      fill_random(im.pixels, n, (uint32_t)(c * 100 + s));
      uint8_t *buf = NULL;
      size_t len = 0;
      CHECK(lundi_png_encode(&im, NULL, 0, &buf, &len) == 0);
      CHECK(len > 8 && !memcmp(buf, "\x89PNG\r\n\x1a\n", 8));
      lundi_image back = {0};
      CHECK(lundi_png_decode(buf, len, &back) == 0);
      CHECK(back.width == im.width && back.height == im.height && back.channels == c);
      CHECK(back.pixels && !memcmp(back.pixels, im.pixels, n));
      lundi_image_free(&back);
      CHECK(back.pixels == NULL && back.width == 0);
      free(buf);
      free(im.pixels);
    }
  lundi_image_free(NULL);
}

static void encode_errors(void) {
  uint8_t px[4] = {0};
  uint8_t *buf = (uint8_t *)1;
  size_t len = 7;
  lundi_image bad = {0, 1, 1, px};
  CHECK_ERR(lundi_png_encode(&bad, NULL, 0, &buf, &len), "bad image 0x1");
  CHECK(buf == NULL && len == 0);
  lundi_image five = {1, 1, 5, px};
  CHECK_ERR(lundi_png_encode(&five, NULL, 0, &buf, &len), "5 channels");
  lundi_image ok = {1, 1, 1, px};
  char k80[81];
  memset(k80, 'k', 80);
  k80[80] = 0;
  lundi_png_text t1 = {k80, "v"}, t2 = {"", "v"}, t3 = {" lead", "v"}, t4 = {"two  spaces", "v"}, t5 = {"tab\tkey", "v"};
  CHECK_ERR(lundi_png_encode(&ok, &t1, 1, &buf, &len), "1-79");
  CHECK_ERR(lundi_png_encode(&ok, &t2, 1, &buf, &len), "empty key");
  CHECK_ERR(lundi_png_encode(&ok, &t3, 1, &buf, &len), "' lead'");
  CHECK_ERR(lundi_png_encode(&ok, &t4, 1, &buf, &len), "byte 3");
  CHECK_ERR(lundi_png_encode(&ok, &t5, 1, &buf, &len), "byte 3");
  CHECK(buf == NULL);
}

/* Finds chunk `type` in a PNG; returns its data offset or 0. */
static size_t chunk_at(const uint8_t *p, size_t n, const char *type, size_t *len) {
  for (size_t o = 8; o + 12 <= n;) {
    size_t l = (size_t)p[o] << 24 | (size_t)p[o + 1] << 16 | (size_t)p[o + 2] << 8 | p[o + 3];
    if (!memcmp(p + o + 4, type, 4)) {
      if (len) *len = l;
      return o + 8;
    }
    o += 12 + l;
  }
  return 0;
}

static void text_chunks(void) {
  uint8_t px[6] = {1, 2, 3, 4, 5, 6};
  lundi_image im = {2, 1, 3, px};
  const char *utf8 = "Größe: 日本 ✓";
  lundi_png_text texts[] = {
      {"parameters", "Steps: 20, Sampler: ddim, CFG scale: 7.5, Seed: 42, Size: 64x64, Model hash: abc123"},
      {"lundi", "run 0b9f3a7e-1c1e-4f55-9c1b-5f3f0e5b7a11"},
      {"Comment", utf8},
      {"empty", ""},
  };
  uint8_t *buf = NULL;
  size_t len = 0;
  CHECK(lundi_png_encode(&im, texts, 4, &buf, &len) == 0);
  /* ASCII values go to tEXt, UTF-8 to iTXt, and all before IDAT. */
  size_t itxt = chunk_at(buf, len, "iTXt", NULL), text = chunk_at(buf, len, "tEXt", NULL),
         idat = chunk_at(buf, len, "IDAT", NULL);
  CHECK(itxt && text && idat && itxt < idat && text < idat);
  CHECK(!memcmp(buf + text, "parameters\0Steps: 20", 20));
  CHECK(!memcmp(buf + itxt, "Comment\0", 8));
  char *v = NULL;
  for (int i = 0; i < 4; i++) {
    CHECK(lundi_png_find_text(buf, len, texts[i].key, &v) == 0);
    CHECK(v && !strcmp(v, texts[i].value));
    free(v);
  }
  v = (char *)1;
  CHECK(lundi_png_find_text(buf, len, "absent", &v) == 0 && v == NULL);
  CHECK(lundi_png_find_text(buf, len, "Parameters", &v) == 0 && v == NULL); /* keys are case-sensitive */
  lundi_image back = {0};
  CHECK(lundi_png_decode(buf, len, &back) == 0 && back.pixels && !memcmp(back.pixels, px, 6));
  lundi_image_free(&back);
  free(buf);
}

/* Text after IDAT and compressed (zTXt, compressed iTXt), written by libpng directly. */
static void text_after_idat(void) {
  png_util_spec s = png_util_default(3, 2, PNG_COLOR_TYPE_RGB, 8);
  png_text end[2] = {{0}};
  end[0].compression = PNG_TEXT_COMPRESSION_zTXt;
  end[0].key = "late";
  end[0].text = "written after the image data";
  end[1].compression = PNG_ITXT_COMPRESSION_zTXt;
  end[1].key = "late-utf8";
  end[1].text = "après";
  s.end_texts = end;
  s.n_end_texts = 2;
  size_t len = 0;
  uint8_t *buf = png_util_write(&s, &len);
  CHECK(buf != NULL);
  CHECK(chunk_at(buf, len, "zTXt", NULL) > chunk_at(buf, len, "IDAT", NULL));
  char *v = NULL;
  CHECK(lundi_png_find_text(buf, len, "late", &v) == 0 && v && !strcmp(v, "written after the image data"));
  free(v);
  CHECK(lundi_png_find_text(buf, len, "late-utf8", &v) == 0 && v && !strcmp(v, "après"));
  free(v);
  CHECK(lundi_png_find_text(buf, len, "nope", &v) == 0 && v == NULL);
  free(buf);
  png_util_free(&s);
}

static void decode_palette(void) {
  png_util_spec s = png_util_default(5, 3, PNG_COLOR_TYPE_PALETTE, 4);
  png_color pal[3] = {{255, 0, 0}, {0, 128, 0}, {10, 20, 30}};
  s.palette = pal;
  s.n_palette = 3;
  for (int i = 0; i < 15; i++) s.samples[i] = (uint16_t)(i % 3);
  size_t len = 0;
  uint8_t *buf = png_util_write(&s, &len);
  lundi_image im = {0};
  CHECK(buf && lundi_png_decode(buf, len, &im) == 0);
  CHECK(im.width == 5 && im.height == 3 && im.channels == 3);
  for (int i = 0; i < 15 && im.pixels; i++) {
    const png_color *c = &pal[i % 3];
    CHECK(im.pixels[i * 3] == c->red && im.pixels[i * 3 + 1] == c->green && im.pixels[i * 3 + 2] == c->blue);
  }
  lundi_image_free(&im);
  free(buf);
  /* with tRNS: palette entries get alpha, absent entries are opaque */
  uint8_t alpha[2] = {0, 77};
  s.trans_alpha = alpha;
  s.n_trans = 2;
  buf = png_util_write(&s, &len);
  CHECK(buf && lundi_png_decode(buf, len, &im) == 0);
  CHECK(im.channels == 4);
  for (int i = 0; i < 15 && im.pixels; i++) {
    int idx = i % 3;
    CHECK(im.pixels[i * 4] == pal[idx].red && im.pixels[i * 4 + 3] == (idx < 2 ? alpha[idx] : 255));
  }
  lundi_image_free(&im);
  free(buf);
  png_util_free(&s);
}

static void decode_16bit(void) {
  png_util_spec s = png_util_default(4, 2, PNG_COLOR_TYPE_RGB_ALPHA, 16);
  for (int i = 0; i < 32; i++) s.samples[i] = (uint16_t)(i * 2113 + 5);
  s.samples[0] = 65535;
  s.samples[1] = 0;
  s.samples[2] = 128; /* 0.5 in 8 bits: rounds down */
  s.samples[3] = 129 * 255; /* 32895 -> 127.99 -> 128 */
  size_t len = 0;
  uint8_t *buf = png_util_write(&s, &len);
  lundi_image im = {0};
  CHECK(buf && lundi_png_decode(buf, len, &im) == 0);
  CHECK(im.channels == 4 && im.width == 4 && im.height == 2);
  for (int i = 0; i < 32 && im.pixels; i++) {
    int want = (int)((s.samples[i] * 255L + 32767) / 65535);
    CHECK(abs(im.pixels[i] - want) <= 0);
  }
  CHECK(im.pixels && im.pixels[0] == 255 && im.pixels[1] == 0 && im.pixels[2] == 0 && im.pixels[3] == 128);
  lundi_image_free(&im);
  free(buf);
  png_util_free(&s);
}

static void decode_gray_low_bits(void) {
  const int depths[] = {1, 2, 4};
  for (int d = 0; d < 3; d++) {
    int bits = depths[d], maxv = (1 << bits) - 1;
    png_util_spec s = png_util_default(7, 3, PNG_COLOR_TYPE_GRAY, bits);
    for (int i = 0; i < 21; i++) s.samples[i] = (uint16_t)((i * 5) % (maxv + 1));
    size_t len = 0;
    uint8_t *buf = png_util_write(&s, &len);
    lundi_image im = {0};
    CHECK(buf && lundi_png_decode(buf, len, &im) == 0);
    CHECK(im.channels == 1 && im.width == 7 && im.height == 3);
    for (int i = 0; i < 21 && im.pixels; i++) CHECK(im.pixels[i] == s.samples[i] * 255 / maxv);
    lundi_image_free(&im);
    free(buf);
    png_util_free(&s);
  }
  /* gray + tRNS (one gray value is transparent) -> gray+alpha */
  png_util_spec s = png_util_default(4, 1, PNG_COLOR_TYPE_GRAY, 2);
  for (int i = 0; i < 4; i++) s.samples[i] = (uint16_t)i;
  s.trans_gray = 2;
  s.n_trans = 1;
  size_t len = 0;
  uint8_t *buf = png_util_write(&s, &len);
  lundi_image im = {0};
  CHECK(buf && lundi_png_decode(buf, len, &im) == 0);
  CHECK(im.channels == 2);
  const uint8_t want[8] = {0, 255, 85, 255, 170, 0, 255, 255};
  CHECK(im.pixels && !memcmp(im.pixels, want, 8));
  lundi_image_free(&im);
  free(buf);
  png_util_free(&s);
}

static void decode_interlaced(void) {
  png_util_spec s = png_util_default(13, 11, PNG_COLOR_TYPE_RGB, 8);
  s.interlace = 1;
  for (int i = 0; i < 13 * 11 * 3; i++) s.samples[i] = (uint16_t)((i * 37) & 255);
  size_t len = 0;
  uint8_t *buf = png_util_write(&s, &len);
  lundi_image im = {0};
  CHECK(buf && lundi_png_decode(buf, len, &im) == 0);
  CHECK(buf && buf[28] == 1); /* the IHDR interlace byte: really Adam7 */
  CHECK(im.channels == 3 && im.width == 13 && im.height == 11);
  int bad = 0;
  for (int i = 0; i < 13 * 11 * 3 && im.pixels; i++) bad += im.pixels[i] != s.samples[i];
  CHECK(bad == 0);
  char *v = NULL; /* find_text reads the rows of every pass to reach the end */
  CHECK(lundi_png_find_text(buf, len, "x", &v) == 0 && v == NULL);
  lundi_image_free(&im);
  free(buf);
  png_util_free(&s);
}

static uint8_t *sample_png(size_t *len) {
  uint8_t px[3 * 4 * 3];
  fill_random(px, sizeof px, 7);
  lundi_image im = {4, 3, 3, px};
  lundi_png_text t = {"lundi", "abc"};
  uint8_t *buf = NULL;
  lundi_png_encode(&im, &t, 1, &buf, len);
  return buf;
}

static void truncated(void) {
  size_t len = 0;
  uint8_t *buf = sample_png(&len);
  CHECK(buf != NULL);
  int undetected = 0, silent = 0;
  for (size_t n = 0; n < len; n++) {
    uint8_t *cut = malloc(n ? n : 1); /* a fresh block, so ASan sees any over-read */
    memcpy(cut, buf, n);
    lundi_image im = {0};
    lundi_clear_error();
    if (lundi_png_decode(cut, n, &im) == 0) undetected++;
    if (!lundi_last_error()[0] || im.pixels) silent++;
    char *v = NULL;
    /* find_text walks every chunk header first, so it too rejects any cut */
    int rc = lundi_png_find_text(cut, n, "zzz", &v);
    if (rc == 0 || v) undetected++;
    free(cut);
  }
  CHECK(undetected == 0);
  CHECK(silent == 0);
  lundi_image im = {0};
  CHECK_ERR(lundi_png_decode(buf, 40, &im), "PNG: ");
  CHECK_ERR(lundi_png_decode(buf, len - 1, &im), "truncated");
  CHECK_ERR(lundi_png_decode(buf, 5, &im), "signature");
  CHECK_ERR(lundi_png_decode((const uint8_t *)"GIF89a..........", 16, &im), "not a PNG");
  free(buf);
}

static void crc_corrupt(void) {
  size_t len = 0;
  uint8_t *buf = sample_png(&len);
  size_t dl = 0, idat = chunk_at(buf, len, "IDAT", &dl), text = chunk_at(buf, len, "tEXt", NULL);
  CHECK(idat && text);
  lundi_image im = {0};
  /* a flipped bit in the compressed data: zlib's check or the CRC catches it */
  buf[idat + dl / 2] ^= 0x40;
  CHECK_ERR(lundi_png_decode(buf, len, &im), "PNG: IDAT: ");
  CHECK(im.pixels == NULL);
  buf[idat + dl / 2] ^= 0x40;
  buf[idat + dl + 1] ^= 0x40; /* in the CRC itself */
  CHECK_ERR(lundi_png_decode(buf, len, &im), "PNG: IDAT: CRC error");
  buf[idat + dl + 1] ^= 0x40;
  CHECK(lundi_png_decode(buf, len, &im) == 0);
  lundi_image_free(&im);
  buf[text + 2] ^= 1; /* damaged text chunk: an error, not a silently missing key */
  char *v = NULL;
  CHECK_ERR(lundi_png_find_text(buf, len, "lundi", &v), "tEXt: CRC error");
  CHECK(v == NULL);
  CHECK_ERR(lundi_png_decode(buf, len, &im), "CRC error");
  buf[text + 2] ^= 1;
  buf[16] ^= 1; /* IHDR width */
  CHECK_ERR(lundi_png_decode(buf, len, &im), "IHDR: CRC error");
  free(buf);
}

static void huge_ihdr(void) {
  /* A header promising 100000 x 100000 pixels with a valid CRC: refused up front. */
  size_t len = 0;
  uint8_t *buf = sample_png(&len);
  png_util_set_ihdr_size(buf, 100000, 100000);
  lundi_image im = {0};
  CHECK_ERR(lundi_png_decode(buf, len, &im), "above the limit of 16384x16384");
  char *v = NULL;
  CHECK_ERR(lundi_png_find_text(buf, len, "lundi", &v), "above the limit");
  /* Within the per-side limit but 16000 x 16000 RGB (768 MB): refused by the byte cap
   * before any allocation. */
  png_util_set_ihdr_size(buf, 16000, 16000);
  CHECK_ERR(lundi_png_decode(buf, len, &im), "decode limit");
  CHECK(im.pixels == NULL);
  free(buf);
  /* A tEXt chunk claiming 1 GiB in a 128-byte file: refused before libpng allocates it. */
  buf = sample_png(&len);
  size_t text = chunk_at(buf, len, "tEXt", NULL) - 8;
  buf[text] = 0x40;
  CHECK_ERR(lundi_png_decode(buf, len, &im), "chunk 'tEXt' at byte 33 declares 1073741833 data bytes");
  CHECK_ERR(lundi_png_find_text(buf, len, "lundi", &v), "file truncated or corrupt");
  free(buf);
}

static void files(void) {
  char dir[] = "/tmp/lundi_png_XXXXXX";
  CHECK(mkdtemp(dir) != NULL);
  char path[128];
  snprintf(path, sizeof path, "%s/out.png", dir);
  uint8_t px[12] = {0, 50, 100, 150, 200, 250, 1, 2, 3, 4, 5, 6};
  lundi_image im = {2, 2, 3, px};
  lundi_png_text t = {"lundi", "uuid-1"};
  CHECK(lundi_png_write_file(path, &im, &t, 1) == 0);
  CHECK(lundi_png_write_file(path, &im, &t, 1) == 0); /* replaces */
  uint8_t *data = NULL;
  size_t n = 0;
  CHECK(lundi_file_read_all(path, &data, &n) == 0 && n > 50);
  lundi_image back = {0};
  CHECK(lundi_png_decode(data, n, &back) == 0 && back.pixels && !memcmp(back.pixels, px, 12));
  lundi_image_free(&back);
  free(data);
  char bad[160];
  snprintf(bad, sizeof bad, "%s/no/such/dir/x.png", dir);
  CHECK_ERR(lundi_png_write_file(bad, &im, NULL, 0), "cannot create a file in its directory");
  CHECK_ERR(lundi_file_read_all(bad, &data, &n), "No such file");
  CHECK(data == NULL && n == 0);
  CHECK_ERR(lundi_file_read_all(dir, &data, &n), "directory");
  /* a failed encode leaves no file and no temporary behind */
  lundi_image empty = {0, 0, 3, px};
  char p2[160];
  snprintf(p2, sizeof p2, "%s/none.png", dir);
  CHECK(lundi_png_write_file(p2, &empty, NULL, 0) != 0);
  CHECK(access(p2, F_OK) != 0);
  char cmd[200];
  snprintf(cmd, sizeof cmd, "test $(ls -A %s | wc -l) -eq 1", dir);
  CHECK(system(cmd) == 0); /* only out.png */
  unlink(path);
  rmdir(dir);
}


/* ---- deterministic mutation fuzzing (the libFuzzer target is tests/fuzz/fuzz_png.c) ---- */

static uint32_t rng_state;
static uint32_t rnd(uint32_t n) {
  rng_state ^= rng_state << 13;
  rng_state ^= rng_state >> 17;
  rng_state ^= rng_state << 5;
  return n ? rng_state % n : 0;
}

/* Rewrites the CRC of every chunk that still fits, so mutations get past the CRC check
 * into libpng's chunk parsers and inflate. */
static void fix_crcs(uint8_t *p, size_t n) {
  for (size_t o = 8; o + 12 <= n;) {
    size_t l = (size_t)p[o] << 24 | (size_t)p[o + 1] << 16 | (size_t)p[o + 2] << 8 | p[o + 3];
    if (l > n - o - 12) break;
    uint32_t c = png_util_crc(p + o + 4, l + 4);
    p[o + 8 + l] = (uint8_t)(c >> 24);
    p[o + 9 + l] = (uint8_t)(c >> 16);
    p[o + 10 + l] = (uint8_t)(c >> 8);
    p[o + 11 + l] = (uint8_t)c;
    o += 12 + l;
  }
}

static size_t mutate(uint8_t *p, size_t n, size_t cap) {
  int rounds = 1 + (int)rnd(4);
  for (int r = 0; r < rounds; r++) {
    switch (rnd(7)) {
    case 0: case 1: /* flip bits (not in the signature, mostly) */
      if (n > 8) p[8 + rnd((uint32_t)(n - 8))] ^= (uint8_t)(1u << rnd(8));
      break;
    case 2: /* random byte */
      if (n) p[rnd((uint32_t)n)] = (uint8_t)rnd(256);
      break;
    case 3: /* insert bytes */
      if (n + 8 <= cap) {
        size_t at = rnd((uint32_t)n + 1), k = 1 + rnd(8);
        memmove(p + at + k, p + at, n - at);
        for (size_t i = 0; i < k; i++) p[at + i] = (uint8_t)rnd(256);
        n += k;
      }
      break;
    case 4: /* delete a range */
      if (n > 1) {
        size_t at = rnd((uint32_t)n), k = 1 + rnd(16);
        if (k > n - at) k = n - at;
        memmove(p + at, p + at + k, n - at - k);
        n -= k;
      }
      break;
    case 5: /* truncate */
      n = rnd((uint32_t)n + 1);
      break;
    case 6: /* interesting 32-bit values (lengths, sizes) */
      if (n >= 4) {
        static const uint32_t v[] = {0, 1, 0x7fffffff, 0x80000000u, 0xffffffffu, 16384, 16385, 65535};
        size_t at = rnd((uint32_t)n - 3);
        uint32_t x = v[rnd(8)];
        p[at] = (uint8_t)(x >> 24), p[at + 1] = (uint8_t)(x >> 16), p[at + 2] = (uint8_t)(x >> 8), p[at + 3] = (uint8_t)x;
      }
      break;
    }
  }
  if (rnd(2)) fix_crcs(p, n);
  return n;
}

static uint8_t *seed_png(int k, size_t *len) {
  if (k == 0) return sample_png(len); /* ours: RGB + tEXt */
  png_util_spec s;
  if (k == 1) {
    static png_color pal[4] = {{1, 2, 3}, {40, 50, 60}, {200, 100, 0}, {9, 9, 9}};
    static uint8_t alpha[3] = {0, 128, 255};
    s = png_util_default(9, 5, PNG_COLOR_TYPE_PALETTE, 2);
    s.palette = pal;
    s.n_palette = 4;
    s.trans_alpha = alpha;
    s.n_trans = 3;
    for (int i = 0; i < 45; i++) s.samples[i] = (uint16_t)(i & 3);
  } else if (k == 2) {
    s = png_util_default(11, 7, PNG_COLOR_TYPE_GRAY_ALPHA, 16);
    s.interlace = 1;
    for (int i = 0; i < 11 * 7 * 2; i++) s.samples[i] = (uint16_t)(i * 977);
  } else {
    static png_text t[2] = {{PNG_TEXT_COMPRESSION_zTXt, "z", "compressed text after the data", 0, 0, 0, 0},
                            {PNG_ITXT_COMPRESSION_zTXt, "i", "itxt \xc3\xa9t\xc3\xa9", 0, 0, 0, 0}};
    s = png_util_default(6, 6, PNG_COLOR_TYPE_GRAY, 1);
    for (int i = 0; i < 36; i++) s.samples[i] = (uint16_t)((i / 6 + i) & 1);
    s.end_texts = t;
    s.n_end_texts = 2;
  }
  uint8_t *b = png_util_write(&s, len);
  png_util_free(&s);
  return b;
}

static void fuzz(void) {
  enum { SEEDS = 4, ITERS = 100000 };
  const char *env = getenv("LUNDI_FUZZ_ITERS");
  int iters = env ? atoi(env) : ITERS;
  uint8_t *seeds[SEEDS];
  size_t lens[SEEDS];
  for (int k = 0; k < SEEDS; k++) {
    seeds[k] = seed_png(k, &lens[k]);
    CHECK(seeds[k] != NULL);
    lundi_image im = {0};
    CHECK(lundi_png_decode(seeds[k], lens[k], &im) == 0); /* the seeds themselves are valid */
    lundi_image_free(&im);
  }
  rng_state = 0x9e3779b9u;
  int decoded = 0, texts = 0, silent = 0;
  for (int it = 0; it < iters; it++) {
    int k = (int)rnd(SEEDS);
    size_t cap = lens[k] + 64;
    uint8_t *buf = malloc(cap);
    memcpy(buf, seeds[k], lens[k]);
    size_t n = mutate(buf, lens[k], cap);
    uint8_t *exact = malloc(n ? n : 1); /* exactly n bytes: ASan sees any over-read */
    memcpy(exact, buf, n);
    free(buf);
    lundi_image im = {0};
    lundi_clear_error();
    if (lundi_png_decode(exact, n, &im) == 0) {
      decoded++;
      unsigned sum = 0; /* touch every pixel */
      size_t np = (size_t)im.width * im.height * im.channels;
      for (size_t i = 0; i < np; i++) sum += im.pixels[i];
      (void)sum;
      if (im.width < 1 || im.height < 1 || im.channels < 1 || im.channels > 4 || !im.pixels) silent++;
      lundi_image_free(&im);
    } else if (!lundi_last_error()[0] || im.pixels) {
      silent++;
    }
    char *v = NULL;
    lundi_clear_error();
    int rc = lundi_png_find_text(exact, n, rnd(2) ? "z" : "lundi", &v);
    if (rc == 0 && v) texts++;
    if (rc != 0 && (v || !lundi_last_error()[0])) silent++;
    free(v);
    free(exact);
  }
  CHECK(silent == 0);
  /* the mutations must leave some inputs decodable, or the fuzzing only tests rejection */
  CHECK(iters < 1000 || decoded > iters / 50);
  CHECK(iters < 1000 || texts > iters / 50);
  printf("fuzz: %d iterations, %d decoded, %d texts found\n", iters, decoded, texts);
  for (int k = 0; k < SEEDS; k++) free(seeds[k]);
}

static const test_case TESTS[] = {
    {"roundtrip", roundtrip},
    {"encode_errors", encode_errors},
    {"text_chunks", text_chunks},
    {"text_after_idat", text_after_idat},
    {"decode_palette", decode_palette},
    {"decode_16bit", decode_16bit},
    {"decode_gray_low_bits", decode_gray_low_bits},
    {"decode_interlaced", decode_interlaced},
    {"truncated", truncated},
    {"crc_corrupt", crc_corrupt},
    {"huge_ihdr", huge_ihdr},
    {"files", files},
    {"fuzz", fuzz},
};
TEST_MAIN(TESTS)
