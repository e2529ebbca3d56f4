/* Metrics: buffered in memory and written in one transaction per flush, together with the
 * metric_summary rows they change. A flush that fails rolls back and keeps the buffer. */
#include "store/store_internal.h"

#include "lundi/error.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

double lundi__store_monotonic(void) {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return (double)ts.tv_sec + (double)ts.tv_nsec * 1e-9;
}

void lundi__run_free_metrics(lundi_run *r) {
  for (int i = 0; i < r->nkeys; i++) free(r->keys[i]);
  free(r->keys);
  free(r->buf);
  sqlite3_finalize(r->ins_metric);
  sqlite3_finalize(r->ins_metrics);
  sqlite3_finalize(r->upsert_summary);
  r->keys = NULL;
  r->buf = NULL;
  r->nkeys = r->capkeys = 0;
  r->n = r->cap = 0;
  r->ins_metric = r->ins_metrics = r->upsert_summary = NULL;
}

/* Runs log a handful of keys over and over: the last key hit answers most lookups. */
static int intern(lundi_run *r, const char *key) {
  if (r->lastkey >= 0 && strcmp(r->keys[r->lastkey], key) == 0) return r->lastkey;
  for (int i = 0; i < r->nkeys; i++)
    if (strcmp(r->keys[i], key) == 0) return r->lastkey = i;
  if (r->nkeys == r->capkeys) {
    int cap = r->capkeys ? 2 * r->capkeys : 16;
    char **k = realloc(r->keys, (size_t)cap * sizeof *k);
    if (!k) return -1;
    r->keys = k;
    r->capkeys = cap;
  }
  char *copy = strdup(key);
  if (!copy) return -1;
  r->keys[r->nkeys] = copy;
  return r->lastkey = r->nkeys++;
}

int lundi_run_log(lundi_run *r, const char *key, int64_t step, double value) {
  if (!r) return lundi_set_error(LUNDI_EINVAL, "store: lundi_run_log needs a run");
  if (!key || !*key) return lundi_set_error(LUNDI_EINVAL, "store: a metric key must be a non-empty string");
  if (r->n == r->cap) {
    size_t cap = r->cap ? 2 * r->cap : 1024;
    lundi__metric *b = realloc(r->buf, cap * sizeof *b);
    if (!b) return lundi_set_error(LUNDI_ENOMEM, "store: out of memory buffering metric '%s'", key);
    r->buf = b;
    r->cap = cap;
  }
  int k = intern(r, key);
  if (k < 0) return lundi_set_error(LUNDI_ENOMEM, "store: out of memory buffering metric '%s'", key);
  r->buf[r->n++] = (lundi__metric){k, step, value, lundi__store_now()};
  if (r->n >= r->flush_at || lundi__store_monotonic() - r->last_flush >= 1.0) return lundi_run_flush(r);
  return 0;
}

typedef struct summary {
  int64_t count, last_step;
  double last, min, max; /* min/max skip NaN (SQLite stores NaN as NULL) */
  int seen, have_minmax;
} summary;

static int prepare(lundi_run *r) {
  if (r->ins_metric) return 0;
  sqlite3 *db = r->s->db;
  static const char head[] = "INSERT INTO metrics(run_id, key, step, value, wall_time) VALUES ";
  char many[sizeof head + LUNDI__METRIC_ROWS * 18];
  size_t o = (size_t)snprintf(many, sizeof many, "%s", head);
  for (int i = 0; i < LUNDI__METRIC_ROWS; i++)
    o += (size_t)snprintf(many + o, sizeof many - o, "%s(?,?,?,?,?)", i ? "," : "");
  if (sqlite3_prepare_v3(db, "INSERT INTO metrics(run_id, key, step, value, wall_time) VALUES (?, ?, ?, ?, ?)",
                         -1, SQLITE_PREPARE_PERSISTENT, &r->ins_metric, NULL) != SQLITE_OK ||
      sqlite3_prepare_v3(db, many, -1, SQLITE_PREPARE_PERSISTENT, &r->ins_metrics, NULL) != SQLITE_OK ||
      sqlite3_prepare_v3(
          db,
          "INSERT INTO metric_summary(run_id, key, count, last_step, last_value, min_value, max_value)"
          " VALUES (?, ?, ?, ?, ?, ?, ?) ON CONFLICT(run_id, key) DO UPDATE SET"
          " count = count + excluded.count,"
          " last_value = CASE WHEN excluded.last_step >= last_step THEN excluded.last_value ELSE last_value END,"
          " last_step = max(last_step, excluded.last_step),"
          " min_value = CASE WHEN min_value IS NULL THEN excluded.min_value"
          "  WHEN excluded.min_value IS NULL THEN min_value ELSE min(min_value, excluded.min_value) END,"
          " max_value = CASE WHEN max_value IS NULL THEN excluded.max_value"
          "  WHEN excluded.max_value IS NULL THEN max_value ELSE max(max_value, excluded.max_value) END",
          -1, SQLITE_PREPARE_PERSISTENT, &r->upsert_summary, NULL) != SQLITE_OK)
    return lundi__store_sqlerr(r->s, "preparing the metric statements");
  return 0;
}

static void bind_row(sqlite3_stmt *st, int at, const lundi_run *r, const lundi__metric *m) {
  sqlite3_bind_int64(st, at + 1, r->id);
  sqlite3_bind_text(st, at + 2, r->keys[m->key], -1, SQLITE_STATIC);
  sqlite3_bind_int64(st, at + 3, m->step);
  sqlite3_bind_double(st, at + 4, m->value);
  sqlite3_bind_double(st, at + 5, m->wall);
}

static int write_all(lundi_run *r, summary *sum) {
  sqlite3_stmt *up = r->upsert_summary;
  size_t i = 0;
  while (i < r->n) {
    int rows = r->n - i >= LUNDI__METRIC_ROWS ? LUNDI__METRIC_ROWS : 1;
    sqlite3_stmt *ins = rows > 1 ? r->ins_metrics : r->ins_metric;
    for (int k = 0; k < rows; k++) bind_row(ins, 5 * k, r, &r->buf[i + (size_t)k]);
    int rc = sqlite3_step(ins);
    sqlite3_reset(ins);
    if (rc != SQLITE_DONE) return lundi__store_sqlerr(r->s, "writing metrics");
    i += (size_t)rows;
  }
  for (i = 0; i < r->n; i++) {
    const lundi__metric *m = &r->buf[i];
    summary *s = &sum[m->key];
    s->count++;
    if (!s->seen || m->step >= s->last_step) {
      s->last_step = m->step;
      s->last = m->value;
    }
    s->seen = 1;
    if (!isnan(m->value)) {
      if (!s->have_minmax || m->value < s->min) s->min = m->value;
      if (!s->have_minmax || m->value > s->max) s->max = m->value;
      s->have_minmax = 1;
    }
  }
  for (int k = 0; k < r->nkeys; k++) {
    const summary *s = &sum[k];
    if (!s->seen) continue;
    sqlite3_bind_int64(up, 1, r->id);
    sqlite3_bind_text(up, 2, r->keys[k], -1, SQLITE_STATIC);
    sqlite3_bind_int64(up, 3, s->count);
    sqlite3_bind_int64(up, 4, s->last_step);
    sqlite3_bind_double(up, 5, s->last);
    if (s->have_minmax) {
      sqlite3_bind_double(up, 6, s->min);
      sqlite3_bind_double(up, 7, s->max);
    } else {
      sqlite3_bind_null(up, 6);
      sqlite3_bind_null(up, 7);
    }
    int rc = sqlite3_step(up);
    sqlite3_reset(up);
    if (rc != SQLITE_DONE) return lundi__store_sqlerr(r->s, "updating the metric summary");
  }
  return 0;
}

int lundi_run_flush(lundi_run *r) {
  if (!r) return lundi_set_error(LUNDI_EINVAL, "store: lundi_run_flush needs a run");
  r->last_flush = lundi__store_monotonic();
  if (r->n == 0) return 0;
  int rc = prepare(r);
  if (rc != 0) goto failed;
  summary *sum = calloc((size_t)r->nkeys, sizeof *sum);
  if (!sum) {
    rc = lundi_set_error(LUNDI_ENOMEM, "store: out of memory flushing metrics");
    goto failed;
  }
  rc = lundi__store_exec(r->s, "BEGIN IMMEDIATE");
  if (rc == 0) rc = write_all(r, sum);
  if (rc == 0 && sqlite3_exec(r->s->db, "COMMIT", NULL, NULL, NULL) != SQLITE_OK)
    rc = lundi__store_sqlerr(r->s, "committing metrics");
  free(sum);
  if (rc != 0) {
    sqlite3_exec(r->s->db, "ROLLBACK", NULL, NULL, NULL);
    goto failed;
  }
  r->n = 0;
  r->flush_at = LUNDI_RUN_FLUSH_EVERY;
  return 0;
failed:
  /* Keep every buffered value; retry after another full batch (or a second), not on
   * every log call. */
  r->flush_at = r->n + LUNDI_RUN_FLUSH_EVERY;
  char why[768];
  snprintf(why, sizeof why, "%s", lundi_last_error());
  return lundi_set_error(rc, "%s (%zu metric values are kept in memory and will be retried)", why, r->n);
}
