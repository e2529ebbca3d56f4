/* Shared by the commands that read the run store (runs, show, compare, metrics, export,
 * rerun, sql, gc, which): option values, opening the store, and printing tables as aligned
 * text, CSV (RFC 4180 quoting) or JSON. */
#include <cjson/cJSON.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "cli.h"
#include "lundi/lundi.h"

lundi_store *cli_open_store(const cli_opts *o, int readonly) {
  lundi_store *s = lundi_store_open(o->db, readonly ? LUNDI_STORE_READONLY : 0);
  if (!s) cli_fail("%s", lundi_last_error());
  return s;
}

int cli_parse_format(const char *s, int *fmt, const char *cmd) {
  if (!strcmp(s, "table")) *fmt = CLI_FMT_TABLE;
  else if (!strcmp(s, "csv")) *fmt = CLI_FMT_CSV;
  else if (!strcmp(s, "json")) *fmt = CLI_FMT_JSON;
  else return cli_usage_error(cmd, "unknown --format '%s' (expected table, csv or json)", s), -1;
  return 0;
}

/* ---- values as text ---- */

void cli_fmt_time(double t, char *buf, size_t n) {
  if (isnan(t)) {
    snprintf(buf, n, "-");
    return;
  }
  time_t s = (time_t)t;
  struct tm tm;
  localtime_r(&s, &tm);
  strftime(buf, n, "%Y-%m-%d %H:%M:%S", &tm);
}

void cli_fmt_duration(double d, char *buf, size_t n) {
  if (isnan(d)) snprintf(buf, n, "-");
  else if (d < 0) snprintf(buf, n, "%.3gs", d);
  else if (d < 10) snprintf(buf, n, "%.2fs", d);
  else if (d < 60) snprintf(buf, n, "%.1fs", d);
  else if (d < 3600) snprintf(buf, n, "%dm%02ds", (int)d / 60, (int)d % 60);
  else if (d < 86400) snprintf(buf, n, "%dh%02dm", (int)d / 3600, (int)d % 3600 / 60);
  else snprintf(buf, n, "%dd%02dh", (int)(d / 86400), (int)fmod(d, 86400) / 3600);
}

void cli_fmt_bytes(int64_t b, char *buf, size_t n) {
  const char *unit[] = {"B", "KiB", "MiB", "GiB", "TiB"};
  double v = (double)b;
  int u = 0;
  while (v >= 1024 && u < 4) v /= 1024, u++;
  if (u == 0) snprintf(buf, n, "%lld B", (long long)b);
  else snprintf(buf, n, "%.1f %s", v, unit[u]);
}

/* The shortest text that reads back as the same double; nan/inf spelled out. */
void cli_fmt_real(double v, char *buf, size_t n) {
  if (isnan(v)) {
    snprintf(buf, n, "nan");
    return;
  }
  if (isinf(v)) {
    snprintf(buf, n, v > 0 ? "inf" : "-inf");
    return;
  }
  for (int p = 6; p <= 17; p++) {
    snprintf(buf, n, "%.*g", p, v);
    if (strtod(buf, NULL) == v) return;
  }
}

/* A cell for the aligned table; pretty: short uuids, local times, durations. */
static void cell_text(const lundi_cell *c, const char *col, int pretty, char *buf, size_t n) {
  switch (c->type) {
  case LUNDI_CELL_NULL: snprintf(buf, n, "-"); return;
  case LUNDI_CELL_INT: snprintf(buf, n, "%lld", (long long)c->i); return;
  case LUNDI_CELL_REAL:
    if (pretty && (!strcmp(col, "start_time") || !strcmp(col, "end_time"))) cli_fmt_time(c->d, buf, n);
    else if (pretty && !strcmp(col, "duration")) cli_fmt_duration(c->d, buf, n);
    else if (pretty) snprintf(buf, n, "%.6g", c->d);
    else cli_fmt_real(c->d, buf, n);
    return;
  case LUNDI_CELL_TEXT:
    if (pretty && !strcmp(col, "uuid")) snprintf(buf, n, "%.8s", c->s);
    else snprintf(buf, n, "%s", c->s);
    for (char *p = buf; *p; p++)
      if (*p == '\n' || *p == '\r' || *p == '\t') *p = ' ';
    return;
  }
}

/* Display width: UTF-8 code points. */
static int width(const char *s) {
  int w = 0;
  for (; *s; s++) w += ((unsigned char)*s & 0xC0) != 0x80;
  return w;
}

#define MAX_CELL 48 /* wider text is cut with "..." in tables */

/* Cuts s to MAX_CELL columns; returns whether it did. */
static int clip(char *s) {
  int w = 0;
  for (char *p = s; *p; p++) {
    if (((unsigned char)*p & 0xC0) != 0x80 && ++w > MAX_CELL - 3) {
      if (width(p) <= 3) return 0;
      strcpy(p, "...");
      return 1;
    }
  }
  return 0;
}

static void print_aligned(FILE *out, const lundi_table *t, int pretty) {
  int *w = calloc((size_t)t->n_cols, sizeof *w), *num = calloc((size_t)t->n_cols, sizeof *num);
  char buf[1024];
  if (!w || !num) {
    free(w), free(num);
    return;
  }
  /* The last column needs no alignment after it, so its text is printed whole. */
  int cut = 0, last_col = t->n_cols - 1;
  for (int c = 0; c < t->n_cols; c++) w[c] = width(t->cols[c]);
  for (int64_t r = 0; r < t->n_rows; r++)
    for (int c = 0; c < t->n_cols; c++) {
      const lundi_cell *cell = lundi_table_at(t, r, c);
      cell_text(cell, t->cols[c], pretty, buf, sizeof buf);
      if (c < last_col) cut |= clip(buf);
      if (width(buf) > w[c]) w[c] = width(buf);
      if (cell->type == LUNDI_CELL_INT || (cell->type == LUNDI_CELL_REAL && !(pretty && strstr(t->cols[c], "_time"))))
        num[c] = 1;
    }
  for (int c = 0; c < t->n_cols; c++) {
    int last = c == t->n_cols - 1, pad = w[c] - width(t->cols[c]);
    if (num[c]) fprintf(out, "%*s", pad, "");
    fputs(t->cols[c], out);
    if (!num[c] && !last) fprintf(out, "%*s", pad, "");
    fputs(last ? "\n" : "  ", out);
  }
  for (int64_t r = 0; r < t->n_rows; r++)
    for (int c = 0; c < t->n_cols; c++) {
      const lundi_cell *cell = lundi_table_at(t, r, c);
      int last = c == t->n_cols - 1;
      if (last && cell->type == LUNDI_CELL_TEXT) {
        fputs(cell->s, out);
        fputc('\n', out);
        continue;
      }
      cell_text(cell, t->cols[c], pretty, buf, sizeof buf);
      if (!last) clip(buf);
      int pad = w[c] - width(buf);
      int right = num[c] && cell->type != LUNDI_CELL_TEXT;
      if (right) fprintf(out, "%*s", pad, "");
      fputs(buf, out);
      if (!right && !last) fprintf(out, "%*s", pad, "");
      fputs(last ? "\n" : "  ", out);
    }
  if (cut) fprintf(stderr, "(cells over %d characters are cut; --format csv or json shows them whole)\n", MAX_CELL);
  free(w), free(num);
}

static void csv_field(FILE *out, const char *s) {
  if (!strpbrk(s, ",\"\r\n")) {
    fputs(s, out);
    return;
  }
  fputc('"', out);
  for (; *s; s++) {
    if (*s == '"') fputc('"', out);
    fputc(*s, out);
  }
  fputc('"', out);
}

static void print_csv(FILE *out, const lundi_table *t) {
  char buf[64];
  for (int c = 0; c < t->n_cols; c++) {
    if (c) fputc(',', out);
    csv_field(out, t->cols[c]);
  }
  fputc('\n', out);
  for (int64_t r = 0; r < t->n_rows; r++) {
    for (int c = 0; c < t->n_cols; c++) {
      const lundi_cell *cell = lundi_table_at(t, r, c);
      if (c) fputc(',', out);
      if (cell->type == LUNDI_CELL_INT) fprintf(out, "%lld", (long long)cell->i);
      else if (cell->type == LUNDI_CELL_REAL) cli_fmt_real(cell->d, buf, sizeof buf), fputs(buf, out);
      else if (cell->type == LUNDI_CELL_TEXT) csv_field(out, cell->s);
    }
    fputc('\n', out);
  }
}

cJSON *cli_cell_json(const lundi_cell *cell) {
  char buf[64];
  switch (cell->type) {
  case LUNDI_CELL_INT: snprintf(buf, sizeof buf, "%lld", (long long)cell->i); return cJSON_CreateRaw(buf);
  case LUNDI_CELL_REAL:
    if (!isfinite(cell->d)) return cJSON_CreateNull();
    cli_fmt_real(cell->d, buf, sizeof buf);
    return cJSON_CreateRaw(buf);
  case LUNDI_CELL_TEXT: return cJSON_CreateString(cell->s);
  default: return cJSON_CreateNull();
  }
}

/* An array with one object a line: easy to read, to grep and to parse. */
static int print_json(FILE *out, const lundi_table *t) {
  fputc('[', out);
  for (int64_t r = 0; r < t->n_rows; r++) {
    cJSON *o = cJSON_CreateObject();
    for (int c = 0; o && c < t->n_cols; c++) cJSON_AddItemToObject(o, t->cols[c], cli_cell_json(lundi_table_at(t, r, c)));
    char *s = o ? cJSON_PrintUnformatted(o) : NULL;
    cJSON_Delete(o);
    if (!s) return cli_fail("out of memory printing JSON");
    fprintf(out, "%s\n  %s", r ? "," : "", s);
    free(s);
  }
  fputs(t->n_rows ? "\n]\n" : "]\n", out);
  return 0;
}

int cli_print_table(FILE *out, const lundi_table *t, int fmt, int pretty) {
  if (fmt == CLI_FMT_CSV) print_csv(out, t);
  else if (fmt == CLI_FMT_JSON) return print_json(out, t);
  else print_aligned(out, t, pretty);
  return 0;
}

void cli_show_caret(const char *text, int col) {
  if (col < 1 || strlen(text) > 300) return;
  fputs("  ", stderr);
  for (const char *p = text; *p; p++) fputc(*p == '\n' || *p == '\t' || *p == '\r' ? ' ' : *p, stderr);
  fprintf(stderr, "\n  %*s^\n", col - 1, "");
}
