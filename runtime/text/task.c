/* The generated tasks (lundi/text_data.h): names, options and widths, and the calls handed to
 * each task's file (sudoku_task.c, add_task.c). */
#include <string.h>

#include "core/error.h"
#include "lundi/text_data.h"
#include "text/task_internal.h"

_Static_assert(2 * LUNDI__ADD_MAX_DIGITS + 2 <= LUNDI_TASK_PROMPT_MAX && 81 + 1 <= LUNDI_TASK_PROMPT_MAX &&
                   LUNDI__ADD_MAX_DIGITS + 1 <= LUNDI_TASK_ANSWER_MAX && 81 <= LUNDI_TASK_ANSWER_MAX,
               "LUNDI_TASK_*_MAX cover every task's widths");

static const char *const names[] = {"sudoku4", "sudoku9", "add"};
#define N_TASKS ((int)(sizeof names / sizeof *names))

int lundi_text_task_parse(const char *name, lundi_text_task *out) {
  for (int k = 0; k < N_TASKS; k++)
    if (name && strcmp(name, names[k]) == 0) {
      if (out) *out = (lundi_text_task)k;
      return 0;
    }
  return lundi__err(LUNDI_EINVAL, "unknown text task \"%.40s\" (tasks: sudoku4, sudoku9, add)",
                    name ? name : "(null)");
}

const char *lundi_text_task_name(lundi_text_task task) {
  return (int)task >= 0 && (int)task < N_TASKS ? names[task] : "unknown";
}

/* The task's options with defaults filled in and ranges checked; box 0 for add. */
typedef struct resolved {
  int box, digits, blanks;
} resolved;

static int resolve(lundi_text_task task, const lundi_task_opts *opts, resolved *r) {
  lundi_task_opts o = opts ? *opts : (lundi_task_opts){0};
  if ((int)task < 0 || (int)task >= N_TASKS)
    return lundi__err(LUNDI_EINVAL, "unknown text task %d (tasks: sudoku4, sudoku9, add)",
                      (int)task);
  r->box = task == LUNDI_TASK_SUDOKU4 ? 2 : task == LUNDI_TASK_SUDOKU9 ? 3 : 0;
  r->digits = o.digits ? o.digits : 4;
  r->blanks = o.blanks;
  if (r->box) {
    int cells = r->box * r->box * r->box * r->box;
    if (o.blanks < 0 || o.blanks > cells)
      return lundi__err(LUNDI_EINVAL,
                        "%s: blanks must be 0 to %d (0: as many as uniqueness allows), got %d",
                        names[task], cells, o.blanks);
  } else if (r->digits < 1 || r->digits > LUNDI__ADD_MAX_DIGITS) {
    return lundi__err(LUNDI_EINVAL, "add: digits must be 1 to %d, got %d", LUNDI__ADD_MAX_DIGITS,
                      r->digits);
  }
  return 0;
}

int lundi_task_widths(lundi_text_task task, const lundi_task_opts *opts, int *prompt_len,
                      int *answer_len) {
  resolved r = {0, 0, 0};
  int rc = resolve(task, opts, &r);
  if (rc) return rc;
  int cells = r.box * r.box * r.box * r.box;
  if (prompt_len) *prompt_len = r.box ? cells + 1 : 2 * r.digits + 2;
  if (answer_len) *answer_len = r.box ? cells : r.digits + 1;
  return 0;
}

int lundi_task_generate(lundi_text_task task, const lundi_task_opts *opts, uint64_t seed,
                        char *prompt, char *answer) {
  resolved r = {0, 0, 0};
  int rc = resolve(task, opts, &r);
  if (rc) return rc;
  if (!prompt || !answer) return lundi__err(LUNDI_EINVAL, "%s: NULL buffer", names[task]);
  return r.box ? lundi__sudoku_task_generate(r.box, r.blanks, seed, prompt, answer)
               : lundi__add_task_generate(r.digits, seed, prompt, answer);
}

int lundi_task_prompt(lundi_text_task task, const lundi_task_opts *opts, const char *input,
                      char *prompt) {
  resolved r = {0, 0, 0};
  int rc = resolve(task, opts, &r);
  if (rc) return rc;
  if (!prompt) return lundi__err(LUNDI_EINVAL, "%s: NULL buffer", names[task]);
  return r.box ? lundi__sudoku_task_prompt(r.box, input, prompt)
               : lundi__add_task_prompt(r.digits, input, prompt);
}

int lundi_task_solve(lundi_text_task task, const lundi_task_opts *opts, const char *prompt,
                     char *answer, int *n_solutions) {
  resolved r = {0, 0, 0};
  int rc = resolve(task, opts, &r);
  if (rc) return rc;
  if (!answer) return lundi__err(LUNDI_EINVAL, "%s: NULL buffer", names[task]);
  if (r.box) return lundi__sudoku_task_solve(r.box, prompt, answer, n_solutions);
  rc = lundi__add_task_solve(r.digits, prompt, answer);
  if (rc == 0 && n_solutions) *n_solutions = 1;
  return rc;
}

int lundi_task_check(lundi_text_task task, const lundi_task_opts *opts, const char *prompt,
                     const char *answer) {
  resolved r = {0, 0, 0};
  int rc = resolve(task, opts, &r);
  if (rc) return rc;
  return r.box ? lundi__sudoku_task_check(r.box, prompt, answer)
               : lundi__add_task_check(r.digits, prompt, answer);
}
