/* A tokenizer named by one string, as the Lua module and hosts spell it (lundi/tokenizer.h). */
#include <string.h>

#include "core/error.h"
#include "lundi/tokenizer.h"

lundi_tokenizer *lundi_tokenizer_open(const char *spec) {
  if (!spec) return lundi__errp(LUNDI_EINVAL, "tokenizer_open: spec is NULL");
  if (!strcmp(spec, "bytes")) return lundi_tokenizer_bytes();
  if (!strcmp(spec, "gpt2")) return lundi_tokenizer_gpt2(NULL, NULL);
  return lundi_tokenizer_load(spec);
}
