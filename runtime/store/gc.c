/* Maintenance: marking runs deleted, tagging runs after the fact, and garbage collection
 * of the outputs of deleted runs and of blob files no output references. */
#include "store/query_internal.h"
#include "store/store_internal.h"

#include <dirent.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "lundi/error.h"

static int exec_id(lundi_store *s, const char *sql, int64_t id, const char *a, const char *b, const char *what) {
  sqlite3 *db = lundi__store_db(s);
  sqlite3_stmt *st = NULL;
  if (!db) return lundi_set_error(LUNDI_EINVAL, "%s: no store", what);
  if (s->readonly) return lundi_set_error(LUNDI_ESTATE, "%s: the store %s was opened read-only", what, s->path);
  if (sqlite3_prepare_v2(db, sql, -1, &st, NULL) != SQLITE_OK) return q_sqlerr(db, what);
  sqlite3_bind_int64(st, 1, id);
  if (a) sqlite3_bind_text(st, 2, a, -1, SQLITE_TRANSIENT);
  if (b) sqlite3_bind_text(st, 3, b, -1, SQLITE_TRANSIENT);
  int rc = sqlite3_step(st);
  sqlite3_finalize(st);
  if (rc != SQLITE_DONE) return q_sqlerr(db, what);
  if (sqlite3_changes(db) == 0) return lundi_set_error(LUNDI_EINVAL, "no run %lld in %s", (long long)id, s->path);
  return 0;
}

int lundi_history_set_deleted(lundi_store *s, int64_t run_id, int deleted) {
  return exec_id(s, deleted ? "UPDATE runs SET deleted = 1 WHERE id = ?" : "UPDATE runs SET deleted = 0 WHERE id = ?",
                 run_id, NULL, NULL, "marking a run deleted");
}

int lundi_history_set_tag(lundi_store *s, int64_t run_id, const char *key, const char *value) {
  if (!key || !*key) return lundi_set_error(LUNDI_EINVAL, "a tag needs a key");
  return exec_id(s,
                 "INSERT INTO tags(run_id, key, value) SELECT id, ?2, ?3 FROM runs WHERE id = ?1"
                 " ON CONFLICT(run_id, key) DO UPDATE SET value = excluded.value",
                 run_id, key, value ? value : "", "tagging a run");
}

/* ---- gc ---- */

typedef struct gc_ctx {
  lundi_store *s;
  int dry_run;
  double grace, now;
  lundi_gc_fn fn;
  void *ud;
  lundi_gc_report *rep;
  char **refs; /* sorted relative paths that outputs reference */
  int n_refs;
} gc_ctx;

static int cmp_str(const void *a, const void *b) { return strcmp(*(char *const *)a, *(char *const *)b); }

static int remove_deleted_outputs(gc_ctx *g) {
  sqlite3 *db = g->s->db;
  sqlite3_stmt *st = NULL;
  if (sqlite3_prepare_v2(db,
                         "SELECT o.run_id, o.id, o.name, o.size FROM outputs o JOIN runs r ON r.id = o.run_id"
                         " WHERE r.deleted = 1 ORDER BY o.id",
                         -1, &st, NULL) != SQLITE_OK)
    return q_sqlerr(db, "gc");
  int rc;
  while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
    char what[512];
    const unsigned char *name = sqlite3_column_text(st, 2);
    snprintf(what, sizeof what, "run %lld output %lld %s", (long long)sqlite3_column_int64(st, 0),
             (long long)sqlite3_column_int64(st, 1), name ? (const char *)name : "(unnamed)");
    int64_t size = sqlite3_column_int64(st, 3);
    g->rep->outputs_removed++;
    /* a blob file's bytes are counted when the file goes (it may be shared) */
    sqlite3_stmt *inl = NULL;
    int inline_ = 0;
    if (sqlite3_prepare_v2(db, "SELECT data IS NOT NULL FROM outputs WHERE id = ?", -1, &inl, NULL) == SQLITE_OK) {
      sqlite3_bind_int64(inl, 1, sqlite3_column_int64(st, 1));
      if (sqlite3_step(inl) == SQLITE_ROW) inline_ = sqlite3_column_int(inl, 0);
    }
    sqlite3_finalize(inl);
    if (inline_) g->rep->bytes_freed += size;
    if (g->fn) g->fn(g->ud, "output", what, inline_ ? size : 0);
  }
  sqlite3_finalize(st);
  if (rc != SQLITE_DONE) return q_sqlerr(db, "gc");
  if (g->dry_run || g->rep->outputs_removed == 0) return 0;
  if (sqlite3_exec(db, "DELETE FROM outputs WHERE run_id IN (SELECT id FROM runs WHERE deleted = 1)", NULL, NULL,
                   NULL) != SQLITE_OK)
    return q_sqlerr(db, "gc: removing the outputs of deleted runs");
  return 0;
}

static int load_refs(gc_ctx *g) {
  sqlite3 *db = g->s->db;
  sqlite3_stmt *st = NULL;
  /* In a dry run the deleted runs' rows are still there: leave them out by hand. */
  if (sqlite3_prepare_v2(db,
                         "SELECT DISTINCT path FROM outputs WHERE path IS NOT NULL"
                         " AND run_id NOT IN (SELECT id FROM runs WHERE deleted = 1)",
                         -1, &st, NULL) != SQLITE_OK)
    return q_sqlerr(db, "gc");
  int rc, cap = 0;
  while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
    if (g->n_refs == cap) {
      cap = cap ? cap * 2 : 64;
      char **n = realloc(g->refs, (size_t)cap * sizeof *n);
      if (!n) {
        sqlite3_finalize(st);
        return lundi_set_error(LUNDI_ENOMEM, "out of memory");
      }
      g->refs = n;
    }
    if (!(g->refs[g->n_refs] = q_strdup_col(st, 0))) {
      sqlite3_finalize(st);
      return lundi_set_error(LUNDI_ENOMEM, "out of memory");
    }
    g->n_refs++;
  }
  sqlite3_finalize(st);
  if (rc != SQLITE_DONE) return q_sqlerr(db, "gc");
  qsort(g->refs, (size_t)g->n_refs, sizeof *g->refs, cmp_str);
  return 0;
}

/* Walks dir (rel: its path relative to the DB's directory), depth-first. */
static int sweep(gc_ctx *g, const char *rel, int depth) {
  char full[4200];
  snprintf(full, sizeof full, "%s/%s", g->s->dir, rel);
  DIR *d = opendir(full);
  if (!d) return errno == ENOENT && depth == 0 ? 0 : lundi_set_error(LUNDI_EIO, "gc: cannot read %s: %s", full, strerror(errno));
  struct dirent *e;
  int rc = 0;
  while (!rc && (e = readdir(d))) {
    if (!strcmp(e->d_name, ".") || !strcmp(e->d_name, "..")) continue;
    char sub[4200], path[4300];
    snprintf(sub, sizeof sub, "%s/%s", rel, e->d_name);
    snprintf(path, sizeof path, "%s/%s", g->s->dir, sub);
    struct stat sb;
    if (lstat(path, &sb) != 0) continue;
    if (S_ISDIR(sb.st_mode)) {
      if (depth < 4) rc = sweep(g, sub, depth + 1);
      if (!rc && !g->dry_run) rmdir(path); /* only succeeds when empty */
      continue;
    }
    if (!S_ISREG(sb.st_mode)) continue;
    const char *key = sub;
    if (bsearch(&key, g->refs, (size_t)g->n_refs, sizeof *g->refs, cmp_str)) continue;
    if (g->now - (double)sb.st_mtime < g->grace) {
      g->rep->files_young++;
      continue;
    }
    if (!g->dry_run && unlink(path) != 0) {
      rc = lundi_set_error(LUNDI_EIO, "gc: cannot remove %s: %s", path, strerror(errno));
      break;
    }
    g->rep->files_removed++;
    g->rep->bytes_freed += (int64_t)sb.st_size;
    if (g->fn) g->fn(g->ud, "file", path, (int64_t)sb.st_size);
  }
  closedir(d);
  return rc;
}

int lundi_history_gc(lundi_store *s, int dry_run, double grace_s, lundi_gc_fn fn, void *ud, lundi_gc_report *rep) {
  lundi_gc_report local;
  if (!rep) rep = &local;
  memset(rep, 0, sizeof *rep);
  if (!s || !s->db) return lundi_set_error(LUNDI_EINVAL, "gc: no store");
  if (s->readonly && !dry_run)
    return lundi_set_error(LUNDI_ESTATE, "gc: the store %s was opened read-only", s->path);
  gc_ctx g = {.s = s, .dry_run = dry_run, .grace = grace_s, .now = (double)time(NULL), .fn = fn, .ud = ud, .rep = rep};
  /* First the rows, committed on their own: if the sweep fails, no row is left pointing
   * at a removed file. Then the sweep, under the write lock so no run adds a row
   * meanwhile; a run's new blob file (written just before its row) is protected by grace_s. */
  int rc = lundi__store_exec(s, dry_run ? "BEGIN" : "BEGIN IMMEDIATE");
  if (rc) return rc;
  rc = remove_deleted_outputs(&g);
  if (!dry_run) {
    if (rc) sqlite3_exec(s->db, "ROLLBACK", NULL, NULL, NULL);
    else if (!(rc = lundi__store_exec(s, "COMMIT"))) rc = lundi__store_exec(s, "BEGIN IMMEDIATE");
    if (rc) return rc;
  }
  if (!rc) rc = load_refs(&g);
  if (!rc) {
    char rel[4200];
    snprintf(rel, sizeof rel, "%s.blobs", s->base);
    rc = sweep(&g, rel, 0);
  }
  if (rc || dry_run) sqlite3_exec(s->db, "ROLLBACK", NULL, NULL, NULL);
  else rc = lundi__store_exec(s, "COMMIT");
  for (int i = 0; i < g.n_refs; i++) free(g.refs[i]);
  free(g.refs);
  return rc;
}
