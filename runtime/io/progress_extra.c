/* The extra text of a bar from key/value pairs, as lundi.progress shows {loss=0.04, lr=1e-4}. */
#include <stdlib.h>
#include <string.h>

#include "lundi/progress.h"

static int by_key(const void *a, const void *b) {
  return strcmp(((const lundi_progress_pair *)a)->key, ((const lundi_progress_pair *)b)->key);
}

size_t lundi_progress_format_pairs(char *buf, size_t cap, lundi_progress_pair *pairs, int n) {
  qsort(pairs, (size_t)n, sizeof *pairs, by_key);
  size_t len = 0;
  buf[0] = 0;
  for (int i = 0; i < n && len + 1 < cap; i++) {
    const lundi_progress_pair *p = &pairs[i];
    const char *sep = len ? " " : "";
    int w;
    if (p->text) w = snprintf(buf + len, cap - len, "%s%s %s", sep, p->key, p->text);
    else if (p->is_int) w = snprintf(buf + len, cap - len, "%s%s %lld", sep, p->key, (long long)p->i);
    else w = snprintf(buf + len, cap - len, "%s%s %.4g", sep, p->key, p->d);
    if (w > 0) len += (size_t)w;
    if (len >= cap) len = cap - 1;
  }
  return len;
}
