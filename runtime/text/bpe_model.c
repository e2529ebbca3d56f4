/* A bpe tokenizer from its merge list (training's result, or a saved JSON): ids 0..255 the
 * bytes, 256 + i the result of merge i, then MASK, EOS, PAD, BOS. */
#include <stdlib.h>
#include <string.h>

#include "core/error.h"
#include "text/tokenizer_internal.h"

lundi_tokenizer *lundi__bpe_build(const int32_t (*merges)[2], int32_t n, const char *what) {
  if (n < 0 || n > LUNDI__BPE_MAX_MERGES)
    return lundi__errp(LUNDI_EFORMAT, "%s: %ld merges; at most %d are allowed", what, (long)n,
                       LUNDI__BPE_MAX_MERGES);
  /* piece lengths first (each merge's inputs come before it), to size the pool */
  uint32_t *len = malloc(((size_t)n + 256) * sizeof *len);
  if (!len) return lundi__errp(LUNDI_ENOMEM, "%s: out of memory", what);
  size_t pool = 256 + 64;
  for (int i = 0; i < 256; i++) len[i] = 1;
  for (int32_t i = 0; i < n; i++) {
    int32_t a = merges[i][0], b = merges[i][1];
    if (a < 0 || b < 0 || a >= 256 + i || b >= 256 + i) {
      free(len);
      return lundi__errp(LUNDI_EFORMAT,
                         "%s: merge %ld is [%ld, %ld], but merge %ld may only use ids 0..%ld "
                         "(the bytes and earlier merges)",
                         what, (long)i, (long)a, (long)b, (long)i, (long)(255 + i));
    }
    uint64_t l = (uint64_t)len[a] + len[b];
    if (l > ((uint32_t)1 << 20)) {
      free(len);
      return lundi__errp(LUNDI_EFORMAT, "%s: merge %ld makes a token of %llu bytes; at most 1 MiB "
                         "per token is allowed", what, (long)i, (unsigned long long)l);
    }
    len[256 + i] = (uint32_t)l;
    pool += l;
    if (pool > ((size_t)1 << 30)) {
      free(len);
      return lundi__errp(LUNDI_EFORMAT, "%s: the tokens add up to more than 1 GiB", what);
    }
  }
  free(len);
  lundi_tokenizer *t = lundi__tok_alloc(LUNDI__TOK_BPE, n + 256 + LUNDI_TOKEN_SPECIAL_COUNT, pool);
  if (!t) return NULL;
  t->merge_list = malloc(((size_t)n + 1) * sizeof *t->merge_list);
  if (!t->merge_list || lundi__merge_map_init(&t->merges, (size_t)n)) {
    lundi_tokenizer_free(t);
    return lundi__errp(LUNDI_ENOMEM, "%s: out of memory for %ld merges", what, (long)n);
  }
  size_t used = 0;
  for (int b = 0; b < 256; b++) {
    char c = (char)b;
    lundi__tok_set_piece(t, &used, b, &c, 1);
    t->byte_id[b] = b;
  }
  for (int32_t i = 0; i < n; i++) {
    int32_t a = merges[i][0], b = merges[i][1], z = 256 + i;
    int added = lundi__merge_map_add(&t->merges, a, b, i, z);
    if (added) {
      const lundi__merge_slot *s = lundi__merge_map_get(&t->merges, a, b);
      long first = s ? (long)s->rank : -1;
      lundi_tokenizer_free(t);
      return added < 0 ? lundi__errp(LUNDI_ENOMEM, "%s: out of memory", what)
                       : lundi__errp(LUNDI_EFORMAT, "%s: merge %ld repeats merge %ld ([%ld, %ld])",
                                     what, (long)i, first, (long)a, (long)b);
    }
    t->merge_list[i][0] = a;
    t->merge_list[i][1] = b;
    /* the pool grows in id order, so a and b are already there */
    t->off[z] = (uint32_t)used;
    t->len[z] = t->len[a] + t->len[b];
    memcpy(t->pool + used, t->pool + t->off[a], t->len[a]);
    memcpy(t->pool + used + t->len[a], t->pool + t->off[b], t->len[b]);
    used += t->len[z];
  }
  t->n_merges = n;
  int32_t sp[4] = {256 + n, 257 + n, 258 + n, 259 + n};
  lundi__tok_set_specials(t, &used, sp);
  return t;
}
