/* The experiment store: one SQLite file recording runs, params, metrics, tags, outputs and
 * the plugins each run used.
 *
 * Schema (PRAGMA user_version = LUNDI_STORE_SCHEMA_VERSION; older files are migrated on open,
 * one step per version, each step in one transaction):
 *   runs(id INTEGER PRIMARY KEY, uuid TEXT UNIQUE NOT NULL, name TEXT, script_path TEXT,
 *        script_sha256 TEXT, script_text TEXT, lundi_version TEXT, device TEXT, seed INTEGER,
 *        status TEXT NOT NULL  -- running | finished | failed | interrupted
 *        start_time REAL, end_time REAL,      -- unix seconds
 *        exit_message TEXT, pid INTEGER, host TEXT, deleted INTEGER NOT NULL DEFAULT 0,
 *        cwd TEXT)           -- the working directory at the start (NULL before schema 3)
 *   params(run_id -> runs.id, key TEXT, value TEXT, type TEXT, PRIMARY KEY(run_id, key))
 *        -- type: "int" | "float" | "bool" | "string"
 *   metrics(run_id -> runs.id, key TEXT, step INTEGER, value REAL, wall_time REAL)
 *        -- index (run_id, key, step)
 *   metric_summary(run_id -> runs.id, key TEXT, count INTEGER, last_step INTEGER,
 *        last_value REAL, min_value REAL, max_value REAL, PRIMARY KEY(run_id, key))
 *        -- kept up to date in the same transaction as each metrics flush, so filters on
 *        -- metrics.<key> (the last value, as in MLflow) need no scan of metrics
 *   tags(run_id -> runs.id, key TEXT, value TEXT, PRIMARY KEY(run_id, key))
 *   outputs(id INTEGER PRIMARY KEY, run_id -> runs.id, kind TEXT NOT NULL
 *        -- image | text | trajectory | checkpoint | file
 *        name TEXT, mime TEXT, sha256 TEXT NOT NULL, size INTEGER NOT NULL,
 *        data BLOB,      -- inline when size <= LUNDI_STORE_INLINE_MAX, else NULL
 *        path TEXT,      -- else the blob file, relative to the DB's directory:
 *                        -- "<db name>.blobs/<sha256[0:2]>/<sha256>"
 *        metadata TEXT,  -- JSON object
 *        created REAL)
 *   plugins_used(run_id -> runs.id, kind TEXT, name TEXT, version TEXT, params TEXT, origin TEXT)
 *        -- params: the JSON of lundi_params_to_json()
 *   plugin_files(run_id -> runs.id, path TEXT NOT NULL, sha256 TEXT NOT NULL,
 *        role TEXT NOT NULL, PRIMARY KEY(run_id, path))
 *        -- each file the run loaded, by absolute path, with its sha256 when loaded; role:
 *        -- plugin (--plugin), path (LUNDI_PLUGIN_PATH), lua (a Lua file the script loaded
 *        -- with dofile, loadfile or require)
 * Foreign keys are on, with ON DELETE CASCADE from runs. The DB runs in WAL mode with a busy
 * timeout, so several processes may write at once. A NaN metric is stored as NULL (SQLite
 * has no NaN); the summary's min/max skip it; infinities are kept.
 *
 * Lifetimes: end every run (lundi_run_end) before lundi_store_close() of its store.
 * Read-only opens (LUNDI_STORE_READONLY) work on read-only files and directories; they refuse
 * a file with an older schema, since migrating would write ("run any recording lundi
 * command on it once").
 */
#ifndef LUNDI_STORE_H
#define LUNDI_STORE_H

#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

#define LUNDI_STORE_SCHEMA_VERSION 3
#define LUNDI_STORE_INLINE_MAX (256 * 1024) /* bytes; larger outputs go to blob files */

typedef struct lundi_store lundi_store;
typedef struct lundi_run lundi_run;

enum { LUNDI_STORE_READONLY = 1 };

/* The DB path: path if not NULL, else $LUNDI_DB, else "./lundi.db"; never NULL. */
const char *lundi_store_default_path(const char *path);
/* Opens (creating and migrating when writable) and then marks every run still "running"
 * whose process is gone (same host, dead pid) as "failed" with exit_message "crashed".
 * A read-only, locked-for-too-long, corrupt or newer-than-supported file is a clear error
 * naming the file; nothing in it is changed then. */
lundi_store *lundi_store_open(const char *path, int flags);
void lundi_store_close(lundi_store *s); /* NULL is fine */
const char *lundi_store_path(const lundi_store *s);
int lundi_store_schema_version(const lundi_store *s);
/* The DB's directory ("." when its path has no slash) and file name: blob files live in
 * "<dir>/<base>.blobs/", and writers may put temporary files in <dir>. NULL for NULL. */
const char *lundi_store_dir(const lundi_store *s);
const char *lundi_store_base(const lundi_store *s);

typedef enum lundi_run_status {
  LUNDI_RUN_RUNNING = 0,
  LUNDI_RUN_FINISHED,
  LUNDI_RUN_FAILED,
  LUNDI_RUN_INTERRUPTED
} lundi_run_status;
const char *lundi_run_status_name(lundi_run_status st); /* "running", ... */

typedef struct lundi_run_info {
  const char *name;        /* may be NULL */
  const char *script_path; /* may be NULL */
  const char *script_text; /* may be NULL; its sha256 is stored too */
  const char *device;      /* e.g. "cpu", "vulkan:0" */
  int64_t seed;
  int no_seed;             /* 1: the run has no seed (yet): NULL, not 0 */
} lundi_run_info;

/* Starts a run (status running, this pid, host and working directory, a fresh uuid v4). */
lundi_run *lundi_run_begin(lundi_store *s, const lundi_run_info *info);
int64_t lundi_run_id(const lundi_run *r);
const char *lundi_run_uuid(const lundi_run *r);
lundi_store *lundi_run_store(const lundi_run *r); /* the store r writes to */

/* type: "int" | "float" | "bool" | "string". Setting a key twice keeps the last value. An
 * int param named "seed" is the run's seed too (the one `lundi runs`/`show` list). */
int lundi_run_param(lundi_run *r, const char *key, const char *value, const char *type);
int lundi_run_tag(lundi_run *r, const char *key, const char *value);
/* A device the run moved to: appended to its device field ("cpu, vulkan:0"), once each. */
int lundi_run_add_device(lundi_run *r, const char *device);
/* Buffered: flushed in one transaction every LUNDI_RUN_FLUSH_EVERY values, or when a log call
 * finds the last flush older than 1 s, and by flush/end. NaN and inf are stored as given. */
#define LUNDI_RUN_FLUSH_EVERY 4096
int lundi_run_log(lundi_run *r, const char *key, int64_t step, double value);
int lundi_run_flush(lundi_run *r);
int lundi_run_plugin(lundi_run *r, const char *kind, const char *name, const char *version,
                     const char *params_json, const char *origin);
/* Records a file the run loaded: its absolute path (a relative one is taken from the
 * working directory, symlinks resolved) and the sha256 of its bytes now. role: "plugin",
 * "path" or "lua" (see plugin_files above). A path recorded already for this run keeps its
 * first row (0). A file that cannot be read is an error naming it; nothing is recorded. */
int lundi_run_plugin_file(lundi_run *r, const char *path, const char *role);
/* Stores bytes (inline or as a content-addressed blob file, written atomically before the
 * row). kind: image | text | trajectory | checkpoint | file. metadata_json may be NULL.
 * *id receives the output's id when id is not NULL. */
int lundi_run_output(lundi_run *r, const char *kind, const char *name, const char *mime,
                     const void *data, size_t size, const char *metadata_json, int64_t *id);
/* Flushes, sets status, end time and message (may be NULL), and frees r whatever happens. */
int lundi_run_end(lundi_run *r, lundi_run_status st, const char *message);

/* sha256 of bytes as 64 lowercase hex digits plus NUL. */
void lundi_sha256_hex(const void *data, size_t n, char out[65]);
/* sha256 of a file's bytes; an error naming the file when it cannot be read (out[0] = 0). */
int lundi_sha256_file(const char *path, char out[65]);

#ifdef __cplusplus
}
#endif
#endif
