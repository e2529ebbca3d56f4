/* Private to the store (the files in runtime/store): the handle layout and the small SQL
 * helpers every store file uses. What the store's own tests may reach is store_hooks.h. */
#ifndef LUNDI_STORE_INTERNAL_H
#define LUNDI_STORE_INTERNAL_H

#include "lundi/store.h"
#include "store/store_hooks.h"

#include <sqlite3.h>

struct lundi_store {
  sqlite3 *db;
  char *path;     /* as given (or the default) */
  char *dir;      /* the DB's directory, for blob files; "." when path has no slash */
  char *base;     /* the DB's file name, for "<base>.blobs/..." */
  int version;    /* PRAGMA user_version after open (migrations done when writable) */
  int readonly;
};


/* Marks runs of this host left "running" by a process that is gone as failed (crashed).
 * Returns the number of runs reaped, or a negative status. */
int lundi__store_reap(lundi_store *s);
/* SQL functions every connection has: lundi_status(status, pid, host, start_time) (reap.c). */
int lundi__store_add_functions(sqlite3 *db);

/* Sets the lundi error from db's last SQLite error: "<what> in <path>: <sqlite message>". */
int lundi__store_sqlerr(lundi_store *s, const char *what);

/* Runs one statement without results (no bound values: constant SQL only). */
int lundi__store_exec(lundi_store *s, const char *sql);




/* A run being written. Metrics wait in buf until a flush writes them in one transaction. */
/* Rows per multi-row INSERT: fewer statement executions per flush. */
#define LUNDI__METRIC_ROWS 64

typedef struct lundi__metric {
  int key;        /* index into run->keys */
  int64_t step;
  double value, wall;
} lundi__metric;

struct lundi_run {
  lundi_store *s;
  int64_t id;
  char uuid[37];
  char **keys; /* interned metric keys */
  int nkeys, capkeys, lastkey;
  lundi__metric *buf;
  size_t n, cap;
  size_t flush_at;      /* flush when n reaches this (LUNDI_RUN_FLUSH_EVERY after a flush) */
  double last_flush;    /* monotonic seconds */
  sqlite3_stmt *ins_metric, *ins_metrics, *upsert_summary; /* ins_metrics: LUNDI__METRIC_ROWS rows */
};

double lundi__store_monotonic(void);
void lundi__run_free_metrics(lundi_run *r);
#endif
