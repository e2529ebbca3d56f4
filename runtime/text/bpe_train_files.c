/* Training BPE on files (lundi/tokenizer.h): every file is read before training starts, so a
 * missing one fails fast, and all are freed before returning. */
#include <stdlib.h>

#include "core/error.h"
#include "lundi/file.h"
#include "lundi/tokenizer.h"

lundi_tokenizer *lundi_tokenizer_train_bpe_files(const char *const *paths, int64_t n_paths,
                                                 int vocab_size) {
  if (n_paths < 0 || (n_paths > 0 && !paths))
    return lundi__errp(LUNDI_EINVAL, "tokenizer_train_bpe: %s",
                       n_paths < 0 ? "negative number of files" : "paths is NULL");
  size_t cap = (size_t)(n_paths ? n_paths : 1);
  char **texts = calloc(cap, sizeof *texts);
  size_t *lens = calloc(cap, sizeof *lens);
  lundi_tokenizer *tok = NULL;
  if (!texts || !lens) {
    lundi__err(LUNDI_ENOMEM, "tokenizer_train_bpe: out of memory");
    goto done;
  }
  for (int64_t i = 0; i < n_paths; i++) {
    uint8_t *data = NULL;
    if (lundi_file_read_all(paths[i], &data, &lens[i])) goto done;
    texts[i] = (char *)data;
  }
  tok = lundi_tokenizer_train_bpe((const char *const *)texts, lens, n_paths, vocab_size);
done:
  for (int64_t i = 0; texts && i < n_paths; i++) free(texts[i]);
  free(texts);
  free(lens);
  return tok;
}
