/* Schema migrations, table-driven: steps[v] takes a file from user_version v to v + 1.
 * Each step runs in one IMMEDIATE transaction that re-reads user_version first (another
 * process may have migrated meanwhile) and bumps it before COMMIT, so a crash mid-step
 * leaves the previous version intact. */
#include "store/store_internal.h"

#include "lundi/error.h"

#include <stdio.h>

/* v1: runs, params, metrics, tags, outputs (no metadata), plugins_used. */
static const char v0_to_v1[] =
    "CREATE TABLE runs("
    " id INTEGER PRIMARY KEY, uuid TEXT UNIQUE NOT NULL, name TEXT, script_path TEXT,"
    " script_sha256 TEXT, script_text TEXT, lundi_version TEXT, device TEXT, seed INTEGER,"
    " status TEXT NOT NULL CHECK (status IN ('running','finished','failed','interrupted')),"
    " start_time REAL, end_time REAL, exit_message TEXT, pid INTEGER, host TEXT,"
    " deleted INTEGER NOT NULL DEFAULT 0);"
    "CREATE INDEX runs_status ON runs(status);"
    "CREATE INDEX runs_start_time ON runs(start_time);"
    "CREATE TABLE params("
    " run_id INTEGER NOT NULL REFERENCES runs(id) ON DELETE CASCADE,"
    " key TEXT NOT NULL, value TEXT, type TEXT NOT NULL"
    "  CHECK (type IN ('int','float','bool','string')),"
    " PRIMARY KEY(run_id, key));"
    "CREATE INDEX params_key_value ON params(key, value);"
    "CREATE TABLE metrics("
    " run_id INTEGER NOT NULL REFERENCES runs(id) ON DELETE CASCADE,"
    " key TEXT NOT NULL, step INTEGER NOT NULL, value REAL, wall_time REAL);"
    "CREATE INDEX metrics_run_key_step ON metrics(run_id, key, step);"
    "CREATE TABLE tags("
    " run_id INTEGER NOT NULL REFERENCES runs(id) ON DELETE CASCADE,"
    " key TEXT NOT NULL, value TEXT, PRIMARY KEY(run_id, key));"
    "CREATE INDEX tags_key_value ON tags(key, value);"
    "CREATE TABLE outputs("
    " id INTEGER PRIMARY KEY, run_id INTEGER NOT NULL REFERENCES runs(id) ON DELETE CASCADE,"
    " kind TEXT NOT NULL CHECK (kind IN ('image','text','trajectory','checkpoint','file')),"
    " name TEXT, mime TEXT, sha256 TEXT NOT NULL, size INTEGER NOT NULL, data BLOB, path TEXT,"
    " created REAL);"
    "CREATE INDEX outputs_run ON outputs(run_id);"
    "CREATE INDEX outputs_sha256 ON outputs(sha256);"
    "CREATE TABLE plugins_used("
    " run_id INTEGER NOT NULL REFERENCES runs(id) ON DELETE CASCADE,"
    " kind TEXT, name TEXT, version TEXT, params TEXT, origin TEXT);"
    "CREATE INDEX plugins_used_run ON plugins_used(run_id);";

/* v2: metric_summary (backfilled from metrics: the last value is the one at the highest
 * step, the latest logged on ties) and outputs.metadata. */
static const char v1_to_v2[] =
    "CREATE TABLE metric_summary("
    " run_id INTEGER NOT NULL REFERENCES runs(id) ON DELETE CASCADE,"
    " key TEXT NOT NULL, count INTEGER NOT NULL, last_step INTEGER, last_value REAL,"
    " min_value REAL, max_value REAL, PRIMARY KEY(run_id, key));"
    "CREATE INDEX metric_summary_key_last ON metric_summary(key, last_value);"
    "INSERT INTO metric_summary(run_id, key, count, last_step, last_value, min_value, max_value)"
    " SELECT m.run_id, m.key, count(*), max(m.step),"
    "  (SELECT l.value FROM metrics l WHERE l.run_id = m.run_id AND l.key = m.key"
    "   ORDER BY l.step DESC, l.rowid DESC LIMIT 1),"
    "  min(m.value), max(m.value)"
    " FROM metrics m GROUP BY m.run_id, m.key;"
    "ALTER TABLE outputs ADD COLUMN metadata TEXT;";

/* v3: the working directory a run started in, and the files it loaded (plugin files and
 * the Lua files its script loaded) with their sha256, so a rerun can reload and check them.
 * Older runs have cwd NULL and no rows. */
static const char v2_to_v3[] =
    "ALTER TABLE runs ADD COLUMN cwd TEXT;"
    "CREATE TABLE plugin_files("
    " run_id INTEGER NOT NULL REFERENCES runs(id) ON DELETE CASCADE,"
    " path TEXT NOT NULL, sha256 TEXT NOT NULL,"
    " role TEXT NOT NULL CHECK (role IN ('plugin','path','lua')),"
    " PRIMARY KEY(run_id, path));";

static const char *const steps[] = {v0_to_v1, v1_to_v2, v2_to_v3};
_Static_assert(sizeof steps / sizeof steps[0] == LUNDI_STORE_SCHEMA_VERSION,
               "one migration step per schema version");

static int user_version(sqlite3 *db, int *v) {
  sqlite3_stmt *st = NULL;
  int rc = sqlite3_prepare_v2(db, "PRAGMA user_version", -1, &st, NULL);
  if (rc == SQLITE_OK) rc = sqlite3_step(st);
  if (rc == SQLITE_ROW) {
    *v = sqlite3_column_int(st, 0);
    rc = SQLITE_OK;
  }
  sqlite3_finalize(st);
  return rc;
}

static int fail(sqlite3 *db, int from) {
  int code = lundi_set_error(LUNDI_EIO, "store: migrating %s from schema version %d to %d failed: %s",
                             sqlite3_db_filename(db, "main"), from, from + 1, sqlite3_errmsg(db));
  sqlite3_exec(db, "ROLLBACK", NULL, NULL, NULL);
  return code;
}

int lundi__store_migrate(sqlite3 *db, int target) {
  if (target < 0 || target > LUNDI_STORE_SCHEMA_VERSION)
    return lundi_set_error(LUNDI_EINVAL, "store: no schema version %d (supported: 0..%d)", target,
                           LUNDI_STORE_SCHEMA_VERSION);
  for (;;) {
    int v = 0;
    if (sqlite3_exec(db, "BEGIN IMMEDIATE", NULL, NULL, NULL) != SQLITE_OK) return fail(db, -1);
    if (user_version(db, &v) != SQLITE_OK) return fail(db, v);
    if (v >= target) { /* done (possibly by another process) */
      sqlite3_exec(db, "COMMIT", NULL, NULL, NULL);
      return 0;
    }
    if (sqlite3_exec(db, steps[v], NULL, NULL, NULL) != SQLITE_OK) return fail(db, v);
    char bump[48]; /* an integer we produce, not user text */
    snprintf(bump, sizeof bump, "PRAGMA user_version = %d", v + 1);
    if (sqlite3_exec(db, bump, NULL, NULL, NULL) != SQLITE_OK) return fail(db, v);
    if (sqlite3_exec(db, "COMMIT", NULL, NULL, NULL) != SQLITE_OK) return fail(db, v);
  }
}
