/* The sudoku tasks as text: reading a puzzle line (and saying what is wrong with it), the
 * prompt and answer strings, solving and checking. */
#include <stdio.h>
#include <string.h>

#include "core/error.h"
#include "text/sudoku.h"
#include "text/task_internal.h"

static const char *task_name(int box) { return box == 2 ? "sudoku4" : "sudoku9"; }

/* The first unit (0 row, 1 column, 2 box; unit and digit from 1) that holds a digit twice;
 * 0 when there is none. */
static int first_clash(int box, const uint8_t *v, int *kind, int *unit, int *digit) {
  int side = box * box;
  for (int k = 0; k < 3; k++)
    for (int u = 0; u < side; u++) {
      unsigned seen = 0;
      for (int j = 0; j < side; j++) {
        int r = k == 0 ? u : k == 1 ? j : u / box * box + j / box;
        int c = k == 0 ? j : k == 1 ? u : u % box * box + j % box;
        int d = v[r * side + c];
        if (!d) continue;
        if (seen & (1u << d)) {
          *kind = k, *unit = u + 1, *digit = d;
          return 1;
        }
        seen |= 1u << d;
      }
    }
  return 0;
}

/* A character for a message: itself when printable, else \xNN. */
static const char *shown(char ch, char buf[8]) {
  unsigned char u = (unsigned char)ch;
  if (u >= 0x20 && u < 0x7f)
    snprintf(buf, 8, "'%c'", ch);
  else
    snprintf(buf, 8, "\\x%02x", u);
  return buf;
}

static int is_space(char ch) { return ch == ' ' || ch == '\t' || ch == '\n' || ch == '\r'; }

/* A puzzle from text: side*side digits 0..side ('0' or '.' for a blank), whitespace ignored,
 * one '=' allowed at the end (so a prompt reads back as itself); the givens must keep the
 * rules. */
static int read_puzzle(int box, const char *input, uint8_t *v) {
  const char *name = task_name(box);
  int side = box * box, cells = side * side;
  if (!input) return lundi__err(LUNDI_EINVAL, "%s: no puzzle (NULL)", name);
  size_t end = strlen(input);
  while (end > 0 && is_space(input[end - 1])) end--;
  if (end > 0 && input[end - 1] == '=') end--;
  int count = 0;
  for (size_t p = 0; p < end; p++) {
    char ch = input[p];
    if (is_space(ch)) continue;
    if (ch != '.' && (ch < '0' || ch > '0' + side)) {
      char buf[8];
      return lundi__err(LUNDI_EINVAL,
                        "%s puzzle must be %d digits 0-%d ('0' or '.' for a blank), got %s at "
                        "character %zu",
                        name, cells, side, shown(ch, buf), p + 1);
    }
    if (count < cells) v[count] = ch == '.' ? 0 : (uint8_t)(ch - '0');
    count++;
  }
  if (count != cells)
    return lundi__err(LUNDI_EINVAL, "%s puzzle must be %d digits 0-%d, got %d characters", name,
                      cells, side, count);
  int kind, unit, digit;
  if (first_clash(box, v, &kind, &unit, &digit)) {
    static const char *const kinds[3] = {"row", "column", "box"};
    return lundi__err(LUNDI_EINVAL, "%s puzzle breaks the rules: %s %d has two %ds", name,
                      kinds[kind], unit, digit);
  }
  return 0;
}

static void write_digits(const uint8_t *v, int cells, char *out, int with_eq) {
  for (int i = 0; i < cells; i++) out[i] = (char)('0' + v[i]);
  if (with_eq) out[cells++] = '=';
  out[cells] = '\0';
}

int lundi__sudoku_task_generate(int box, int blanks, uint64_t seed, char *prompt, char *answer) {
  uint8_t puzzle[LUNDI__SUDOKU_MAX_CELLS], solution[LUNDI__SUDOKU_MAX_CELLS];
  lundi__sudoku_generate(box, blanks, seed, puzzle, solution);
  int cells = box * box * box * box;
  write_digits(puzzle, cells, prompt, 1);
  write_digits(solution, cells, answer, 0);
  return 0;
}

int lundi__sudoku_task_prompt(int box, const char *input, char *prompt) {
  uint8_t v[LUNDI__SUDOKU_MAX_CELLS];
  int rc = read_puzzle(box, input, v);
  if (rc) return rc;
  write_digits(v, box * box * box * box, prompt, 1);
  return 0;
}

int lundi__sudoku_task_solve(int box, const char *prompt, char *answer, int *n_solutions) {
  uint8_t v[LUNDI__SUDOKU_MAX_CELLS], first[LUNDI__SUDOKU_MAX_CELLS];
  int rc = read_puzzle(box, prompt, v);
  if (rc) return rc;
  lundi__sudoku s;
  lundi__sudoku_init(&s, box);
  for (int i = 0; i < s.cells; i++)
    if (v[i]) lundi__sudoku_set(&s, i, v[i]);
  int n = lundi__sudoku_count(&s, 2, first, NULL, 0);
  if (n_solutions) *n_solutions = n;
  if (n == 0) return lundi__err(LUNDI_EINVAL, "%s puzzle has no solution", task_name(box));
  write_digits(first, s.cells, answer, 0);
  return 0;
}

int lundi__sudoku_task_check(int box, const char *prompt, const char *answer) {
  uint8_t given[LUNDI__SUDOKU_MAX_CELLS], v[LUNDI__SUDOKU_MAX_CELLS];
  int rc = read_puzzle(box, prompt, given);
  if (rc) return rc;
  int side = box * box, cells = side * side;
  if (!answer || strlen(answer) != (size_t)cells) return 0;
  for (int i = 0; i < cells; i++) {
    if (answer[i] < '1' || answer[i] > '0' + side) return 0;
    v[i] = (uint8_t)(answer[i] - '0');
    if (given[i] && given[i] != v[i]) return 0;
  }
  int kind, unit, digit;
  return !first_clash(box, v, &kind, &unit, &digit);
}
