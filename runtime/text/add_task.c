/* The addition task: a+b with operands of 1..digits digits, written zero-padded to `digits`
 * places ("0123+4567="), the sum to digits+1 places ("04690"). Arithmetic on the digit
 * strings, so any width up to LUNDI__ADD_MAX_DIGITS works. */
#include <string.h>

#include "core/error.h"
#include "text/task_internal.h"
#include "text/task_rng.h"

static int is_space(char ch) { return ch == ' ' || ch == '\t' || ch == '\n' || ch == '\r'; }
static int is_digit(char ch) { return ch >= '0' && ch <= '9'; }

static int bad_shape(int digits, const char *input) {
  return lundi__err(LUNDI_EINVAL, "add input must be a+b with 1 to %d digits each, got \"%.60s\"",
                    digits, input);
}

/* One operand at *p into out, zero-padded to digits places (leading zeros beyond that are
 * dropped: "00123" fits 4 places). */
static int operand(const char **p, int digits, const char *input, char *out) {
  while (is_space(**p)) (*p)++;
  const char *start = *p;
  while (is_digit(**p)) (*p)++;
  int len = (int)(*p - start);
  if (len == 0) return bad_shape(digits, input);
  while (len > 1 && *start == '0') start++, len--;
  if (len > digits)
    return lundi__err(LUNDI_EINVAL, "add operand %.*s has %d digits, more than digits=%d",
                      len > 70 ? 70 : len, start, len, digits);
  memset(out, '0', (size_t)(digits - len));
  memcpy(out + digits - len, start, (size_t)len);
  return 0;
}

int lundi__add_task_prompt(int digits, const char *input, char *prompt) {
  if (!input) return lundi__err(LUNDI_EINVAL, "add: no input (NULL)");
  const char *p = input;
  char buf[2 * LUNDI__ADD_MAX_DIGITS + 3];
  int rc = operand(&p, digits, input, buf);
  if (rc) return rc;
  while (is_space(*p)) p++;
  if (*p++ != '+') return bad_shape(digits, input);
  buf[digits] = '+';
  if ((rc = operand(&p, digits, input, buf + digits + 1))) return rc;
  while (is_space(*p)) p++;
  if (*p == '=') p++;
  while (is_space(*p)) p++;
  if (*p) return bad_shape(digits, input);
  buf[2 * digits + 1] = '=';
  buf[2 * digits + 2] = '\0';
  memcpy(prompt, buf, (size_t)(2 * digits + 3));
  return 0;
}

/* The sum of a normalised prompt's operands, digits+1 places. */
static void sum(int digits, const char *prompt, char *answer) {
  const char *a = prompt, *b = prompt + digits + 1;
  int carry = 0;
  for (int k = digits - 1; k >= 0; k--) {
    int s = (a[k] - '0') + (b[k] - '0') + carry;
    answer[k + 1] = (char)('0' + s % 10);
    carry = s / 10;
  }
  answer[0] = (char)('0' + carry);
  answer[digits + 1] = '\0';
}

int lundi__add_task_solve(int digits, const char *prompt, char *answer) {
  char norm[2 * LUNDI__ADD_MAX_DIGITS + 3];
  int rc = lundi__add_task_prompt(digits, prompt, norm);
  if (rc) return rc;
  sum(digits, norm, answer);
  return 0;
}

int lundi__add_task_check(int digits, const char *prompt, const char *answer) {
  char want[LUNDI__ADD_MAX_DIGITS + 2];
  int rc = lundi__add_task_solve(digits, prompt, want);
  if (rc) return rc;
  return answer && strcmp(answer, want) == 0;
}

/* An operand of 1..digits digits (the length uniform, so short sums are as common as long
 * ones), no leading zero, right-aligned in digits places. */
static void draw_operand(uint64_t *rng, int digits, char *out) {
  int len = 1 + (int)lundi__rand_below(rng, (uint32_t)digits);
  memset(out, '0', (size_t)digits);
  for (int k = digits - len; k < digits; k++) {
    int lead = k == digits - len && len > 1;
    out[k] = (char)(lead ? '1' + lundi__rand_below(rng, 9) : '0' + lundi__rand_below(rng, 10));
  }
}

int lundi__add_task_generate(int digits, uint64_t seed, char *prompt, char *answer) {
  uint64_t rng = seed;
  draw_operand(&rng, digits, prompt);
  prompt[digits] = '+';
  draw_operand(&rng, digits, prompt + digits + 1);
  prompt[2 * digits + 1] = '=';
  prompt[2 * digits + 2] = '\0';
  sum(digits, prompt, answer);
  return 0;
}
