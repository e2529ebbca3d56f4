/* Pixel and text primitives for plots. */
#include <stddef.h>

#include "font.h"

void lundi__canvas_blend(lundi_canvas *cv, int x, int y, lundi_rgb c, float a) {
  if (x < 0 || y < 0 || x >= cv->w || y >= cv->h || !(a > 0.0f)) return;
  if (a > 1.0f) a = 1.0f;
  uint8_t *p = cv->px + ((size_t)y * (size_t)cv->w + (size_t)x) * 3;
  p[0] = (uint8_t)(p[0] + (c.r - p[0]) * a + 0.5f);
  p[1] = (uint8_t)(p[1] + (c.g - p[1]) * a + 0.5f);
  p[2] = (uint8_t)(p[2] + (c.b - p[2]) * a + 0.5f);
}

void lundi__canvas_rect(lundi_canvas *cv, int x0, int y0, int x1, int y1, lundi_rgb c) {
  for (int y = y0; y < y1; y++)
    for (int x = x0; x < x1; x++) lundi__canvas_blend(cv, x, y, c, 1.0f);
}

/* Next character code of s (ASCII, or '?' for a whole UTF-8 sequence); advances *s. */
static int next_char(const char **s) {
  unsigned char ch = (unsigned char)*(*s)++;
  if (ch < 0x80) return (ch >= 32 && ch <= 126) ? ch : '?';
  while ((**s & 0xC0) == 0x80) (*s)++;
  return '?';
}

int lundi__text_width(const char *s, int scale) {
  int n = 0;
  while (s && *s) {
    next_char(&s);
    n++;
  }
  return n ? (n * (LUNDI_FONT_W + 1) - 1) * scale : 0;
}

void lundi__text_draw(lundi_canvas *cv, int x, int y, const char *s, int scale, lundi_rgb c) {
  while (s && *s) {
    const uint8_t *g = lundi__font5x7[next_char(&s) - 32];
    for (int r = 0; r < LUNDI_FONT_H; r++)
      for (int k = 0; k < LUNDI_FONT_W; k++)
        if (g[r] >> (LUNDI_FONT_W - 1 - k) & 1)
          lundi__canvas_rect(cv, x + k * scale, y + r * scale, x + (k + 1) * scale, y + (r + 1) * scale, c);
    x += (LUNDI_FONT_W + 1) * scale;
  }
}
