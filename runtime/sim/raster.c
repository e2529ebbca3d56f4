/* A tiny rasteriser for the environments' top views: fills, convex polygons and circles on
 * an RGB8 image, a pixel painted when its centre (x + 0.5, y + 0.5) is inside. No blending. */
#include <math.h>

#include "sim/sim_internal.h"

static void put(lundi__canvas *c, int x, int y, const uint8_t col[3]) {
  uint8_t *p = c->rgb + ((size_t)y * (size_t)c->w + (size_t)x) * 3;
  p[0] = col[0], p[1] = col[1], p[2] = col[2];
}

void lundi__fill(lundi__canvas *c, const uint8_t col[3]) {
  for (int y = 0; y < c->h; y++)
    for (int x = 0; x < c->w; x++) put(c, x, y, col);
}

static int clampi(double v, int lo, int hi) {
  if (v < lo) return lo;
  if (v > hi) return hi;
  return (int)v;
}

void lundi__fill_convex(lundi__canvas *c, const double *xy, int n, const uint8_t col[3]) {
  double x0 = xy[0], x1 = xy[0], y0 = xy[1], y1 = xy[1];
  for (int i = 1; i < n; i++) {
    x0 = fmin(x0, xy[2 * i]), x1 = fmax(x1, xy[2 * i]);
    y0 = fmin(y0, xy[2 * i + 1]), y1 = fmax(y1, xy[2 * i + 1]);
  }
  /* The sign of the area: the point is inside when every edge's cross product has it. */
  double area2 = 0;
  for (int i = 0; i < n; i++) {
    int j = (i + 1) % n;
    area2 += xy[2 * i] * xy[2 * j + 1] - xy[2 * j] * xy[2 * i + 1];
  }
  double s = area2 >= 0 ? 1.0 : -1.0;
  int ya = clampi(floor(y0), 0, c->h - 1), yb = clampi(ceil(y1), 0, c->h - 1);
  int xa = clampi(floor(x0), 0, c->w - 1), xb = clampi(ceil(x1), 0, c->w - 1);
  for (int y = ya; y <= yb; y++)
    for (int x = xa; x <= xb; x++) {
      double px = x + 0.5, py = y + 0.5;
      int in = 1;
      for (int i = 0; i < n && in; i++) {
        int j = (i + 1) % n;
        double ex = xy[2 * j] - xy[2 * i], ey = xy[2 * j + 1] - xy[2 * i + 1];
        if (s * (ex * (py - xy[2 * i + 1]) - ey * (px - xy[2 * i])) < 0) in = 0;
      }
      if (in) put(c, x, y, col);
    }
}

void lundi__fill_circle(lundi__canvas *c, double cx, double cy, double r, const uint8_t col[3]) {
  int ya = clampi(floor(cy - r), 0, c->h - 1), yb = clampi(ceil(cy + r), 0, c->h - 1);
  int xa = clampi(floor(cx - r), 0, c->w - 1), xb = clampi(ceil(cx + r), 0, c->w - 1);
  for (int y = ya; y <= yb; y++)
    for (int x = xa; x <= xb; x++) {
      double dx = x + 0.5 - cx, dy = y + 0.5 - cy;
      if (dx * dx + dy * dy <= r * r) put(c, x, y, col);
    }
}
