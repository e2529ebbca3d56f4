/* Text data (runtime/text/): generated tasks with a checker, the fortunes corpus and plain
 * text files, as datasets of the C data API (lundi/data.h).
 *
 * Tasks. Each task turns a seed into a (prompt, answer) pair of fixed-width strings, and has
 * a solver that checks answers, so accuracy is exact match against the solver:
 *   sudoku4  4x4 sudoku (2x2 boxes), sudoku9  9x9 sudoku (3x3 boxes). A puzzle is the
 *            row-major digits with '0' for a blank (16 or 81 characters); generated puzzles
 *            have exactly one solution. The prompt is the puzzle followed by '=', the answer
 *            the solved grid's digits.
 *            Puzzles come from a random full grid with cells removed in a random order, a
 *            removal kept only while the solution stays unique.
 *   add      multi-digit addition a+b with 1..digits digits each (each operand's length
 *            uniform in 1..digits, so short sums are as common as long ones). The prompt is
 *            both operands zero-padded to `digits` places, "0123+4567=", the answer the sum
 *            zero-padded to digits+1 places, "04690". Inputs such as "123+4567" are
 *            normalised to that form.
 *
 * Sequences. A pair becomes tokens [prompt | answer | EOS...] padded with EOS to seq_len
 * (LLaDA's SFT layout, so a model learns to end), with the prompt length kept beside it. */
#ifndef LUNDI_TEXT_DATA_H
#define LUNDI_TEXT_DATA_H

#include <stddef.h>
#include <stdint.h>

#include "lundi/data.h"
#include "lundi/tokenizer.h"

#ifdef __cplusplus
extern "C" {
#endif

typedef enum lundi_text_task {
  LUNDI_TASK_SUDOKU4 = 0,
  LUNDI_TASK_SUDOKU9,
  LUNDI_TASK_ADD
} lundi_text_task;

/* "sudoku4", "sudoku9", "add"; LUNDI_EINVAL with the valid names otherwise. */
int lundi_text_task_parse(const char *name, lundi_text_task *out);
const char *lundi_text_task_name(lundi_text_task task);

typedef struct lundi_task_opts {
  int digits;  /* add: operand width, 1 to 60 (default 4 when 0) */
  int blanks;  /* sudoku: blanks to aim for, 0 to 16 or 81 (0: as many as uniqueness allows,
                  which gives sudoku4 10-12, sudoku9 52-60, most often 55-58). Fewer remain
                  when uniqueness stops the removal first. */
} lundi_task_opts;

/* Fixed widths for a task: prompt characters (with the '=') and answer characters. */
int lundi_task_widths(lundi_text_task task, const lundi_task_opts *opts, int *prompt_len,
                      int *answer_len);
/* No task's widths pass these (add with 60 digits: prompt 122; sudoku9: answer 81), so
 * buffers of LUNDI_TASK_PROMPT_MAX + 1 and LUNDI_TASK_ANSWER_MAX + 1 fit every task. */
#define LUNDI_TASK_PROMPT_MAX 122
#define LUNDI_TASK_ANSWER_MAX 81
/* The pair for one seed, NUL-terminated into prompt/answer (buffers of at least width + 1).
 * The same (task, opts, seed) gives the same pair on every machine. */
int lundi_task_generate(lundi_text_task task, const lundi_task_opts *opts, uint64_t seed,
                        char *prompt, char *answer);
/* Normalises a user's input line into the prompt (a prompt normalises to itself):
 *   sudoku  the digits row by row, '0' or '.' for a blank, whitespace ignored, an optional
 *           final '='; the givens must keep the rules;
 *   add     "a+b", spaces allowed around the operands, an optional final '='; leading zeros
 *           beyond `digits` places are dropped ("00123+1" is "0123+0001=").
 * A bad line is LUNDI_EINVAL with the reason ("sudoku4 puzzle must be 16 digits 0-4, got 15
 * characters", "... breaks the rules: row 2 has two 3s", "add operand 12345 has 5 digits,
 * more than digits=4"). */
int lundi_task_prompt(lundi_text_task task, const lundi_task_opts *opts, const char *input,
                      char *prompt);
/* The reference answer for a prompt (or any line lundi_task_prompt takes); for sudoku the
 * first solution found, and *n_solutions (may be NULL) how many there are, counting up to 2
 * (always 1 for add). LUNDI_EINVAL for a bad prompt or a sudoku with no solution. */
int lundi_task_solve(lundi_text_task task, const lundi_task_opts *opts, const char *prompt,
                     char *answer, int *n_solutions);
/* 1 when answer is right for prompt (for sudoku: a valid grid agreeing with the givens, so any
 * solution counts; for add: exactly the digits+1 places), 0 when not; never an error for a
 * malformed answer (that is wrong). A bad prompt is LUNDI_EINVAL as in lundi_task_solve. */
int lundi_task_check(lundi_text_task task, const lundi_task_opts *opts, const char *prompt,
                     const char *answer);

/* ---- datasets (fields: tokens i32 [N, seq_len], prompt_len i32 [N]) ---- */

/* count pairs of a task, pair i from seed base_seed + i (train and test use disjoint seed
 * ranges), generated and tokenized when the dataset is made (sudoku9: some thousands per
 * second) and held in memory. Every row keeps at least one EOS: a pair whose tokens leave
 * none is an error naming it. seq_len 0 means the task's prompt + answer widths + 1, which
 * fits every pair with any tokenizer here (a token is at least one byte). */
lundi_dataset *lundi_dataset_task(const lundi_tokenizer *tok, lundi_text_task task,
                                  const lundi_task_opts *opts, uint64_t base_seed, int64_t count,
                                  int seq_len);
/* A plain text file, one example per line (UTF-8, '\n' or "\r\n"; empty lines skipped). A
 * line with a TAB is prompt<TAB>answer: [prompt | answer | EOS...], prompt_len the prompt's
 * tokens. One without (or with an empty prompt) is a text: [BOS | text | EOS...], prompt_len
 * 1, so position 0 is always given. A line whose tokens do not fit in seq_len (with at least
 * one EOS) is an error naming the file and line number. */
lundi_dataset *lundi_dataset_text_lines(const lundi_tokenizer *tok, const char *path,
                                        int seq_len);
/* Debian's fortunes (the fortunes package: every fortune file under dir, NULL meaning
 * /usr/share/games/fortunes, in name order, entries split at "%" lines). Entries are split
 * by a fixed hash of their text: about 1 in 10 goes to "test", the rest to "train" ("all":
 * both). The split's entries are tokenized, an EOS after each, and the stream cut into
 * windows of BOS + seq_len - 1 tokens (the last partial window dropped); prompt_len is 1
 * (the BOS). A missing directory says to install the fortunes package. */
lundi_dataset *lundi_dataset_fortunes(const lundi_tokenizer *tok, const char *dir,
                                      const char *split, int seq_len);
/* The raw split text (entries joined with '\n'), malloc'd, for bits per byte. */
int lundi_fortunes_text(const char *dir, const char *split, char **text, size_t *len);

#ifdef __cplusplus
}
#endif

#endif
