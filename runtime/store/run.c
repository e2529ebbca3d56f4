/* Runs: begin (one row, status running), params, tags, plugins used, end. */
#include "store/store_internal.h"

#include "lundi/error.h"
#include "lundi/version.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>
#include <unistd.h>

const char *lundi_run_status_name(lundi_run_status st) {
  switch (st) {
  case LUNDI_RUN_RUNNING: return "running";
  case LUNDI_RUN_FINISHED: return "finished";
  case LUNDI_RUN_FAILED: return "failed";
  case LUNDI_RUN_INTERRUPTED: return "interrupted";
  }
  return "unknown";
}

int64_t lundi_run_id(const lundi_run *r) { return r ? r->id : -1; }
const char *lundi_run_uuid(const lundi_run *r) { return r ? r->uuid : NULL; }
lundi_store *lundi_run_store(const lundi_run *r) { return r ? r->s : NULL; }

static int make_uuid(char out[37]) {
  unsigned char b[16];
  size_t got = 0;
  while (got < sizeof b) {
    ssize_t n = getrandom(b + got, sizeof b - got, 0);
    if (n < 0) return lundi_set_error(LUNDI_EIO, "store: getrandom failed for a run uuid");
    got += (size_t)n;
  }
  b[6] = (unsigned char)((b[6] & 0x0f) | 0x40); /* version 4 */
  b[8] = (unsigned char)((b[8] & 0x3f) | 0x80); /* RFC 4122 variant */
  static const char hex[] = "0123456789abcdef";
  int o = 0;
  for (int i = 0; i < 16; i++) {
    if (i == 4 || i == 6 || i == 8 || i == 10) out[o++] = '-';
    out[o++] = hex[b[i] >> 4];
    out[o++] = hex[b[i] & 15];
  }
  out[o] = 0;
  return 0;
}

static void bind_text_or_null(sqlite3_stmt *st, int i, const char *v) {
  if (v) sqlite3_bind_text(st, i, v, -1, SQLITE_TRANSIENT);
  else sqlite3_bind_null(st, i);
}

/* Prepares, binds up to 8 texts (NULL binds NULL), steps once, finalizes. */
static int exec_texts(lundi_run *r, const char *what, const char *sql, int n, const char *const *v) {
  sqlite3_stmt *st = NULL;
  if (sqlite3_prepare_v2(r->s->db, sql, -1, &st, NULL) != SQLITE_OK)
    return lundi__store_sqlerr(r->s, what);
  sqlite3_bind_int64(st, 1, r->id);
  for (int i = 0; i < n; i++) bind_text_or_null(st, i + 2, v[i]);
  int rc = sqlite3_step(st) == SQLITE_DONE ? 0 : lundi__store_sqlerr(r->s, what);
  sqlite3_finalize(st);
  return rc;
}

lundi_run *lundi_run_begin(lundi_store *s, const lundi_run_info *info) {
  static const lundi_run_info none = {0};
  if (!s) {
    lundi_set_error(LUNDI_EINVAL, "store: lundi_run_begin needs an open store");
    return NULL;
  }
  if (s->readonly) {
    lundi_set_error(LUNDI_EINVAL, "store: %s was opened read-only; cannot record a run", s->path);
    return NULL;
  }
  if (!info) info = &none;
  lundi_run *r = calloc(1, sizeof *r);
  if (!r) {
    lundi_set_error(LUNDI_ENOMEM, "store: out of memory starting a run");
    return NULL;
  }
  r->s = s;
  r->flush_at = LUNDI_RUN_FLUSH_EVERY;
  r->last_flush = lundi__store_monotonic();
  r->lastkey = -1;
  if (make_uuid(r->uuid) != 0) {
    free(r);
    return NULL;
  }
  char host[256] = "", sha[65], cwd[4096];
  gethostname(host, sizeof host - 1);
  /* so a rerun resolves relative paths (data, dofile, outputs) as this run did */
  const char *dir = getcwd(cwd, sizeof cwd);
  if (info->script_text) lundi_sha256_hex(info->script_text, strlen(info->script_text), sha);
  sqlite3_stmt *st = NULL;
  if (sqlite3_prepare_v2(s->db,
                         "INSERT INTO runs(uuid, name, script_path, script_sha256, script_text,"
                         " lundi_version, device, seed, status, start_time, pid, host, cwd)"
                         " VALUES (?, ?, ?, ?, ?, ?, ?, ?, 'running', ?, ?, ?, ?)",
                         -1, &st, NULL) != SQLITE_OK) {
    lundi__store_sqlerr(s, "starting a run");
    free(r);
    return NULL;
  }
  sqlite3_bind_text(st, 1, r->uuid, -1, SQLITE_STATIC);
  bind_text_or_null(st, 2, info->name);
  bind_text_or_null(st, 3, info->script_path);
  bind_text_or_null(st, 4, info->script_text ? sha : NULL);
  bind_text_or_null(st, 5, info->script_text);
  sqlite3_bind_text(st, 6, lundi_version(), -1, SQLITE_STATIC);
  bind_text_or_null(st, 7, info->device);
  if (info->no_seed) sqlite3_bind_null(st, 8);
  else sqlite3_bind_int64(st, 8, info->seed);
  sqlite3_bind_double(st, 9, lundi__store_now());
  sqlite3_bind_int64(st, 10, (sqlite3_int64)getpid());
  sqlite3_bind_text(st, 11, host, -1, SQLITE_STATIC);
  bind_text_or_null(st, 12, dir);
  if (sqlite3_step(st) != SQLITE_DONE) {
    lundi__store_sqlerr(s, "starting a run");
    sqlite3_finalize(st);
    free(r);
    return NULL;
  }
  sqlite3_finalize(st);
  r->id = sqlite3_last_insert_rowid(s->db);
  return r;
}

static int valid_key(const char *what, const char *key) {
  if (!key || !*key) return lundi_set_error(LUNDI_EINVAL, "store: a %s key must be a non-empty string", what);
  return 0;
}

int lundi_run_param(lundi_run *r, const char *key, const char *value, const char *type) {
  if (!r) return lundi_set_error(LUNDI_EINVAL, "store: lundi_run_param needs a run");
  if (valid_key("param", key) != 0) return LUNDI_EINVAL;
  if (!type) type = "string";
  if (strcmp(type, "int") && strcmp(type, "float") && strcmp(type, "bool") && strcmp(type, "string"))
    return lundi_set_error(LUNDI_EINVAL,
                           "store: param '%s' has type '%s'; use int, float, bool or string", key, type);
  const char *v[] = {key, value, type};
  int rc = exec_texts(r, "recording a param",
                      "INSERT INTO params(run_id, key, value, type) VALUES (?, ?, ?, ?)"
                      " ON CONFLICT(run_id, key) DO UPDATE SET value = excluded.value, type = excluded.type",
                      3, v);
  if (rc == 0 && !strcmp(key, "seed") && !strcmp(type, "int") && value) /* the script's own seed */
    rc = exec_texts(r, "recording the seed", "UPDATE runs SET seed = CAST(?2 AS INTEGER) WHERE id = ?1", 1, &value);
  return rc;
}

int lundi_run_add_device(lundi_run *r, const char *device) {
  if (!r || !device || !*device) return lundi_set_error(LUNDI_EINVAL, "store: lundi_run_add_device needs a run and a device");
  const char *v[] = {device};
  return exec_texts(r, "recording a device",
                    "UPDATE runs SET device = CASE WHEN device IS NULL OR device = '' THEN ?2"
                    " WHEN instr(', ' || device || ', ', ', ' || ?2 || ', ') > 0 THEN device"
                    " ELSE device || ', ' || ?2 END WHERE id = ?1",
                    1, v);
}

int lundi_run_tag(lundi_run *r, const char *key, const char *value) {
  if (!r) return lundi_set_error(LUNDI_EINVAL, "store: lundi_run_tag needs a run");
  if (valid_key("tag", key) != 0) return LUNDI_EINVAL;
  const char *v[] = {key, value};
  return exec_texts(r, "recording a tag",
                    "INSERT INTO tags(run_id, key, value) VALUES (?, ?, ?)"
                    " ON CONFLICT(run_id, key) DO UPDATE SET value = excluded.value",
                    2, v);
}

int lundi_run_plugin(lundi_run *r, const char *kind, const char *name, const char *version,
                     const char *params_json, const char *origin) {
  if (!r) return lundi_set_error(LUNDI_EINVAL, "store: lundi_run_plugin needs a run");
  const char *v[] = {kind, name, version, params_json, origin};
  return exec_texts(r, "recording a plugin used",
                    "INSERT INTO plugins_used(run_id, kind, name, version, params, origin)"
                    " VALUES (?, ?, ?, ?, ?, ?)",
                    5, v);
}

int lundi_run_end(lundi_run *r, lundi_run_status st, const char *message) {
  if (!r) return 0;
  size_t pending = r->n;
  int rc = lundi_run_flush(r);
  char flush_err[1024] = "";
  if (rc != 0) snprintf(flush_err, sizeof flush_err, "%s", lundi_last_error());
  sqlite3_stmt *u = NULL;
  int rc2 = 0;
  if (sqlite3_prepare_v2(r->s->db,
                         "UPDATE runs SET status = ?, end_time = ?, exit_message = ? WHERE id = ?", -1,
                         &u, NULL) != SQLITE_OK) {
    rc2 = lundi__store_sqlerr(r->s, "ending a run");
  } else {
    sqlite3_bind_text(u, 1, lundi_run_status_name(st), -1, SQLITE_STATIC);
    sqlite3_bind_double(u, 2, lundi__store_now());
    bind_text_or_null(u, 3, message);
    sqlite3_bind_int64(u, 4, r->id);
    if (sqlite3_step(u) != SQLITE_DONE) rc2 = lundi__store_sqlerr(r->s, "ending a run");
    sqlite3_finalize(u);
  }
  lundi__run_free_metrics(r);
  free(r);
  if (rc != 0) /* the flush error matters more: metrics were lost */
    return lundi_set_error(rc, "%s; the run ended and its last %zu metric values are lost", flush_err,
                           pending);
  return rc2;
}
