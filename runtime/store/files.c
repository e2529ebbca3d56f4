/* The files a run loaded (plugin_files): absolute path, sha256 and role, so a rerun can
 * reload the same files and notice when one changed. */
#include "store/store_internal.h"
#include "core/file.h"

#include <errno.h>
#include <stdio.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "lundi/error.h"

int lundi_sha256_file(const char *path, char out[65]) {
  out[0] = 0;
  if (!path || !*path) return lundi_set_error(LUNDI_EINVAL, "lundi_sha256_file: no path");
  uint8_t *data = NULL;
  size_t n = 0;
  int rc = lundi__read_file(path, SIZE_MAX, &data, &n, NULL);
  if (rc) return rc;
  lundi_sha256_hex(data, n, out);
  free(data);
  return 0;
}

int lundi_run_plugin_file(lundi_run *r, const char *path, const char *role) {
  if (!r) return lundi_set_error(LUNDI_EINVAL, "store: lundi_run_plugin_file needs a run");
  if (!role || (strcmp(role, "plugin") && strcmp(role, "path") && strcmp(role, "lua")))
    return lundi_set_error(LUNDI_EINVAL, "store: plugin file role '%s'; use plugin, path or lua", role ? role : "(null)");
  char *abs = path && *path ? realpath(path, NULL) : NULL;
  if (!abs)
    return lundi_set_error(LUNDI_EIO, "store: cannot record the file %s of run %lld: %s", path ? path : "(null)",
                           (long long)r->id, path && *path ? strerror(errno) : "no path");
  char sha[65];
  int rc = lundi_sha256_file(abs, sha);
  if (rc) {
    char why[1024]; /* the message is rewritten from a copy: its buffer is the one set */
    snprintf(why, sizeof why, "%s", lundi_last_error());
    lundi_set_error(rc, "store: cannot record the file of run %lld: %s", (long long)r->id, why);
    free(abs);
    return rc;
  }
  sqlite3_stmt *st = NULL;
  if (sqlite3_prepare_v2(r->s->db,
                         "INSERT INTO plugin_files(run_id, path, sha256, role) VALUES (?, ?, ?, ?)"
                         " ON CONFLICT(run_id, path) DO NOTHING",
                         -1, &st, NULL) != SQLITE_OK) {
    rc = lundi__store_sqlerr(r->s, "recording a plugin file");
  } else {
    sqlite3_bind_int64(st, 1, r->id);
    sqlite3_bind_text(st, 2, abs, -1, SQLITE_STATIC);
    sqlite3_bind_text(st, 3, sha, -1, SQLITE_STATIC);
    sqlite3_bind_text(st, 4, role, -1, SQLITE_STATIC);
    if (sqlite3_step(st) != SQLITE_DONE) rc = lundi__store_sqlerr(r->s, "recording a plugin file");
  }
  sqlite3_finalize(st);
  free(abs);
  return rc;
}
