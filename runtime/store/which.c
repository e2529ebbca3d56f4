/* Which run made this PNG: its `lundi` text chunk names the run (a uuid, or JSON with
 * "run"/"uuid" and "output"); failing that, the file's sha256 among the outputs. */
#include "store/query_internal.h"
#include "store/store_internal.h"

#include <cjson/cJSON.h>
#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "lundi/image.h"
#include "lundi/error.h"

/* The first 8-4-4-4-12 hex group in s, lowercased into out. */
static int find_uuid(const char *s, char out[37]) {
  static const char shape[] = "xxxxxxxx-xxxx-xxxx-xxxx-xxxxxxxxxxxx";
  for (const char *p = s; *p; p++) {
    int k = 0;
    for (; k < 36 && p[k]; k++)
      if (shape[k] == '-' ? p[k] != '-' : !isxdigit((unsigned char)p[k])) break;
    if (k == 36) {
      for (int i = 0; i < 36; i++) out[i] = (char)tolower((unsigned char)p[i]);
      out[36] = 0;
      return 1;
    }
  }
  return 0;
}

static int64_t query_id(sqlite3 *db, const char *sql, const char *text, int64_t num, int64_t *second) {
  sqlite3_stmt *st = NULL;
  int64_t id = -1;
  if (sqlite3_prepare_v2(db, sql, -1, &st, NULL) != SQLITE_OK) return -2;
  sqlite3_bind_text(st, 1, text, -1, SQLITE_TRANSIENT);
  if (sqlite3_bind_parameter_count(st) > 1) sqlite3_bind_int64(st, 2, num);
  if (sqlite3_step(st) == SQLITE_ROW) {
    id = sqlite3_column_int64(st, 0);
    if (second) *second = sqlite3_column_int64(st, 1);
  }
  sqlite3_finalize(st);
  return id;
}

int lundi_history_which(lundi_store *s, const char *png_path, int64_t *run_id, int64_t *output_id) {
  *run_id = -1;
  *output_id = -1;
  sqlite3 *db = lundi__store_db(s);
  if (!db) return lundi_set_error(LUNDI_EINVAL, "lundi_history_which: no store");
  uint8_t *data = NULL;
  size_t size = 0;
  char *chunk = NULL;
  int rc = lundi_file_read_all(png_path, &data, &size);
  if (rc) return rc;
  if ((rc = lundi_png_find_text(data, size, "lundi", &chunk))) {
    free(data);
    return rc;
  }
  char sha[65], uuid[37] = "";
  lundi_sha256_hex(data, size, sha);
  free(data);
  int64_t out_hint = -1;
  char *out_name = NULL;
  if (chunk) {
    cJSON *j = chunk[0] == '{' ? cJSON_Parse(chunk) : NULL;
    const char *keys[] = {"run", "uuid", "run_uuid"};
    for (int i = 0; j && i < 3 && !uuid[0]; i++) {
      const cJSON *v = cJSON_GetObjectItemCaseSensitive(j, keys[i]);
      if (cJSON_IsString(v)) find_uuid(v->valuestring, uuid);
    }
    const cJSON *o = j ? cJSON_GetObjectItemCaseSensitive(j, "output") : NULL;
    if (!o && j) o = cJSON_GetObjectItemCaseSensitive(j, "output_id");
    if (cJSON_IsNumber(o)) out_hint = (int64_t)o->valuedouble;
    if (cJSON_IsString(o)) out_name = strdup(o->valuestring);
    cJSON_Delete(j);
    if (!uuid[0]) find_uuid(chunk, uuid);
  }
  if (uuid[0]) {
    *run_id = query_id(db, "SELECT id FROM runs WHERE uuid = ?", uuid, 0, NULL);
    if (*run_id == -2) {
      free(chunk);
      free(out_name);
      return q_sqlerr(db, "finding a run");
    }
    if (*run_id >= 0) {
      /* the file itself, else the output the chunk names (by id or by name) */
      int64_t oid = query_id(db, "SELECT id FROM outputs WHERE sha256 = ?1 AND run_id = ?2 ORDER BY id", sha,
                             *run_id, NULL);
      if (oid < 0 && out_name)
        oid = query_id(db, "SELECT id FROM outputs WHERE name = ?1 AND run_id = ?2 ORDER BY id DESC", out_name,
                       *run_id, NULL);
      if (oid < 0 && out_hint >= 0) {
        char buf[32];
        snprintf(buf, sizeof buf, "%lld", (long long)out_hint);
        oid = query_id(db, "SELECT id FROM outputs WHERE id = CAST(?1 AS INTEGER) AND run_id = ?2", buf, *run_id, NULL);
      }
      *output_id = oid < 0 ? -1 : oid;
      free(chunk);
      free(out_name);
      return 0;
    }
  }
  /* No chunk, or its run is not here: the same bytes may still be a recorded output. */
  int64_t run = -1;
  int64_t oid = query_id(db, "SELECT id, run_id FROM outputs WHERE sha256 = ? ORDER BY id", sha, 0, &run);
  if (oid >= 0) {
    *run_id = run;
    *output_id = oid;
    free(chunk);
    free(out_name);
    return 0;
  }
  if (uuid[0])
    rc = lundi_set_error(LUNDI_EINVAL,
                         "%s comes from run %s, which is not in %s (recorded in another database? pick it with --db)",
                         png_path, uuid, lundi_store_path(s));
  else if (chunk)
    rc = lundi_set_error(LUNDI_EFORMAT, "%s has a 'lundi' chunk without a run uuid (\"%.60s\"), and no output in %s has its sha256",
                         png_path, chunk, lundi_store_path(s));
  else
    rc = lundi_set_error(LUNDI_EINVAL,
                         "%s has no 'lundi' chunk and no output in %s has its sha256: it was not saved by a recorded "
                         "lundi run (or that run is in another database: --db)",
                         png_path, lundi_store_path(s));
  free(chunk);
  free(out_name);
  return rc;
}
