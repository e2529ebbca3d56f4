/* A bounded gzip inflater and a minimal, bounds-checked ustar reader over memory buffers,
 * for package tarballs (npm's .tgz). Nothing is written to disk: entries are handed to a
 * callback as (name, type, bytes) views into the archive buffer, so a hostile name can
 * never escape a directory; names that would (absolute, "..") are refused all the same,
 * because such an archive is not a package we want to trust. */
#ifndef LUNDI_IO_TAR_INTERNAL_H
#define LUNDI_IO_TAR_INTERNAL_H

#include <stddef.h>
#include <stdint.h>

/* Decompresses one gzip member (CRC and length checked by zlib) into a fresh malloc'd
 * buffer (*out, *out_n). Refuses output larger than max_out, a truncated stream and data
 * after the member. what names the input in messages. Returns 0 or a lundi_status. */
int lundi__gunzip(const uint8_t *in, size_t n, size_t max_out, const char *what, uint8_t **out,
                  size_t *out_n);

/* Longest entry name accepted (pax "path" records and GNU long names included). */
#define LUNDI_TAR_MAX_NAME 1024

typedef struct lundi_tar_entry {
  const char *name; /* NUL-terminated, relative, no "." or ".." components */
  char type;        /* ustar typeflag: '0' regular file ('\0' is reported as '0'), '5' dir, ... */
  const uint8_t *data; /* size bytes inside the archive buffer */
  size_t size;
} lundi_tar_entry;

/* Called once per entry (pax and GNU long-name headers are consumed, not reported).
 * Returning nonzero stops the walk; lundi__tar_walk then returns that value. */
typedef int (*lundi_tar_fn)(const lundi_tar_entry *e, void *ud);

/* Walks a whole ustar archive in memory. Checks every header checksum, octal field,
 * entry name and size (an entry above max_entry bytes is refused), and requires the
 * end-of-archive block. what names the archive in messages. Returns 0, the callback's
 * nonzero value, or LUNDI_EFORMAT with a message naming the offset and the problem. */
int lundi__tar_walk(const uint8_t *tar, size_t n, size_t max_entry, const char *what,
                    lundi_tar_fn fn, void *ud);

#endif
