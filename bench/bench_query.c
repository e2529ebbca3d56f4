/* bench_query [DB]: times filtered run listings (lundi/history.h) over 10,000 runs and
 * prints SQLite's query plan for each filter.
 *
 * The store (default /tmp/lundi-bench-query.db) is built once through the writing API
 * (lundi/store.h: one run = a few small transactions) and reused while it holds 10,000
 * runs. Each run: params sampler (ddim/euler/dpm++), steps (int), lr (float); tag model;
 * metrics loss (4 steps) and acc. Timings: the median of 5 calls of lundi_history_runs. */
#include <sqlite3.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "lundi/history.h"
#include "lundi/lundi.h"

#define N_RUNS 10000

static double now(void) {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return (double)ts.tv_sec + (double)ts.tv_nsec * 1e-9;
}

static int64_t count_runs(const char *path) {
  sqlite3 *db = NULL;
  sqlite3_stmt *st = NULL;
  int64_t n = -1;
  if (sqlite3_open_v2(path, &db, SQLITE_OPEN_READONLY, NULL) == SQLITE_OK &&
      sqlite3_prepare_v2(db, "SELECT count(*) FROM runs", -1, &st, NULL) == SQLITE_OK && sqlite3_step(st) == SQLITE_ROW)
    n = sqlite3_column_int64(st, 0);
  sqlite3_finalize(st);
  sqlite3_close(db);
  return n;
}

static int build(const char *path) {
  remove(path);
  lundi_store *s = lundi_store_open(path, 0);
  if (!s) return fprintf(stderr, "%s\n", lundi_last_error()), 1;
  static const char *const samplers[] = {"ddim", "euler", "dpm++"};
  static const char *const models[] = {"unet-small", "unet-large", "dit-xl", "unet-tiny"};
  uint64_t x = 88172645463325252ull;
  double t0 = now();
  for (int i = 0; i < N_RUNS; i++) {
    char name[32], steps[16], lr[32];
    snprintf(name, sizeof name, "run%05d", i);
    lundi_run_info info = {.name = name, .script_path = "bench.lua", .script_text = "-- bench\n", .device = "cpu",
                           .seed = i};
    lundi_run *r = lundi_run_begin(s, &info);
    if (!r) return fprintf(stderr, "%s\n", lundi_last_error()), 1;
    x ^= x << 13, x ^= x >> 7, x ^= x << 17;
    snprintf(steps, sizeof steps, "%d", 10 + (int)(x % 100));
    snprintf(lr, sizeof lr, "%g", 1e-4 * (double)(1 + x % 50));
    double final = (double)(x >> 11) / 9007199254740992.0 * 0.5; /* uniform 0..0.5: 10% below 0.05 */
    int rc = lundi_run_param(r, "sampler", samplers[i % 3], "string") | lundi_run_param(r, "steps", steps, "int") |
             lundi_run_param(r, "lr", lr, "float") | lundi_run_tag(r, "model", models[(i / 3) % 4]);
    for (int k = 0; k < 4; k++) rc |= lundi_run_log(r, "loss", k, final * (4 - k));
    rc |= lundi_run_log(r, "acc", 3, 1 - final);
    rc |= lundi_run_end(r, i % 17 == 0 ? LUNDI_RUN_FAILED : LUNDI_RUN_FINISHED, NULL);
    if (rc) return fprintf(stderr, "%s\n", lundi_last_error()), 1;
    if ((i + 1) % 2000 == 0) fprintf(stderr, "  %d runs written (%.1f s)\n", i + 1, now() - t0);
  }
  printf("built %s: %d runs in %.1f s (%.2f ms a run)\n", path, N_RUNS, now() - t0, (now() - t0) * 1e3 / N_RUNS);
  lundi_store_close(s);
  return 0;
}

static void plan(lundi_store *s, const char *where) {
  lundi_filter f;
  if (lundi_filter_compile(where, &f, NULL) != 0) return;
  sqlite3 *db = NULL;
  sqlite3_open_v2(lundi_store_path(s), &db, SQLITE_OPEN_READONLY, NULL);
  char *sql = sqlite3_mprintf("EXPLAIN QUERY PLAN SELECT r.id FROM runs AS r WHERE r.deleted = 0 AND %s", f.sql);
  sqlite3_stmt *st = NULL;
  if (sqlite3_prepare_v2(db, sql, -1, &st, NULL) == SQLITE_OK) {
    for (int i = 0; i < f.n_binds; i++) {
      const lundi_cell *b = &f.binds[i];
      if (b->type == LUNDI_CELL_TEXT) sqlite3_bind_text(st, i + 1, b->s, -1, SQLITE_TRANSIENT);
      else if (b->type == LUNDI_CELL_INT) sqlite3_bind_int64(st, i + 1, b->i);
      else if (b->type == LUNDI_CELL_REAL) sqlite3_bind_double(st, i + 1, b->d);
    }
    while (sqlite3_step(st) == SQLITE_ROW) printf("    plan: %s\n", (const char *)sqlite3_column_text(st, 3));
  }
  sqlite3_finalize(st);
  sqlite3_free(sql);
  sqlite3_close(db);
  lundi_filter_free(&f);
}

static int cmp(const void *a, const void *b) {
  double x = *(const double *)a, y = *(const double *)b;
  return x < y ? -1 : x > y;
}

static void bench(lundi_store *s, const char *where, const char *order, int64_t limit) {
  double t[5];
  int64_t rows = 0;
  for (int k = 0; k < 5; k++) {
    lundi_runs_query q = {.where = where, .order_by = order, .limit = limit};
    lundi_table tab;
    double t0 = now();
    if (lundi_history_runs(s, &q, &tab) != 0) {
      fprintf(stderr, "%s\n", lundi_last_error());
      return;
    }
    t[k] = now() - t0;
    rows = tab.n_rows;
    lundi_table_free(&tab);
  }
  qsort(t, 5, sizeof *t, cmp);
  printf("%8.2f ms  %5lld rows  where %s%s%s%s\n", t[2] * 1e3, (long long)rows, where ? where : "(none)",
         order ? "  order by " : "", order ? order : "", limit ? "  limit" : "");
  if (where) plan(s, where);
}

int main(int argc, char **argv) {
  const char *path = argc > 1 ? argv[1] : "/tmp/lundi-bench-query.db";
  if (count_runs(path) != N_RUNS && build(path) != 0) return 1;
  lundi_store *s = lundi_store_open(path, LUNDI_STORE_READONLY);
  if (!s) return fprintf(stderr, "%s\n", lundi_last_error()), 1;
  printf("%d runs in %s; lundi_history_runs, median of 5:\n", N_RUNS, path);
  bench(s, "metrics.loss < 0.05 and params.sampler = 'ddim'", NULL, 0);
  bench(s, "metrics.loss < 0.05 and params.sampler = 'ddim'", "metrics.loss", 20);
  bench(s, "tags.model LIKE 'unet%' and status = 'finished'", NULL, 0);
  bench(s, "params.steps > 50 and params.lr < 0.001", NULL, 0);
  bench(s, "not params.sampler = 'ddim' and metrics.acc.max > 0.9", NULL, 0);
  bench(s, NULL, NULL, 0);
  lundi_store_close(s);
  return 0;
}
