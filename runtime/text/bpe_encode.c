/* BPE inside one word: the symbols form a linked list and candidate pairs sit in a binary
 * heap ordered by (rank, position), so a word of n bytes costs O(n log n) however long it
 * is (a megabyte without spaces included). Stale heap entries are skipped when popped.
 * Popping equal ranks by position merges a pair's occurrences left to right, which is what
 * GPT-2's reference loop (lowest-rank pair, all occurrences, repeat) does, because every
 * merge's inputs come from lower ranks. */
#include <stdlib.h>

#include "core/error.h"
#include "text/tokenizer_internal.h"

typedef struct lundi__bpe_heap_entry {
  int32_t rank, pos, left, right;
} heap_entry;

static int before(const heap_entry *a, const heap_entry *b) {
  return a->rank != b->rank ? a->rank < b->rank : a->pos < b->pos;
}

static void heap_push(heap_entry *h, size_t *n, heap_entry e) {
  size_t i = (*n)++;
  while (i && before(&e, &h[(i - 1) / 2])) {
    h[i] = h[(i - 1) / 2];
    i = (i - 1) / 2;
  }
  h[i] = e;
}

static heap_entry heap_pop(heap_entry *h, size_t *n) {
  heap_entry top = h[0], last = h[--*n];
  size_t i = 0;
  for (;;) {
    size_t c = 2 * i + 1;
    if (c >= *n) break;
    if (c + 1 < *n && before(&h[c + 1], &h[c])) c++;
    if (!before(&h[c], &last)) break;
    h[i] = h[c];
    i = c;
  }
  if (*n) h[i] = last;
  return top;
}

void lundi__bpe_work_free(lundi__bpe_work *w) {
  free(w->id);
  free(w->prev);
  free(w->next);
  free(w->heap);
  w->id = w->prev = w->next = NULL;
  w->heap = NULL;
  w->cap = w->heap_cap = 0;
}

static int reserve(lundi__bpe_work *w, size_t n) {
  if (n > w->cap) {
    size_t c = w->cap ? w->cap : 64;
    while (c < n) c *= 2;
    lundi__bpe_work_free(w);
    w->id = malloc(c * sizeof *w->id);
    w->prev = malloc(c * sizeof *w->prev);
    w->next = malloc(c * sizeof *w->next);
    w->heap = malloc(3 * c * sizeof *w->heap); /* n - 1 pairs, then at most 2 per merge */
    if (!w->id || !w->prev || !w->next || !w->heap) {
      lundi__bpe_work_free(w);
      return lundi__err(LUNDI_ENOMEM, "tokenizer_encode: out of memory for a %zu-byte word", n);
    }
    w->cap = c;
    w->heap_cap = 3 * c;
  }
  return 0;
}

static void push_pair(const lundi_tokenizer *t, lundi__bpe_work *w, size_t *hn, int32_t pos) {
  if (pos < 0) return;
  int32_t r = w->next[pos];
  if (r < 0) return;
  const lundi__merge_slot *s = lundi__merge_map_get(&t->merges, w->id[pos], w->id[r]);
  if (s) heap_push(w->heap, hn, (heap_entry){s->rank, pos, w->id[pos], w->id[r]});
}

int lundi__bpe_word(const lundi_tokenizer *t, lundi__bpe_work *w, const unsigned char *word,
                    size_t n, int32_t **out, int64_t *out_n, size_t *out_cap) {
  if (lundi__ids_reserve(out, out_cap, (size_t)*out_n + n)) return LUNDI_ENOMEM;
  int32_t *o = *out + *out_n;
  if (n == 1 || !t->merges.count) {
    for (size_t i = 0; i < n; i++) o[i] = t->byte_id[word[i]];
    *out_n += (int64_t)n;
    return 0;
  }
  if (reserve(w, n)) return LUNDI_ENOMEM;
  for (size_t i = 0; i < n; i++) {
    w->id[i] = t->byte_id[word[i]];
    w->prev[i] = (int32_t)i - 1;
    w->next[i] = i + 1 < n ? (int32_t)i + 1 : -1;
  }
  size_t hn = 0;
  for (size_t i = 0; i + 1 < n; i++) push_pair(t, w, &hn, (int32_t)i);
  while (hn) {
    heap_entry e = heap_pop(w->heap, &hn);
    int32_t r = w->next[e.pos];
    if (w->id[e.pos] != e.left || r < 0 || w->id[r] != e.right) continue; /* stale */
    const lundi__merge_slot *s = lundi__merge_map_get(&t->merges, e.left, e.right);
    w->id[e.pos] = s->result;
    w->id[r] = -1;
    w->next[e.pos] = w->next[r];
    if (w->next[r] >= 0) w->prev[w->next[r]] = e.pos;
    push_pair(t, w, &hn, w->prev[e.pos]);
    push_pair(t, w, &hn, e.pos);
  }
  size_t k = 0;
  for (int32_t i = 0; i >= 0; i = w->next[i]) o[k++] = w->id[i];
  *out_n += (int64_t)k;
  return 0;
}
