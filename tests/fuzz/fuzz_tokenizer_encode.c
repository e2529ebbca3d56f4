/* libFuzzer target for encoding and decoding (runtime/text): the first byte picks the
 * tokenizer (bytes, a BPE trained at start-up, GPT-2's when its files are cached), the rest
 * is the text. Any bytes must encode to ids in range and decode to exactly themselves. */
#include "lundi/lundi.h"
#include "lundi/tokenizer.h"

#include <stdlib.h>
#include <string.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static lundi_tokenizer *toks[3];

static void init(void) {
  setenv("LUNDI_NPM", "/nonexistent-lundi-fuzz-npm", 1); /* never fetch while fuzzing */
  toks[0] = lundi_tokenizer_bytes();
  static const char *const corpus[] = {
      "the quick brown fox jumps over the lazy dog; they'll say it's 42.\n",
      "caf\xc3\xa9 na\xc3\xafve \xe6\x97\xa5\xe6\x9c\xac   spaces\t\ttabs\n\n",
      "aaaaaaaa bbbbbbbb abababab 123123123 !!!??? \xff\xfe\xfd"};
  toks[1] = lundi_tokenizer_train_bpe(corpus, NULL, 3, 400);
  toks[2] = lundi_tokenizer_gpt2(NULL, NULL); /* NULL when not cached */
  if (!toks[0] || !toks[1]) abort();
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
  if (!toks[0]) init();
  if (size == 0) return 0;
  const lundi_tokenizer *t = toks[data[0] % 3] ? toks[data[0] % 3] : toks[1];
  const char *text = (const char *)data + 1;
  size_t n = size - 1;
  int32_t *ids;
  int64_t k;
  if (lundi_tokenizer_encode(t, text, n, &ids, &k) || !ids || k < 0 || (size_t)k > n) abort();
  for (int64_t i = 0; i < k; i++)
    if (ids[i] < 0 || ids[i] >= lundi_tokenizer_vocab_size(t)) abort();
  char *back;
  size_t len;
  if (lundi_tokenizer_decode(t, ids, k, 0, &back, &len) || len != n || memcmp(back, text, n) ||
      back[len])
    abort();
  free(back);
  free(ids);
  return 0;
}
