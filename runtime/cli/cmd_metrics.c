/* lundi metrics RUN KEY [RUN...] [--plot] [--png FILE]: a metric's series as "step value"
 * lines, a terminal sparkline, or a PNG line plot of one or more runs. */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "cli.h"
#include "lundi/image.h"
#include "lundi/lundi.h"

const char cli_metrics_help[] =
    "usage: lundi metrics RUN KEY [RUN...] [--plot] [--png FILE] [--log-y]\n"
    "                     [--size WxH]\n"
    "\n"
    "Prints the values a run logged for metric KEY as 'step value' lines, in step\n"
    "order. With more runs, each run's lines follow a '# run ID NAME' line.\n"
    "\n"
    "  --plot         a sparkline per run (\xe2\x96\x81\xe2\x96\x82\xe2\x96\x83\xe2\x96\x84\xe2\x96\x85\xe2\x96\x86\xe2\x96\x87\xe2\x96\x88, up to 60 characters, each the\n"
    "                 mean of its steps) with the min, max and last values\n"
    "  --png FILE     write a line plot of every run's curve to FILE\n"
    "  --log-y        the PNG's y axis in log10 (positive values only)\n"
    "  --size WxH     the PNG's size in pixels (default 800x500)\n"
    "\n"
    "RUN as in 'lundi show': an id, a uuid or its start, a name, 'last' or -N.\n"
    "\n"
    "examples:\n"
    "  lundi metrics last loss --plot\n"
    "  lundi metrics 12 loss 13 14 --png loss.png --log-y\n";

#define SPARK_MAX 60

static void sparkline(const lundi_metric_series *m, char *out, size_t cap) {
  static const char *const bars[] = {"\xe2\x96\x81", "\xe2\x96\x82", "\xe2\x96\x83", "\xe2\x96\x84",
                                     "\xe2\x96\x85", "\xe2\x96\x86", "\xe2\x96\x87", "\xe2\x96\x88"};
  int n = m->n < SPARK_MAX ? (int)m->n : SPARK_MAX;
  double v[SPARK_MAX], lo = INFINITY, hi = -INFINITY;
  for (int b = 0; b < n; b++) { /* bucket b: the mean of its finite values */
    int64_t from = m->n * b / n, to = m->n * (b + 1) / n;
    double sum = 0;
    int k = 0;
    for (int64_t i = from; i < to; i++)
      if (isfinite(m->values[i])) sum += m->values[i], k++;
    v[b] = k ? sum / k : NAN;
    if (k) lo = fmin(lo, v[b]), hi = fmax(hi, v[b]);
  }
  size_t at = 0;
  out[0] = 0;
  for (int b = 0; b < n && at + 4 < cap; b++) {
    const char *c = " ";
    if (!isnan(v[b])) {
      int level = hi > lo ? (int)((v[b] - lo) / (hi - lo) * 7.0 + 0.5) : 3;
      c = bars[level < 0 ? 0 : level > 7 ? 7 : level];
    }
    at += (size_t)snprintf(out + at, cap - at, "%s", c);
  }
}

static void print_plot(const lundi_run_record *r, const char *key, const lundi_metric_series *m) {
  char line[SPARK_MAX * 4 + 1];
  sparkline(m, line, sizeof line);
  int64_t imin = -1, imax = -1;
  for (int64_t i = 0; i < m->n; i++) {
    if (isnan(m->values[i])) continue;
    if (imin < 0 || m->values[i] < m->values[imin]) imin = i;
    if (imax < 0 || m->values[i] > m->values[imax]) imax = i;
  }
  printf("%s  run %lld %s\n  %s\n", key, (long long)r->id, r->name ? r->name : "", line);
  if (imin >= 0)
    printf("  min %.6g (step %lld)  max %.6g (step %lld)  last %.6g (step %lld)  %lld values\n", m->values[imin],
           (long long)m->steps[imin], m->values[imax], (long long)m->steps[imax], m->values[m->n - 1],
           (long long)m->steps[m->n - 1], (long long)m->n);
  else
    printf("  %lld values, none a number\n", (long long)m->n);
}

static int write_png(const char *path, const char *key, lundi_run_record **runs, lundi_metric_series *ms, int n,
                     int w, int h, int log_y) {
  lundi_plot_series *series = calloc((size_t)n, sizeof *series);
  double **xs = calloc((size_t)n, sizeof *xs);
  char **labels = calloc((size_t)n, sizeof *labels);
  int rc = CLI_OK;
  if (!series || !xs || !labels) rc = cli_fail("out of memory");
  for (int i = 0; i < n && !rc; i++) {
    xs[i] = malloc((size_t)(ms[i].n ? ms[i].n : 1) * sizeof **xs);
    labels[i] = malloc(96);
    if (!xs[i] || !labels[i]) {
      rc = cli_fail("out of memory");
      break;
    }
    for (int64_t k = 0; k < ms[i].n; k++) xs[i][k] = (double)ms[i].steps[k];
    snprintf(labels[i], 96, "%lld %s", (long long)runs[i]->id, runs[i]->name ? runs[i]->name : "");
    series[i] = (lundi_plot_series){labels[i], xs[i], ms[i].values, (int)ms[i].n};
  }
  lundi_image im = {0};
  if (!rc && lundi_plot_lines(series, n, w, h, key, log_y, &im) != 0) rc = cli_fail("plot: %s", lundi_last_error());
  if (!rc && lundi_png_write_file(path, &im, NULL, 0) != 0) rc = cli_fail("%s", lundi_last_error());
  if (!rc) printf("wrote %s (%dx%d, %d run%s)\n", path, im.width, im.height, n, n == 1 ? "" : "s");
  lundi_image_free(&im);
  for (int i = 0; i < n; i++) free(xs ? xs[i] : NULL), free(labels ? labels[i] : NULL);
  free(series), free(xs), free(labels);
  return rc;
}

typedef struct metrics_args {
  const char **refs;
  int n_refs;
  const char *key, *png;
  int plot, log_y, w, h;
} metrics_args;

static int parse(cli_opts *o, int argc, char **argv, int at, metrics_args *a) {
  a->w = 800, a->h = 500;
  for (int i = at + 1; i < argc;) {
    const char *v;
    int r;
    if (cli_is_help(argv[i])) {
      cli_print_help(stdout, cli_find_command("metrics"));
      return -1;
    }
    int positional = argv[i][0] != '-' || (argv[i][1] >= '0' && argv[i][1] <= '9');
    if (positional) {
      if (a->n_refs == 1 && !a->key) a->key = argv[i++];
      else a->refs[a->n_refs++] = argv[i++];
    } else if (!strcmp(argv[i], "--plot")) {
      a->plot = 1, i++;
    } else if (!strcmp(argv[i], "--log-y")) {
      a->log_y = 1, i++;
    } else if ((r = cli_take_value(argc, argv, &i, "--png", &v, "metrics"))) {
      if (r < 0) return CLI_USAGE;
      if (!*v) return cli_usage_error("metrics", "option --png needs a file name");
      a->png = v;
    } else if ((r = cli_take_value(argc, argv, &i, "--size", &v, "metrics"))) {
      char x;
      if (r < 0) return CLI_USAGE;
      if (sscanf(v, "%d%c%d", &a->w, &x, &a->h) != 3 || x != 'x' || a->w < 64 || a->h < 64 || a->w > 8192 ||
          a->h > 8192)
        return cli_usage_error("metrics", "invalid --size '%s' (expected WxH, each 64..8192, e.g. 800x500)", v);
    } else {
      r = cli_global_option(o, argc, argv, &i, "metrics");
      if (r < 0) return CLI_USAGE;
      if (r == 0) return cli_usage_error("metrics", "unknown option '%s'", argv[i]);
    }
  }
  if (!a->key) return cli_usage_error("metrics", "missing the %s (lundi metrics RUN KEY)", a->n_refs ? "metric name" : "run and the metric name");
  if (a->log_y && !a->png) return cli_usage_error("metrics", "--log-y is for --png");
  return 0;
}

int cli_cmd_metrics(cli_opts *o, int argc, char **argv, int at) {
  metrics_args a = {.refs = calloc((size_t)argc, sizeof(char *))};
  if (!a.refs) return cli_fail("out of memory");
  int rc = parse(o, argc, argv, at, &a);
  if (rc) {
    free(a.refs);
    return rc < 0 ? CLI_OK : rc;
  }
  lundi_store *s = cli_open_store(o, 1);
  lundi_run_record **runs = calloc((size_t)a.n_refs, sizeof *runs);
  lundi_metric_series *ms = calloc((size_t)a.n_refs, sizeof *ms);
  if (!s) rc = CLI_FAIL;
  else if (!runs || !ms) rc = cli_fail("out of memory");
  for (int i = 0; i < a.n_refs && !rc; i++) {
    if (lundi_history_run(s, a.refs[i], &runs[i]) != 0 || lundi_history_metric(s, runs[i]->id, a.key, &ms[i]) != 0)
      rc = cli_fail("%s", lundi_last_error());
  }
  for (int i = 0; i < a.n_refs && !rc && (!a.png || a.plot); i++) {
    if (a.plot) {
      print_plot(runs[i], a.key, &ms[i]);
      continue;
    }
    if (a.n_refs > 1) printf("%s# run %lld %s\n", i ? "\n" : "", (long long)runs[i]->id, runs[i]->name ? runs[i]->name : "");
    char v[64];
    for (int64_t k = 0; k < ms[i].n; k++) {
      cli_fmt_real(ms[i].values[k], v, sizeof v);
      printf("%lld %s\n", (long long)ms[i].steps[k], v);
    }
  }
  if (!rc && a.png) rc = write_png(a.png, a.key, runs, ms, a.n_refs, a.w, a.h, a.log_y);
  for (int i = 0; i < a.n_refs; i++) {
    if (runs) lundi_run_record_free(runs[i]);
    if (ms) lundi_metric_series_free(&ms[i]);
  }
  free(runs), free(ms), free(a.refs);
  lundi_store_close(s);
  return rc;
}
