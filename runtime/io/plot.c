/* Line plots: white background, framed axes with "nice" ticks and gridlines, an optional
 * log10 y axis, a title, a legend and one tab10 colour per series. Lines are drawn
 * anti-aliased: each series is first rendered as a coverage mask (the max over its
 * segments, so joints are not drawn twice), then blended onto the canvas once.
 * Non-finite points, and non-positive ones on a log axis, are skipped and leave a gap. */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "font.h"
#include "lundi/image.h"
#include "png_internal.h"
#include "ticks.h"

static const lundi_rgb PALETTE[10] = {{0x1f, 0x77, 0xb4}, {0xff, 0x7f, 0x0e}, {0x2c, 0xa0, 0x2c}, {0xd6, 0x27, 0x28},
                                      {0x94, 0x67, 0xbd}, {0x8c, 0x56, 0x4b}, {0xe3, 0x77, 0xc2}, {0x7f, 0x7f, 0x7f},
                                      {0xbc, 0xbd, 0x22}, {0x17, 0xbe, 0xcf}};
static const lundi_rgb INK = {40, 40, 40}, GRID = {232, 232, 232}, WHITE = {255, 255, 255}, FRAME = {150, 150, 150};
#define LINE_HALF_WIDTH 0.85 /* a 1.7-pixel line */
#define DOT_RADIUS 2.5       /* an isolated point */

typedef struct plot {
  lundi_canvas cv;
  int x0, y0, x1, y1; /* plot area, inclusive */
  double xlo, xhi, ylo, yhi;
  int log_y, scale;
  float *mask; /* coverage over the plot area */
} plot;

static int point(const lundi_plot_series *s, int i, int log_y, double *x, double *y) {
  double xv = s->xs ? s->xs[i] : i, yv = s->ys[i];
  if (!isfinite(xv) || !isfinite(yv) || (log_y && !(yv > 0))) return 0;
  *x = xv;
  *y = log_y ? log10(yv) : yv;
  return 1;
}

static void pad_range(double *lo, double *hi, int log_axis) {
  if (*lo > *hi) { /* no data */
    *lo = 0;
    *hi = 1;
  } else if (*lo == *hi) {
    double d = log_axis ? 0.5 : (*lo == 0 ? 1 : fabs(*lo) * 0.1);
    *lo -= d;
    *hi += d;
  } else {
    double d = (*hi - *lo) * 0.04;
    *lo -= d;
    *hi += d;
  }
}

static double px_x(const plot *p, double x) { return p->x0 + (x - p->xlo) / (p->xhi - p->xlo) * (p->x1 - p->x0); }
static double px_y(const plot *p, double y) { return p->y1 - (y - p->ylo) / (p->yhi - p->ylo) * (p->y1 - p->y0); }

/* Adds to the mask a capsule of radius r around segment (ax,ay)-(bx,by). */
static void stamp(plot *p, double ax, double ay, double bx, double by, double r) {
  int pw = p->x1 - p->x0 + 1;
  int xa = (int)floor(fmin(ax, bx) - r - 1), xb = (int)ceil(fmax(ax, bx) + r + 1);
  int ya = (int)floor(fmin(ay, by) - r - 1), yb = (int)ceil(fmax(ay, by) + r + 1);
  if (xa < p->x0) xa = p->x0;
  if (ya < p->y0) ya = p->y0;
  if (xb > p->x1) xb = p->x1;
  if (yb > p->y1) yb = p->y1;
  double dx = bx - ax, dy = by - ay, len2 = dx * dx + dy * dy;
  for (int y = ya; y <= yb; y++)
    for (int x = xa; x <= xb; x++) {
      double t = len2 > 0 ? ((x - ax) * dx + (y - ay) * dy) / len2 : 0;
      t = t < 0 ? 0 : t > 1 ? 1 : t;
      double ex = x - (ax + t * dx), ey = y - (ay + t * dy);
      float cov = (float)(r + 0.5 - sqrt(ex * ex + ey * ey));
      if (cov <= 0) continue;
      float *m = &p->mask[(size_t)(y - p->y0) * (size_t)pw + (size_t)(x - p->x0)];
      if (cov > *m) *m = cov > 1 ? 1 : cov;
    }
}

static void draw_series(plot *p, const lundi_plot_series *s, lundi_rgb c) {
  int pw = p->x1 - p->x0 + 1, ph = p->y1 - p->y0 + 1;
  memset(p->mask, 0, sizeof *p->mask * (size_t)pw * (size_t)ph);
  double px = 0, py = 0;
  int have_prev = 0, prev_drawn = 0;
  for (int i = 0; i < s->n; i++) {
    double x, y;
    if (!point(s, i, p->log_y, &x, &y)) {
      if (have_prev && !prev_drawn) stamp(p, px, py, px, py, DOT_RADIUS); /* isolated point */
      have_prev = 0;
      continue;
    }
    double cx = px_x(p, x), cy = px_y(p, y);
    if (have_prev) stamp(p, px, py, cx, cy, LINE_HALF_WIDTH);
    prev_drawn = have_prev;
    px = cx;
    py = cy;
    have_prev = 1;
  }
  if (have_prev && !prev_drawn) stamp(p, px, py, px, py, DOT_RADIUS);
  for (int y = 0; y < ph; y++)
    for (int x = 0; x < pw; x++) lundi__canvas_blend(&p->cv, p->x0 + x, p->y0 + y, c, p->mask[(size_t)y * pw + x]);
}

static void draw_axes(plot *p, const lundi_ticks *xt, const lundi_ticks *yt) {
  int s = p->scale, th = LUNDI_FONT_H * s;
  for (int i = 0; i < yt->n; i++) { /* gridlines first, under everything */
    int y = (int)lround(px_y(p, yt->pos[i]));
    if (y > p->y0 && y < p->y1) lundi__canvas_rect(&p->cv, p->x0 + 1, y, p->x1, y + 1, GRID);
  }
  for (int i = 0; i < xt->n; i++) {
    int x = (int)lround(px_x(p, xt->pos[i]));
    if (x > p->x0 && x < p->x1) lundi__canvas_rect(&p->cv, x, p->y0 + 1, x + 1, p->y1, GRID);
  }
  lundi__canvas_rect(&p->cv, p->x0, p->y0, p->x1 + 1, p->y0 + 1, FRAME);
  lundi__canvas_rect(&p->cv, p->x1, p->y0, p->x1 + 1, p->y1 + 1, FRAME);
  lundi__canvas_rect(&p->cv, p->x0, p->y0, p->x0 + 1, p->y1 + 1, INK);
  lundi__canvas_rect(&p->cv, p->x0, p->y1, p->x1 + 1, p->y1 + 1, INK);
  for (int i = 0; i < yt->n; i++) {
    int y = (int)lround(px_y(p, yt->pos[i]));
    lundi__canvas_rect(&p->cv, p->x0 - 4 * s, y, p->x0, y + 1, INK);
    int w = lundi__text_width(yt->label[i], s);
    lundi__text_draw(&p->cv, p->x0 - 6 * s - w, y - th / 2, yt->label[i], s, INK);
  }
  for (int i = 0; i < yt->n_minor; i++) {
    int y = (int)lround(px_y(p, yt->minor[i]));
    lundi__canvas_rect(&p->cv, p->x0 - 2 * s, y, p->x0, y + 1, INK);
  }
  for (int i = 0; i < xt->n; i++) {
    int x = (int)lround(px_x(p, xt->pos[i]));
    lundi__canvas_rect(&p->cv, x, p->y1 + 1, x + 1, p->y1 + 1 + 4 * s, INK);
    int w = lundi__text_width(xt->label[i], s);
    lundi__text_draw(&p->cv, x - w / 2, p->y1 + 7 * s, xt->label[i], s, INK);
  }
}

/* Labels longer than this many characters are cut and end in "...". */
#define LEGEND_CHARS 32

static void legend_label(const lundi_plot_series *s, int i, char *buf, size_t n) {
  if (s->label && *s->label) snprintf(buf, n, "%s", s->label);
  else snprintf(buf, n, "series %d", i + 1);
  if (lundi__text_width(buf, 1) > LEGEND_CHARS * 6) { /* cut on a character boundary */
    size_t k = 0;
    for (int chars = 0; buf[k] && chars < LEGEND_CHARS - 3; chars++)
      do k++;
      while ((buf[k] & 0xC0) == 0x80);
    snprintf(buf + k, n - k, "...");
  }
}

static void draw_legend(plot *p, const lundi_plot_series *series, int n) {
  int s = p->scale, row = (LUNDI_FONT_H + 5) * s, sample = 18 * s, maxw = 0;
  char buf[LEGEND_CHARS * 4 + 8];
  for (int i = 0; i < n; i++) {
    legend_label(&series[i], i, buf, sizeof buf);
    int w = lundi__text_width(buf, s);
    if (w > maxw) maxw = w;
  }
  int bw = 4 * s + sample + 4 * s + maxw + 5 * s, bh = n * row + 4 * s;
  /* Like matplotlib's loc="best": the corner whose box hides the fewest drawn pixels
   * (anything darker than the gridlines), preferring top right, top left, bottom right. */
  int bx = 0, by = 0;
  long best = -1;
  for (int k = 0; k < 4; k++) {
    int cx = (k == 1 || k == 3) ? p->x0 + 8 * s : p->x1 - 8 * s - bw;
    int cy = k < 2 ? p->y0 + 8 * s : p->y1 - 8 * s - bh;
    if (cx < p->x0 + 2) cx = p->x0 + 2;
    if (cy < p->y0 + 2) cy = p->y0 + 2;
    long hidden = 0;
    for (int y = cy; y < cy + bh && y < p->cv.h; y++)
      for (int x = cx; x < cx + bw && x < p->cv.w; x++) {
        const uint8_t *q = p->cv.px + ((size_t)y * (size_t)p->cv.w + (size_t)x) * 3;
        hidden += q[0] < 225 || q[1] < 225 || q[2] < 225;
      }
    if (best < 0 || hidden < best) {
      best = hidden;
      bx = cx;
      by = cy;
    }
  }
  lundi__canvas_rect(&p->cv, bx, by, bx + bw, by + bh, WHITE);
  lundi__canvas_rect(&p->cv, bx, by, bx + bw, by + 1, FRAME);
  lundi__canvas_rect(&p->cv, bx, by + bh - 1, bx + bw, by + bh, FRAME);
  lundi__canvas_rect(&p->cv, bx, by, bx + 1, by + bh, FRAME);
  lundi__canvas_rect(&p->cv, bx + bw - 1, by, bx + bw, by + bh, FRAME);
  for (int i = 0; i < n && by + (i + 1) * row <= p->y1; i++) {
    int y = by + 3 * s + i * row;
    lundi_rgb c = PALETTE[i % 10];
    lundi__canvas_rect(&p->cv, bx + 4 * s, y + 3 * s, bx + 4 * s + sample, y + 5 * s, c);
    legend_label(&series[i], i, buf, sizeof buf);
    lundi__text_draw(&p->cv, bx + 8 * s + sample, y + s, buf, s, INK);
  }
}

static int check_args(const lundi_plot_series *series, int n_series, int width, int height, lundi_image *out) {
  static const char fn[] = "plot_lines";
  if (!out) return lundi_set_error(LUNDI_EINVAL, "%s: out must be non-NULL", fn);
  if (width < 160 || height < 120 || width > 8192 || height > 8192)
    return lundi_set_error(LUNDI_EINVAL, "%s: size %dx%d is outside 160x120 .. 8192x8192", fn, width, height);
  if (n_series < 0 || (n_series > 0 && !series))
    return lundi_set_error(LUNDI_EINVAL, "%s: bad series list (%d series)", fn, n_series);
  for (int i = 0; i < n_series; i++)
    if (series[i].n < 0 || (series[i].n > 0 && !series[i].ys))
      return lundi_set_error(LUNDI_EINVAL, "%s: series %d ('%s') has n = %d but no ys", fn, i + 1,
                             series[i].label ? series[i].label : "", series[i].n);
  return 0;
}

int lundi_plot_lines(const lundi_plot_series *series, int n_series, int width, int height, const char *title,
                     int log_y, lundi_image *out) {
  if (out) memset(out, 0, sizeof *out);
  if (check_args(series, n_series, width, height, out)) return lundi_last_error_code();
  plot p = {.cv = {width, height, NULL}, .log_y = log_y ? 1 : 0};
  p.scale = (width >= 1200 && height >= 800) ? 2 : 1;
  int s = p.scale, npts = 0;
  /* data range */
  p.xlo = p.ylo = INFINITY;
  p.xhi = p.yhi = -INFINITY;
  for (int k = 0; k < n_series; k++)
    for (int i = 0; i < series[k].n; i++) {
      double x, y;
      if (!point(&series[k], i, p.log_y, &x, &y)) continue;
      npts++;
      p.xlo = fmin(p.xlo, x);
      p.xhi = fmax(p.xhi, x);
      p.ylo = fmin(p.ylo, y);
      p.yhi = fmax(p.yhi, y);
    }
  pad_range(&p.xlo, &p.xhi, 0);
  pad_range(&p.ylo, &p.yhi, p.log_y);
  /* layout: the left margin fits the widest y label */
  int has_title = title && *title, ts = (has_title && width >= 400) ? 2 * s : s;
  p.y0 = has_title ? (LUNDI_FONT_H * ts + 14 * s) : 12 * s;
  p.y1 = height - 1 - (LUNDI_FONT_H + 14) * s;
  lundi_ticks yt, xt;
  if (p.log_y) lundi__ticks_log(p.ylo, p.yhi, p.y1 - p.y0, -(LUNDI_FONT_H + 4) * s, &yt);
  else lundi__ticks_linear(p.ylo, p.yhi, p.y1 - p.y0, -(LUNDI_FONT_H + 4) * s, &yt);
  int yw = 0;
  for (int i = 0; i < yt.n; i++) {
    int w = lundi__text_width(yt.label[i], s);
    yw = w > yw ? w : yw;
  }
  p.x0 = 10 * s + yw;
  p.x1 = width - 1 - 16 * s;
  if (p.x1 - p.x0 < 40) return lundi_set_error(LUNDI_EINVAL, "plot_lines: %dx%d is too narrow for the labels", width, height);
  lundi__ticks_linear(p.xlo, p.xhi, p.x1 - p.x0, (LUNDI_FONT_W + 1) * s, &xt);

  size_t npx = (size_t)width * (size_t)height * 3;
  p.cv.px = malloc(npx);
  p.mask = malloc(sizeof *p.mask * (size_t)(p.x1 - p.x0 + 1) * (size_t)(p.y1 - p.y0 + 1));
  if (!p.cv.px || !p.mask) {
    free(p.cv.px);
    free(p.mask);
    return lundi_set_error(LUNDI_ENOMEM, "plot_lines: out of memory for %dx%d", width, height);
  }
  memset(p.cv.px, 255, npx);
  draw_axes(&p, &xt, &yt);
  for (int k = 0; k < n_series; k++) draw_series(&p, &series[k], PALETTE[k % 10]);
  if (has_title) {
    int w = lundi__text_width(title, ts);
    lundi__text_draw(&p.cv, (p.x0 + p.x1 - w) / 2, 7 * s, title, ts, INK);
  }
  if (!npts) {
    const char *msg = n_series ? "no finite points to plot" : "no data";
    int w = lundi__text_width(msg, s);
    lundi__text_draw(&p.cv, (p.x0 + p.x1 - w) / 2, (p.y0 + p.y1) / 2, msg, s, INK);
  }
  if (n_series > 1 || (n_series == 1 && series[0].label && *series[0].label)) draw_legend(&p, series, n_series);
  free(p.mask);
  out->width = width;
  out->height = height;
  out->channels = 3;
  out->pixels = p.cv.px;
  return 0;
}
