/* Querying the experiment store (the schema is in lundi/store.h): listing runs with an
 * MLflow-style filter, one run in full, metric series, comparisons, export, garbage
 * collection, read-only SQL, and finding the run of a saved PNG.
 *
 * Ownership: every struct filled by a function here owns what it points to; free it with
 * its _free function (which also zeroes it; a zeroed struct is safe to free). Functions
 * return 0 or a negative lundi status with the message in lundi_last_error().
 *
 * The filter language (lundi_filter_compile, lundi_runs_query.where):
 *   expr        := term { OR term }            -- AND binds tighter than OR
 *   term        := factor { AND factor }
 *   factor      := NOT factor | '(' expr ')' | comparison
 *   comparison  := field op value | field [NOT] LIKE|ILIKE 'pattern'
 *                | field [NOT] IN (value, ...) | field IS [NOT] NULL
 *   op          := = | == | != | <> | < | <= | > | >=
 *   field       := metrics.KEY[.min|.max|.count|.last] | params.KEY | tags.KEY
 *                | id | uuid | name | status | start_time | end_time | duration | seed
 *                | device | script | script_sha256 | lundi_version | host | exit_message
 *   value       := 'text' (quote doubled inside: 'it''s') | number (42, -1.5, 3e-4)
 *                | true | false
 * Keywords are case-insensitive. KEY is letters, digits and _ - / : . , or any text in
 * backticks or double quotes (params.`my key`, metrics."a b"; the quote doubled inside).
 * metrics.KEY is the last logged value (at the highest step); .min, .max and .count read the
 * run's summary. A trailing .min/.max/.count/.last always means the summary: quote the key
 * (metrics.`x.min`) for a metric really named so.
 * Types: metrics and id, seed, start_time, end_time, duration are numbers and compare with
 * numbers (start_time/end_time also with a local date 'YYYY-MM-DD[ HH:MM[:SS]]'). Params are
 * stored as text with a type: against a number a param compares numerically and only when
 * its type is int or float (a string param never equals 5); against text it compares its
 * text ('5' equals the int param 5; true/false compare as 'true'/'false'). Tags and the
 * other attributes are text. LIKE is case-sensitive, ILIKE not; % matches any run of
 * characters, _ one, and a backslash makes the next one literal.
 * A comparison with a key the run does not have is unknown (SQL NULL), so neither
 * `params.x = 'a'` nor `NOT params.x = 'a'` matches a run without x; IS NULL finds those.
 * Deleted runs never match. Limits: 64 KiB of text, nesting 64 deep, 256 comparisons and
 * 1000 values per IN list. Values never reach SQL as text: they are bound (?). */
#ifndef LUNDI_HISTORY_H
#define LUNDI_HISTORY_H

#include <stddef.h>
#include <stdint.h>

#include "lundi/store.h"

#ifdef __cplusplus
extern "C" {
#endif

/* ---- tables of values ---- */

typedef enum lundi_cell_type {
  LUNDI_CELL_NULL = 0,
  LUNDI_CELL_INT,
  LUNDI_CELL_REAL,
  LUNDI_CELL_TEXT
} lundi_cell_type;

typedef struct lundi_cell {
  lundi_cell_type type;
  int64_t i; /* LUNDI_CELL_INT */
  double d;  /* LUNDI_CELL_REAL */
  char *s;   /* LUNDI_CELL_TEXT: owned, NUL-terminated (a BLOB is shown as "<N bytes>") */
} lundi_cell;

typedef struct lundi_table {
  int n_cols;
  int64_t n_rows;
  char **cols;       /* column names */
  lundi_cell *cells; /* n_rows * n_cols, row-major */
} lundi_table;
void lundi_table_free(lundi_table *t);
const lundi_cell *lundi_table_at(const lundi_table *t, int64_t row, int col);

/* ---- the filter language ---- */

typedef struct lundi_filter {
  char *sql;          /* a boolean SQL expression over `runs AS r`, values as ? only */
  lundi_cell *binds;  /* the values for the ?s, in order */
  int n_binds;
  char **fields;      /* the distinct fields the expression reads, as written */
  int n_fields;
} lundi_filter;
/* Compiles expr (NULL or blank: "1", every run). On a syntax error *err_column (when not
 * NULL) receives the 1-based column (in characters) the message names, else 0. */
int lundi_filter_compile(const char *expr, lundi_filter *out, int *err_column);
void lundi_filter_free(lundi_filter *f);

/* ---- listing runs ---- */

typedef struct lundi_runs_query {
  const char *where;    /* a filter expression, or NULL */
  const char *order_by; /* "FIELD [ASC|DESC], ...", or NULL: start_time DESC. Runs without
                           the field come last either way; ties go to the newer id */
  const char *columns;  /* "FIELD,FIELD,...", or NULL: id, uuid, name, status, start_time,
                           duration, then each field where and order_by read */
  int64_t limit;        /* <= 0: all */
  int include_deleted;
  /* Set on an error in one of the texts above: "where", "order_by" or "columns", and the
   * 1-based column in it (0 when the message names no column). NULL otherwise. */
  const char *err_option;
  int err_column;
} lundi_runs_query;
/* One row per run; the columns are named by their fields as written. */
int lundi_history_runs(lundi_store *s, lundi_runs_query *q, lundi_table *out);

/* ---- one run ---- */

/* Resolves "42" (id), a uuid or a unique uuid prefix (4+ hex digits), "last" (the newest
 * run) or "-N" (the Nth newest: -1 is the last). */
int lundi_history_resolve(lundi_store *s, const char *ref, int64_t *run_id);
/* For a filter that matched nothing: *note is a line per metrics/params/tags key the filter
 * reads that no run has ("no run has params.stepz (did you mean params.steps?)"), NULL when
 * every key exists somewhere. Free it with free(). */
int lundi_history_missing_keys(lundi_store *s, const char *where, char **note);

typedef struct lundi_kv {
  char *key, *value, *type; /* type: params only ("int", "float", "bool", "string") */
} lundi_kv;

typedef struct lundi_metric_summary {
  char *key;
  int64_t count, last_step;
  double last, min, max; /* NaN when not recorded */
} lundi_metric_summary;

typedef struct lundi_output_info {
  int64_t id;
  char *kind, *name, *mime, *sha256, *metadata; /* name, mime, metadata may be NULL */
  int64_t size;
  char *path;  /* the blob file as stored (relative to the DB's directory), or NULL: inline */
  double created;
} lundi_output_info;

typedef struct lundi_plugin_use {
  char *kind, *name, *version, *params, *origin; /* any may be NULL */
} lundi_plugin_use;

typedef struct lundi_plugin_file {
  char *path, *sha256, *role; /* as in plugin_files (lundi/store.h) */
} lundi_plugin_file;

typedef struct lundi_run_record {
  int64_t id;
  char *uuid, *name, *script_path, *script_sha256, *script_text, *lundi_version, *device;
  char *status, *exit_message, *host; /* NULL when not recorded */
  int64_t seed, pid;
  int has_seed, deleted;
  double start_time, end_time; /* unix seconds; NaN when not recorded */
  lundi_kv *params;
  int n_params;
  lundi_kv *tags;
  int n_tags;
  lundi_metric_summary *metrics;
  int n_metrics;
  lundi_output_info *outputs;
  int n_outputs;
  lundi_plugin_use *plugins;
  int n_plugins;
  char *cwd;                /* the working directory at the start; NULL before schema 3 */
  lundi_plugin_file *files; /* the files it loaded, in the order recorded */
  int n_files;
} lundi_run_record;
/* ref as for lundi_history_resolve. *out is allocated; free with lundi_run_record_free. */
int lundi_history_run(lundi_store *s, const char *ref, lundi_run_record **out);
void lundi_run_record_free(lundi_run_record *r); /* NULL is fine */

/* ---- metric series ---- */

typedef struct lundi_metric_series {
  int64_t n;
  int64_t *steps;
  double *values, *wall_times; /* NaN stays NaN */
} lundi_metric_series;
/* In step order (logging order on ties). A key the run never logged is an error that
 * lists the keys it has. */
int lundi_history_metric(lundi_store *s, int64_t run_id, const char *key, lundi_metric_series *out);
void lundi_metric_series_free(lundi_metric_series *m);

/* ---- comparing runs ---- */

typedef struct lundi_comparison {
  int n_runs;
  lundi_run_record **runs;
  int n_rows;
  char **fields;          /* status, seed, device, script_sha256, duration, then params.K,
                             tags.K, metrics.K, then plugins.KIND (the names) and
                             plugins.KIND.NAME.PARAM, each group sorted by key */
  lundi_cell *cells;      /* n_rows * n_runs; NULL where a run lacks the field */
  unsigned char *differs; /* per row: 1 when the runs' values are not all equal (never for
                             duration, which nearly always differs) */
  int *best;              /* per row: the index of the run with the best metric, else -1 */
} lundi_comparison;
/* Best is the lowest final value, or the highest for keys that read as a score (containing
 * acc, score, psnr, ssim, reward, auc, precision, recall, f1 or iou). */
int lundi_history_compare(lundi_store *s, const char *const *refs, int n, lundi_comparison *out);
void lundi_comparison_free(lundi_comparison *c);
int lundi_metric_higher_is_better(const char *key);

/* ---- outputs, export, provenance ---- */

/* The bytes of an output (inline or from its blob file), checked against its sha256. */
int lundi_history_output_data(lundi_store *s, int64_t output_id, uint8_t **data, size_t *size);
/* Writes each output as a file, the script (as its base name, or script.lua), each file the
 * run loaded (lundi_run_record.files) that still has its recorded sha256 as
 * plugins/<base name> ("-2", ... on a clash), and manifest.json (run info, params, tags,
 * metric summaries, plugins, plugin_files with path, sha256, role and the copy's file name
 * (null, with not_copied saying why, for one gone or changed), outputs with their file name
 * and sha256) into dir, created when missing. File names come from the output
 * names made safe ('/' and control characters become '_'), with an extension from the mime
 * type, and "-<id>" added on a clash. *manifest (when not NULL) receives the malloc'd path of
 * manifest.json. */
int lundi_history_export(lundi_store *s, int64_t run_id, const char *dir, char **manifest);
/* The run (and output, or -1) a PNG file comes from: by its `lundi` text chunk (a run uuid,
 * or JSON with "run"/"uuid" and "output"), else by the file's sha256 among the outputs. */
int lundi_history_which(lundi_store *s, const char *png_path, int64_t *run_id, int64_t *output_id);

/* ---- maintenance ---- */

typedef struct lundi_gc_report {
  int64_t outputs_removed; /* rows of deleted runs */
  int64_t files_removed;   /* blob files no row references */
  int64_t bytes_freed;     /* of both */
  int64_t files_young;     /* unreferenced files kept for being newer than grace_s */
} lundi_gc_report;
/* Called for each thing removed (or that would be, with dry_run): what is "output" (name is
 * "run R output O name") or "file" (name is the file's path). */
typedef void (*lundi_gc_fn)(void *ud, const char *what, const char *name, int64_t bytes);
/* Removes the outputs of runs marked deleted, then the files under <db>.blobs/ that no
 * output references and that are older than grace_s seconds (a running `lundi run` writes
 * its blob file just before the row). dry_run changes nothing. s must be writable. */
int lundi_history_gc(lundi_store *s, int dry_run, double grace_s, lundi_gc_fn fn, void *ud,
                     lundi_gc_report *rep);
/* Marks a run deleted (1) or not (0); its rows stay until lundi_history_gc. */
int lundi_history_set_deleted(lundi_store *s, int64_t run_id, int deleted);
/* Adds or replaces a tag on a finished run. */
int lundi_history_set_tag(lundi_store *s, int64_t run_id, const char *key, const char *value);

/* One read-only SQL statement on the DB at db_path, on its own connection opened with
 * SQLITE_OPEN_READONLY and query_only; statements that would write, ATTACH/DETACH, and
 * PRAGMAs that set a value are refused with a clear error before anything runs. */
int lundi_history_sql(const char *db_path, const char *sql, lundi_table *out);

#ifdef __cplusplus
}
#endif
#endif
