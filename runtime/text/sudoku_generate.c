/* Seeded sudoku puzzles with exactly one solution. Removing cell i (digit v) from a puzzle
 * whose solution is unique keeps it unique exactly when no other candidate digit at i leads
 * to a solution, so each removal costs one solvability search per other candidate, and none
 * when v is the cell's only candidate (most early removals). */
#include <stddef.h>

#include "text/sudoku.h"
#include "text/task_rng.h"

/* A random full grid: the solver on an empty grid with random candidate order. The node bound
 * restarts the rare search that wanders (the restart draws new numbers, so it stays seeded). */
static void fill(lundi__sudoku *s, uint64_t *rng, uint8_t *grid) {
  while (lundi__sudoku_count(s, 1, grid, rng, 20000) != 1) {
  }
  for (int i = 0; i < s->cells; i++) lundi__sudoku_set(s, i, grid[i]);
}

/* 1 when blank cell i, whose digit in the solution is v, admits no other digit. */
static int forced(lundi__sudoku *s, int i, int v) {
  uint16_t others = (uint16_t)(lundi__sudoku_cands(s, i) & ~(1u << (v - 1)));
  for (; others; others &= (uint16_t)(others - 1)) {
    lundi__sudoku_set(s, i, __builtin_ctz(others) + 1);
    int n = lundi__sudoku_count(s, 1, NULL, NULL, 0);
    lundi__sudoku_unset(s, i);
    if (n) return 0;
  }
  return 1;
}

int lundi__sudoku_generate(int box, int blanks, uint64_t seed, uint8_t *puzzle,
                           uint8_t *solution) {
  lundi__sudoku s;
  lundi__sudoku_init(&s, box);
  uint64_t rng = seed;
  fill(&s, &rng, solution);
  int order[LUNDI__SUDOKU_MAX_CELLS];
  for (int i = 0; i < s.cells; i++) order[i] = i;
  for (int k = s.cells - 1; k > 0; k--) {
    int j = (int)lundi__rand_below(&rng, (uint32_t)k + 1), t = order[k];
    order[k] = order[j];
    order[j] = t;
  }
  int removed = 0;
  for (int k = 0; k < s.cells && (blanks <= 0 || removed < blanks); k++) {
    int i = order[k], v = s.v[i];
    lundi__sudoku_unset(&s, i);
    if (forced(&s, i, v))
      removed++;
    else
      lundi__sudoku_set(&s, i, v);
  }
  for (int i = 0; i < s.cells; i++) puzzle[i] = s.v[i];
  return removed;
}
