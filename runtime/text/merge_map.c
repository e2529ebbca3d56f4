/* Pair of ids -> (rank, result): an open-addressing hash map with linear probing. */
#include <stdlib.h>

#include "core/error.h"
#include "text/tokenizer_internal.h"

#define EMPTY UINT64_MAX

static uint64_t key_of(int32_t l, int32_t r) {
  return (uint64_t)(uint32_t)l << 32 | (uint32_t)r;
}

static size_t hash(uint64_t k) {
  k ^= k >> 33;
  k *= UINT64_C(0xff51afd7ed558ccd);
  k ^= k >> 33;
  return (size_t)k;
}

int lundi__merge_map_init(lundi__merge_map *m, size_t expected) {
  size_t cap = 16;
  while (cap < expected * 2) cap *= 2;
  m->slots = malloc(cap * sizeof *m->slots);
  if (!m->slots) return lundi__err(LUNDI_ENOMEM, "tokenizer: out of memory for %zu merges", expected);
  for (size_t i = 0; i < cap; i++) m->slots[i].key = EMPTY;
  m->cap = cap;
  m->count = 0;
  return 0;
}

void lundi__merge_map_free(lundi__merge_map *m) {
  free(m->slots);
  m->slots = NULL;
  m->cap = m->count = 0;
}

static int rehash(lundi__merge_map *m) {
  lundi__merge_map bigger;
  if (lundi__merge_map_init(&bigger, m->cap)) return LUNDI_ENOMEM;
  for (size_t i = 0; i < m->cap; i++) {
    if (m->slots[i].key == EMPTY) continue;
    size_t j = hash(m->slots[i].key) & (bigger.cap - 1);
    while (bigger.slots[j].key != EMPTY) j = (j + 1) & (bigger.cap - 1);
    bigger.slots[j] = m->slots[i];
  }
  bigger.count = m->count;
  free(m->slots);
  *m = bigger;
  return 0;
}

int lundi__merge_map_add(lundi__merge_map *m, int32_t left, int32_t right, int32_t rank,
                         int32_t result) {
  if ((m->count + 1) * 2 > m->cap && rehash(m)) return LUNDI_ENOMEM;
  uint64_t k = key_of(left, right);
  size_t j = hash(k) & (m->cap - 1);
  while (m->slots[j].key != EMPTY) {
    if (m->slots[j].key == k) return 1;
    j = (j + 1) & (m->cap - 1);
  }
  m->slots[j].key = k;
  m->slots[j].rank = rank;
  m->slots[j].result = result;
  m->count++;
  return 0;
}

const lundi__merge_slot *lundi__merge_map_get(const lundi__merge_map *m, int32_t left,
                                              int32_t right) {
  if (!m->cap) return NULL;
  uint64_t k = key_of(left, right);
  size_t j = hash(k) & (m->cap - 1);
  while (m->slots[j].key != EMPTY) {
    if (m->slots[j].key == k) return &m->slots[j];
    j = (j + 1) & (m->cap - 1);
  }
  return NULL;
}
