/* Tokenizers (runtime/text): the bytes tokenizer's ids and specials, exact round trips of
 * random byte strings, decode errors, and GPT-2's pre-tokenizer on hand-checked splits. */
#include <stdint.h>

#include "harness.h"
#include "lundi/tokenizer.h"
#include "text_util.h"
#include "text/tokenizer_internal.h"

static void bytes_ids(void) {
  lundi_tokenizer *t = lundi_tokenizer_bytes();
  CHECK(t != NULL);
  CHECK(!strcmp(lundi_tokenizer_kind(t), "bytes"));
  CHECK(lundi_tokenizer_vocab_size(t) == 260);
  CHECK(lundi_tokenizer_special(t, LUNDI_TOKEN_MASK) == 256);
  CHECK(lundi_tokenizer_special(t, LUNDI_TOKEN_EOS) == 257);
  CHECK(lundi_tokenizer_special(t, LUNDI_TOKEN_PAD) == 258);
  CHECK(lundi_tokenizer_special(t, LUNDI_TOKEN_BOS) == 259);
  int32_t *ids = NULL;
  int64_t n = -1;
  CHECK(lundi_tokenizer_encode(t, "A\xff\0z", 4, &ids, &n) == 0);
  CHECK(n == 4 && ids[0] == 65 && ids[1] == 255 && ids[2] == 0 && ids[3] == 122);
  free(ids);
  CHECK(lundi_tokenizer_encode(t, "", 0, &ids, &n) == 0);
  CHECK(ids != NULL && n == 0); /* non-NULL even for no tokens */
  free(ids);
  size_t len = 9;
  const char *p = lundi_tokenizer_piece(t, 200, &len);
  CHECK(p && len == 1 && (unsigned char)p[0] == 200);
  p = lundi_tokenizer_piece(t, 256, &len);
  CHECK(p && len == 8 && !memcmp(p, "<|mask|>", 8));
  CHECK(lundi_tokenizer_piece(t, 260, &len) == NULL && len == 0);
  CHECK(lundi_tokenizer_piece(t, -1, NULL) == NULL);
  lundi_tokenizer_free(t);
  lundi_tokenizer_free(NULL);
}

static void bytes_roundtrip(void) {
  lundi_tokenizer *t = lundi_tokenizer_bytes();
  tu_check_roundtrips(t, 600);
  lundi_tokenizer_free(t);
}

static void bytes_specials_decode(void) {
  lundi_tokenizer *t = lundi_tokenizer_bytes();
  int32_t ids[] = {259, 104, 105, 256, 257, 258};
  char *s = NULL;
  size_t n = 0;
  CHECK(lundi_tokenizer_decode(t, ids, 6, 0, &s, &n) == 0);
  CHECK(s && !strcmp(s, "<|bos|>hi<|mask|><|endoftext|><|pad|>") && n == strlen(s));
  free(s);
  CHECK(lundi_tokenizer_decode(t, ids, 6, 1, &s, &n) == 0);
  CHECK(s && !strcmp(s, "hi") && n == 2);
  free(s);
  CHECK(lundi_tokenizer_decode(t, ids, 0, 0, &s, &n) == 0);
  CHECK(s && s[0] == 0 && n == 0);
  free(s);
  lundi_tokenizer_free(t);
}

static void decode_errors(void) {
  lundi_tokenizer *t = lundi_tokenizer_bytes();
  int32_t bad[] = {104, 260};
  char *s = (char *)1;
  size_t n = 7;
  CHECK_ERR(lundi_tokenizer_decode(t, bad, 2, 0, &s, &n), "id 260 at position 1");
  CHECK(s == NULL && n == 0);
  int32_t neg[] = {-3};
  CHECK_ERR(lundi_tokenizer_decode(t, neg, 1, 0, &s, &n), "id -3 at position 0");
  CHECK_ERR(lundi_tokenizer_decode(t, neg, 1, 0, &s, &n), "bytes vocabulary (0..259)");
  int32_t *ids;
  int64_t k;
  CHECK_ERR(lundi_tokenizer_encode(NULL, "a", 1, &ids, &k), "tokenizer is NULL");
  CHECK_ERR(lundi_tokenizer_encode(t, NULL, 1, &ids, &k), "text is NULL");
  CHECK(lundi_tokenizer_special(t, LUNDI_TOKEN_SPECIAL_COUNT) < 0);
  lundi_tokenizer_free(t);
}

/* Splits text with the pre-tokenizer and joins the words with '|'. */
static void split(const char *text, char *out, size_t cap) {
  size_t n = strlen(text), k = 0;
  for (size_t i = 0; i < n;) {
    size_t w = lundi__pretok_next(text + i, n - i);
    if (i && k + 1 < cap) out[k++] = '|';
    for (size_t j = 0; j < w && k + 1 < cap; j++) out[k++] = text[i + j];
    i += w;
  }
  out[k] = 0;
}

static void pretokenizer_splits(void) {
  /* Expected splits as node's regex gives them (gpt-3-encoder's pattern). */
  static const char *const cases[][2] = {
      {"Hello world", "Hello| world"},
      {"I'm here, they'll see", "I|'m| here|,| they|'ll| see"},
      {"a  b", "a| | b"},
      {"a   \tb", "a|   |\t|b"},
      {"x\n\ny", "x|\n|\n|y"},
      {"end  ", "end|  "},
      {"'S 's''s", "'|S| '|s|''|s"},
      {"3.14 abc123", "3|.|14| abc|123"},
      {" !!? ok", " !!?| ok"},
      {"caf\xc3\xa9 na\xc3\xafve \xe4\xb8\xad\xe6\x96\x87", "caf\xc3\xa9| na\xc3\xafve| \xe4\xb8\xad\xe6\x96\x87"},
      {"\xc2\xbd\xe2\x85\xa0x", "\xc2\xbd\xe2\x85\xa0|x"},   /* No, Nl are numbers */
      {"a\xff\xfe b", "a|\xff\xfe| b"},                         /* invalid bytes are "other" */
      {"a\xc2\xa0\xc2\xa0z", "a|\xc2\xa0|\xc2\xa0|z"},          /* NBSP is \s in JS */
  };
  char got[256];
  for (size_t i = 0; i < sizeof cases / sizeof *cases; i++) {
    split(cases[i][0], got, sizeof got);
    if (strcmp(got, cases[i][1])) {
      t_failures++;
      fprintf(stderr, "pre-tokenizer: \"%s\" split as \"%s\", expected \"%s\"\n", cases[i][0],
              got, cases[i][1]);
    }
  }
}

static const test_case TESTS[] = {
    {"bytes_ids", bytes_ids},
    {"bytes_roundtrip", bytes_roundtrip},
    {"bytes_specials_decode", bytes_specials_decode},
    {"decode_errors", decode_errors},
    {"pretokenizer_splits", pretokenizer_splits},
};
TEST_MAIN(TESTS)
