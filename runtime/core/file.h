/* The whole-file reader behind lundi_file_read_all (lundi/file.h), for callers that need
 * their own size limit or the system's reason (errno) for a failure. */
#ifndef LUNDI_CORE_FILE_H
#define LUNDI_CORE_FILE_H

#include <stddef.h>
#include <stdint.h>

/* Reads all of path into a new buffer (free() *data), refusing more than max bytes. Returns
 * 0, or a negative lundi_status with the message set and, when sys_errno is not NULL, the
 * reason as an errno value (EFBIG past max, ENOMEM out of memory, EISDIR for a directory). */
int lundi__read_file(const char *path, size_t max, uint8_t **data, size_t *size, int *sys_errno);

#endif
