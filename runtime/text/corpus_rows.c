/* The growing row buffer of the text datasets (text/corpus_internal.h). */
#include <stdlib.h>

#include "core/error.h"
#include "text/corpus_internal.h"

#define MAX_IDS ((int64_t)1 << 31)

int32_t *lundi__rows_add(lundi__rows *r) {
  if (r->n == r->cap) {
    int64_t cap = r->cap ? 2 * r->cap : 256;
    if (cap * r->seq_len > MAX_IDS) cap = MAX_IDS / r->seq_len;
    if (cap <= r->n) return NULL;
    int32_t *t = realloc(r->tokens, sizeof *t * (size_t)cap * (size_t)r->seq_len);
    if (!t) return NULL;
    r->tokens = t;
    int32_t *p = realloc(r->plen, sizeof *p * (size_t)cap);
    if (!p) return NULL;
    r->plen = p;
    r->cap = cap;
  }
  r->plen[r->n] = 0;
  return r->tokens + r->n++ * r->seq_len;
}

lundi_dataset *lundi__rows_dataset(const lundi__rows *r) {
  int64_t shape[2] = {r->n, r->seq_len};
  lundi_tensor *f[2] = {lundi_from_i32(2, shape, r->tokens), lundi_from_i32(1, shape, r->plen)};
  lundi_dataset *ds = f[0] && f[1] ? lundi_dataset_from_tensors(2, f) : NULL;
  lundi_release(f[0]);
  lundi_release(f[1]);
  return ds;
}

void lundi__rows_free(lundi__rows *r) {
  free(r->tokens);
  free(r->plen);
  r->tokens = r->plen = NULL;
  r->n = r->cap = 0;
}
