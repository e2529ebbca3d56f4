/* Reading a whole file: the one reader every part of lundi uses. */
#ifndef LUNDI_FILE_H
#define LUNDI_FILE_H

#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

/* All of path (a regular file or a pipe, at most 1 GiB) into a new buffer; free() *data.
 * 0, or a negative lundi_status with the message naming the path and the cause. */
int lundi_file_read_all(const char *path, uint8_t **data, size_t *size);

#ifdef __cplusplus
}
#endif
#endif
