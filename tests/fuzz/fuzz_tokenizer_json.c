/* libFuzzer target for the tokenizer JSON loader (lundi_tokenizer_load's parser); build and
 * run as tests/fuzz/README.md says. Any input must load or fail with a message, never
 * crash, leak or read out of bounds; whatever loads must round-trip text exactly. */
#include "lundi/lundi.h"
#include "lundi/tokenizer.h"

#include <stdlib.h>
#include <string.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);
/* runtime/text/tokenizer_internal.h: the loader on a buffer */
lundi_tokenizer *lundi__tokenizer_parse(const char *data, size_t size, const char *where);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
  static int init;
  if (!init) { /* "kind": "gpt2" must not start npm: no cache, no npm */
    setenv("XDG_CACHE_HOME", "/nonexistent-lundi-fuzz-cache", 1);
    setenv("LUNDI_NPM", "/nonexistent-lundi-fuzz-npm", 1);
    init = 1;
  }
  lundi_clear_error();
  lundi_tokenizer *t = lundi__tokenizer_parse((const char *)data, size, "fuzz");
  if (!t) {
    if (!lundi_last_error()[0]) abort();
    return 0;
  }
  static const char text[] = "the fuzzer's text, caf\xc3\xa9 \xff\xfe 42 <|mask|>";
  int32_t *ids;
  int64_t n;
  char *back;
  size_t len;
  if (lundi_tokenizer_encode(t, text, sizeof text - 1, &ids, &n)) abort();
  for (int64_t i = 0; i < n; i++)
    if (ids[i] < 0 || ids[i] >= lundi_tokenizer_vocab_size(t)) abort();
  if (lundi_tokenizer_decode(t, ids, n, 0, &back, &len) || len != sizeof text - 1 ||
      memcmp(back, text, len))
    abort();
  free(back);
  free(ids);
  lundi_tokenizer_free(t);
  return 0;
}
