/* Whole-file helpers: atomic PNG write and a bounded read. */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "lundi/image.h"

/* read_all refuses files above this: it is meant for images, scripts and outputs. */
#define LUNDI_READ_ALL_MAX ((size_t)1 << 30)

static int write_all(int fd, const uint8_t *p, size_t n) {
  while (n) {
    ssize_t w = write(fd, p, n);
    if (w < 0 && errno == EINTR) continue;
    if (w <= 0) return -1;
    p += w;
    n -= (size_t)w;
  }
  return 0;
}

/* Makes the rename itself durable; some filesystems refuse fsync on a directory. */
static void sync_parent(const char *path) {
  char *dir = strdup(path);
  if (!dir) return;
  char *slash = strrchr(dir, '/');
  const char *d = slash ? (slash == dir ? "/" : (*slash = 0, dir)) : ".";
  int fd = open(d, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  if (fd >= 0) {
    (void)fsync(fd);
    close(fd);
  }
  free(dir);
}

/* The temporary file sits in the target's directory so rename() never crosses a
 * filesystem; a crash leaves at most a stray "<path>.tmp.XXXXXX", never a partial PNG. */
int lundi_png_write_file(const char *path, const lundi_image *im, const lundi_png_text *texts, int n_texts) {
  if (!path || !*path) return lundi_set_error(LUNDI_EINVAL, "png_write_file: path must be non-empty");
  uint8_t *buf = NULL;
  size_t n = 0;
  if (lundi_png_encode(im, texts, n_texts, &buf, &n)) return lundi_last_error_code();
  size_t tl = strlen(path) + 16;
  char *tmp = malloc(tl);
  if (!tmp) {
    free(buf);
    return lundi_set_error(LUNDI_ENOMEM, "png_write_file '%s': out of memory", path);
  }
  snprintf(tmp, tl, "%s.tmp.XXXXXX", path);
  int fd = mkstemp(tmp);
  int rc = 0;
  if (fd < 0) {
    rc = lundi_set_error(LUNDI_EIO, "png_write_file '%s': cannot create a file in its directory: %s", path,
                         strerror(errno));
  } else {
    if (fchmod(fd, 0644) || write_all(fd, buf, n))
      rc = lundi_set_error(LUNDI_EIO, "png_write_file '%s': write failed: %s", path, strerror(errno));
    else if (fsync(fd))
      rc = lundi_set_error(LUNDI_EIO, "png_write_file '%s': fsync failed: %s", path, strerror(errno));
    if (close(fd) && !rc) rc = lundi_set_error(LUNDI_EIO, "png_write_file '%s': close failed: %s", path, strerror(errno));
    if (!rc && rename(tmp, path))
      rc = lundi_set_error(LUNDI_EIO, "png_write_file '%s': rename failed: %s", path, strerror(errno));
    if (rc) unlink(tmp);
    else sync_parent(path);
  }
  free(tmp);
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
