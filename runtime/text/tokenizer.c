/* The tokenizer handle: construction helpers, the bytes tokenizer, queries, encode and
 * decode (the merge engine is in bpe_encode.c, the pre-tokenizer in pretokenize.c). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/error.h"
#include "text/tokenizer_internal.h"

const char *const lundi__special_text[LUNDI_TOKEN_SPECIAL_COUNT] = {"<|mask|>", "<|endoftext|>",
                                                                    "<|pad|>", "<|bos|>"};

int lundi__err_prefix(const char *prefix) {
  char msg[1024];
  int code = lundi_last_error_code();
  snprintf(msg, sizeof msg, "%s", lundi_last_error());
  return lundi__err(code ? code : LUNDI_EIO, "%s: %s", prefix, msg);
}

lundi_tokenizer *lundi__tok_alloc(lundi__tok_kind kind, int32_t vocab, size_t pool_cap) {
  lundi_tokenizer *t = calloc(1, sizeof *t);
  if (!t) return lundi__errp(LUNDI_ENOMEM, "tokenizer: out of memory");
  t->kind = kind;
  t->vocab = vocab;
  t->pool = malloc(pool_cap ? pool_cap : 1);
  t->off = calloc((size_t)vocab, sizeof *t->off);
  t->len = calloc((size_t)vocab, sizeof *t->len);
  if (!t->pool || !t->off || !t->len) {
    lundi_tokenizer_free(t);
    return lundi__errp(LUNDI_ENOMEM, "tokenizer: out of memory for %d ids", (int)vocab);
  }
  for (int i = 0; i < LUNDI_TOKEN_SPECIAL_COUNT; i++) t->special[i] = -1;
  return t;
}

void lundi__tok_set_piece(lundi_tokenizer *t, size_t *pool_used, int32_t id, const char *p,
                          size_t n) {
  if (n) memcpy(t->pool + *pool_used, p, n);
  t->off[id] = (uint32_t)*pool_used;
  t->len[id] = (uint32_t)n;
  *pool_used += n;
}

void lundi__tok_set_specials(lundi_tokenizer *t, size_t *pool_used, const int32_t ids[4]) {
  for (int i = 0; i < LUNDI_TOKEN_SPECIAL_COUNT; i++) {
    t->special[i] = ids[i];
    lundi__tok_set_piece(t, pool_used, ids[i], lundi__special_text[i],
                         strlen(lundi__special_text[i]));
  }
}

lundi_tokenizer *lundi_tokenizer_bytes(void) {
  lundi_tokenizer *t = lundi__tok_alloc(LUNDI__TOK_BYTES, 260, 256 + 64);
  if (!t) return NULL;
  size_t used = 0;
  for (int b = 0; b < 256; b++) {
    char c = (char)b;
    lundi__tok_set_piece(t, &used, b, &c, 1);
    t->byte_id[b] = b;
  }
  static const int32_t specials[4] = {256, 257, 258, 259};
  lundi__tok_set_specials(t, &used, specials);
  return t;
}

void lundi_tokenizer_free(lundi_tokenizer *t) {
  if (!t) return;
  free(t->pool);
  free(t->off);
  free(t->len);
  free(t->merge_list);
  lundi__merge_map_free(&t->merges);
  free(t);
}

const char *lundi_tokenizer_kind(const lundi_tokenizer *t) {
  if (!t) return NULL;
  return t->kind == LUNDI__TOK_BYTES ? "bytes" : t->kind == LUNDI__TOK_BPE ? "bpe" : "gpt2";
}

int lundi_tokenizer_vocab_size(const lundi_tokenizer *t) {
  return t ? t->vocab : lundi__err(LUNDI_EINVAL, "tokenizer_vocab_size: tokenizer is NULL");
}

int32_t lundi_tokenizer_special(const lundi_tokenizer *t, lundi_special_token which) {
  if (!t) return lundi__err(LUNDI_EINVAL, "tokenizer_special: tokenizer is NULL");
  if ((int)which < 0 || which >= LUNDI_TOKEN_SPECIAL_COUNT)
    return lundi__err(LUNDI_EINVAL, "tokenizer_special: %d is not a special token (0..%d)",
                      (int)which, LUNDI_TOKEN_SPECIAL_COUNT - 1);
  return t->special[which];
}

const char *lundi_tokenizer_piece(const lundi_tokenizer *t, int32_t id, size_t *len) {
  if (!t || id < 0 || id >= t->vocab) {
    if (len) *len = 0;
    return NULL;
  }
  if (len) *len = t->len[id];
  return t->pool + t->off[id];
}

static int is_special(const lundi_tokenizer *t, int32_t id) {
  for (int i = 0; i < LUNDI_TOKEN_SPECIAL_COUNT; i++)
    if (t->special[i] == id) return 1;
  return 0;
}

int lundi_tokenizer_decode(const lundi_tokenizer *t, const int32_t *ids, int64_t n,
                           int skip_special, char **text, size_t *len) {
  if (text) *text = NULL;
  if (len) *len = 0;
  if (!t || !text || (n > 0 && !ids) || n < 0)
    return lundi__err(LUNDI_EINVAL, "tokenizer_decode: %s", !t ? "tokenizer is NULL"
                                                           : !text ? "text is NULL"
                                                           : n < 0 ? "negative count"
                                                                   : "ids is NULL");
  size_t total = 0;
  for (int64_t i = 0; i < n; i++) {
    if (ids[i] < 0 || ids[i] >= t->vocab)
      return lundi__err(LUNDI_EINVAL,
                        "tokenizer_decode: id %ld at position %lld is outside the %s "
                        "vocabulary (0..%d)",
                        (long)ids[i], (long long)i, lundi_tokenizer_kind(t), (int)t->vocab - 1);
    if (!(skip_special && is_special(t, ids[i]))) total += t->len[ids[i]];
  }
  char *out = malloc(total + 1);
  if (!out) return lundi__err(LUNDI_ENOMEM, "tokenizer_decode: out of memory for %zu bytes", total);
  size_t k = 0;
  for (int64_t i = 0; i < n; i++) {
    if (skip_special && is_special(t, ids[i])) continue;
    memcpy(out + k, t->pool + t->off[ids[i]], t->len[ids[i]]);
    k += t->len[ids[i]];
  }
  out[k] = 0;
  *text = out;
  if (len) *len = k;
  return 0;
}

int lundi__ids_reserve(int32_t **out, size_t *cap, size_t need) {
  if (need <= *cap) return 0;
  size_t c = *cap ? *cap : 64;
  while (c < need) c *= 2;
  int32_t *p = realloc(*out, c * sizeof *p);
  if (!p) return lundi__err(LUNDI_ENOMEM, "tokenizer_encode: out of memory for %zu ids", c);
  *out = p;
  *cap = c;
  return 0;
}

int lundi_tokenizer_encode(const lundi_tokenizer *t, const char *text, size_t len, int32_t **ids,
                           int64_t *n) {
  if (ids) *ids = NULL;
  if (n) *n = 0;
  if (!t || !ids || !n || (len && !text))
    return lundi__err(LUNDI_EINVAL, "tokenizer_encode: %s",
                      !t ? "tokenizer is NULL" : (!ids || !n) ? "ids or n is NULL" : "text is NULL");
  int32_t *out = NULL;
  size_t cap = 0;
  int64_t k = 0;
  int rc = lundi__ids_reserve(&out, &cap, t->kind == LUNDI__TOK_BYTES ? len + 1 : len / 3 + 16);
  const unsigned char *s = (const unsigned char *)text;
  if (!rc && t->kind == LUNDI__TOK_BYTES) {
    for (size_t i = 0; i < len; i++) out[i] = s[i];
    k = (int64_t)len;
  } else if (!rc) {
    lundi__bpe_work w = {0};
    for (size_t i = 0; i < len && !rc;) {
      size_t wl = lundi__pretok_next(text + i, len - i);
      rc = lundi__bpe_word(t, &w, s + i, wl, &out, &k, &cap);
      i += wl;
    }
    lundi__bpe_work_free(&w);
  }
  if (rc) {
    free(out);
    return rc;
  }
  *ids = out;
  *n = k;
  return 0;
}
