/* Axis tick placement for plots. */
#ifndef LUNDI_IO_TICKS_H
#define LUNDI_IO_TICKS_H

#define LUNDI_MAX_TICKS 16

typedef struct lundi_ticks {
  int n;
  double pos[LUNDI_MAX_TICKS]; /* in axis units (log10 of the value on a log axis) */
  char label[LUNDI_MAX_TICKS][24];
  int n_minor; /* log axes: 2..9 x 10^k marks */
  double minor[64];
} lundi_ticks;

/* Linear ticks at multiples of 1, 2 or 5 x 10^k inside [lo, hi], 4 to 6 of them (5
 * preferred). When axis_px > 0, steps whose labels would collide along an axis that long
 * are avoided: char_px > 0 is a character's width (x axis), char_px < 0 minus the text
 * height (y axis). */
void lundi__ticks_linear(double lo, double hi, int axis_px, int char_px, lundi_ticks *t);
/* Ticks for a log10 axis spanning [lo, hi] (exponents): decades when at least two fit,
 * otherwise linear ticks on the values. */
void lundi__ticks_log(double lo, double hi, int axis_px, int char_px, lundi_ticks *t);

#endif
