/* "Nice" axis ticks: steps of 1, 2 or 5 x 10^k, 4 to 6 of them when that fits. */
#include "ticks.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* Prints v with as many decimals as the step needs; "%g" for very large or small. */
static void format(double v, double step, char *out, size_t n) {
  if (fabs(v) < step * 1e-6) v = 0; /* no "-0" or 1e-17 */
  int dec = step >= 1 ? 0 : (int)ceil(-log10(step) - 1e-9);
  if (fabs(v) >= 1e6 || dec > 5) snprintf(out, n, "%g", v);
  else snprintf(out, n, "%.*f", dec, v);
}

static int count_in(double lo, double hi, double step) {
  double a = ceil(lo / step - 1e-9), b = floor(hi / step + 1e-9);
  return b >= a ? (int)(b - a) + 1 : 0;
}

/* Whether n labels fit along axis_px. Horizontal axes (char_px > 0): labels of up to
 * `chars` characters plus a 3-character gap. Vertical axes (char_px < 0): -char_px is the
 * text height, and each label needs twice that. */
static int labels_fit(int n, int chars, int axis_px, int char_px) {
  if (axis_px <= 0) return 1;
  return char_px > 0 ? n * (chars + 3) * char_px <= axis_px : n * -2 * char_px <= axis_px;
}

static int max_chars(double lo, double hi, double step) {
  char buf[32];
  int m = 0;
  for (double k = ceil(lo / step - 1e-9); k <= floor(hi / step + 1e-9); k++) {
    format(k * step, step, buf, sizeof buf);
    int l = (int)strlen(buf);
    if (l > m) m = l;
  }
  return m;
}

void lundi__ticks_linear(double lo, double hi, int axis_px, int char_px, lundi_ticks *t) {
  memset(t, 0, sizeof *t);
  double range = hi - lo;
  if (!(range > 0) || !isfinite(range)) return;
  int e0 = (int)floor(log10(range));
  double best = 0;
  int best_score = 1 << 30;
  static const double mult[3] = {1, 2, 5};
  for (int e = e0 - 2; e <= e0 + 1; e++)
    for (int m = 0; m < 3; m++) {
      double step = mult[m] * pow(10, e);
      int n = count_in(lo, hi, step);
      if (n < 2 || n > LUNDI_MAX_TICKS) continue;
      /* prefer 5 ticks, accept 4-6, fall back to fewer when labels would collide */
      int score = abs(n - 5) + (n > 6 ? 100 : 0) + (n < 4 ? 10 : 0);
      if (!labels_fit(n, max_chars(lo, hi, step), axis_px, char_px)) score += 1000;
      if (score < best_score) {
        best_score = score;
        best = step;
      }
    }
  if (best == 0) return;
  for (double k = ceil(lo / best - 1e-9); k <= floor(hi / best + 1e-9) && t->n < LUNDI_MAX_TICKS; k++) {
    t->pos[t->n] = k * best;
    format(k * best, best, t->label[t->n], sizeof t->label[0]);
    t->n++;
  }
}

void lundi__ticks_log(double lo, double hi, int axis_px, int char_px, lundi_ticks *t) {
  memset(t, 0, sizeof *t);
  double a = ceil(lo - 1e-9), b = floor(hi + 1e-9);
  int decades = b >= a ? (int)(b - a) + 1 : 0;
  if (decades < 2) { /* less than a decade visible: linear ticks on the values */
    lundi_ticks lin;
    lundi__ticks_linear(pow(10, lo), pow(10, hi), axis_px, char_px, &lin);
    for (int i = 0; i < lin.n; i++)
      if (lin.pos[i] > 0) {
        t->pos[t->n] = log10(lin.pos[i]);
        memcpy(t->label[t->n], lin.label[i], sizeof t->label[0]);
        t->n++;
      }
    return;
  }
  int every = (decades + 5) / 6; /* at most 6 labelled decades */
  for (double k = a; k <= b && t->n < LUNDI_MAX_TICKS; k++) {
    if ((long)(k - a) % every) continue;
    t->pos[t->n] = k;
    snprintf(t->label[t->n], sizeof t->label[0], "%g", pow(10, k));
    t->n++;
  }
  if (every == 1) /* unlabelled minor marks at 2..9 x 10^k */
    for (double k = floor(lo); k <= hi && t->n_minor < 64; k++)
      for (int m = 2; m <= 9 && t->n_minor < 64; m++) {
        double p = k + log10(m);
        if (p >= lo && p <= hi) t->minor[t->n_minor++] = p;
      }
}
