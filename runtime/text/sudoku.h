/* Private to runtime/text: the sudoku grid, its solution counter and its generator, for both
 * sizes (box 2: 4x4, box 3: 9x9). Digits are 1..side, 0 is a blank. */
#ifndef LUNDI_TEXT_SUDOKU_H
#define LUNDI_TEXT_SUDOKU_H

#include <stdint.h>

#define LUNDI__SUDOKU_MAX_SIDE 9
#define LUNDI__SUDOKU_MAX_CELLS 81

typedef struct lundi__sudoku {
  int box, side, cells;
  uint8_t v[LUNDI__SUDOKU_MAX_CELLS];
  /* digits used per row, column and box: bit d-1 for digit d */
  uint16_t row[LUNDI__SUDOKU_MAX_SIDE], col[LUNDI__SUDOKU_MAX_SIDE], blk[LUNDI__SUDOKU_MAX_SIDE];
  uint8_t r[LUNDI__SUDOKU_MAX_CELLS], c[LUNDI__SUDOKU_MAX_CELLS], b[LUNDI__SUDOKU_MAX_CELLS];
} lundi__sudoku;

/* An empty grid of box x box boxes (box 2 or 3). */
void lundi__sudoku_init(lundi__sudoku *s, int box);
/* The digits that empty cell i may take, as bits. */
static inline uint16_t lundi__sudoku_cands(const lundi__sudoku *s, int i) {
  uint16_t full = (uint16_t)((1u << s->side) - 1);
  return (uint16_t)(full & ~(s->row[s->r[i]] | s->col[s->c[i]] | s->blk[s->b[i]]));
}
/* Puts digit d at empty cell i; the caller has checked it is a candidate. */
static inline void lundi__sudoku_set(lundi__sudoku *s, int i, int d) {
  uint16_t m = (uint16_t)(1u << (d - 1));
  s->v[i] = (uint8_t)d;
  s->row[s->r[i]] |= m;
  s->col[s->c[i]] |= m;
  s->blk[s->b[i]] |= m;
}
static inline void lundi__sudoku_unset(lundi__sudoku *s, int i) {
  uint16_t m = (uint16_t)~(1u << (s->v[i] - 1));
  s->v[i] = 0;
  s->row[s->r[i]] &= m;
  s->col[s->c[i]] &= m;
  s->blk[s->b[i]] &= m;
}

/* Counts the solutions of s up to limit (s is unchanged on return); the first one found goes
 * to first (may be NULL). With rng, candidates are tried in a random order drawn from it.
 * max_nodes > 0 bounds the search: -1 when the bound is hit first. */
int lundi__sudoku_count(lundi__sudoku *s, int limit, uint8_t *first, uint64_t *rng,
                        long max_nodes);

/* A seeded puzzle with exactly one solution: a random full grid, then cells removed in a
 * random order, each removal kept only while the solution stays unique, until `blanks` are
 * removed (0: every cell is tried). Returns the blanks made. */
int lundi__sudoku_generate(int box, int blanks, uint64_t seed, uint8_t *puzzle,
                           uint8_t *solution);

#endif
