/* Generated text tasks (runtime/text, lundi/text_data.h): every generated sudoku has exactly
 * one solution and its answer is that solution; the solver and checker on known puzzles and
 * on malformed lines; addition's format, edge cases and input normalisation; determinism
 * (pinned outputs); and the task dataset's tokens. */
#include <stdint.h>

#include "harness.h"
#include "lundi/text_data.h"

static const lundi_task_opts DEFAULTS = {0, 0};

static int count_char(const char *s, char ch) {
  int n = 0;
  for (; *s; s++) n += *s == ch;
  return n;
}

/* n puzzles of a sudoku task: format, one solution equal to the answer, the answer passes
 * the checker and a corrupted one does not. Returns the blanks seen, min and max. */
static void check_generated(lundi_text_task task, int box, int n, int *min_blanks,
                            int *max_blanks) {
  int side = box * box, cells = side * side, bad = 0;
  *min_blanks = cells, *max_blanks = 0;
  for (int i = 0; i < n; i++) {
    char prompt[100], answer[100], solved[100];
    CHECK(lundi_task_generate(task, NULL, (uint64_t)i, prompt, answer) == 0);
    int ok = (int)strlen(prompt) == cells + 1 && prompt[cells] == '=' &&
             (int)strlen(answer) == cells;
    for (int k = 0; ok && k < cells; k++)
      ok = prompt[k] >= '0' && prompt[k] <= '0' + side && answer[k] >= '1' &&
           answer[k] <= '0' + side && (prompt[k] == '0' || prompt[k] == answer[k]);
    int n_sol = -1;
    ok = ok && lundi_task_solve(task, NULL, prompt, solved, &n_sol) == 0 && n_sol == 1 &&
         strcmp(solved, answer) == 0 && lundi_task_check(task, NULL, prompt, answer) == 1;
    /* two different digits of the answer swapped: still a permutation, no longer valid */
    int a = 0, b = 1;
    while (answer[b] == answer[a]) b++;
    char t = answer[a];
    answer[a] = answer[b];
    answer[b] = t;
    ok = ok && lundi_task_check(task, NULL, prompt, answer) == 0;
    if (!ok && bad++ < 5) fprintf(stderr, "seed %d: %s -> %s (%d solutions)\n", i, prompt, answer, n_sol);
    int blanks = count_char(prompt, '0');
    if (blanks < *min_blanks) *min_blanks = blanks;
    if (blanks > *max_blanks) *max_blanks = blanks;
  }
  CHECK(bad == 0);
}

static void sudoku4_unique(void) {
  int lo, hi;
  check_generated(LUNDI_TASK_SUDOKU4, 2, 2000, &lo, &hi);
  fprintf(stderr, "sudoku4 blanks %d..%d\n", lo, hi);
  CHECK(lo >= 8 && hi <= 13); /* minimal 4x4 puzzles keep 4 or more givens */
}

static void sudoku9_unique(void) {
  int lo, hi;
  check_generated(LUNDI_TASK_SUDOKU9, 3, 200, &lo, &hi);
  fprintf(stderr, "sudoku9 blanks %d..%d\n", lo, hi);
  CHECK(lo >= 45 && hi <= 64); /* 17 givens is the known minimum */
}

/* The blanks option: exactly that many blanks when uniqueness allows, still unique. */
static void sudoku_blanks(void) {
  for (int box = 2; box <= 3; box++) {
    lundi_text_task task = box == 2 ? LUNDI_TASK_SUDOKU4 : LUNDI_TASK_SUDOKU9;
    int want = box == 2 ? 6 : 30;
    lundi_task_opts o = {0, want};
    for (int i = 0; i < 50; i++) {
      char prompt[100], answer[100], solved[100];
      int n_sol = 0;
      CHECK(lundi_task_generate(task, &o, (uint64_t)i, prompt, answer) == 0);
      CHECK(count_char(prompt, '0') == want);
      CHECK(lundi_task_solve(task, &o, prompt, solved, &n_sol) == 0 && n_sol == 1);
      CHECK(strcmp(solved, answer) == 0);
    }
    char p[100], a[100];
    o.blanks = -1;
    CHECK_ERR(lundi_task_generate(task, &o, 1, p, a), "blanks must be 0 to");
    o.blanks = box == 2 ? 17 : 82;
    CHECK_ERR(lundi_task_generate(task, &o, 1, p, a), "blanks must be 0 to");
  }
}

/* A grid with a deadly rectangle blanked: (r1,c1)=(r2,c2)=x, (r1,c2)=(r2,c1)=y, the four
 * cells in two boxes. Swapping x and y there gives a second valid grid. Finds one in grid
 * and writes the puzzle (those cells blanked) and the swapped grid; 0 when there is none. */
static int deadly_rectangle(int box, const char *grid, char *puzzle, char *other) {
  int side = box * box;
  for (int r1 = 0; r1 < side; r1++)
    for (int r2 = r1 + 1; r2 < side; r2++)
      for (int c1 = 0; c1 < side; c1++)
        for (int c2 = c1 + 1; c2 < side; c2++) {
          int same_band = r1 / box == r2 / box, same_stack = c1 / box == c2 / box;
          if (same_band == same_stack) continue;
          char x = grid[r1 * side + c1], y = grid[r1 * side + c2];
          if (grid[r2 * side + c2] != x || grid[r2 * side + c1] != y) continue;
          strcpy(puzzle, grid);
          strcpy(other, grid);
          int cell[4] = {r1 * side + c1, r1 * side + c2, r2 * side + c1, r2 * side + c2};
          for (int k = 0; k < 4; k++) {
            puzzle[cell[k]] = '0';
            other[cell[k]] = other[cell[k]] == x ? y : x;
          }
          return 1;
        }
  return 0;
}

static void sudoku_solver_known(void) {
  /* Wikipedia's example puzzle, and Arto Inkala's "hardest" one, with their solutions. */
  static const char *known[][2] = {
      {"530070000600195000098000060800060003400803001700020006060000280000419005000080079",
       "534678912672195348198342567859761423426853791713924856961537284287419635345286179"},
      {"800000000003600000070090200050007000000045700000100030001000068008500010090000400",
       "812753649943682175675491283154237896369845721287169534521974368438526917796318452"},
  };
  for (int k = 0; k < 2; k++) {
    char prompt[100], answer[100];
    int n_sol = 0;
    CHECK(lundi_task_prompt(LUNDI_TASK_SUDOKU9, NULL, known[k][0], prompt) == 0);
    CHECK(lundi_task_solve(LUNDI_TASK_SUDOKU9, NULL, prompt, answer, &n_sol) == 0);
    CHECK(n_sol == 1 && strcmp(answer, known[k][1]) == 0);
    CHECK(lundi_task_check(LUNDI_TASK_SUDOKU9, NULL, prompt, known[k][1]) == 1);
  }
  /* Two solutions: a 4x4 with a deadly rectangle, the same in the 9x9 solution, the empty
   * grid; the checker takes either solution. */
  const char *grids[2] = {"1234341221434321", known[0][1]};
  for (int box = 2; box <= 3; box++) {
    lundi_text_task task = box == 2 ? LUNDI_TASK_SUDOKU4 : LUNDI_TASK_SUDOKU9;
    char puzzle[100], other[100], answer[100], empty[100];
    CHECK(deadly_rectangle(box, grids[box - 2], puzzle, other));
    CHECK(lundi_task_check(task, NULL, grids[box - 2], grids[box - 2]) == 1);
    int n_sol = 0;
    CHECK(lundi_task_solve(task, NULL, puzzle, answer, &n_sol) == 0 && n_sol == 2);
    CHECK(strcmp(answer, grids[box - 2]) == 0 || strcmp(answer, other) == 0);
    CHECK(lundi_task_check(task, NULL, puzzle, grids[box - 2]) == 1);
    CHECK(lundi_task_check(task, NULL, puzzle, other) == 1);
    int cells = box * box * box * box;
    memset(empty, '0', (size_t)cells);
    empty[cells] = '\0';
    CHECK(lundi_task_solve(task, NULL, empty, answer, &n_sol) == 0 && n_sol == 2);
    CHECK(lundi_task_check(task, NULL, empty, answer) == 1);
  }
  CHECK(strcmp(grids[0], "1234341221434321") == 0);
}

static void sudoku_bad_input(void) {
  char p[100], a[100];
  const lundi_text_task s4 = LUNDI_TASK_SUDOKU4;
  /* normalisation: whitespace, '.' blanks, a final '=' */
  CHECK(lundi_task_prompt(s4, NULL, " 1.3. 0000\n0000 0004\n", p) == 0);
  CHECK(strcmp(p, "1030000000000004=") == 0);
  CHECK(lundi_task_prompt(s4, NULL, "1030000000000004=", p) == 0);
  CHECK(strcmp(p, "1030000000000004=") == 0);
  CHECK_ERR(lundi_task_prompt(s4, NULL, "103000000000000", p),
            "sudoku4 puzzle must be 16 digits 0-4, got 15 characters");
  CHECK_ERR(lundi_task_prompt(s4, NULL, "10300000000000040", p), "got 17 characters");
  CHECK_ERR(lundi_task_prompt(s4, NULL, "1030x00000000004", p), "got 'x' at character 5");
  CHECK_ERR(lundi_task_prompt(s4, NULL, "1030500000000004", p), "got '5' at character 5");
  CHECK_ERR(lundi_task_prompt(s4, NULL, "10=3000000000004", p), "got '=' at character 3");
  CHECK_ERR(lundi_task_prompt(s4, NULL, "1030\x01" "00000000004", p), "got \\x01 at character 5");
  CHECK_ERR(lundi_task_prompt(s4, NULL, NULL, p), "no puzzle");
  CHECK_ERR(lundi_task_prompt(s4, NULL, "0000303000000000", p), "row 2 has two 3s");
  CHECK_ERR(lundi_task_prompt(s4, NULL, "0400000000000400", p), "column 2 has two 4s");
  CHECK_ERR(lundi_task_prompt(s4, NULL, "0000000000100001", p), "box 4 has two 1s");
  CHECK_ERR(lundi_task_prompt(LUNDI_TASK_SUDOKU9, NULL, "123", p),
            "sudoku9 puzzle must be 81 digits 0-9, got 3 characters");
  /* the same reading in solve and check */
  CHECK_ERR(lundi_task_solve(s4, NULL, "0000303000000000=", a, NULL), "row 2 has two 3s");
  CHECK(lundi_task_check(s4, NULL, "12", "1234341221434321") == LUNDI_EINVAL);
  /* keeps the rules but cannot be finished: row 1 needs a 4 in cell 4, column 4 has one */
  lundi_clear_error();
  CHECK(lundi_task_solve(s4, NULL, "1230000000040000", a, NULL) == LUNDI_EINVAL);
  CHECK(strstr(lundi_last_error(), "sudoku4 puzzle has no solution") != NULL);
  /* malformed answers are wrong, not errors */
  const char *puzzle = "1030000000000004=";
  CHECK(lundi_task_solve(s4, NULL, puzzle, a, NULL) == 0);
  CHECK(lundi_task_check(s4, NULL, puzzle, a) == 1);
  CHECK(lundi_task_check(s4, NULL, puzzle, NULL) == 0);
  CHECK(lundi_task_check(s4, NULL, puzzle, "") == 0);
  CHECK(lundi_task_check(s4, NULL, puzzle, "123434122143432") == 0);
  CHECK(lundi_task_check(s4, NULL, puzzle, "1234341221434321x") == 0);
  CHECK(lundi_task_check(s4, NULL, puzzle, "0234341221434321") == 0);
  CHECK(lundi_task_check(s4, NULL, puzzle, "1234341221434321") == 0); /* breaks the given 4 */
  CHECK(lundi_task_check(s4, NULL, "0000000000000000", "1234341221434321") == 1);
  CHECK(lundi_task_check(s4, NULL, "0000000000000000", "1234341221434312") == 0);
}

static void add_format(void) {
  int pw = 0, aw = 0;
  CHECK(lundi_task_widths(LUNDI_TASK_ADD, NULL, &pw, &aw) == 0 && pw == 10 && aw == 5);
  lundi_task_opts o = {7, 0};
  CHECK(lundi_task_widths(LUNDI_TASK_ADD, &o, &pw, &aw) == 0 && pw == 16 && aw == 8);
  CHECK(lundi_task_widths(LUNDI_TASK_SUDOKU4, NULL, &pw, &aw) == 0 && pw == 17 && aw == 16);
  CHECK(lundi_task_widths(LUNDI_TASK_SUDOKU9, NULL, &pw, &aw) == 0 && pw == 82 && aw == 81);
  for (int digits = 1; digits <= 18; digits++) {
    lundi_task_opts d = {digits, 0};
    int lengths_seen[19] = {0};
    for (int i = 0; i < 300; i++) {
      char p[64], a[64];
      CHECK(lundi_task_generate(LUNDI_TASK_ADD, &d, (uint64_t)i, p, a) == 0);
      int ok = (int)strlen(p) == 2 * digits + 2 && (int)strlen(a) == digits + 1 &&
               p[digits] == '+' && p[2 * digits + 1] == '=';
      uint64_t x = 0, y = 0, s = 0;
      for (int k = 0; ok && k < digits; k++) {
        ok = p[k] >= '0' && p[k] <= '9' && p[digits + 1 + k] >= '0' && p[digits + 1 + k] <= '9';
        x = x * 10 + (uint64_t)(p[k] - '0');
        y = y * 10 + (uint64_t)(p[digits + 1 + k] - '0');
      }
      for (int k = 0; ok && k <= digits; k++) s = s * 10 + (uint64_t)(a[k] - '0');
      CHECK(ok && s == x + y);
      int len = 0;
      for (uint64_t v = x; v; v /= 10) len++;
      lengths_seen[len ? len : 1]++;
    }
    for (int len = 1; len <= digits; len++) CHECK(lengths_seen[len] > 0);
  }
}

static void add_check(void) {
  static const char *cases[][3] = {
      {"9999+9999", "9999+9999=", "19998"}, {"0+0", "0000+0000=", "00000"},
      {"1+9999", "0001+9999=", "10000"},   {"5+5", "0005+0005=", "00010"},
      {"123+4567", "0123+4567=", "04690"}, {" 12 + 3 ", "0012+0003=", "00015"},
      {"00123+1=", "0123+0001=", "00124"}, {"0999+1", "0999+0001=", "01000"},
  };
  for (size_t k = 0; k < sizeof cases / sizeof *cases; k++) {
    char p[64], a[64];
    int n_sol = 0;
    CHECK(lundi_task_prompt(LUNDI_TASK_ADD, NULL, cases[k][0], p) == 0);
    CHECK(strcmp(p, cases[k][1]) == 0);
    CHECK(lundi_task_solve(LUNDI_TASK_ADD, NULL, p, a, &n_sol) == 0 && n_sol == 1);
    CHECK(strcmp(a, cases[k][2]) == 0);
    CHECK(lundi_task_check(LUNDI_TASK_ADD, NULL, p, cases[k][2]) == 1);
    if (strcmp(a, cases[k][2]) != 0) fprintf(stderr, "%s = %s, expected %s\n", p, a, cases[k][2]);
  }
  lundi_task_opts wide = {30, 0};
  char p[128], a[128];
  CHECK(lundi_task_solve(LUNDI_TASK_ADD, &wide,
                         "999999999999999999999999999999+1", a, NULL) == 0);
  CHECK(strcmp(a, "1000000000000000000000000000000") == 0);
  const char *p4 = "0123+4567=";
  CHECK(lundi_task_check(LUNDI_TASK_ADD, NULL, p4, "04691") == 0);
  CHECK(lundi_task_check(LUNDI_TASK_ADD, NULL, p4, "4690") == 0);
  CHECK(lundi_task_check(LUNDI_TASK_ADD, NULL, p4, "046900") == 0);
  CHECK(lundi_task_check(LUNDI_TASK_ADD, NULL, p4, NULL) == 0);
  CHECK_ERR(lundi_task_prompt(LUNDI_TASK_ADD, NULL, "12345+1", p),
            "add operand 12345 has 5 digits, more than digits=4");
  CHECK_ERR(lundi_task_prompt(LUNDI_TASK_ADD, NULL, "12+", p), "add input must be a+b");
  CHECK_ERR(lundi_task_prompt(LUNDI_TASK_ADD, NULL, "+12", p), "add input must be a+b");
  CHECK_ERR(lundi_task_prompt(LUNDI_TASK_ADD, NULL, "12-3", p), "got \"12-3\"");
  CHECK_ERR(lundi_task_prompt(LUNDI_TASK_ADD, NULL, "1a+2", p), "add input must be a+b");
  CHECK_ERR(lundi_task_prompt(LUNDI_TASK_ADD, NULL, "1+2=3", p), "add input must be a+b");
  CHECK_ERR(lundi_task_prompt(LUNDI_TASK_ADD, NULL, "", p), "add input must be a+b");
  CHECK_ERR(lundi_task_check(LUNDI_TASK_ADD, NULL, "1+", "00001"), "add input must be a+b");
  lundi_task_opts bad = {61, 0};
  CHECK_ERR(lundi_task_widths(LUNDI_TASK_ADD, &bad, NULL, NULL), "digits must be 1 to 60, got 61");
  bad.digits = -2;
  CHECK_ERR(lundi_task_generate(LUNDI_TASK_ADD, &bad, 0, p, a), "got -2");
}

static uint64_t fnv1a(uint64_t h, const char *s) {
  for (; *s; s++) h = (h ^ (unsigned char)*s) * 0x100000001b3ull;
  return h;
}

static void task_deterministic(void) {
  const lundi_text_task tasks[3] = {LUNDI_TASK_SUDOKU4, LUNDI_TASK_SUDOKU9, LUNDI_TASK_ADD};
  for (int t = 0; t < 3; t++) {
    int distinct = 0;
    char prev[100] = "";
    for (int i = 0; i < 100; i++) {
      char p1[100], a1[100], p2[100], a2[100], px[100], ax[100];
      CHECK(lundi_task_generate(tasks[t], &DEFAULTS, 1000 + (uint64_t)i, p1, a1) == 0);
      CHECK(lundi_task_generate(tasks[(t + 1) % 3], NULL, 7, px, ax) == 0); /* no hidden state */
      CHECK(lundi_task_generate(tasks[t], NULL, 1000 + (uint64_t)i, p2, a2) == 0);
      CHECK(strcmp(p1, p2) == 0 && strcmp(a1, a2) == 0);
      distinct += strcmp(p1, prev) != 0;
      strcpy(prev, p1);
    }
    CHECK(distinct >= 95);
  }
  /* Pinned outputs, so a seed means the same pairs on every machine and build. A change to
   * the generators changes these, and with them every dataset made from a seed. */
  char p[100], a[100];
  CHECK(lundi_task_generate(LUNDI_TASK_ADD, NULL, 42, p, a) == 0);
  fprintf(stderr, "add 42: %s%s\n", p, a);
  CHECK(strcmp(p, "0223+0008=") == 0 && strcmp(a, "00231") == 0);
  CHECK(lundi_task_generate(LUNDI_TASK_SUDOKU4, NULL, 42, p, a) == 0);
  fprintf(stderr, "sudoku4 42: %s%s\n", p, a);
  CHECK(strcmp(p, "0003004003001200=") == 0 && strcmp(a, "2413314243211234") == 0);
  uint64_t h = 0xcbf29ce484222325ull;
  for (uint64_t seed = 0; seed < 20; seed++) {
    CHECK(lundi_task_generate(LUNDI_TASK_SUDOKU9, NULL, seed, p, a) == 0);
    h = fnv1a(fnv1a(h, p), a);
  }
  fprintf(stderr, "sudoku9 0..19 hash: %016llx\n", (unsigned long long)h);
  CHECK(h == 0x2cfc1be9f95991ddull);
}

static void task_names(void) {
  const char *names[3] = {"sudoku4", "sudoku9", "add"};
  for (int k = 0; k < 3; k++) {
    lundi_text_task t = (lundi_text_task)-1;
    CHECK(lundi_text_task_parse(names[k], &t) == 0 && (int)t == k);
    CHECK(strcmp(lundi_text_task_name(t), names[k]) == 0);
  }
  lundi_text_task t;
  CHECK_ERR(lundi_text_task_parse("sudoku", &t), "unknown text task \"sudoku\" (tasks: sudoku4, sudoku9, add)");
  CHECK_ERR(lundi_text_task_parse(NULL, &t), "unknown text task");
  CHECK(strcmp(lundi_text_task_name((lundi_text_task)9), "unknown") == 0);
  char p[100], a[100];
  CHECK_ERR(lundi_task_generate((lundi_text_task)9, NULL, 0, p, a), "unknown text task 9");
}

/* n rows of a CPU i32 tensor into out. */
static void read_i32(lundi_tensor *t, int32_t *out, int64_t m) {
  lundi_tensor *c = lundi_contiguous(t);
  const int32_t *p = c ? lundi_data(c) : NULL;
  CHECK(p && lundi_numel(t) == m && lundi_tensor_dtype(t) == LUNDI_I32);
  if (p) memcpy(out, p, sizeof(int32_t) * (size_t)m);
  lundi_release(c);
}

/* Each row decodes to its seed's prompt + answer, then EOS to the end; prompt_len is the
 * prompt's tokens. */
static void check_dataset(lundi_tokenizer *tok, lundi_text_task task, uint64_t base, int n,
                          int seq_len, int want_len) {
  lundi_dataset *ds = lundi_dataset_task(tok, task, NULL, base, n, seq_len);
  CHECK(ds && lundi_dataset_count(ds) == n && lundi_dataset_fields(ds) == 2);
  if (!ds) return;
  int32_t idx[64];
  for (int i = 0; i < n; i++) idx[i] = n - 1 - i; /* reversed, so rows follow idx */
  lundi_tensor *out[2] = {NULL, NULL};
  CHECK(lundi_dataset_get(ds, idx, n, NULL, out) == 0);
  CHECK(out[0] && lundi_ndim(out[0]) == 2 && lundi_dim(out[0], 0) == n &&
        lundi_dim(out[0], 1) == want_len);
  CHECK(out[1] && lundi_ndim(out[1]) == 1 && lundi_dim(out[1], 0) == n);
  int32_t *tokens = malloc(sizeof(int32_t) * (size_t)(n * want_len)), plen[64];
  read_i32(out[0], tokens, (int64_t)n * want_len);
  read_i32(out[1], plen, n);
  int32_t eos = lundi_tokenizer_special(tok, LUNDI_TOKEN_EOS);
  for (int i = 0; i < n; i++) {
    char p[100], a[100], want[300];
    CHECK(lundi_task_generate(task, NULL, base + (uint64_t)idx[i], p, a) == 0);
    const int32_t *row = tokens + i * want_len;
    CHECK(plen[i] == (int32_t)strlen(p));
    int body = (int)(strlen(p) + strlen(a));
    char *text = NULL;
    size_t len = 0;
    CHECK(lundi_tokenizer_decode(tok, row, want_len, 0, &text, &len) == 0);
    snprintf(want, sizeof want, "%s%s", p, a);
    for (int k = body; k < want_len; k++) strcat(want, "<|endoftext|>");
    CHECK(text && strcmp(text, want) == 0);
    if (text && strcmp(text, want) != 0) fprintf(stderr, "row %d: %s\nwant: %s\n", i, text, want);
    for (int k = body; k < want_len; k++) CHECK(row[k] == eos);
    free(text);
  }
  free(tokens);
  lundi_release(out[0]);
  lundi_release(out[1]);
  lundi_dataset_release(ds);
}

static void task_dataset_fields(void) {
  lundi_tokenizer *tok = lundi_tokenizer_bytes();
  CHECK(tok != NULL);
  if (!tok) return;
  check_dataset(tok, LUNDI_TASK_ADD, 500, 40, 0, 16); /* 10 + 5 + one EOS */
  check_dataset(tok, LUNDI_TASK_ADD, 500, 40, 24, 24);
  check_dataset(tok, LUNDI_TASK_SUDOKU4, 7, 20, 0, 34);
  check_dataset(tok, LUNDI_TASK_SUDOKU9, 7, 5, 170, 170);
  CHECK_ERR(lundi_dataset_task(tok, LUNDI_TASK_ADD, NULL, 0, 4, 15),
            "pair 0 (seed 0) is 16 tokens with its EOS, more than seq_len 15");
  CHECK_ERR(lundi_dataset_task(tok, LUNDI_TASK_ADD, NULL, 0, 0, 0), "count must be 1 to");
  CHECK_ERR(lundi_dataset_task(tok, LUNDI_TASK_ADD, NULL, 0, 4, -1), "seq_len must be >= 0");
  CHECK_ERR(lundi_dataset_task(NULL, LUNDI_TASK_ADD, NULL, 0, 4, 0), "no tokenizer");
  lundi_task_opts bad = {0, 99};
  CHECK_ERR(lundi_dataset_task(tok, LUNDI_TASK_SUDOKU4, &bad, 0, 4, 0), "blanks must be 0 to 16");
  lundi_tokenizer_free(tok);
  CHECK(lundi_live_tensors() == 0);
}

static const test_case TESTS[] = {
    {"sudoku4_unique", sudoku4_unique},
    {"sudoku9_unique", sudoku9_unique},
    {"sudoku_blanks", sudoku_blanks},
    {"sudoku_solver_known", sudoku_solver_known},
    {"sudoku_bad_input", sudoku_bad_input},
    {"add_format", add_format},
    {"add_check", add_check},
    {"task_deterministic", task_deterministic},
    {"task_names", task_names},
    {"task_dataset_fields", task_dataset_fields},
};
TEST_MAIN(TESTS)
