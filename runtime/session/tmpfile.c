/* Outputs made by writers that only know paths (safetensors, GIF): the writer fills a
 * temporary file beside the store's database, whose bytes are read back and the file
 * removed. */
#include "session/session_internal.h"

#include "lundi/file.h"

#include <stdio.h>
#include <stdlib.h>
#include <unistd.h>

int lundi__session_file_bytes(lundi_run *run, const char *fn, int (*write)(const char *path, void *ctx),
                              void *ctx, uint8_t **data, size_t *n) {
  lundi_store *s = lundi_run_store(run);
  char tmp[4200];
  snprintf(tmp, sizeof tmp, "%s/.%s.tmp-XXXXXX", lundi_store_dir(s), lundi_store_base(s));
  int fd = mkstemp(tmp);
  if (fd < 0) return lundi_set_error(LUNDI_EIO, "%s: cannot create a temporary file in %s", fn, lundi_store_dir(s));
  close(fd);
  int rc = write(tmp, ctx);
  if (rc == 0) rc = lundi_file_read_all(tmp, data, n);
  unlink(tmp);
  return rc;
}
