/* One run in full (lundi_history_run) and its metric series. */
#include "store/query_internal.h"
#include "store/store_internal.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "lundi/error.h"

static sqlite3_stmt *prep_id(sqlite3 *db, const char *sql, int64_t id) {
  sqlite3_stmt *st = NULL;
  if (sqlite3_prepare_v2(db, sql, -1, &st, NULL) != SQLITE_OK) {
    q_sqlerr(db, "reading a run");
    return NULL;
  }
  sqlite3_bind_int64(st, 1, id);
  return st;
}

/* Steps st, growing *arr (elements of size elem) and calling fill for each row. */
static int rows(sqlite3 *db, sqlite3_stmt *st, void **arr, int *n, size_t elem,
                int (*fill)(sqlite3_stmt *, void *)) {
  int cap = 0, rc;
  if (!st) return lundi_last_error_code();
  while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
    if (*n == cap) {
      cap = cap ? cap * 2 : 8;
      void *g = realloc(*arr, (size_t)cap * elem);
      if (!g) {
        sqlite3_finalize(st);
        return lundi_set_error(LUNDI_ENOMEM, "out of memory");
      }
      *arr = g;
    }
    void *e = (char *)*arr + (size_t)*n * elem;
    memset(e, 0, elem);
    ++*n;
    if (fill(st, e)) {
      sqlite3_finalize(st);
      return lundi_set_error(LUNDI_ENOMEM, "out of memory");
    }
  }
  sqlite3_finalize(st);
  return rc == SQLITE_DONE ? 0 : q_sqlerr(db, "reading a run");
}

/* A column that is NULL stays NULL; a failed copy of a non-NULL one is out of memory. */
#define DUP(dst, st, col) ((dst) = q_strdup_col(st, col), !(dst) && sqlite3_column_type(st, col) != SQLITE_NULL)

static int fill_kv(sqlite3_stmt *st, void *e) {
  lundi_kv *kv = e;
  int bad = DUP(kv->key, st, 0) | DUP(kv->value, st, 1);
  if (sqlite3_column_count(st) > 2) bad |= DUP(kv->type, st, 2);
  return bad;
}

static int fill_metric(sqlite3_stmt *st, void *e) {
  lundi_metric_summary *m = e;
  m->count = sqlite3_column_int64(st, 1);
  m->last_step = sqlite3_column_int64(st, 2);
  m->last = q_real_col(st, 3);
  m->min = q_real_col(st, 4);
  m->max = q_real_col(st, 5);
  return DUP(m->key, st, 0);
}

static int fill_output(sqlite3_stmt *st, void *e) {
  lundi_output_info *o = e;
  o->id = sqlite3_column_int64(st, 0);
  o->size = sqlite3_column_int64(st, 5);
  o->created = q_real_col(st, 8);
  return DUP(o->kind, st, 1) | DUP(o->name, st, 2) | DUP(o->mime, st, 3) | DUP(o->sha256, st, 4) |
         DUP(o->path, st, 6) | DUP(o->metadata, st, 7);
}

static int fill_plugin(sqlite3_stmt *st, void *e) {
  lundi_plugin_use *p = e;
  return DUP(p->kind, st, 0) | DUP(p->name, st, 1) | DUP(p->version, st, 2) | DUP(p->params, st, 3) |
         DUP(p->origin, st, 4);
}

static int fill_file(sqlite3_stmt *st, void *e) {
  lundi_plugin_file *f = e;
  return DUP(f->path, st, 0) | DUP(f->sha256, st, 1) | DUP(f->role, st, 2);
}

static int read_run_row(sqlite3 *db, int64_t id, lundi_run_record *r) {
  sqlite3_stmt *st = prep_id(db,
                             "SELECT uuid, name, script_path, script_sha256, script_text, lundi_version, device,"
                             " seed, lundi_status(status, pid, host, start_time), start_time, end_time, exit_message, pid, host, deleted, cwd"
                             " FROM runs WHERE id = ?",
                             id);
  if (!st) return lundi_last_error_code();
  int rc = sqlite3_step(st);
  if (rc != SQLITE_ROW) {
    sqlite3_finalize(st);
    if (rc == SQLITE_DONE) return lundi_set_error(LUNDI_EINVAL, "no run %lld", (long long)id);
    return q_sqlerr(db, "reading a run");
  }
  r->id = id;
  int bad = DUP(r->uuid, st, 0) | DUP(r->name, st, 1) | DUP(r->script_path, st, 2) | DUP(r->script_sha256, st, 3) |
            DUP(r->script_text, st, 4) | DUP(r->lundi_version, st, 5) | DUP(r->device, st, 6) |
            DUP(r->status, st, 8) | DUP(r->exit_message, st, 11) | DUP(r->host, st, 13) | DUP(r->cwd, st, 15);
  r->has_seed = sqlite3_column_type(st, 7) != SQLITE_NULL;
  r->seed = sqlite3_column_int64(st, 7);
  r->start_time = q_real_col(st, 9);
  r->end_time = q_real_col(st, 10);
  r->pid = sqlite3_column_int64(st, 12);
  r->deleted = sqlite3_column_int(st, 14);
  sqlite3_finalize(st);
  return bad ? lundi_set_error(LUNDI_ENOMEM, "out of memory") : 0;
}

int lundi_history_run(lundi_store *s, const char *ref, lundi_run_record **out) {
  *out = NULL;
  sqlite3 *db = lundi__store_db(s);
  int64_t id;
  int rc = lundi_history_resolve(s, ref, &id);
  if (rc) return rc;
  lundi_run_record *r = calloc(1, sizeof *r);
  if (!r) return lundi_set_error(LUNDI_ENOMEM, "out of memory");
  /* One read transaction, so a run being written is seen at one instant. */
  sqlite3_exec(db, "BEGIN", NULL, NULL, NULL);
  rc = read_run_row(db, id, r);
  if (!rc)
    rc = rows(db, prep_id(db, "SELECT key, value, type FROM params WHERE run_id = ? ORDER BY key", id),
              (void **)&r->params, &r->n_params, sizeof *r->params, fill_kv);
  if (!rc)
    rc = rows(db, prep_id(db, "SELECT key, value FROM tags WHERE run_id = ? ORDER BY key", id), (void **)&r->tags,
              &r->n_tags, sizeof *r->tags, fill_kv);
  if (!rc)
    rc = rows(db,
              prep_id(db,
                      "SELECT key, count, last_step, last_value, min_value, max_value FROM metric_summary"
                      " WHERE run_id = ? ORDER BY key",
                      id),
              (void **)&r->metrics, &r->n_metrics, sizeof *r->metrics, fill_metric);
  if (!rc)
    rc = rows(db,
              prep_id(db,
                      "SELECT id, kind, name, mime, sha256, size, path, metadata, created FROM outputs"
                      " WHERE run_id = ? ORDER BY id",
                      id),
              (void **)&r->outputs, &r->n_outputs, sizeof *r->outputs, fill_output);
  if (!rc)
    rc = rows(db,
              prep_id(db, "SELECT kind, name, version, params, origin FROM plugins_used WHERE run_id = ? ORDER BY rowid",
                      id),
              (void **)&r->plugins, &r->n_plugins, sizeof *r->plugins, fill_plugin);
  if (!rc)
    rc = rows(db, prep_id(db, "SELECT path, sha256, role FROM plugin_files WHERE run_id = ? ORDER BY rowid", id),
              (void **)&r->files, &r->n_files, sizeof *r->files, fill_file);
  sqlite3_exec(db, "COMMIT", NULL, NULL, NULL);
  if (rc) {
    lundi_run_record_free(r);
    return rc;
  }
  *out = r;
  return 0;
}

void lundi_run_record_free(lundi_run_record *r) {
  if (!r) return;
  free(r->uuid), free(r->name), free(r->script_path), free(r->script_sha256), free(r->script_text);
  free(r->lundi_version), free(r->device), free(r->status), free(r->exit_message), free(r->host);
  for (int i = 0; i < r->n_params; i++) free(r->params[i].key), free(r->params[i].value), free(r->params[i].type);
  for (int i = 0; i < r->n_tags; i++) free(r->tags[i].key), free(r->tags[i].value), free(r->tags[i].type);
  for (int i = 0; i < r->n_metrics; i++) free(r->metrics[i].key);
  for (int i = 0; i < r->n_outputs; i++) {
    lundi_output_info *o = &r->outputs[i];
    free(o->kind), free(o->name), free(o->mime), free(o->sha256), free(o->path), free(o->metadata);
  }
  for (int i = 0; i < r->n_plugins; i++) {
    lundi_plugin_use *p = &r->plugins[i];
    free(p->kind), free(p->name), free(p->version), free(p->params), free(p->origin);
  }
  for (int i = 0; i < r->n_files; i++) free(r->files[i].path), free(r->files[i].sha256), free(r->files[i].role);
  free(r->params), free(r->tags), free(r->metrics), free(r->outputs), free(r->plugins), free(r->files);
  free(r->cwd);
  free(r);
}

/* ---- metric series ---- */

static int missing_metric(sqlite3 *db, int64_t run_id, const char *key) {
  sqlite3_stmt *st = prep_id(db, "SELECT key FROM metric_summary WHERE run_id = ? ORDER BY key LIMIT 21", run_id);
  if (!st) return lundi_last_error_code();
  char list[1024] = "";
  size_t at = 0;
  int n = 0;
  while (sqlite3_step(st) == SQLITE_ROW) {
    const unsigned char *k = sqlite3_column_text(st, 0);
    if (n++ == 20) {
      snprintf(list + at, sizeof list - at, ", ...");
      break;
    }
    if (at < sizeof list) at += (size_t)snprintf(list + at, sizeof list - at, "%s%s", n > 1 ? ", " : "", k ? (const char *)k : "");
  }
  sqlite3_finalize(st);
  if (!n) return lundi_set_error(LUNDI_EINVAL, "run %lld logged no metrics (so none named '%s')", (long long)run_id, key);
  return lundi_set_error(LUNDI_EINVAL, "run %lld has no metric '%s' (it has: %s)", (long long)run_id, key, list);
}

int lundi_history_metric(lundi_store *s, int64_t run_id, const char *key, lundi_metric_series *out) {
  memset(out, 0, sizeof *out);
  sqlite3 *db = lundi__store_db(s);
  if (!db || !key) return lundi_set_error(LUNDI_EINVAL, "lundi_history_metric: no store or key");
  sqlite3_stmt *st = prep_id(db, "SELECT step, value, wall_time FROM metrics WHERE run_id = ? AND key = ?"
                                 " ORDER BY step, rowid", run_id);
  if (!st) return lundi_last_error_code();
  sqlite3_bind_text(st, 2, key, -1, SQLITE_TRANSIENT);
  int64_t cap = 0;
  int rc;
  while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
    if (out->n == cap) {
      cap = cap ? cap * 2 : 256;
      int64_t *s2 = realloc(out->steps, (size_t)cap * sizeof *s2);
      if (s2) out->steps = s2;
      double *v2 = realloc(out->values, (size_t)cap * sizeof *v2);
      if (v2) out->values = v2;
      double *w2 = realloc(out->wall_times, (size_t)cap * sizeof *w2);
      if (w2) out->wall_times = w2;
      if (!s2 || !v2 || !w2) {
        sqlite3_finalize(st);
        lundi_metric_series_free(out);
        return lundi_set_error(LUNDI_ENOMEM, "out of memory reading metric '%s'", key);
      }
    }
    out->steps[out->n] = sqlite3_column_int64(st, 0);
    out->values[out->n] = q_real_col(st, 1);
    out->wall_times[out->n] = q_real_col(st, 2);
    out->n++;
  }
  sqlite3_finalize(st);
  if (rc != SQLITE_DONE) {
    lundi_metric_series_free(out);
    return q_sqlerr(db, "reading a metric");
  }
  if (out->n == 0) return missing_metric(db, run_id, key);
  return 0;
}

void lundi_metric_series_free(lundi_metric_series *m) {
  if (!m) return;
  free(m->steps), free(m->values), free(m->wall_times);
  memset(m, 0, sizeof *m);
}
