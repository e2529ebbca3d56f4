/* Private to runtime/text: each task's half of lundi/text_data.h's task calls. task.c checks
 * the task and its options and passes plain values here; prompt and answer buffers are at
 * least the task's widths + 1. */
#ifndef LUNDI_TEXT_TASK_INTERNAL_H
#define LUNDI_TEXT_TASK_INTERNAL_H

#include <stdint.h>

#define LUNDI__ADD_MAX_DIGITS 60

/* box 2: sudoku4, box 3: sudoku9. */
int lundi__sudoku_task_generate(int box, int blanks, uint64_t seed, char *prompt, char *answer);
int lundi__sudoku_task_prompt(int box, const char *input, char *prompt);
int lundi__sudoku_task_solve(int box, const char *prompt, char *answer, int *n_solutions);
int lundi__sudoku_task_check(int box, const char *prompt, const char *answer);

int lundi__add_task_generate(int digits, uint64_t seed, char *prompt, char *answer);
int lundi__add_task_prompt(int digits, const char *input, char *prompt);
int lundi__add_task_solve(int digits, const char *prompt, char *answer);
int lundi__add_task_check(int digits, const char *prompt, const char *answer);

#endif
