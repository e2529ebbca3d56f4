/* Outputs: small ones inline as a BLOB; larger ones as a content-addressed file beside the
 * DB, "<db>.blobs/<aa>/<sha256>", written atomically (temp file, fsync, rename, fsync of
 * the directory) before the row that points at it, so a row never names a missing file. */
#include "core/atomic_file.h"
#include "store/store_internal.h"

#include "lundi/error.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

static int mkdir_one(const char *p) {
  if (mkdir(p, 0777) == 0 || errno == EEXIST) return 0;
  return lundi_set_error(LUNDI_EIO, "store: cannot create directory %s: %s", p, strerror(errno));
}

static int write_blob(lundi_store *s, const char *rel, const void *data, size_t size) {
  char full[4096], dir[4096];
  if ((size_t)snprintf(full, sizeof full, "%s/%s", s->dir, rel) >= sizeof full)
    return lundi_set_error(LUNDI_EINVAL, "store: the blob path under %s is too long", s->dir);
  struct stat sb;
  if (stat(full, &sb) == 0 && (size_t)sb.st_size == size) {
    /* same content, same name: refresh its time so a concurrent `lundi gc`, which spares
     * blobs younger than its grace period, cannot take it before our row lands */
    utimensat(AT_FDCWD, full, NULL, 0);
    return 0;
  }
  if ((size_t)snprintf(dir, sizeof dir, "%s/%s.blobs", s->dir, s->base) >= sizeof dir - 4)
    return lundi_set_error(LUNDI_EINVAL, "store: the blob path under %s is too long", s->dir);
  if (mkdir_one(dir) != 0) return LUNDI_EIO;
  size_t dl = strlen(dir);
  snprintf(dir + dl, sizeof dir - dl, "/%.2s", strrchr(rel, '/') + 1);
  if (mkdir_one(dir) != 0) return LUNDI_EIO;
  return lundi__write_file_atomic(full, data, size, "store: blob");
}

static int known_kind(const char *k) {
  static const char *const kinds[] = {"image", "text", "trajectory", "checkpoint", "file"};
  for (size_t i = 0; i < sizeof kinds / sizeof kinds[0]; i++)
    if (strcmp(k, kinds[i]) == 0) return 1;
  return 0;
}

int lundi_run_output(lundi_run *r, const char *kind, const char *name, const char *mime,
                     const void *data, size_t size, const char *metadata_json, int64_t *id) {
  if (!r) return lundi_set_error(LUNDI_EINVAL, "store: lundi_run_output needs a run");
  if (!kind || !known_kind(kind))
    return lundi_set_error(LUNDI_EINVAL,
                           "store: output kind '%s' is not one of image, text, trajectory, checkpoint, file",
                           kind ? kind : "(null)");
  if (!data && size > 0) return lundi_set_error(LUNDI_EINVAL, "store: output '%s' has no data", name ? name : "");
  char sha[65], rel[4096];
  lundi_sha256_hex(data ? data : "", size, sha);
  int inline_ = size <= LUNDI_STORE_INLINE_MAX;
  if (!inline_) {
    snprintf(rel, sizeof rel, "%s.blobs/%.2s/%s", r->s->base, sha, sha);
    int rc = write_blob(r->s, rel, data, size);
    if (rc != 0) return rc;
  }
  sqlite3_stmt *st = NULL;
  if (sqlite3_prepare_v2(r->s->db,
                         "INSERT INTO outputs(run_id, kind, name, mime, sha256, size, data, path,"
                         " metadata, created) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
                         -1, &st, NULL) != SQLITE_OK)
    return lundi__store_sqlerr(r->s, "recording an output");
  sqlite3_bind_int64(st, 1, r->id);
  sqlite3_bind_text(st, 2, kind, -1, SQLITE_STATIC);
  if (name) sqlite3_bind_text(st, 3, name, -1, SQLITE_STATIC);
  if (mime) sqlite3_bind_text(st, 4, mime, -1, SQLITE_STATIC);
  sqlite3_bind_text(st, 5, sha, -1, SQLITE_STATIC);
  sqlite3_bind_int64(st, 6, (sqlite3_int64)size);
  if (inline_) sqlite3_bind_blob64(st, 7, data ? data : "", size, SQLITE_STATIC);
  else sqlite3_bind_text(st, 8, rel, -1, SQLITE_STATIC);
  if (metadata_json) sqlite3_bind_text(st, 9, metadata_json, -1, SQLITE_STATIC);
  sqlite3_bind_double(st, 10, lundi__store_now());
  int rc = sqlite3_step(st) == SQLITE_DONE ? 0 : lundi__store_sqlerr(r->s, "recording an output");
  sqlite3_finalize(st);
  if (rc == 0 && id) *id = sqlite3_last_insert_rowid(r->s->db);
  return rc;
}
