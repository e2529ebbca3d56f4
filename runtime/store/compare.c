/* Side-by-side comparison of runs: attribute, param, tag and metric rows, with the rows
 * whose values differ and the best metric value per row marked. */
#include "store/query_internal.h"

#include <ctype.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "lundi/error.h"

int lundi_metric_higher_is_better(const char *key) {
  static const char *const up[] = {"acc", "score", "psnr", "ssim", "reward", "auc", "precision", "recall", "f1", "iou"};
  char low[128];
  size_t i = 0;
  for (; key[i] && i < sizeof low - 1; i++) low[i] = (char)tolower((unsigned char)key[i]);
  low[i] = 0;
  for (size_t k = 0; k < sizeof up / sizeof up[0]; k++)
    if (strstr(low, up[k])) return 1;
  return 0;
}

static int cmp_str(const void *a, const void *b) { return strcmp(*(char *const *)a, *(char *const *)b); }

/* The sorted distinct keys of one group over all runs (pointers into the records). */
static int union_keys(lundi_comparison *c, int group, const char ***keys, int *n) {
  int total = 0;
  for (int r = 0; r < c->n_runs; r++) {
    lundi_run_record *rec = c->runs[r];
    total += group == 0 ? rec->n_params : group == 1 ? rec->n_tags : rec->n_metrics;
  }
  const char **k = malloc((size_t)(total ? total : 1) * sizeof *k);
  if (!k) return lundi_set_error(LUNDI_ENOMEM, "out of memory");
  int m = 0;
  for (int r = 0; r < c->n_runs; r++) {
    lundi_run_record *rec = c->runs[r];
    if (group == 0)
      for (int i = 0; i < rec->n_params; i++) k[m++] = rec->params[i].key;
    else if (group == 1)
      for (int i = 0; i < rec->n_tags; i++) k[m++] = rec->tags[i].key;
    else
      for (int i = 0; i < rec->n_metrics; i++) k[m++] = rec->metrics[i].key;
  }
  qsort(k, (size_t)m, sizeof *k, cmp_str);
  int d = 0;
  for (int i = 0; i < m; i++)
    if (d == 0 || strcmp(k[d - 1], k[i])) k[d++] = k[i];
  *keys = k;
  *n = d;
  return 0;
}

static int set_text(lundi_cell *cell, const char *s) {
  if (!s) return 0;
  cell->type = LUNDI_CELL_TEXT;
  return (cell->s = strdup(s)) ? 0 : -1;
}

static int set_param(lundi_cell *cell, const lundi_kv *kv) {
  if (kv->type && !strcmp(kv->type, "int")) {
    cell->type = LUNDI_CELL_INT, cell->i = strtoll(kv->value, NULL, 10);
    return 0;
  }
  if (kv->type && !strcmp(kv->type, "float")) {
    cell->type = LUNDI_CELL_REAL, cell->d = strtod(kv->value, NULL);
    return 0;
  }
  return set_text(cell, kv->value ? kv->value : "");
}

static int cells_equal(const lundi_cell *a, const lundi_cell *b) {
  if (a->type != b->type) return 0;
  switch (a->type) {
  case LUNDI_CELL_NULL: return 1;
  case LUNDI_CELL_INT: return a->i == b->i;
  case LUNDI_CELL_REAL: return a->d == b->d || (isnan(a->d) && isnan(b->d));
  case LUNDI_CELL_TEXT: return !strcmp(a->s, b->s);
  }
  return 0;
}

static int add_row(lundi_comparison *c, int *cap, const char *prefix, const char *key) {
  if (c->n_rows == *cap) {
    int nc = *cap ? *cap * 2 : 16;
    char **f = realloc(c->fields, (size_t)nc * sizeof *f);
    if (f) c->fields = f;
    lundi_cell *cells = realloc(c->cells, (size_t)nc * (size_t)c->n_runs * sizeof *cells);
    if (cells) c->cells = cells;
    unsigned char *d = realloc(c->differs, (size_t)nc);
    if (d) c->differs = d;
    int *b = realloc(c->best, (size_t)nc * sizeof *b);
    if (b) c->best = b;
    if (!f || !cells || !d || !b) return lundi_set_error(LUNDI_ENOMEM, "out of memory");
    *cap = nc;
  }
  size_t n = strlen(prefix) + strlen(key) + 1;
  char *name = malloc(n);
  if (!name) return lundi_set_error(LUNDI_ENOMEM, "out of memory");
  snprintf(name, n, "%s%s", prefix, key);
  c->fields[c->n_rows] = name;
  memset(&c->cells[(size_t)c->n_rows * (size_t)c->n_runs], 0, (size_t)c->n_runs * sizeof *c->cells);
  c->differs[c->n_rows] = 0;
  c->best[c->n_rows] = -1;
  c->n_rows++;
  return 0;
}

static void finish_row(lundi_comparison *c, int row, int metric, const char *key) {
  lundi_cell *cells = &c->cells[(size_t)row * (size_t)c->n_runs];
  for (int r = 1; r < c->n_runs; r++)
    if (!cells_equal(&cells[0], &cells[r])) c->differs[row] = 1;
  if (!metric || !c->differs[row]) return;
  int up = lundi_metric_higher_is_better(key), best = -1, have = 0;
  for (int r = 0; r < c->n_runs; r++) {
    if (cells[r].type != LUNDI_CELL_REAL || isnan(cells[r].d)) continue;
    have++;
    if (best < 0 || (up ? cells[r].d > cells[best].d : cells[r].d < cells[best].d)) best = r;
  }
  if (have >= 2) c->best[row] = best;
}

static int fill(lundi_comparison *c) {
  int cap = 0, oom = 0;
  static const char *const attrs[] = {"status", "seed", "device", "script_sha256", "duration"};
  for (int a = 0; a < 5; a++) {
    if (add_row(c, &cap, "", attrs[a])) return lundi_last_error_code();
    int row = c->n_rows - 1;
    for (int r = 0; r < c->n_runs; r++) {
      lundi_run_record *rec = c->runs[r];
      lundi_cell *cell = &c->cells[(size_t)row * (size_t)c->n_runs + (size_t)r];
      if (a == 0) oom |= set_text(cell, rec->status);
      else if (a == 1 && rec->has_seed) cell->type = LUNDI_CELL_INT, cell->i = rec->seed;
      else if (a == 2) oom |= set_text(cell, rec->device);
      else if (a == 3) oom |= set_text(cell, rec->script_sha256);
      else if (a == 4 && !isnan(rec->end_time) && !isnan(rec->start_time))
        cell->type = LUNDI_CELL_REAL, cell->d = rec->end_time - rec->start_time;
    }
    if (a != 4) finish_row(c, row, 0, attrs[a]); /* durations always differ: not marked */
  }
  static const char *const prefix[] = {"params.", "tags.", "metrics."};
  for (int g = 0; g < 3 && !oom; g++) {
    const char **keys = NULL;
    int n = 0;
    if (union_keys(c, g, &keys, &n)) return lundi_last_error_code();
    for (int k = 0; k < n && !oom; k++) {
      if (add_row(c, &cap, prefix[g], keys[k])) {
        free(keys);
        return lundi_last_error_code();
      }
      int row = c->n_rows - 1;
      for (int r = 0; r < c->n_runs; r++) {
        lundi_run_record *rec = c->runs[r];
        lundi_cell *cell = &c->cells[(size_t)row * (size_t)c->n_runs + (size_t)r];
        if (g == 0) {
          for (int i = 0; i < rec->n_params; i++)
            if (!strcmp(rec->params[i].key, keys[k])) oom |= set_param(cell, &rec->params[i]);
        } else if (g == 1) {
          for (int i = 0; i < rec->n_tags; i++)
            if (!strcmp(rec->tags[i].key, keys[k])) oom |= set_text(cell, rec->tags[i].value ? rec->tags[i].value : "");
        } else {
          for (int i = 0; i < rec->n_metrics; i++)
            if (!strcmp(rec->metrics[i].key, keys[k])) cell->type = LUNDI_CELL_REAL, cell->d = rec->metrics[i].last;
        }
      }
      finish_row(c, row, g == 2, keys[k]);
    }
    free(keys);
  }
  char **pk = NULL;
  int np = 0, rc = oom ? 0 : q_compare_plugin_keys(c->runs, c->n_runs, &pk, &np);
  for (int k = 0; k < np && !rc && !oom; k++) {
    if ((rc = add_row(c, &cap, "", pk[k]))) break;
    int row = c->n_rows - 1;
    for (int r = 0; r < c->n_runs && !rc; r++)
      rc = q_compare_plugin_cell(c->runs[r], pk[k], &c->cells[(size_t)row * (size_t)c->n_runs + (size_t)r]);
    finish_row(c, row, 0, pk[k]);
  }
  for (int k = 0; k < np; k++) free(pk[k]);
  free(pk);
  if (rc) return rc;
  return oom ? lundi_set_error(LUNDI_ENOMEM, "out of memory") : 0;
}

int lundi_history_compare(lundi_store *s, const char *const *refs, int n, lundi_comparison *out) {
  memset(out, 0, sizeof *out);
  if (n < 1) return lundi_set_error(LUNDI_EINVAL, "compare: no runs given");
  out->runs = calloc((size_t)n, sizeof *out->runs);
  if (!out->runs) return lundi_set_error(LUNDI_ENOMEM, "out of memory");
  int rc = 0;
  for (int i = 0; i < n && !rc; i++) {
    rc = lundi_history_run(s, refs[i], &out->runs[i]);
    if (!rc) out->n_runs++;
  }
  if (!rc) rc = fill(out);
  if (rc) lundi_comparison_free(out);
  return rc;
}

void lundi_comparison_free(lundi_comparison *c) {
  if (!c) return;
  for (int r = 0; r < c->n_runs; r++) lundi_run_record_free(c->runs[r]);
  free(c->runs);
  for (int i = 0; i < c->n_rows; i++) {
    free(c->fields[i]);
    for (int r = 0; r < c->n_runs; r++) free(c->cells[(size_t)i * (size_t)c->n_runs + (size_t)r].s);
  }
  free(c->fields), free(c->cells), free(c->differs), free(c->best);
  memset(c, 0, sizeof *c);
}
