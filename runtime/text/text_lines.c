/* A user's text file as a dataset (lundi_dataset_text_lines): one example per line, rows
 * [prompt | answer | EOS...] for "prompt<TAB>answer" lines and [BOS | text | EOS...] for
 * plain ones, so position 0 is always given (what lundi/likelihood.h scores from). */
#include <stdlib.h>
#include <string.h>

#include "core/error.h"
#include "core/file.h"
#include "lundi/text_data.h"
#include "text/corpus_internal.h"

#define MAX_FILE ((size_t)1 << 31)

/* Appends one line's row to rows (grown as needed). */
static int add_line(lundi__rows *rows, const lundi_tokenizer *tok, const char *path, int64_t lineno,
                    const char *s, size_t len) {
  const char *tab = memchr(s, '\t', len);
  int32_t *p = NULL, *a = NULL;
  int64_t np = 0, na = 0;
  int rc = 0;
  if (tab && tab > s) rc = lundi_tokenizer_encode(tok, s, (size_t)(tab - s), &p, &np);
  const char *body = tab ? tab + 1 : s;
  size_t blen = len - (size_t)(body - s);
  if (rc == 0) rc = lundi_tokenizer_encode(tok, body, blen, &a, &na);
  int32_t bos = lundi_tokenizer_special(tok, LUNDI_TOKEN_BOS);
  int64_t head = np ? np : 1; /* the prompt, or a BOS when there is none */
  if (rc == 0 && head + na + 1 > rows->seq_len)
    rc = lundi__err(LUNDI_EINVAL,
                    "%s:%lld: the line is %lld tokens with its %s and EOS, more than "
                    "seq_len %d (raise seq_len or split the line)",
                    path, (long long)lineno, (long long)(head + na + 1), np ? "prompt" : "BOS",
                    rows->seq_len);
  int32_t *row = rc == 0 ? lundi__rows_add(rows) : NULL;
  if (rc == 0 && !row) rc = lundi__err(LUNDI_ENOMEM, "%s: out of memory", path);
  if (rc == 0) {
    if (np) memcpy(row, p, sizeof *row * (size_t)np);
    else row[0] = bos;
    memcpy(row + head, a, sizeof *row * (size_t)na);
    int32_t eos = lundi_tokenizer_special(tok, LUNDI_TOKEN_EOS);
    for (int64_t k = head + na; k < rows->seq_len; k++) row[k] = eos;
    rows->plen[rows->n - 1] = (int32_t)head;
  }
  free(p);
  free(a);
  return rc;
}

lundi_dataset *lundi_dataset_text_lines(const lundi_tokenizer *tok, const char *path,
                                        int seq_len) {
  if (!tok) return lundi__errp(LUNDI_EINVAL, "text_lines: no tokenizer (NULL)");
  if (!path) return lundi__errp(LUNDI_EINVAL, "text_lines: no path (NULL)");
  if (seq_len < 2)
    return lundi__errp(LUNDI_EINVAL, "%s: seq_len must be at least 2, got %d", path,
                       seq_len);
  uint8_t *data = NULL;
  size_t size = 0;
  if (lundi__read_file(path, MAX_FILE, &data, &size, NULL)) return NULL;
  lundi__rows rows = {.seq_len = seq_len};
  int rc = 0;
  int64_t lineno = 0;
  for (size_t at = 0; at < size && rc == 0;) {
    const uint8_t *nl = memchr(data + at, '\n', size - at);
    size_t end = nl ? (size_t)(nl - data) : size;
    size_t len = end - at;
    lineno++;
    if (len && data[at + len - 1] == '\r') len--;
    if (len) rc = add_line(&rows, tok, path, lineno, (const char *)data + at, len);
    at = end + 1;
  }
  free(data);
  if (rc == 0 && rows.n == 0)
    rc = lundi__err(LUNDI_EINVAL, "%s: the file has no non-empty line", path);
  lundi_dataset *ds = rc == 0 ? lundi__rows_dataset(&rows) : NULL;
  lundi__rows_free(&rows);
  return ds;
}
