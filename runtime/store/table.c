/* Result tables (lundi_table) and the statement helpers of the query side. */
#include "store/query_internal.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "lundi/error.h"

void lundi_table_free(lundi_table *t) {
  if (!t) return;
  for (int64_t i = 0; i < t->n_rows * t->n_cols; i++) free(t->cells[i].s);
  free(t->cells);
  for (int c = 0; c < t->n_cols; c++) free(t->cols[c]);
  free(t->cols);
  memset(t, 0, sizeof *t);
}

const lundi_cell *lundi_table_at(const lundi_table *t, int64_t row, int col) {
  if (!t || row < 0 || row >= t->n_rows || col < 0 || col >= t->n_cols) return NULL;
  return &t->cells[row * t->n_cols + col];
}

int q_sqlerr(sqlite3 *db, const char *what) {
  return lundi_set_error(LUNDI_EIO, "store: %s in %s: %s", what, sqlite3_db_filename(db, "main"),
                         sqlite3_errmsg(db));
}

int q_bind_all(sqlite3_stmt *st, const lundi_cell *v, int n) {
  for (int i = 0; i < n; i++) {
    int rc = SQLITE_OK;
    switch (v[i].type) {
    case LUNDI_CELL_NULL: rc = sqlite3_bind_null(st, i + 1); break;
    case LUNDI_CELL_INT: rc = sqlite3_bind_int64(st, i + 1, v[i].i); break;
    case LUNDI_CELL_REAL: rc = sqlite3_bind_double(st, i + 1, v[i].d); break;
    case LUNDI_CELL_TEXT: rc = sqlite3_bind_text(st, i + 1, v[i].s, -1, SQLITE_TRANSIENT); break;
    }
    if (rc != SQLITE_OK) return lundi_set_error(LUNDI_EIO, "store: binding value %d: %s", i + 1, sqlite3_errstr(rc));
  }
  return 0;
}

char *q_strdup_col(sqlite3_stmt *st, int col) {
  const unsigned char *s = sqlite3_column_text(st, col);
  return s ? strdup((const char *)s) : NULL;
}

double q_real_col(sqlite3_stmt *st, int col) {
  return sqlite3_column_type(st, col) == SQLITE_NULL ? NAN : sqlite3_column_double(st, col);
}

static int read_cell(sqlite3_stmt *st, int col, lundi_cell *c) {
  memset(c, 0, sizeof *c);
  switch (sqlite3_column_type(st, col)) {
  case SQLITE_NULL: return 0;
  case SQLITE_INTEGER: c->type = LUNDI_CELL_INT, c->i = sqlite3_column_int64(st, col); return 0;
  case SQLITE_FLOAT: c->type = LUNDI_CELL_REAL, c->d = sqlite3_column_double(st, col); return 0;
  case SQLITE_BLOB: {
    char buf[48];
    snprintf(buf, sizeof buf, "<%d bytes>", sqlite3_column_bytes(st, col));
    c->s = strdup(buf);
    break;
  }
  default: {
    const unsigned char *s = sqlite3_column_text(st, col);
    c->s = strndup(s ? (const char *)s : "", (size_t)sqlite3_column_bytes(st, col));
  }
  }
  c->type = LUNDI_CELL_TEXT;
  return c->s ? 0 : lundi_set_error(LUNDI_ENOMEM, "out of memory reading a result");
}

int q_collect(sqlite3 *db, sqlite3_stmt *st, lundi_table *t) {
  if (!t->cols) {
    int n = sqlite3_column_count(st);
    t->cols = calloc(n ? (size_t)n : 1, sizeof *t->cols);
    if (!t->cols) return lundi_set_error(LUNDI_ENOMEM, "out of memory");
    t->n_cols = n;
    for (int i = 0; i < n; i++) {
      const char *name = sqlite3_column_name(st, i);
      if (!(t->cols[i] = strdup(name ? name : "?"))) return lundi_set_error(LUNDI_ENOMEM, "out of memory");
    }
  }
  int64_t cap = t->n_rows;
  for (;;) {
    int rc = sqlite3_step(st);
    if (rc == SQLITE_DONE) return 0;
    if (rc != SQLITE_ROW) return q_sqlerr(db, "reading results");
    if (t->n_rows == cap) {
      cap = cap ? cap * 2 : 16;
      lundi_cell *g = realloc(t->cells, (size_t)(cap * (t->n_cols ? t->n_cols : 1)) * sizeof *g);
      if (!g) return lundi_set_error(LUNDI_ENOMEM, "out of memory");
      t->cells = g;
    }
    lundi_cell *row = &t->cells[t->n_rows * t->n_cols];
    for (int c = 0; c < t->n_cols; c++) {
      if (read_cell(st, c, &row[c])) {
        for (int k = 0; k < c; k++) free(row[k].s);
        return lundi_last_error_code();
      }
    }
    t->n_rows++;
  }
}
