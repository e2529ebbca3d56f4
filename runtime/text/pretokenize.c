/* GPT-2's pre-tokenizer without a regex engine: one pass over UTF-8 that reproduces the
 * matches of 's|'t|'re|'ve|'m|'ll|'d| ?\p{L}+| ?\p{N}+| ?[^\s\p{L}\p{N}]+|\s+(?!\S)|\s+
 * (JavaScript semantics, as gpt-3-encoder runs it). The alternatives cover every
 * character, so the words tile the text and BPE never merges across them. */
#include "text/tokenizer_internal.h"

enum { C_SPACE, C_LETTER, C_NUMBER, C_OTHER };

int lundi__utf8_decode(const unsigned char *p, size_t n, uint32_t *cp) {
  unsigned c = p[0];
  if (c < 0x80) {
    *cp = c;
    return 1;
  }
  int len = c >= 0xf0 ? 4 : c >= 0xe0 ? 3 : c >= 0xc0 ? 2 : 0;
  if (!len || c > 0xf4 || (size_t)len > n) return 0;
  uint32_t v = c & (0x3fu >> (len - 1));
  for (int i = 1; i < len; i++) {
    if ((p[i] & 0xc0) != 0x80) return 0;
    v = v << 6 | (p[i] & 0x3fu);
  }
  static const uint32_t min[5] = {0, 0, 0x80, 0x800, 0x10000};
  if (v < min[len] || v > 0x10ffff || (v >= 0xd800 && v <= 0xdfff)) return 0;
  *cp = v;
  return len;
}

int lundi__uni_is_space(uint32_t cp) {
  switch (cp) {
  case '\t': case '\n': case '\v': case '\f': case '\r': case ' ':
  case 0xa0: case 0x1680: case 0x2028: case 0x2029: case 0x202f: case 0x205f: case 0x3000:
  case 0xfeff:
    return 1;
  default:
    return cp >= 0x2000 && cp <= 0x200a;
  }
}

/* The class and byte length of the character at p (invalid UTF-8: one "other" byte). */
static int char_class(const unsigned char *p, size_t n, size_t *len) {
  uint32_t cp;
  int l = lundi__utf8_decode(p, n, &cp);
  if (!l) {
    *len = 1;
    return C_OTHER;
  }
  *len = (size_t)l;
  if (cp < 0x80) { /* the common case, without the tables */
    if (cp == ' ' || (cp >= '\t' && cp <= '\r')) return C_SPACE;
    if ((cp | 0x20) >= 'a' && (cp | 0x20) <= 'z') return C_LETTER;
    if (cp >= '0' && cp <= '9') return C_NUMBER;
    return C_OTHER;
  }
  if (lundi__uni_is_space(cp)) return C_SPACE;
  if (lundi__uni_is_letter(cp)) return C_LETTER;
  if (lundi__uni_is_number(cp)) return C_NUMBER;
  return C_OTHER;
}

/* Bytes from p covered by the run of characters of class cls that starts there. */
static size_t run_of(const unsigned char *p, size_t n, int cls) {
  size_t i = 0, l;
  while (i < n && char_class(p + i, n - i, &l) == cls) i += l;
  return i;
}

static int contraction(const unsigned char *p, size_t n) {
  if (n >= 2 && (p[1] == 's' || p[1] == 't' || p[1] == 'm' || p[1] == 'd')) return 2;
  if (n >= 3 && ((p[1] == 'r' && p[2] == 'e') || (p[1] == 'v' && p[2] == 'e') ||
                 (p[1] == 'l' && p[2] == 'l')))
    return 3;
  return 0;
}

size_t lundi__pretok_next(const char *text, size_t n) {
  const unsigned char *p = (const unsigned char *)text;
  if (p[0] == '\'') {
    int c = contraction(p, n);
    if (c) return (size_t)c;
  }
  size_t l0, l1;
  int c0 = char_class(p, n, &l0);
  if (p[0] == ' ' && n > 1) { /* " ?" before a letter, number or other run */
    int c1 = char_class(p + 1, n - 1, &l1);
    if (c1 != C_SPACE) return 1 + run_of(p + 1, n - 1, c1);
  }
  if (c0 != C_SPACE) return run_of(p, n, c0);
  /* \s+(?!\S): a whitespace run, less its last character when a non-space follows;
   * a single whitespace character before a non-space falls to \s+. */
  size_t i = 0, last = 0, l;
  int chars = 0;
  while (i < n && char_class(p + i, n - i, &l) == C_SPACE) {
    last = i;
    i += l;
    chars++;
  }
  if (i == n || chars == 1) return i;
  return last;
}
