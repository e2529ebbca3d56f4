/* Helpers shared by the text tests: a seeded generator, a word-salad corpus, writing a
 * file, and the round-trip check every tokenizer must pass. */
#ifndef LUNDI_TEST_TEXT_UTIL_H
#define LUNDI_TEST_TEXT_UTIL_H

#include <ftw.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>

#include "harness.h"
#include "lundi/tokenizer.h"

static uint64_t tu_state = 0x746f6b656e;
static inline uint32_t tu_next(void) {
  tu_state = tu_state * 6364136223846793005ULL + 1442695040888963407ULL;
  return (uint32_t)(tu_state >> 33);
}

/* n bytes of English-like lines: words from a small list with some digits, punctuation
 * and UTF-8, one space between words, lines ending in '\n'. */
static inline char *tu_corpus(size_t n) {
  static const char *const words[] = {
      "the", "quick", "brown", "fox", "jumps", "over", "lazy", "dog", "and", "then",
      "they'll", "it's", "tokenizer", "tokens", "merge", "merges", "lundi", "moon", "Monday",
      "caf\xc3\xa9", "na\xc3\xafve", "42", "2024", "hello,", "world.", "(yes)", "no!", "a", "an",
      "in", "on", "of", "to", "that", "this", "there", "their", "other", "another"};
  char *s = malloc(n + 64); /* the last word may pass n */
  size_t k = 0;
  static const char *const syllables[] = {"ka", "lo", "mi", "ne", "ru", "sta", "pen", "qua",
                                          "ti", "vor", "ex", "ing", "ly", "der", "o", "ph"};
  while (k < n) {
    if (k) s[k++] = tu_next() % 9 == 0 ? '\n' : ' ';
    if (tu_next() % 2) { /* a known word */
      const char *w = words[tu_next() % (sizeof words / sizeof *words)];
      size_t l = strlen(w);
      memcpy(s + k, w, l);
      k += l;
    } else { /* an invented one: 1..4 syllables, rarer ones longer */
      int m = 1 + (int)(tu_next() % 4);
      for (int i = 0; i < m; i++) {
        const char *w = syllables[tu_next() % (tu_next() % 2 ? 4 : 16)];
        memcpy(s + k, w, strlen(w));
        k += strlen(w);
      }
    }
  }
  s[k++] = '\n';
  s[k] = 0;
  return s;
}

/* A temporary folder for this process, made once from template (which it rewrites) and
 * removed with everything in it when the process exits. */
static char *tu_tmpdir_path;
static inline int tu_rm_entry(const char *p, const struct stat *sb, int flag, struct FTW *ftw) {
  (void)sb, (void)flag, (void)ftw;
  return remove(p);
}
static inline void tu_rm_tmpdir(void) {
  if (tu_tmpdir_path) nftw(tu_tmpdir_path, tu_rm_entry, 16, FTW_DEPTH | FTW_PHYS);
}
static inline const char *tu_tmpdir(char *template_) {
  if (!tu_tmpdir_path) {
    CHECK(mkdtemp(template_) != NULL);
    tu_tmpdir_path = template_;
    atexit(tu_rm_tmpdir);
  }
  return tu_tmpdir_path;
}

static inline int tu_write(const char *path, const void *p, size_t n) {
  FILE *f = fopen(path, "wb");
  if (!f) return -1;
  size_t w = fwrite(p, 1, n, f);
  return fclose(f) || w != n ? -1 : 0;
}

/* decode(encode(s)) == s for random byte strings (all 256 values, invalid UTF-8 galore),
 * text-like strings with broken UTF-8 and plain words; ids in range, no special produced. */
static inline void tu_check_roundtrips(const lundi_tokenizer *t, int iters) {
  static char buf[8192];
  static const char textish[] = " aZ'\n\t0.\xc3\xa9\xe2\x80\xf0\x9f"; /* with broken UTF-8 */
  for (int iter = 0; iter < iters; iter++) {
    size_t n = tu_next() % (iter % 10 ? 64 : sizeof buf);
    int mode = iter % 3;
    for (size_t i = 0; i < n; i++) {
      uint32_t r = tu_next();
      if (mode == 0) buf[i] = (char)r;
      else if (mode == 1) buf[i] = textish[r % (sizeof textish - 1)];
      else buf[i] = (char)(r % 3 == 0 ? ' ' : 'a' + r % 26);
    }
    int32_t *ids = NULL;
    int64_t k = -1;
    CHECK(lundi_tokenizer_encode(t, buf, n, &ids, &k) == 0);
    CHECK(ids != NULL && k >= 0 && (size_t)k <= n);
    int bad = 0;
    for (int64_t i = 0; ids && i < k; i++) {
      bad |= ids[i] < 0 || ids[i] >= lundi_tokenizer_vocab_size(t);
      for (int s = 0; s < LUNDI_TOKEN_SPECIAL_COUNT; s++)
        bad |= ids[i] == lundi_tokenizer_special(t, (lundi_special_token)s);
    }
    CHECK(!bad);
    char *back = NULL;
    size_t bl = 0;
    CHECK(lundi_tokenizer_decode(t, ids, k, 0, &back, &bl) == 0);
    int same = back && bl == n && !memcmp(back, buf, n) && back[bl] == 0;
    CHECK(same);
    free(ids);
    free(back);
    if (!same) {
      fprintf(stderr, "%s: round trip failed at iteration %d (%zu bytes)\n",
              lundi_tokenizer_kind(t), iter, n);
      return;
    }
  }
}

#endif
