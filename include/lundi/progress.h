/* Progress reporting for long loops (training, sampling), from C or Lua.
 *
 * On a terminal the bar is one line redrawn in place (at most ~10 times a second) showing
 * the label, step/total, a bar, the percentage, the rate, the elapsed time, the ETA and an
 * extra text such as "loss 0.0412". Elsewhere (a log file, a pipe) it prints a plain line
 * every LUNDI_PROGRESS_INTERVAL seconds (default 10, fractions allowed) and a final line.
 * LUNDI_PROGRESS=0 turns every bar off; a disabled bar is still a valid object.
 */
#ifndef LUNDI_PROGRESS_H
#define LUNDI_PROGRESS_H

#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#ifdef __cplusplus
extern "C" {
#endif

typedef struct lundi_progress lundi_progress;

/* total <= 0 means unknown (no bar, percentage or ETA). out NULL means stderr. label may be
 * NULL. NULL with the error set only when out of memory. */
lundi_progress *lundi_progress_new(const char *label, int64_t total, FILE *out);
/* step: how many steps are done so far. extra: a short text shown after the numbers, or
 * NULL; it is copied. NULL p is ignored. */
void lundi_progress_update(lundi_progress *p, int64_t step, const char *extra);
/* Draws the final line (ending a terminal bar with a newline). Later calls do nothing. */
void lundi_progress_finish(lundi_progress *p);
void lundi_progress_free(lundi_progress *p); /* finishes first when needed; NULL is fine */

/* ---- formatting, exposed so it can be tested without a clock or a terminal ---- */
typedef struct lundi_progress_view {
  const char *label;  /* or NULL */
  int64_t step, total;/* total <= 0: unknown */
  double elapsed;     /* seconds since the bar started */
  double rate;        /* steps per second; <= 0 when not known yet */
  const char *extra;  /* or NULL */
  int width;          /* > 0: terminal style fitted into width - 1 columns; 0: plain line */
  int final;          /* the last line: elapsed time instead of the ETA */
} lundi_progress_view;

/* Writes the line (no '\r' or '\n') into buf, truncating to cap - 1 bytes; returns strlen. */
size_t lundi_progress_format(char *buf, size_t cap, const lundi_progress_view *v);
/* A duration as "12s", "2m33s", "1h02m" or "3d04h"; "?" when negative or not finite. */
void lundi_progress_format_duration(char *buf, size_t cap, double seconds);

/* One "key value" of an extra text: text when set, else the integer i (is_int) or the
 * number d, shown with %.4g. */
typedef struct lundi_progress_pair {
  const char *key, *text;
  int is_int;
  int64_t i;
  double d;
} lundi_progress_pair;
/* Sorts pairs by key and writes "k1 v1 k2 v2 ..." into buf (cap >= 1), truncating to cap - 1
 * bytes; returns strlen. */
size_t lundi_progress_format_pairs(char *buf, size_t cap, lundi_progress_pair *pairs, int n);

#ifdef __cplusplus
}
#endif
#endif
