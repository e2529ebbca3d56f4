/* The temporary sits in the target's directory so rename() never crosses a filesystem; it is
 * fsynced before the rename and the directory after it, so the new name is durable too. */
#include "core/atomic_file.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "core/error.h"

int lundi__afile_open(lundi__afile *f, const char *path, const char *what, int mode) {
  static unsigned counter;
  f->fd = -1;
  f->path = path;
  f->what = what;
  size_t n = strlen(path) + 48;
  f->tmp = malloc(n);
  if (!f->tmp) return lundi_set_error(LUNDI_ENOMEM, "%s '%s': out of memory", what, path);
  for (int tries = 0; tries < 100; tries++) {
    snprintf(f->tmp, n, "%s.tmp-%ld-%u", path, (long)getpid(),
             __atomic_fetch_add(&counter, 1, __ATOMIC_RELAXED));
    f->fd = open(f->tmp, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, mode);
    if (f->fd >= 0 || errno != EEXIST) break;
  }
  if (f->fd >= 0) return 0;
  int rc = lundi_set_error(LUNDI_EIO, "%s '%s': cannot create a file in its directory: %s", what,
                           path, strerror(errno));
  free(f->tmp);
  f->tmp = NULL;
  return rc;
}

int lundi__afile_write(lundi__afile *f, const void *data, size_t n) {
  const char *p = data;
  while (n) {
    ssize_t w = write(f->fd, p, n > ((size_t)1 << 30) ? ((size_t)1 << 30) : n); /* Linux caps one write near 2 GiB */
    if (w < 0 && errno == EINTR) continue;
    if (w <= 0)
      return lundi_set_error(LUNDI_EIO, "%s '%s': write failed: %s", f->what, f->path,
                             w < 0 ? strerror(errno) : "no progress");
    p += w;
    n -= (size_t)w;
  }
  return 0;
}

/* Some filesystems refuse fsync on a directory; the rename itself has happened then. */
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

int lundi__afile_commit(lundi__afile *f) {
  int rc = 0;
  if (fsync(f->fd))
    rc = lundi_set_error(LUNDI_EIO, "%s '%s': fsync failed: %s", f->what, f->path, strerror(errno));
  if (close(f->fd) && !rc)
    rc = lundi_set_error(LUNDI_EIO, "%s '%s': close failed: %s", f->what, f->path, strerror(errno));
  f->fd = -1;
  if (!rc && rename(f->tmp, f->path))
    rc = lundi_set_error(LUNDI_EIO, "%s '%s': rename failed: %s", f->what, f->path, strerror(errno));
  if (rc) unlink(f->tmp);
  else sync_parent(f->path);
  free(f->tmp);
  f->tmp = NULL;
  return rc;
}

void lundi__afile_abort(lundi__afile *f) {
  if (f->fd >= 0) close(f->fd);
  f->fd = -1;
  if (f->tmp) unlink(f->tmp);
  free(f->tmp);
  f->tmp = NULL;
}

int lundi__write_file_atomic(const char *path, const void *data, size_t n, const char *what) {
  lundi__afile f;
  if (lundi__afile_open(&f, path, what, 0644)) return lundi_last_error_code();
  if (lundi__afile_write(&f, data, n)) {
    int rc = lundi_last_error_code();
    lundi__afile_abort(&f);
    return rc;
  }
  return lundi__afile_commit(&f);
}

int lundi__make_parents(const char *path, const char *what) {
  char buf[4096];
  size_t len = strlen(path);
  if (len >= sizeof buf) return lundi_set_error(LUNDI_EINVAL, "%s: path too long: %s", what, path);
  memcpy(buf, path, len + 1);
  for (char *s = buf + 1; *s; s++) {
    if (*s != '/') continue;
    *s = 0;
    if (mkdir(buf, 0755) && errno != EEXIST)
      return lundi_set_error(LUNDI_EIO, "%s: cannot create the directory %s: %s", what, buf, strerror(errno));
    *s = '/';
  }
  return 0;
}

int lundi__cache_file(char *buf, size_t n, const char *rel, const char *what) {
  const char *xdg = getenv("XDG_CACHE_HOME"), *home = getenv("HOME");
  int w;
  if (xdg && xdg[0] == '/') w = snprintf(buf, n, "%s/lundi/%s", xdg, rel);
  else if (home && home[0] == '/') w = snprintf(buf, n, "%s/.cache/lundi/%s", home, rel);
  else return lundi_set_error(LUNDI_EINVAL, "%s: no cache directory: set HOME or XDG_CACHE_HOME to an absolute path", what);
  if (w < 0 || (size_t)w >= n) return lundi_set_error(LUNDI_EINVAL, "%s: the cache path does not fit in %zu bytes", what, n);
  return 0;
}
