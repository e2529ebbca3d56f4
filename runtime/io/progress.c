/* Progress bar: a redrawn line on a terminal, periodic plain lines elsewhere. The formatting
 * is a pure function of a lundi_progress_view so tests need neither a clock nor a tty. */
#include "lundi/progress.h"

#include <math.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/ioctl.h>
#include <time.h>
#include <unistd.h>

#include "lundi/error.h"

#define REDRAW_SECONDS 0.1   /* terminal redraws at most ~10 times a second */
#define SAMPLE_SECONDS 0.5   /* the smoothed rate is resampled this often */
#define RATE_SMOOTHING 0.3   /* weight of the newest sample in the moving average */
#define DEFAULT_INTERVAL 10.0
#define BAR_MIN 10 /* a quarter of the terminal width, within these */
#define BAR_MAX 30

struct lundi_progress {
  char *label;
  int64_t total, step;
  FILE *out;
  int enabled, tty, finished, drawn_len, drawn;
  double interval, start, last_draw, sample_t, ema;
  int64_t sample_step;
  char extra[256];
};

/* ---- formatting ---- */

void lundi_progress_format_duration(char *buf, size_t cap, double s) {
  if (!(s >= 0) || !isfinite(s) || s > 1e9) {
    snprintf(buf, cap, "?");
    return;
  }
  long t = (long)s;
  if (t < 60) snprintf(buf, cap, "%lds", t);
  else if (t < 3600) snprintf(buf, cap, "%ldm%02lds", t / 60, t % 60);
  else if (t < 86400) snprintf(buf, cap, "%ldh%02ldm", t / 3600, t % 3600 / 60);
  else snprintf(buf, cap, "%ldd%02ldh", t / 86400, t % 86400 / 3600);
}

static void format_rate(char *buf, size_t cap, double rate) {
  if (!(rate > 0) || !isfinite(rate)) snprintf(buf, cap, "? it/s");
  else if (rate >= 100) snprintf(buf, cap, "%.0f it/s", rate);
  else if (rate >= 1) snprintf(buf, cap, "%.1f it/s", rate);
  else if (1 / rate >= 100) snprintf(buf, cap, "%.0f s/it", 1 / rate);
  else snprintf(buf, cap, "%.1f s/it", 1 / rate);
}

/* Appends to a bounded buffer; *len may pass cap - 1 (then the text is cut there). */
static void append(char *buf, size_t cap, size_t *len, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));
static void append(char *buf, size_t cap, size_t *len, const char *fmt, ...) {
  va_list ap;
  va_start(ap, fmt);
  if (*len < cap) {
    int n = vsnprintf(buf + *len, cap - *len, fmt, ap);
    if (n > 0) *len += (size_t)n;
  }
  va_end(ap);
  if (*len >= cap) *len = cap - 1;
}

/* Everything but the bar: "label step/total PCT RATE ELAPSED eta ETA extra". The
 * percentage is "(6%)" on plain lines and "  6%" beside a bar. */
static size_t format_fields(char *buf, size_t cap, const lundi_progress_view *v, int with_bar,
                            size_t *bar_at) {
  size_t len = 0;
  buf[0] = 0;
  if (v->label && *v->label) append(buf, cap, &len, "%s ", v->label);
  int known = v->total > 0;
  if (known) append(buf, cap, &len, "%lld/%lld", (long long)v->step, (long long)v->total);
  else append(buf, cap, &len, "%lld", (long long)v->step);
  *bar_at = len;
  if (known) {
    double f = (double)v->step / (double)v->total;
    int pct = f <= 0 ? 0 : f >= 1 ? 100 : (int)(f * 100);
    if (with_bar) append(buf, cap, &len, " %3d%%", pct);
    else append(buf, cap, &len, " (%d%%)", pct);
  }
  char rate[32], el[32], eta[32];
  format_rate(rate, sizeof rate, v->rate);
  lundi_progress_format_duration(el, sizeof el, v->elapsed);
  append(buf, cap, &len, " %s %s", rate, el);
  if (known && !v->final) {
    double left = v->step >= v->total ? 0 : (double)(v->total - v->step);
    lundi_progress_format_duration(eta, sizeof eta, v->rate > 0 ? left / v->rate : -1);
    append(buf, cap, &len, " eta %s", eta);
  }
  if (v->extra && *v->extra) append(buf, cap, &len, " %s", v->extra);
  return len;
}

size_t lundi_progress_format(char *buf, size_t cap, const lundi_progress_view *v) {
  if (!buf || !cap) return 0;
  buf[0] = 0;
  if (!v) return 0;
  size_t bar_at;
  if (v->width <= 0 || v->total <= 0) {
    size_t n = format_fields(buf, cap, v, 0, &bar_at);
    if (v->width > 0 && n > (size_t)v->width - 1) buf[n = (size_t)v->width - 1] = 0;
    return n;
  }
  /* The bar's width depends on the terminal width alone, so it does not jitter as the
   * numbers change; the extra text is cut first when the line is too long. */
  char line[1024];
  lundi_progress_view bare = *v;
  bare.extra = NULL;
  size_t n = format_fields(line, sizeof line, &bare, 1, &bar_at);
  size_t avail = (size_t)(v->width > 1 ? v->width - 1 : 1); /* the last column would wrap */
  int bw = v->width / 4 < BAR_MIN ? BAR_MIN : v->width / 4 > BAR_MAX ? BAR_MAX : v->width / 4;
  size_t len = 0;
  if (n + (size_t)bw + 3 <= avail) { /* " [" + bar + "]" */
    format_fields(line, sizeof line, v, 1, &bar_at);
    double f = (double)v->step / (double)v->total;
    int fill = f <= 0 ? 0 : f >= 1 ? bw : (int)(f * bw);
    char bar[BAR_MAX + 1];
    for (int i = 0; i < bw; i++) bar[i] = i < fill ? '=' : i == fill ? '>' : ' ';
    bar[bw] = 0;
    append(buf, cap, &len, "%.*s [%s]%s", (int)bar_at, line, bar, line + bar_at);
  } else { /* too narrow for a bar: the plain fields, cut at the edge */
    format_fields(line, sizeof line, v, 0, &bar_at);
    append(buf, cap, &len, "%s", line);
  }
  if (len > avail) buf[len = avail] = 0;
  return len;
}

/* ---- the bar object ---- */

static double now_seconds(void) {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return (double)ts.tv_sec + (double)ts.tv_nsec * 1e-9;
}

static int env_enabled(void) {
  const char *e = getenv("LUNDI_PROGRESS");
  if (!e) return 1;
  return !(!strcmp(e, "0") || !strcasecmp(e, "off") || !strcasecmp(e, "false") ||
           !strcasecmp(e, "no"));
}

static double env_interval(void) {
  const char *e = getenv("LUNDI_PROGRESS_INTERVAL");
  if (!e || !*e) return DEFAULT_INTERVAL;
  char *end;
  double v = strtod(e, &end);
  return (*end || !(v >= 0) || !isfinite(v)) ? DEFAULT_INTERVAL : v;
}

static int term_width(FILE *out) {
  struct winsize ws;
  if (ioctl(fileno(out), TIOCGWINSZ, &ws) == 0 && ws.ws_col > 0) return ws.ws_col;
  const char *c = getenv("COLUMNS");
  int w = c ? atoi(c) : 0;
  return w > 0 ? w : 80;
}

lundi_progress *lundi_progress_new(const char *label, int64_t total, FILE *out) {
  lundi_progress *p = calloc(1, sizeof *p);
  if (p && label) p->label = strdup(label);
  if (!p || (label && !p->label)) {
    free(p);
    lundi_set_error(LUNDI_ENOMEM, "lundi_progress_new: out of memory");
    return NULL;
  }
  p->out = out ? out : stderr;
  p->total = total;
  p->enabled = env_enabled();
  p->tty = isatty(fileno(p->out));
  p->interval = env_interval();
  p->start = p->last_draw = p->sample_t = now_seconds();
  return p;
}

/* The smoothed rate: an exponential moving average of rates sampled every SAMPLE_SECONDS;
 * before the first sample, the average since the start. */
static double current_rate(lundi_progress *p, double now) {
  if (p->step < p->sample_step) p->sample_step = p->step, p->sample_t = now;
  double dt = now - p->sample_t;
  if (dt >= SAMPLE_SECONDS && p->step > p->sample_step) {
    double inst = (double)(p->step - p->sample_step) / dt;
    p->ema = p->ema > 0 ? RATE_SMOOTHING * inst + (1 - RATE_SMOOTHING) * p->ema : inst;
    p->sample_t = now;
    p->sample_step = p->step;
  }
  if (p->ema > 0) return p->ema;
  double el = now - p->start;
  return el > 1e-3 ? (double)p->step / el : 0;
}

static void draw(lundi_progress *p, double now, double rate, int final) {
  char line[1024];
  lundi_progress_view v = {.label = p->label, .step = p->step, .total = p->total,
                           .elapsed = now - p->start, .rate = rate, .extra = p->extra,
                           .width = p->tty ? term_width(p->out) : 0, .final = final};
  int n = (int)lundi_progress_format(line, sizeof line, &v);
  if (p->tty) {
    /* Spaces over what is left of a longer previous line; no escape codes needed. */
    int pad = p->drawn_len > n ? p->drawn_len - n : 0;
    if (v.width > 1 && n + pad > v.width - 1) pad = v.width - 1 - n > 0 ? v.width - 1 - n : 0;
    fprintf(p->out, "\r%s%*s%s", line, pad, "", final ? "\n" : "");
  } else {
    fprintf(p->out, "%s\n", line);
  }
  fflush(p->out);
  p->drawn_len = n;
  p->drawn = 1;
  p->last_draw = now;
}

void lundi_progress_update(lundi_progress *p, int64_t step, const char *extra) {
  if (!p || p->finished) return;
  p->step = step;
  if (extra) snprintf(p->extra, sizeof p->extra, "%s", extra);
  else p->extra[0] = 0;
  if (!p->enabled) return;
  double now = now_seconds();
  double rate = current_rate(p, now);
  double wait = p->tty ? REDRAW_SECONDS : p->interval;
  if ((p->tty && !p->drawn) || now - p->last_draw >= wait) draw(p, now, rate, 0);
}

void lundi_progress_finish(lundi_progress *p) {
  if (!p || p->finished) return;
  p->finished = 1;
  if (!p->enabled) return;
  double now = now_seconds(), el = now - p->start;
  draw(p, now, el > 1e-3 ? (double)p->step / el : 0, 1); /* the average over the whole run */
}

void lundi_progress_free(lundi_progress *p) {
  if (!p) return;
  lundi_progress_finish(p);
  free(p->label);
  free(p);
}
