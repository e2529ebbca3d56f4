/* Reaping: a run still "running" whose process is gone crashed (SIGKILL, OOM killer, power
 * loss). Only runs of this host are judged; a pid is gone when kill(pid, 0) says ESRCH, or
 * when the process now holding that pid started after the run did (the pid was reused),
 * which /proc/<pid>/stat and /proc/stat tell without storing anything extra. */
#include "store/store_internal.h"

#include "lundi/error.h"

#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/types.h>
#include <unistd.h>

/* Unix time the process pid started, or a negative number when unknown. */
static double process_start(long pid) {
  char path[64], buf[1024];
  snprintf(path, sizeof path, "/proc/%ld/stat", pid);
  FILE *f = fopen(path, "r");
  if (!f) return -1;
  size_t n = fread(buf, 1, sizeof buf - 1, f);
  fclose(f);
  buf[n] = 0;
  char *p = strrchr(buf, ')'); /* comm may contain spaces and parentheses */
  if (!p) return -1;
  /* After ")": field 3 (state) ... field 22 (starttime, clock ticks since boot). */
  unsigned long long ticks = 0;
  int field = 2;
  for (char *tok = strtok(p + 1, " "); tok; tok = strtok(NULL, " ")) {
    if (++field == 22) {
      ticks = strtoull(tok, NULL, 10);
      break;
    }
  }
  if (field != 22) return -1;
  f = fopen("/proc/stat", "r");
  if (!f) return -1;
  double btime = -1;
  char line[256];
  while (fgets(line, sizeof line, f))
    if (strncmp(line, "btime ", 6) == 0) btime = strtod(line + 6, NULL);
  fclose(f);
  long hz = sysconf(_SC_CLK_TCK);
  if (btime < 0 || hz <= 0) return -1;
  return btime + (double)ticks / (double)hz;
}

static int gone(long pid, double run_start) {
  if (pid <= 0) return 0;
  if (kill((pid_t)pid, 0) != 0 && errno == ESRCH) return 1;
  double ps = process_start(pid);
  /* btime has 1 s resolution; a 2 s margin keeps a live run from being judged reused. */
  return ps > 0 && run_start > 0 && ps > run_start + 2.0;
}

/* lundi_status(status, pid, host, start_time): the status a reader should see. A run still
 * 'running' whose process on this host is gone shows as 'crashed' even where the store cannot
 * be written (a read-only open does not reap). */
static void live_status(sqlite3_context *ctx, int argc, sqlite3_value **v) {
  (void)argc;
  const char *status = (const char *)sqlite3_value_text(v[0]);
  if (!status) {
    sqlite3_result_null(ctx);
    return;
  }
  char host[256] = "";
  gethostname(host, sizeof host - 1);
  const char *run_host = (const char *)sqlite3_value_text(v[2]);
  int crashed = !strcmp(status, "running") && run_host && !strcmp(run_host, host) &&
                gone((long)sqlite3_value_int64(v[1]), sqlite3_value_double(v[3]));
  sqlite3_result_text(ctx, crashed ? "crashed" : status, -1, crashed ? SQLITE_STATIC : SQLITE_TRANSIENT);
}

int lundi__store_add_functions(sqlite3 *db) {
  return sqlite3_create_function_v2(db, "lundi_status", 4, SQLITE_UTF8, NULL, live_status, NULL, NULL, NULL);
}

int lundi__store_reap(lundi_store *s) {
  char host[256] = "";
  gethostname(host, sizeof host - 1);
  sqlite3_stmt *sel = NULL, *upd = NULL;
  int reaped = 0, rc = 0;
  if (sqlite3_prepare_v2(s->db,
                         "SELECT id, pid, start_time FROM runs WHERE status = 'running' AND host = ?",
                         -1, &sel, NULL) != SQLITE_OK ||
      sqlite3_prepare_v2(s->db,
                         "UPDATE runs SET status = 'failed', exit_message = ?,"
                         " end_time = coalesce((SELECT max(wall_time) FROM metrics"
                         "  WHERE run_id = runs.id), ?) WHERE id = ? AND status = 'running'",
                         -1, &upd, NULL) != SQLITE_OK) {
    rc = lundi__store_sqlerr(s, "looking for crashed runs");
    goto out;
  }
  sqlite3_bind_text(sel, 1, host, -1, SQLITE_STATIC);
  /* Collect first: updating while the SELECT is open would hold its read snapshot. */
  int64_t ids[64];
  long pids[64];
  int n;
again:
  n = 0;
  while (n < 64 && sqlite3_step(sel) == SQLITE_ROW) {
    long pid = (long)sqlite3_column_int64(sel, 1);
    if (gone(pid, sqlite3_column_double(sel, 2))) {
      ids[n] = sqlite3_column_int64(sel, 0);
      pids[n++] = pid;
    }
  }
  sqlite3_reset(sel);
  for (int i = 0; i < n; i++) {
    char msg[96];
    snprintf(msg, sizeof msg, "crashed (process %ld is gone)", pids[i]);
    sqlite3_bind_text(upd, 1, msg, -1, SQLITE_TRANSIENT);
    sqlite3_bind_double(upd, 2, lundi__store_now());
    sqlite3_bind_int64(upd, 3, ids[i]);
    if (sqlite3_step(upd) != SQLITE_DONE) {
      rc = lundi__store_sqlerr(s, "marking a crashed run as failed");
      goto out;
    }
    reaped += sqlite3_changes(s->db);
    sqlite3_reset(upd);
  }
  if (n == 64) goto again; /* more than one batch of crashed runs */
out:
  sqlite3_finalize(sel);
  sqlite3_finalize(upd);
  return rc ? rc : reaped;
}
