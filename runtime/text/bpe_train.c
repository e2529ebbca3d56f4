/* Byte-level BPE training. The corpus is pre-tokenized once into unique words with their
 * counts; then each merge step takes the most frequent pair from a heap (stale entries are
 * skipped when popped) and rewrites only the words that hold it, found through each pair's
 * list of words, adjusting the counts of the pairs around each rewrite. */
#include <stdlib.h>
#include <string.h>

#include "core/error.h"
#include "text/tokenizer_internal.h"

/* Words longer than this are counted in pieces of this size: a merge costs the length of
 * the words it touches, and a megabyte-long "word" (letters without a space) would make
 * training quadratic. Encoding still applies the merges to whole words. */
#define CHUNK 256

typedef struct word {
  int64_t count;
  size_t start; /* first symbol in sym */
  int32_t len;  /* symbols left */
  int32_t stamp; /* the merge step that last rewrote it */
} word;

typedef struct pair_info {
  int64_t count;
  int32_t a, b;
  int32_t *words;     /* words that held the pair when it was counted (a superset) */
  size_t n_words, cap_words;
  int32_t last_word;  /* keeps a word from being listed twice in a row */
  int32_t touched;    /* the merge step that last changed count */
} pair_info;

typedef struct heap_item {
  int64_t count;
  int32_t a, b;
} heap_item;

typedef struct trainer {
  word *words;
  size_t n_words, cap_words;
  uint8_t *wbytes; /* each word's bytes, back to back: woff[w] .. woff[w + 1] */
  size_t n_wbytes, cap_wbytes, *woff, cap_woff;
  uint32_t *wtab;  /* hash table of words: index + 1, 0 empty */
  size_t wtab_cap;
  int32_t *sym;    /* each word's current ids */
  lundi__merge_map pairs; /* (a, b) -> index into info, in the rank field */
  pair_info *info;
  size_t n_info, cap_info;
  heap_item *heap;
  size_t n_heap, cap_heap;
  int32_t *touched;
  size_t n_touched, cap_touched;
} trainer;

static int oom(void) {
  return lundi__err(LUNDI_ENOMEM, "tokenizer_train_bpe: out of memory");
}

/* Makes room for need elements of elem bytes in *p (capacity *cap). */
static int reserve(void *pp, size_t elem, size_t need, size_t *cap) {
  void **p = pp;
  if (need <= *cap) return 0;
  size_t c = *cap ? *cap : 64;
  while (c < need) c *= 2;
  void *q = realloc(*p, c * elem);
  if (!q) return oom();
  *p = q;
  *cap = c;
  return 0;
}

static uint64_t hash_bytes(const uint8_t *p, size_t n) {
  uint64_t h = UINT64_C(1469598103934665603);
  for (size_t i = 0; i < n; i++) h = (h ^ p[i]) * UINT64_C(1099511628211);
  return h ^ (h >> 31);
}

static int rehash_words(trainer *T) {
  size_t cap = T->wtab_cap ? T->wtab_cap * 2 : 4096;
  uint32_t *tab = calloc(cap, sizeof *tab);
  if (!tab) return oom();
  for (size_t w = 0; w < T->n_words; w++) {
    size_t j = hash_bytes(T->wbytes + T->woff[w], T->woff[w + 1] - T->woff[w]) & (cap - 1);
    while (tab[j]) j = (j + 1) & (cap - 1);
    tab[j] = (uint32_t)w + 1;
  }
  free(T->wtab);
  T->wtab = tab;
  T->wtab_cap = cap;
  return 0;
}

static int add_word(trainer *T, const uint8_t *p, size_t n) {
  if ((T->n_words + 1) * 2 > T->wtab_cap && rehash_words(T)) return LUNDI_ENOMEM;
  size_t j = hash_bytes(p, n) & (T->wtab_cap - 1);
  while (T->wtab[j]) {
    size_t w = T->wtab[j] - 1;
    if (T->woff[w + 1] - T->woff[w] == n && !memcmp(T->wbytes + T->woff[w], p, n)) {
      T->words[w].count++;
      return 0;
    }
    j = (j + 1) & (T->wtab_cap - 1);
  }
  if (T->n_words >= (size_t)INT32_MAX - 1)
    return lundi__err(LUNDI_EINVAL, "tokenizer_train_bpe: more than 2^31 distinct words");
  if (reserve(&T->words, sizeof *T->words, T->n_words + 1, &T->cap_words) ||
      reserve(&T->woff, sizeof *T->woff, T->n_words + 2, &T->cap_woff) ||
      reserve(&T->wbytes, 1, T->n_wbytes + n, &T->cap_wbytes))
    return LUNDI_ENOMEM;
  memcpy(T->wbytes + T->n_wbytes, p, n);
  T->woff[T->n_words] = T->n_wbytes;
  T->n_wbytes += n;
  T->woff[T->n_words + 1] = T->n_wbytes;
  T->words[T->n_words] = (word){1, 0, (int32_t)n, -1};
  T->wtab[j] = (uint32_t)T->n_words + 1;
  T->n_words++;
  return 0;
}

static int heap_before(const heap_item *x, const heap_item *y) {
  if (x->count != y->count) return x->count > y->count;
  if (x->a != y->a) return x->a < y->a;
  return x->b < y->b;
}

static int heap_push(trainer *T, heap_item e) {
  if (reserve(&T->heap, sizeof *T->heap, T->n_heap + 1, &T->cap_heap)) return LUNDI_ENOMEM;
  size_t i = T->n_heap++;
  while (i && heap_before(&e, &T->heap[(i - 1) / 2])) {
    T->heap[i] = T->heap[(i - 1) / 2];
    i = (i - 1) / 2;
  }
  T->heap[i] = e;
  return 0;
}

static heap_item heap_pop(trainer *T) {
  heap_item top = T->heap[0], last = T->heap[--T->n_heap];
  size_t i = 0, n = T->n_heap;
  for (;;) {
    size_t c = 2 * i + 1;
    if (c >= n) break;
    if (c + 1 < n && heap_before(&T->heap[c + 1], &T->heap[c])) c++;
    if (!heap_before(&T->heap[c], &last)) break;
    T->heap[i] = T->heap[c];
    i = c;
  }
  if (n) T->heap[i] = last;
  return top;
}

/* Adds delta occurrences of (a, b) in word w (listing w under the pair when positive) and
 * notes the pair as changed in this step. */
static int count_pair(trainer *T, int32_t a, int32_t b, int64_t delta, int32_t w, int32_t step) {
  const lundi__merge_slot *s = lundi__merge_map_get(&T->pairs, a, b);
  size_t k;
  if (s) {
    k = (size_t)s->rank;
  } else {
    if (reserve(&T->info, sizeof *T->info, T->n_info + 1, &T->cap_info) ||
        lundi__merge_map_add(&T->pairs, a, b, (int32_t)T->n_info, 0) < 0)
      return oom();
    k = T->n_info++;
    T->info[k] = (pair_info){0, a, b, NULL, 0, 0, -1, -1};
  }
  pair_info *p = &T->info[k];
  p->count += delta;
  if (delta > 0 && p->last_word != w) {
    if (reserve(&p->words, sizeof *p->words, p->n_words + 1, &p->cap_words)) return LUNDI_ENOMEM;
    p->words[p->n_words++] = w;
    p->last_word = w;
  }
  if (p->touched != step) {
    p->touched = step;
    if (reserve(&T->touched, sizeof *T->touched, T->n_touched + 1, &T->cap_touched))
      return LUNDI_ENOMEM;
    T->touched[T->n_touched++] = (int32_t)k;
  }
  return 0;
}

/* Counts (sign +1) or uncounts (-1) every adjacent pair of word w. */
static int word_pairs(trainer *T, int32_t w, int sign, int32_t step) {
  const word *wd = &T->words[w];
  const int32_t *s = T->sym + wd->start;
  for (int32_t i = 0; i + 1 < wd->len; i++)
    if (count_pair(T, s[i], s[i + 1], sign * wd->count, w, step)) return LUNDI_ENOMEM;
  return 0;
}

/* Heap entries for the pairs whose counts changed in this step. */
static int flush_touched(trainer *T) {
  for (size_t i = 0; i < T->n_touched; i++) {
    const pair_info *p = &T->info[T->touched[i]];
    if (p->count > 0 && heap_push(T, (heap_item){p->count, p->a, p->b})) return LUNDI_ENOMEM;
  }
  T->n_touched = 0;
  return 0;
}

/* Replaces (a, b) by z in word w, left to right, as encoding does. */
static int merge_word(trainer *T, int32_t w, int32_t a, int32_t b, int32_t z, int32_t step) {
  word *wd = &T->words[w];
  int32_t *s = T->sym + wd->start;
  int found = 0;
  for (int32_t i = 0; i + 1 < wd->len && !found; i++) found = s[i] == a && s[i + 1] == b;
  if (!found) return 0;
  if (word_pairs(T, w, -1, step)) return LUNDI_ENOMEM;
  int32_t k = 0;
  for (int32_t i = 0; i < wd->len;) {
    if (i + 1 < wd->len && s[i] == a && s[i + 1] == b) {
      s[k++] = z;
      i += 2;
    } else {
      s[k++] = s[i++];
    }
  }
  wd->len = k;
  return word_pairs(T, w, +1, step);
}

static void trainer_free(trainer *T) {
  free(T->words);
  free(T->wbytes);
  free(T->woff);
  free(T->wtab);
  free(T->sym);
  for (size_t i = 0; i < T->n_info; i++) free(T->info[i].words);
  free(T->info);
  free(T->heap);
  free(T->touched);
  lundi__merge_map_free(&T->pairs);
}

static int count_words(trainer *T, const char *const *texts, const size_t *lens, int64_t n_texts) {
  for (int64_t t = 0; t < n_texts; t++) {
    const char *s = texts[t];
    size_t n = lens ? lens[t] : (s ? strlen(s) : 0);
    if (!s && n)
      return lundi__err(LUNDI_EINVAL, "tokenizer_train_bpe: text %lld is NULL", (long long)t);
    for (size_t i = 0; i < n;) {
      size_t wl = lundi__pretok_next(s + i, n - i);
      for (size_t c = 0; c < wl; c += CHUNK)
        if (add_word(T, (const uint8_t *)s + i + c, wl - c < CHUNK ? wl - c : CHUNK))
          return LUNDI_ENOMEM;
      i += wl;
    }
  }
  return 0;
}

static int train(trainer *T, const char *const *texts, const size_t *lens, int64_t n_texts,
                 int32_t want, int32_t (*merges)[2], int32_t *n_merges) {
  *n_merges = 0;
  int rc = lundi__merge_map_init(&T->pairs, 1 << 16);
  if (!rc) rc = count_words(T, texts, lens, n_texts);
  if (rc) return rc;
  T->sym = malloc((T->n_wbytes ? T->n_wbytes : 1) * sizeof *T->sym);
  if (!T->sym) return oom();
  for (size_t w = 0; w < T->n_words; w++) {
    T->words[w].start = T->woff[w];
    for (size_t i = T->woff[w]; i < T->woff[w + 1]; i++) T->sym[i] = T->wbytes[i];
    if (word_pairs(T, (int32_t)w, +1, 0)) return LUNDI_ENOMEM;
  }
  if (flush_touched(T)) return LUNDI_ENOMEM;
  for (int32_t m = 0; m < want && T->n_heap;) {
    heap_item e = heap_pop(T);
    const lundi__merge_slot *s = lundi__merge_map_get(&T->pairs, e.a, e.b);
    pair_info *p = &T->info[s->rank];
    if (p->count != e.count) continue; /* stale: the pair's count moved since */
    int32_t z = 256 + m, step = m + 1;
    merges[m][0] = e.a;
    merges[m][1] = e.b;
    /* the list may grow while it is walked (a == b makes (z, a) ...), so index it */
    size_t k = (size_t)s->rank;
    for (size_t i = 0; i < T->info[k].n_words; i++) {
      int32_t w = T->info[k].words[i];
      if (T->words[w].stamp == step) continue;
      T->words[w].stamp = step;
      if (merge_word(T, w, e.a, e.b, z, step)) return LUNDI_ENOMEM;
    }
    /* its words are rewritten: the list is not needed again */
    free(T->info[k].words);
    T->info[k].words = NULL;
    T->info[k].n_words = T->info[k].cap_words = 0;
    T->info[k].last_word = -1;
    if (flush_touched(T)) return LUNDI_ENOMEM;
    *n_merges = ++m;
  }
  return 0;
}

lundi_tokenizer *lundi_tokenizer_train_bpe(const char *const *texts, const size_t *lens,
                                           int64_t n_texts, int vocab_size) {
  if (vocab_size < 256 + LUNDI_TOKEN_SPECIAL_COUNT || vocab_size > 256 + LUNDI__BPE_MAX_MERGES)
    return lundi__errp(LUNDI_EINVAL,
                       "tokenizer_train_bpe: vocab_size %d is outside %d..%d (256 bytes and 4 "
                       "specials, then one id per merge)",
                       vocab_size, 256 + LUNDI_TOKEN_SPECIAL_COUNT, 256 + LUNDI__BPE_MAX_MERGES);
  if (n_texts < 0 || (n_texts > 0 && !texts))
    return lundi__errp(LUNDI_EINVAL, "tokenizer_train_bpe: %s",
                       n_texts < 0 ? "negative number of texts" : "texts is NULL");
  int32_t want = vocab_size - 256 - LUNDI_TOKEN_SPECIAL_COUNT, n = 0;
  int32_t (*merges)[2] = malloc(((size_t)want + 1) * sizeof *merges);
  if (!merges) return lundi__errp(LUNDI_ENOMEM, "tokenizer_train_bpe: out of memory");
  trainer T;
  memset(&T, 0, sizeof T);
  int rc = train(&T, texts, lens, n_texts, want, merges, &n);
  trainer_free(&T);
  lundi_tokenizer *tok = rc ? NULL : lundi__bpe_build((const int32_t(*)[2])merges, n, "tokenizer_train_bpe");
  free(merges);
  return tok;
}
