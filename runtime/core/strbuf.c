#include "core/strbuf.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* Room for n more bytes and the NUL; 0, or 1 with oom set. */
static int reserve(lundi__strbuf *b, size_t n) {
  if (b->oom) return 1;
  if (b->n + n + 1 <= b->cap) return 0;
  size_t cap = b->cap ? b->cap : 128;
  while (cap < b->n + n + 1) cap *= 2;
  char *s = realloc(b->s, cap);
  if (!s) return b->oom = 1;
  b->s = s;
  b->cap = cap;
  return 0;
}

void lundi__strbuf_put(lundi__strbuf *b, const char *s, size_t n) {
  if (reserve(b, n)) return;
  memcpy(b->s + b->n, s, n);
  b->n += n;
  b->s[b->n] = 0;
}

void lundi__strbuf_puts(lundi__strbuf *b, const char *s) { lundi__strbuf_put(b, s, strlen(s)); }

void lundi__strbuf_printf(lundi__strbuf *b, const char *fmt, ...) {
  va_list ap;
  va_start(ap, fmt);
  int w = vsnprintf(NULL, 0, fmt, ap);
  va_end(ap);
  if (w < 0) {
    b->oom = 1;
    return;
  }
  if (reserve(b, (size_t)w)) return;
  va_start(ap, fmt);
  vsnprintf(b->s + b->n, b->cap - b->n, fmt, ap);
  va_end(ap);
  b->n += (size_t)w;
}

char *lundi__strbuf_take(lundi__strbuf *b) {
  if (!b->oom && !b->s) reserve(b, 0);
  if (b->oom) {
    free(b->s);
    *b = (lundi__strbuf){0};
    return NULL;
  }
  if (b->n == 0) b->s[0] = 0;
  char *s = b->s;
  *b = (lundi__strbuf){0};
  return s;
}
