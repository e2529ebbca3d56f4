/* The embedded bitmap font and a tiny RGB canvas that plot.c draws on. */
#ifndef LUNDI_IO_FONT_H
#define LUNDI_IO_FONT_H

#include <stdint.h>

#define LUNDI_FONT_W 5 /* glyph ink; each character advances 6 pixels (x scale) */
#define LUNDI_FONT_H 7
extern const uint8_t lundi__font5x7[95][7]; /* ASCII 32..126 */

typedef struct lundi_rgb {
  uint8_t r, g, b;
} lundi_rgb;

typedef struct lundi_canvas {
  int w, h;
  uint8_t *px; /* RGB */
} lundi_canvas;

/* Mixes colour c into pixel (x, y) with opacity a in 0..1; outside the canvas is ignored. */
void lundi__canvas_blend(lundi_canvas *cv, int x, int y, lundi_rgb c, float a);
void lundi__canvas_rect(lundi_canvas *cv, int x0, int y0, int x1, int y1, lundi_rgb c); /* [x0,x1) x [y0,y1) */
/* Width in pixels of s drawn at scale; non-ASCII UTF-8 sequences count as one '?'. */
int lundi__text_width(const char *s, int scale);
/* Draws s with its top-left corner at (x, y). */
void lundi__text_draw(lundi_canvas *cv, int x, int y, const char *s, int scale, lundi_rgb c);

#endif
