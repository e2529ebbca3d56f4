/* A growing NUL-terminated text buffer for messages, JSON and help texts built piece by
 * piece. Out of memory sets oom and later appends do nothing, so callers check once at the
 * end. Start from {0}; take s (NULL until the first append) or free it. */
#ifndef LUNDI_CORE_STRBUF_H
#define LUNDI_CORE_STRBUF_H

#include <stddef.h>

typedef struct lundi__strbuf {
  char *s;
  size_t n, cap;
  int oom;
} lundi__strbuf;

void lundi__strbuf_put(lundi__strbuf *b, const char *s, size_t n); /* n bytes of s */
void lundi__strbuf_puts(lundi__strbuf *b, const char *s);
void lundi__strbuf_printf(lundi__strbuf *b, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
/* The text (an empty string, never NULL) handed to the caller; NULL, and the buffer freed,
 * when memory ran out. */
char *lundi__strbuf_take(lundi__strbuf *b);

#endif
