/* Whole-file helpers: atomic PNG write and a bounded read. */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "core/atomic_file.h"
#include "lundi/image.h"

/* read_all refuses files above this: it is meant for images, scripts and outputs. */
#define LUNDI_READ_ALL_MAX ((size_t)1 << 30)

/* Through the shared atomic writer: a crash leaves at most a stray "<path>.tmp-*", never a
 * partial PNG. */
int lundi_png_write_file(const char *path, const lundi_image *im, const lundi_png_text *texts, int n_texts) {
  if (!path || !*path) return lundi_set_error(LUNDI_EINVAL, "png_write_file: path must be non-empty");
  uint8_t *buf = NULL;
  size_t n = 0;
  if (lundi_png_encode(im, texts, n_texts, &buf, &n)) return lundi_last_error_code();
  int rc = lundi__write_file_atomic(path, buf, n, "png_write_file");
  free(buf);
  return rc;
}

int lundi_file_read_all(const char *path, uint8_t **data, size_t *size) {
  if (data) *data = NULL;
  if (size) *size = 0;
  if (!path || !data || !size) return lundi_set_error(LUNDI_EINVAL, "file_read_all: path and outputs must be non-NULL");
  int fd = open(path, O_RDONLY | O_CLOEXEC);
  if (fd < 0) return lundi_set_error(LUNDI_EIO, "cannot open '%s': %s", path, strerror(errno));
  struct stat st;
  if (fstat(fd, &st) == 0 && S_ISDIR(st.st_mode)) {
    close(fd);
    return lundi_set_error(LUNDI_EIO, "cannot read '%s': it is a directory", path);
  }
  /* Regular files are read in one allocation; pipes and the like grow the buffer. */
  size_t cap = (fstat(fd, &st) == 0 && S_ISREG(st.st_mode) && st.st_size > 0) ? (size_t)st.st_size + 1 : 65536;
  if (cap > LUNDI_READ_ALL_MAX + 1) {
    close(fd);
    return lundi_set_error(LUNDI_EIO, "cannot read '%s': %lld bytes is above the %zu MiB limit", path,
                           (long long)st.st_size, LUNDI_READ_ALL_MAX >> 20);
  }
  uint8_t *buf = malloc(cap);
  size_t n = 0;
  int rc = buf ? 0 : lundi_set_error(LUNDI_ENOMEM, "cannot read '%s': out of memory", path);
  while (!rc) {
    if (n == cap) {
      if (cap > LUNDI_READ_ALL_MAX) {
        rc = lundi_set_error(LUNDI_EIO, "cannot read '%s': above the %zu MiB limit", path, LUNDI_READ_ALL_MAX >> 20);
        break;
      }
      uint8_t *p = realloc(buf, cap * 2);
      if (!p) {
        rc = lundi_set_error(LUNDI_ENOMEM, "cannot read '%s': out of memory", path);
        break;
      }
      buf = p;
      cap *= 2;
    }
    ssize_t r = read(fd, buf + n, cap - n);
    if (r < 0 && errno == EINTR) continue;
    if (r < 0) rc = lundi_set_error(LUNDI_EIO, "cannot read '%s': %s", path, strerror(errno));
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
