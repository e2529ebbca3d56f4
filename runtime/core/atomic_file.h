/* Replacing a file all at once: readers see the old file or the whole new one, never a part,
 * even after a crash or a full disk. Used by every writer of files (checkpoints, PNGs, blobs,
 * caches). */
#ifndef LUNDI_ATOMIC_FILE_H
#define LUNDI_ATOMIC_FILE_H

#include <stddef.h>

typedef struct lundi__afile {
  int fd;
  char *tmp;        /* "<path>.tmp-<pid>-<n>", in the target's directory */
  const char *path; /* borrowed */
  const char *what; /* names the caller in messages: "safetensors_save" */
} lundi__afile;

/* Creates the temporary (mode & ~umask). Errors: "<what> '<path>': cannot create a file in
 * its directory: <reason>". */
int lundi__afile_open(lundi__afile *f, const char *path, const char *what, int mode);
/* All of p or an error ("<what> '<path>': write failed: <reason>"); on error call abort. */
int lundi__afile_write(lundi__afile *f, const void *p, size_t n);
/* fsync, close, rename over path, fsync of the directory. On failure the temporary is
 * removed and the error names the step. Either way f is finished. */
int lundi__afile_commit(lundi__afile *f);
/* Closes and removes the temporary; the error already set is kept. */
void lundi__afile_abort(lundi__afile *f);
/* open + write + commit. */
int lundi__write_file_atomic(const char *path, const void *data, size_t n, const char *what);
/* mkdir -p of the directory part of path. Errors: "<what>: cannot create the directory
 * <dir>: <reason>". */
int lundi__make_parents(const char *path, const char *what);
/* "<cache>/lundi/<rel>" into buf, where <cache> is $XDG_CACHE_HOME, else $HOME/.cache (both
 * must be absolute). Errors name what and say which variable to set. */
int lundi__cache_file(char *buf, size_t n, const char *rel, const char *what);

#endif
