/* Listing runs (filter, order, columns, limit) and resolving a run reference. */
#include "store/query_internal.h"
#include "store/store_internal.h"

#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "lundi/error.h"

static const char default_columns[] = "id,uuid,name,status,start_time,duration";

static int has_name(char **names, int n, const char *s) {
  for (int i = 0; i < n; i++)
    if (!strcmp(names[i], s)) return 1;
  return 0;
}

/* "id,uuid,...,<fields the filter and the order read>" */
static char *default_column_text(const lundi_filter *f, char **order, int n_order) {
  size_t len = sizeof default_columns;
  for (int i = 0; i < f->n_fields; i++) len += strlen(f->fields[i]) + 1;
  for (int i = 0; i < n_order; i++) len += strlen(order[i]) + 1;
  char *s = malloc(len);
  if (!s) return NULL;
  strcpy(s, default_columns);
  char *seen[512];
  int n_seen = 0;
  static const char *const base[] = {"id", "uuid", "name", "status", "start_time", "duration"};
  for (int i = 0; i < 6; i++) seen[n_seen++] = (char *)base[i];
  for (int k = 0; k < 2; k++) {
    char **names = k ? order : f->fields;
    int n = k ? n_order : f->n_fields;
    for (int i = 0; i < n && n_seen < 512; i++) {
      if (has_name(seen, n_seen, names[i])) continue;
      seen[n_seen++] = names[i];
      strcat(s, ",");
      strcat(s, names[i]);
    }
  }
  return s;
}

int lundi_history_runs(lundi_store *s, lundi_runs_query *rq, lundi_table *out) {
  memset(out, 0, sizeof *out);
  rq->err_option = NULL;
  rq->err_column = 0;
  sqlite3 *db = lundi__store_db(s);
  if (!db) return lundi_set_error(LUNDI_EINVAL, "lundi_history_runs: no store");
  lundi_filter f;
  qsql order = {0}, q = {0};
  char **order_names = NULL, *coltext = NULL;
  int n_order = 0, n_cols = 0, col = 0, rc;
  qfield *cols = NULL;
  sqlite3_stmt *st = NULL;
  if ((rc = lundi_filter_compile(rq->where, &f, &col))) {
    rq->err_option = "where", rq->err_column = col;
    return rc;
  }
  if ((rc = q_compile_order(rq->order_by, &order, &col, &order_names, &n_order))) {
    rq->err_option = "order_by", rq->err_column = col;
    goto done;
  }
  if (rq->columns) {
    rc = q_parse_columns(rq->columns, &cols, &n_cols, &col);
    if (!rc && n_cols == 0) rc = lundi_set_error(LUNDI_EINVAL, "no fields in the column list");
    if (rc) {
      rq->err_option = "columns", rq->err_column = col;
      goto done;
    }
  } else {
    if (!(coltext = default_column_text(&f, order_names, n_order))) {
      rc = lundi_set_error(LUNDI_ENOMEM, "out of memory");
      goto done;
    }
    if ((rc = q_parse_columns(coltext, &cols, &n_cols, &col))) goto done;
  }
  q_add(&q, "SELECT ");
  for (int i = 0; i < n_cols; i++) {
    if (i) q_add(&q, ", ");
    q_field_scalar(&q, &cols[i]);
  }
  q_add(&q, " FROM runs AS r WHERE ");
  if (!rq->include_deleted) q_add(&q, "r.deleted = 0 AND ");
  q_append(&q, f.sql, f.binds, f.n_binds);
  q_append(&q, order.s ? order.s : "", order.binds, order.n_binds);
  if (rq->limit > 0) {
    q_add(&q, " LIMIT ?");
    q_bind_int(&q, rq->limit);
  }
  if (q.oom || order.oom) {
    rc = lundi_set_error(LUNDI_ENOMEM, "out of memory building the query");
    goto done;
  }
  if (sqlite3_prepare_v2(db, q.s, -1, &st, NULL) != SQLITE_OK) {
    rc = q_sqlerr(db, "listing runs");
    goto done;
  }
  if ((rc = q_bind_all(st, q.binds, q.n_binds))) goto done;
  out->cols = calloc((size_t)n_cols, sizeof *out->cols);
  if (!out->cols) {
    rc = lundi_set_error(LUNDI_ENOMEM, "out of memory");
    goto done;
  }
  out->n_cols = n_cols;
  for (int i = 0; i < n_cols; i++)
    if (!(out->cols[i] = strndup(cols[i].src, cols[i].src_len))) {
      rc = lundi_set_error(LUNDI_ENOMEM, "out of memory");
      goto done;
    }
  rc = q_collect(db, st, out);
done:
  sqlite3_finalize(st);
  if (rc) lundi_table_free(out);
  for (int i = 0; i < n_cols; i++) q_field_clear(&cols[i]);
  free(cols);
  free(coltext);
  for (int i = 0; i < n_order; i++) free(order_names[i]);
  free(order_names);
  q_free(&order);
  q_free(&q);
  lundi_filter_free(&f);
  return rc;
}

/* ---- run references ---- */

static int no_run(lundi_store *s, const char *ref) {
  return lundi_set_error(LUNDI_EINVAL, "no run %s in %s; 'lundi runs' lists them", ref, lundi_store_path(s));
}

/* Runs sql with one bound text or int; *id gets the first row's column 0; returns rows (0..2). */
static int one_id(sqlite3 *db, const char *sql, const char *text, int64_t num, int64_t *id, char uuids[2][40]) {
  sqlite3_stmt *st = NULL;
  if (sqlite3_prepare_v2(db, sql, -1, &st, NULL) != SQLITE_OK) return q_sqlerr(db, "finding a run");
  if (text) sqlite3_bind_text(st, 1, text, -1, SQLITE_TRANSIENT);
  else sqlite3_bind_int64(st, 1, num);
  int n = 0, rc;
  while (n < 2 && (rc = sqlite3_step(st)) == SQLITE_ROW) {
    if (n == 0) *id = sqlite3_column_int64(st, 0);
    if (uuids && sqlite3_column_count(st) > 1) {
      const unsigned char *u = sqlite3_column_text(st, 1);
      snprintf(uuids[n], 40, "%s", u ? (const char *)u : "?");
    }
    n++;
  }
  if (n < 2 && rc != SQLITE_DONE) n = q_sqlerr(db, "finding a run");
  sqlite3_finalize(st);
  return n;
}

int lundi_history_resolve(lundi_store *s, const char *ref, int64_t *run_id) {
  sqlite3 *db = lundi__store_db(s);
  if (!db || !ref || !*ref) return lundi_set_error(LUNDI_EINVAL, "which run? give an id, a uuid (or its start), or 'last'");
  size_t n = strlen(ref);
  int digits = 1, hex = n >= 4 && n <= 36;
  for (size_t i = 0; i < n; i++) {
    if (!isdigit((unsigned char)ref[i])) digits = 0;
    if (!isxdigit((unsigned char)ref[i]) && ref[i] != '-') hex = 0;
  }
  int rows;
  if (!strcmp(ref, "last") || (ref[0] == '-' && n > 1 && n < 12 && strspn(ref + 1, "0123456789") == n - 1)) {
    int64_t k = ref[0] == '-' ? strtoll(ref + 1, NULL, 10) : 1;
    if (k < 1) return no_run(s, ref);
    rows = one_id(db, "SELECT id FROM runs WHERE deleted = 0 ORDER BY id DESC LIMIT 1 OFFSET ?1 - 1", NULL, k,
                  run_id, NULL);
    if (rows < 0) return rows;
    if (rows == 0)
      return k == 1 ? lundi_set_error(LUNDI_EINVAL, "no runs in %s yet", lundi_store_path(s))
                    : lundi_set_error(LUNDI_EINVAL, "no run %s in %s: there are fewer than %lld runs", ref,
                                      lundi_store_path(s), (long long)k);
    return 0;
  }
  if (digits && n < 19) {
    rows = one_id(db, "SELECT id FROM runs WHERE id = ?", NULL, strtoll(ref, NULL, 10), run_id, NULL);
    if (rows < 0) return rows;
    if (rows == 1) return 0;
    if (!hex) return no_run(s, ref);
  }
  if (hex) {
    char pat[40]; /* a hex prefix cannot hold GLOB syntax */
    size_t i;
    for (i = 0; i < n; i++) pat[i] = (char)tolower((unsigned char)ref[i]);
    pat[i++] = '*';
    pat[i] = 0;
    char uuids[2][40];
    rows = one_id(db, "SELECT id, uuid FROM runs WHERE uuid GLOB ? ORDER BY id", pat, 0, run_id, uuids);
    if (rows < 0) return rows;
    if (rows == 1) return 0;
    if (rows == 2)
      return lundi_set_error(LUNDI_EINVAL, "run '%s' is ambiguous in %s: %s, %s, ... start with it; give more of the uuid",
                             ref, lundi_store_path(s), uuids[0], uuids[1]);
  }
  rows = one_id(db, "SELECT id FROM runs WHERE name = ? ORDER BY deleted, id DESC", ref, 0, run_id, NULL);
  if (rows < 0) return rows;
  if (rows >= 1) return 0;
  return no_run(s, ref);
}
