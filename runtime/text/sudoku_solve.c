/* Counting sudoku solutions: depth-first search over the blank cells, digits as bitmasks per
 * row, column and box. Each node first fills every cell left with one candidate (a cell with
 * none ends the branch), then branches on the cell with the fewest. */
#include <string.h>

#include "text/sudoku.h"
#include "text/task_rng.h"

void lundi__sudoku_init(lundi__sudoku *s, int box) {
  memset(s, 0, sizeof *s);
  s->box = box;
  s->side = box * box;
  s->cells = s->side * s->side;
  for (int i = 0; i < s->cells; i++) {
    int r = i / s->side, c = i % s->side;
    s->r[i] = (uint8_t)r;
    s->c[i] = (uint8_t)c;
    s->b[i] = (uint8_t)(r / box * box + c / box);
  }
}

typedef struct search {
  lundi__sudoku *s;
  int blank[LUNDI__SUDOKU_MAX_CELLS]; /* the blank cells; [0, n) are still open */
  int found, limit;
  uint8_t *first;
  uint64_t *rng;
  long nodes, max_nodes;
  int gave_up;
} search;

/* Puts each digit that some unit (row, column or box) can hold in only one open cell there:
 * returns how many were placed, -1 when a unit has a digit with no cell left. The counts are
 * taken once, before placing; a placement checks that its digit is still a candidate, so a
 * stale count can only miss a contradiction (the next pass finds it), never invent one. */
static int hidden_singles(search *q, int *n) {
  lundi__sudoku *s = q->s;
  int side = s->side, placed = 0;
  uint16_t full = (uint16_t)((1u << side) - 1);
  uint16_t once[3 * LUNDI__SUDOKU_MAX_SIDE] = {0}, twice[3 * LUNDI__SUDOKU_MAX_SIDE] = {0};
  for (int k = 0; k < *n; k++) {
    int cell = q->blank[k], u[3] = {s->r[cell], side + s->c[cell], 2 * side + s->b[cell]};
    uint16_t m = lundi__sudoku_cands(s, cell);
    for (int j = 0; j < 3; j++) {
      twice[u[j]] |= once[u[j]] & m;
      once[u[j]] |= m;
    }
  }
  for (int u = 0; u < 3 * side; u++) {
    uint16_t used = u < side ? s->row[u] : u < 2 * side ? s->col[u - side] : s->blk[u - 2 * side];
    if ((once[u] | used) != full) return -1;
    for (uint16_t lone = (uint16_t)(once[u] & ~twice[u] & ~used); lone;
         lone &= (uint16_t)(lone - 1)) {
      uint16_t d = (uint16_t)(lone & -lone);
      for (int k = 0; k < *n; k++) {
        int cell = q->blank[k];
        int in = u < side ? s->r[cell] == u : u < 2 * side ? s->c[cell] == u - side
                                                            : s->b[cell] == u - 2 * side;
        if (!in || !(lundi__sudoku_cands(s, cell) & d)) continue;
        lundi__sudoku_set(s, cell, __builtin_ctz(d) + 1);
        q->blank[k] = q->blank[--*n];
        q->blank[*n] = cell;
        placed++;
        break;
      }
    }
  }
  return placed;
}

/* Fills forced cells until none is left: those with a single candidate, then a digit with a
 * single place in a unit. The filled cells move to the end of [0, *n) and *n shrinks.
 * Returns the open cell (its index in blank) with the fewest candidates, -1 when none is
 * open, -2 on a contradiction. */
static int propagate(search *q, int *n, uint16_t *mask) {
  lundi__sudoku *s = q->s;
  for (;;) {
    int best = -1, best_count = 99, placed = 0;
    for (int k = 0; k < *n;) {
      int cell = q->blank[k];
      uint16_t m = lundi__sudoku_cands(s, cell);
      int count = __builtin_popcount(m);
      if (count == 0) return -2;
      if (count == 1) {
        lundi__sudoku_set(s, cell, __builtin_ctz(m) + 1);
        q->blank[k] = q->blank[--*n];
        q->blank[*n] = cell;
        placed = 1;
        continue;
      }
      if (count < best_count) best = k, best_count = count, *mask = m;
      k++;
    }
    if (placed) continue;
    if (best < 0) return best;
    int h = hidden_singles(q, n);
    if (h < 0) return -2;
    if (!h) return best;
  }
}

/* 1 when the search must stop (enough solutions, or the node bound). */
static int dfs(search *q, int n) {
  lundi__sudoku *s = q->s;
  if (q->max_nodes > 0 && ++q->nodes > q->max_nodes) return q->gave_up = 1;
  int open = n, stop = 0;
  uint16_t mask = 0;
  int best = propagate(q, &open, &mask);
  if (best == -1) {
    if (q->found == 0 && q->first) memcpy(q->first, s->v, (size_t)s->cells);
    stop = ++q->found >= q->limit;
  } else if (best >= 0) {
    int cell = q->blank[best];
    q->blank[best] = q->blank[open - 1];
    q->blank[open - 1] = cell;
    int digits[LUNDI__SUDOKU_MAX_SIDE], nd = 0;
    for (uint16_t m = mask; m; m &= (uint16_t)(m - 1)) digits[nd++] = __builtin_ctz(m) + 1;
    if (q->rng)
      for (int k = nd - 1; k > 0; k--) {
        int j = (int)lundi__rand_below(q->rng, (uint32_t)k + 1), t = digits[k];
        digits[k] = digits[j];
        digits[j] = t;
      }
    for (int k = 0; k < nd && !stop; k++) {
      lundi__sudoku_set(s, cell, digits[k]);
      stop = dfs(q, open - 1);
      lundi__sudoku_unset(s, cell);
    }
  }
  for (int k = open; k < n; k++) lundi__sudoku_unset(s, q->blank[k]); /* the singles */
  return stop;
}

int lundi__sudoku_count(lundi__sudoku *s, int limit, uint8_t *first, uint64_t *rng,
                        long max_nodes) {
  search q = {.s = s, .limit = limit, .first = first, .rng = rng, .max_nodes = max_nodes};
  int n = 0;
  for (int i = 0; i < s->cells; i++)
    if (!s->v[i]) q.blank[n++] = i;
  dfs(&q, n);
  return q.gave_up ? -1 : q.found;
}
