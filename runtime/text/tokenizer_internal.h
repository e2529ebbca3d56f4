/* The tokenizer handle shared by the three kinds (lundi/tokenizer.h). Every kind is a
 * table of pieces (the bytes of each id) plus, for bpe and gpt2, a table of merges
 * (pair of ids -> rank and result id) applied inside pre-tokenized words. */
#ifndef LUNDI_TEXT_TOKENIZER_INTERNAL_H
#define LUNDI_TEXT_TOKENIZER_INTERNAL_H

#include <stddef.h>
#include <stdint.h>

#include "lundi/tokenizer.h"

typedef enum lundi__tok_kind { LUNDI__TOK_BYTES, LUNDI__TOK_BPE, LUNDI__TOK_GPT2 } lundi__tok_kind;

/* Open-addressing map from a pair of ids to (rank, result id). */
typedef struct lundi__merge_slot {
  uint64_t key; /* (uint64)left << 32 | right; UINT64_MAX for an empty slot */
  int32_t rank, result;
} lundi__merge_slot;

typedef struct lundi__merge_map {
  lundi__merge_slot *slots;
  size_t cap; /* power of two, or 0 */
  size_t count;
} lundi__merge_map;

struct lundi_tokenizer {
  lundi__tok_kind kind;
  int32_t vocab;                            /* ids 0..vocab-1, specials included */
  int32_t special[LUNDI_TOKEN_SPECIAL_COUNT];
  int32_t byte_id[256];                     /* the id of each single byte */
  char *pool;                               /* every id's bytes, back to back */
  uint32_t *off, *len;                      /* id -> its bytes in pool */
  lundi__merge_map merges;
  int32_t n_merges;
  int32_t (*merge_list)[2];                 /* rank -> (left, right); bpe only (saved) */
};

/* Puts "<prefix>: " before the current error message (copied first: the message buffer
 * cannot be its own argument); returns its code. */
int lundi__err_prefix(const char *prefix);

/* The <|name|> text of each special token, indexed by lundi_special_token. */
extern const char *const lundi__special_text[LUNDI_TOKEN_SPECIAL_COUNT];

/* A handle of the given kind with room for vocab ids and pool_cap bytes of pieces (every
 * piece still empty). NULL with the error set when out of memory. */
lundi_tokenizer *lundi__tok_alloc(lundi__tok_kind kind, int32_t vocab, size_t pool_cap);
/* Sets id's piece to the next n bytes of the pool (appended in id order by the builders:
 * the caller guarantees pool_cap suffices). */
void lundi__tok_set_piece(lundi_tokenizer *t, size_t *pool_used, int32_t id, const char *p,
                          size_t n);
/* Sets the four specials at the given ids with their <|name|> pieces. */
void lundi__tok_set_specials(lundi_tokenizer *t, size_t *pool_used, const int32_t ids[4]);

int lundi__merge_map_init(lundi__merge_map *m, size_t expected);
void lundi__merge_map_free(lundi__merge_map *m);
/* 0 added, 1 when the pair is already there (left unchanged), or LUNDI_ENOMEM. */
int lundi__merge_map_add(lundi__merge_map *m, int32_t left, int32_t right, int32_t rank,
                         int32_t result);
const lundi__merge_slot *lundi__merge_map_get(const lundi__merge_map *m, int32_t left,
                                              int32_t right);

/* The bpe kind from its merges (merge i makes id 256 + i from two smaller ids), checked
 * as untrusted input: errors start with what ("tokenizer 'x.json'"). */
#define LUNDI__BPE_MAX_MERGES 1000000
lundi_tokenizer *lundi__bpe_build(const int32_t (*merges)[2], int32_t n, const char *what);

/* lundi_tokenizer_load on a buffer (the fuzz target's entry); where starts the messages. */
lundi_tokenizer *lundi__tokenizer_parse(const char *data, size_t size, const char *where);

/* GPT-2's pre-tokenizer: the length in bytes of the word starting at text[0] (n > 0 bytes
 * left), per the regex 's|'t|'re|'ve|'m|'ll|'d| ?\p{L}+| ?\p{N}+| ?[^\s\p{L}\p{N}]+|\s+(?!\S)|\s+
 * with JavaScript's \s. A byte that does not start valid UTF-8 counts as one "other"
 * character. Always >= 1. */
size_t lundi__pretok_next(const char *text, size_t n);

/* Unicode general categories used by the pre-tokenizer. */
int lundi__uni_is_letter(uint32_t cp);  /* \p{L} */
int lundi__uni_is_number(uint32_t cp);  /* \p{N} */
int lundi__uni_is_space(uint32_t cp);   /* JavaScript's \s */
/* Decodes one UTF-8 character at p (n > 0 bytes): its length (1..4) and code point, or 0
 * when the bytes are not a valid, shortest-form, non-surrogate encoding. */
int lundi__utf8_decode(const unsigned char *p, size_t n, uint32_t *cp);

/* Reusable buffers of the merge engine. */
typedef struct lundi__bpe_work {
  int32_t *id, *prev, *next;
  struct lundi__bpe_heap_entry *heap;
  size_t cap, heap_cap;
} lundi__bpe_work;
void lundi__bpe_work_free(lundi__bpe_work *w);
/* Applies t's merges to one word of n bytes, lowest rank first (equal ranks left to right),
 * appending the ids to *out (grown as needed: *out_n used of *out_cap). */
int lundi__bpe_word(const lundi_tokenizer *t, lundi__bpe_work *w, const unsigned char *word,
                    size_t n, int32_t **out, int64_t *out_n, size_t *out_cap);

/* Grows the id buffer *out (capacity *cap) to hold at least need ids, doubling from 64. */
int lundi__ids_reserve(int32_t **out, size_t *cap, size_t need);

#endif
