/* Private to the query side of the store (filter*.c, query.c, ...): a growable SQL text
 * with its bound values, the field model the filter language shares with --order-by and
 * --columns, and statement helpers. */
#ifndef LUNDI_QUERY_INTERNAL_H
#define LUNDI_QUERY_INTERNAL_H

#include <sqlite3.h>

#include "lundi/history.h"

/* SQL text we generate plus the values for its ?s. oom sticks: check once at the end. */
typedef struct qsql {
  char *s;
  size_t n, cap;
  lundi_cell *binds;
  int n_binds, cap_binds;
  int oom;
} qsql;
void q_add(qsql *q, const char *text);     /* constant SQL only, never user text */
void q_bind_text(qsql *q, const char *s, size_t n);
void q_bind_int(qsql *q, int64_t v);
void q_bind_real(qsql *q, double v);
void q_free(qsql *q);
/* Appends SQL we generated earlier with its values. */
void q_append(qsql *q, const char *sql, const lundi_cell *binds, int n_binds);

/* ---- fields ---- */

/* Q_PLUGIN: plugins.<kind> (the plugin's name) or plugins.<kind>.<param> (its parameter),
 * key the kind and sub the parameter (NULL for the name); a run may hold several plugins
 * of a kind (a training and a sampling scheduler): a comparison matches when any does. */
typedef enum qkind { Q_METRIC, Q_PARAM, Q_TAG, Q_ATTR, Q_PLUGIN } qkind;
typedef enum qagg { Q_LAST, Q_MIN, Q_MAX, Q_COUNT } qagg;
typedef enum qtype { Q_NUM, Q_TEXT, Q_TIME } qtype; /* attributes' types */

typedef struct qfield {
  qkind kind;
  qagg agg;        /* metrics */
  int attr;        /* Q_ATTR: index into q_attrs */
  char *key;       /* metrics/params/tags: malloc'd; plugins: the kind */
  char *sub;       /* plugins: the parameter's JSON path ($."name"), or NULL; malloc'd */
  const char *src; /* the field as written (not NUL-terminated) */
  size_t src_len;
  int col;         /* 1-based column in the text */
} qfield;

typedef struct qattr {
  const char *name, *sql; /* sql: an expression over runs AS r */
  qtype type;
} qattr;
extern const qattr q_attrs[];
extern const int q_n_attrs;
extern const char q_fields_hint[]; /* "fields: metrics.<key>, ..." */

/* ---- the lexer ---- */

typedef enum qtok_type {
  QT_END, QT_WORD, QT_NUM, QT_STR, QT_OP, QT_LP, QT_RP, QT_COMMA
} qtok_type;
typedef enum qop { QO_EQ, QO_NE, QO_LT, QO_LE, QO_GT, QO_GE } qop;

typedef struct qtok {
  qtok_type type;
  const char *p; /* start in the text */
  size_t len;
  int col;       /* 1-based, in characters */
  /* QT_WORD: a field path or keyword; segs are the dot-separated parts (quoted ones kept
   * apart so a quoted "min" is a key, not a suffix) */
  int n_segs;
  struct { char *text; int quoted; } segs[16];
  int first_quote; /* QT_WORD starting with '"': a likely mistyped string */
  /* QT_NUM */
  int is_int;
  int64_t i;
  double d;
  /* QT_STR */
  char *str;
  size_t str_len;
  qop op; /* QT_OP */
} qtok;

typedef struct qlex {
  const char *text;
  size_t len, pos;
  const char *what;  /* "where", "order_by", "columns": for messages */
  int err_column;
} qlex;

/* Reads the next token into t (cleared first; free with q_tok_clear). */
int q_lex_next(qlex *lx, qtok *t);
void q_tok_clear(qtok *t);
int q_lex_column(const qlex *lx, size_t pos);
/* Sets the error with "at column N" and records the column. */
int q_lex_error(qlex *lx, int col, const char *fmt, ...) __attribute__((format(printf, 3, 4)));
/* keyword test, case-insensitive, on a one-segment unquoted word */
int q_is_kw(const qtok *t, const char *kw);

/* Classifies a word token as a field (key malloc'd into f). An unknown field is an error
 * naming the known ones. */
int q_field_from_tok(qlex *lx, const qtok *t, qfield *f);
void q_field_clear(qfield *f);
/* Edit distance ignoring case; 99 for names over 31 characters (filter_lex.c). */
int q_distance(const char *a, const char *b);
/* compare_plugins.c: the sorted plugin row keys over runs (malloc'd strings), and one cell. */
int q_compare_plugin_keys(lundi_run_record *const *runs, int n_runs, char ***keys, int *n);
int q_compare_plugin_cell(const lundi_run_record *rec, const char *key, lundi_cell *cell);
/* Appends a scalar SQL expression of f for run r (for columns and ORDER BY). */
void q_field_scalar(qsql *q, const qfield *f);

/* Parses "FIELD [ASC|DESC], ..." into q (" ORDER BY ..."); NULL/blank: start_time DESC.
 * The fields as written are appended to *names (malloc'd strings; *n counts them). */
int q_compile_order(const char *text, qsql *q, int *err_column, char ***names, int *n);
/* Parses "FIELD, FIELD ..." into a NULL-terminated array of fields (owned by caller). */
int q_parse_columns(const char *text, qfield **fields, int *n, int *err_column);

/* ---- statements ---- */

int q_bind_all(sqlite3_stmt *st, const lundi_cell *v, int n);
/* Steps st to the end, appending rows to t (whose n_cols/cols the caller has set, or
 * NULL cols: taken from the statement). */
int q_collect(sqlite3 *db, sqlite3_stmt *st, lundi_table *t);
int q_sqlerr(sqlite3 *db, const char *what);
char *q_strdup_col(sqlite3_stmt *st, int col); /* NULL for SQL NULL */
double q_real_col(sqlite3_stmt *st, int col);  /* NaN for SQL NULL */

#endif
