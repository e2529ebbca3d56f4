/* Reading a whole file in one allocation (regular files) or a growing buffer (pipes). */
#include "core/file.h"
#include "lundi/error.h"
#include "lundi/file.h"

#include <errno.h>
#include <fcntl.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

/* read_all refuses files above this: it is meant for images, scripts and outputs. */
#define LUNDI_READ_ALL_MAX ((size_t)1 << 30)

int lundi__read_file(const char *path, size_t max, uint8_t **data, size_t *size, int *sys_errno) {
  int en_local;
  int *en = sys_errno ? sys_errno : &en_local;
  *en = 0;
  if (data) *data = NULL;
  if (size) *size = 0;
  if (!path || !data || !size) return lundi_set_error(LUNDI_EINVAL, "file_read_all: path and outputs must be non-NULL");
  int fd = open(path, O_RDONLY | O_CLOEXEC);
  if (fd < 0) return *en = errno, lundi_set_error(LUNDI_EIO, "cannot open '%s': %s", path, strerror(errno));
  struct stat st;
  if (fstat(fd, &st) == 0 && S_ISDIR(st.st_mode)) {
    close(fd);
    *en = EISDIR;
    return lundi_set_error(LUNDI_EIO, "cannot read '%s': it is a directory", path);
  }
  /* Regular files are read in one allocation; pipes and the like grow the buffer. */
  size_t cap = (fstat(fd, &st) == 0 && S_ISREG(st.st_mode) && st.st_size > 0) ? (size_t)st.st_size + 1 : 65536;
  if (cap - 1 > max) {
    close(fd);
    *en = EFBIG;
    return lundi_set_error(LUNDI_EIO, "cannot read '%s': %lld bytes is above the %zu MiB limit", path,
                           (long long)st.st_size, max >> 20);
  }
  uint8_t *buf = malloc(cap);
  size_t n = 0;
  int rc = buf ? 0 : (*en = ENOMEM, lundi_set_error(LUNDI_ENOMEM, "cannot read '%s': out of memory", path));
  while (!rc) {
    if (n == cap) {
      if (cap > max) {
        *en = EFBIG;
        rc = lundi_set_error(LUNDI_EIO, "cannot read '%s': above the %zu MiB limit", path, max >> 20);
        break;
      }
      uint8_t *p = realloc(buf, cap * 2);
      if (!p) {
        *en = ENOMEM;
        rc = lundi_set_error(LUNDI_ENOMEM, "cannot read '%s': out of memory", path);
        break;
      }
      buf = p;
      cap *= 2;
    }
    ssize_t r = read(fd, buf + n, cap - n);
    if (r < 0 && errno == EINTR) continue;
    if (r < 0) *en = errno, rc = lundi_set_error(LUNDI_EIO, "cannot read '%s': %s", path, strerror(errno));
    if (r <= 0) break;
    n += (size_t)r;
  }
  close(fd);
  if (rc) {
    free(buf);
    return rc;
  }
  *data = buf;
  *size = n;
  return 0;
}

int lundi_file_read_all(const char *path, uint8_t **data, size_t *size) {
  return lundi__read_file(path, LUNDI_READ_ALL_MAX, data, size, NULL);
}
