/* Opening the store: checks that never write (header, truncation, permissions), then the
 * pragmas, migrations and reaping. A file we cannot trust is reported and left as it is. */
#include "store/store_internal.h"

#include "lundi/error.h"
#include "lundi/version.h"

#include <errno.h>
#include <fcntl.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

const char *lundi_store_default_path(const char *path) {
  if (path && *path) return path;
  const char *env = getenv("LUNDI_DB");
  if (env && *env) return env;
  return "./lundi.db";
}

sqlite3 *lundi__store_db(lundi_store *s) { return s ? s->db : NULL; }
const char *lundi_store_path(const lundi_store *s) { return s ? s->path : NULL; }
int lundi_store_schema_version(const lundi_store *s) { return s ? s->version : -1; }
const char *lundi_store_dir(const lundi_store *s) { return s ? s->dir : NULL; }
const char *lundi_store_base(const lundi_store *s) { return s ? s->base : NULL; }

double lundi__store_now(void) {
  struct timespec ts;
  clock_gettime(CLOCK_REALTIME, &ts);
  return (double)ts.tv_sec + (double)ts.tv_nsec * 1e-9;
}

int lundi__store_sqlerr(lundi_store *s, const char *what) {
  int rc = sqlite3_errcode(s->db);
  int code = (rc == SQLITE_CORRUPT || rc == SQLITE_NOTADB) ? LUNDI_EFORMAT : LUNDI_EIO;
  const char *hint = "";
  if (rc == SQLITE_FULL) hint = " (the disk or the database's size limit is full; free space and retry)";
  else if (rc == SQLITE_BUSY) hint = " (another process held the database locked for more than 10 s)";
  else if (rc == SQLITE_READONLY) hint = " (the file or its directory is read-only)";
  return lundi_set_error(code, "store: %s in %s: %s%s", what, s->path, sqlite3_errmsg(s->db), hint);
}

int lundi__store_exec(lundi_store *s, const char *sql) {
  if (sqlite3_exec(s->db, sql, NULL, NULL, NULL) != SQLITE_OK) return lundi__store_sqlerr(s, sql);
  return 0;
}

static void split_path(lundi_store *s) {
  const char *slash = strrchr(s->path, '/');
  if (!slash) {
    s->dir = strdup(".");
    s->base = strdup(s->path);
  } else {
    size_t n = (size_t)(slash - s->path);
    s->dir = n ? strndup(s->path, n) : strdup("/");
    s->base = strdup(slash + 1);
  }
}

static uint32_t be32(const unsigned char *p) {
  return (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 | (uint32_t)p[2] << 8 | p[3];
}

static int corrupt(const char *path, const char *why) {
  return lundi_set_error(LUNDI_EFORMAT,
                         "store: %s is not a usable lundi database (%s); it was left untouched. "
                         "Move it away or restore it from a backup, or use --db to pick another file",
                         path, why);
}

/* Reads the 100-byte SQLite header without SQLite, so nothing is written to a bad file:
 * the magic string, and a size shorter than the header says (a truncated copy). In WAL
 * mode the main file may lag the WAL, so the size check is skipped while a -wal exists. */
static int check_header(const char *path, const struct stat *sb) {
  if (sb->st_size == 0) return 0; /* empty: SQLite treats it as a new database */
  int fd = open(path, O_RDONLY | O_CLOEXEC);
  if (fd < 0)
    return lundi_set_error(LUNDI_EIO, "store: cannot read %s: %s", path, strerror(errno));
  unsigned char h[100];
  ssize_t n = read(fd, h, sizeof h);
  close(fd);
  if (n < (ssize_t)sizeof h || memcmp(h, "SQLite format 3", 16) != 0)
    return corrupt(path, "file is not a database");
  uint32_t page = (uint32_t)h[16] << 8 | h[17];
  if (page == 1) page = 65536;
  uint32_t pages = be32(h + 28);
  int size_valid = pages != 0 && be32(h + 24) == be32(h + 92);
  char wal[4096];
  snprintf(wal, sizeof wal, "%s-wal", path);
  struct stat wb;
  int have_wal = stat(wal, &wb) == 0 && wb.st_size > 0;
  if (size_valid && !have_wal && (uint64_t)sb->st_size < (uint64_t)pages * page)
    return corrupt(path, "the file is shorter than its header says: truncated");
  return 0;
}

/* Permission checks first, so the message says what to fix rather than "attempt to write
 * a readonly database" at the first insert. WAL needs the directory writable too (it
 * creates <db>-wal and <db>-shm beside the file). */
static int check_writable(const char *path, const char *dir, int exists) {
  if (exists && access(path, W_OK) != 0)
    return lundi_set_error(LUNDI_EIO,
                           "store: %s is read-only (%s); lundi needs to write to it to record runs. "
                           "Make it writable, use --db to pick another file, or run with --no-record",
                           path, strerror(errno));
  if (access(dir, W_OK | X_OK) != 0)
    return lundi_set_error(LUNDI_EIO,
                           "store: the directory %s of %s is not writable (%s); lundi needs it for the "
                           "database and its -wal/-shm files. Use --db to pick another place, or run "
                           "with --no-record",
                           dir, path, strerror(errno));
  return 0;
}

/* One statement, so one snapshot: a process creating the schema at the same moment is seen
 * either before (version 0, no tables) or after (version 2, tables), never half. */
static int read_version(lundi_store *s, int *n_objects) {
  sqlite3_stmt *st = NULL;
  int rc = sqlite3_prepare_v2(s->db,
                              "SELECT (SELECT user_version FROM pragma_user_version),"
                              " (SELECT count(*) FROM sqlite_schema)",
                              -1, &st, NULL);
  if (rc == SQLITE_OK) rc = sqlite3_step(st);
  if (rc == SQLITE_ROW) {
    s->version = sqlite3_column_int(st, 0);
    *n_objects = sqlite3_column_int(st, 1);
  }
  sqlite3_finalize(st);
  if (rc == SQLITE_ROW) return 0;
  if (rc == SQLITE_NOTADB || rc == SQLITE_CORRUPT) return corrupt(s->path, sqlite3_errmsg(s->db));
  return lundi__store_sqlerr(s, "reading the schema version");
}

/* Switching a new file to WAL needs it alone for a moment; a second process opening it at
 * the same time gets SQLITE_BUSY at once (the busy handler is not called for this), or the
 * old mode back. So: retry for up to the busy timeout. An existing store is already WAL. */
static int set_wal(lundi_store *s) {
  for (int attempt = 0;; attempt++) {
    sqlite3_stmt *st = NULL;
    int rc = sqlite3_prepare_v2(s->db, "PRAGMA journal_mode=WAL", -1, &st, NULL);
    if (rc == SQLITE_OK) rc = sqlite3_step(st);
    int ok = rc == SQLITE_ROW && sqlite3_column_text(st, 0) &&
             strcmp((const char *)sqlite3_column_text(st, 0), "wal") == 0;
    sqlite3_finalize(st);
    if (ok) return 0;
    if (rc == SQLITE_NOTADB || rc == SQLITE_CORRUPT) return corrupt(s->path, sqlite3_errmsg(s->db));
    if ((rc == SQLITE_BUSY || rc == SQLITE_LOCKED || rc == SQLITE_ROW) && attempt < 1000) {
      struct timespec ts = {0, 10 * 1000 * 1000};
      nanosleep(&ts, NULL);
      continue;
    }
    if (rc != SQLITE_ROW) return lundi__store_sqlerr(s, "switching to WAL mode");
    return lundi_set_error(LUNDI_EIO,
                           "store: %s could not be put in WAL mode (is it on a network file "
                           "system?); lundi needs WAL so several runs can write at once",
                           s->path);
  }
}

/* Checks a schema that read_version found: it must be ours and not newer than we know. */
static int check_version(lundi_store *s, int n_objects) {
  if (s->version > LUNDI_STORE_SCHEMA_VERSION)
    return lundi_set_error(LUNDI_EUNSUPPORTED,
                           "store: %s has schema version %d; this lundi (%s) supports up to %d; "
                           "upgrade lundi",
                           s->path, s->version, LUNDI_VERSION_STRING, LUNDI_STORE_SCHEMA_VERSION);
  /* A file with tables but no user_version is someone else's database. */
  if (s->version == 0 && n_objects > 0)
    return corrupt(s->path, "it is an SQLite database but not a lundi store");
  return 0;
}



lundi_store *lundi_store_open(const char *path, int flags) {
  path = lundi_store_default_path(path);
  lundi_store *s = calloc(1, sizeof *s);
  if (!s) {
    lundi_set_error(LUNDI_ENOMEM, "store: out of memory opening %s", path);
    return NULL;
  }
  s->path = strdup(path);
  split_path(s);
  s->readonly = (flags & LUNDI_STORE_READONLY) != 0;
  if (!s->path || !s->dir || !s->base) {
    lundi_set_error(LUNDI_ENOMEM, "store: out of memory opening %s", path);
    goto fail;
  }
  struct stat sb;
  int exists = stat(path, &sb) == 0;
  if (exists && !S_ISREG(sb.st_mode)) {
    lundi_set_error(LUNDI_EIO, "store: %s is not a regular file", path);
    goto fail;
  }
  if (!exists && s->readonly) {
    lundi_set_error(LUNDI_EIO,
                    "store: %s does not exist; nothing has been recorded there yet (run a script "
                    "with `lundi run`, or pick the file with --db / LUNDI_DB)",
                    path);
    goto fail;
  }
  if (exists && check_header(path, &sb) != 0) goto fail;
  if (!s->readonly && check_writable(path, s->dir, exists) != 0) goto fail;

  int oflags = s->readonly ? SQLITE_OPEN_READONLY : SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE;
  oflags |= SQLITE_OPEN_NOMUTEX;
  if (sqlite3_open_v2(path, &s->db, oflags, NULL) != SQLITE_OK) {
    lundi_set_error(LUNDI_EIO, "store: cannot open %s: %s", path,
                    s->db ? sqlite3_errmsg(s->db) : "out of memory");
    goto fail;
  }
  if (lundi__store_add_functions(s->db) != SQLITE_OK) {
    lundi_set_error(LUNDI_ENOMEM, "store: %s: cannot add lundi's SQL functions: %s", path, sqlite3_errmsg(s->db));
    goto fail;
  }
  sqlite3_extended_result_codes(s->db, 0);
  sqlite3_busy_timeout(s->db, 10000);
  int n_objects = 0;
  if (read_version(s, &n_objects) != 0 || check_version(s, n_objects) != 0) goto fail;
  if (s->readonly) {
    if (s->version < LUNDI_STORE_SCHEMA_VERSION) {
      /* An older store we may write is migrated once, so reading commands work on it as
       * they did before; one we may not write is refused with what to do. */
      if (access(path, W_OK) == 0 && access(s->dir, W_OK) == 0) {
        lundi_store_close(s);
        lundi_store *w = lundi_store_open(path, 0);
        if (!w) return NULL;
        lundi_store_close(w);
        return lundi_store_open(path, flags);
      }
      lundi_set_error(LUNDI_EUNSUPPORTED,
                      "store: %s has schema version %d and needs migrating to %d, which cannot be done "
                      "without write access; run a lundi command on it once as a user who may write it",
                      path, s->version, LUNDI_STORE_SCHEMA_VERSION);
      goto fail;
    }
    if (lundi__store_exec(s, "PRAGMA query_only=ON") != 0) goto fail;
    return s;
  }
  if (set_wal(s) != 0 || lundi__store_exec(s, "PRAGMA synchronous=NORMAL") != 0 ||
      lundi__store_exec(s, "PRAGMA foreign_keys=ON") != 0)
    goto fail;
  if (lundi__store_migrate(s->db, LUNDI_STORE_SCHEMA_VERSION) != 0) goto fail;
  s->version = LUNDI_STORE_SCHEMA_VERSION;
  if (lundi__store_reap(s) < 0) goto fail;
  return s;
fail:
  lundi_store_close(s);
  return NULL;
}

void lundi_store_close(lundi_store *s) {
  if (!s) return;
  if (s->db) sqlite3_close_v2(s->db);
  free(s->path);
  free(s->dir);
  free(s->base);
  free(s);
}
