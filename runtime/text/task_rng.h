/* Private to runtime/text: the tasks' generator, splitmix64, so that a seed gives the same
 * task on every machine (integer arithmetic only). */
#ifndef LUNDI_TEXT_TASK_RNG_H
#define LUNDI_TEXT_TASK_RNG_H

#include <stdint.h>

static inline uint64_t lundi__splitmix64(uint64_t *state) {
  uint64_t z = (*state += 0x9e3779b97f4a7c15ull);
  z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
  z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
  return z ^ (z >> 31);
}

/* Uniform in [0, n) for small n (the top 32 bits scaled; the bias is below 2^-32 * n). */
static inline uint32_t lundi__rand_below(uint64_t *state, uint32_t n) {
  return (uint32_t)(((lundi__splitmix64(state) >> 32) * (uint64_t)n) >> 32);
}

#endif
