/* Private to runtime/session. */
#ifndef LUNDI_SESSION_INTERNAL_H
#define LUNDI_SESSION_INTERNAL_H

#include "lundi/session.h"

/* run, or the thread's current run when run is NULL; NULL with "<fn>: no run is current"
 * set when there is neither. */
lundi_run *lundi__session_run(lundi_run *run, const char *fn);

/* tmpfile.c: the bytes write(path, ctx) puts in a fresh temporary file beside the run's
 * store (removed afterwards), malloc'd into *data, *n; write's status otherwise. fn names the
 * caller in messages. */
int lundi__session_file_bytes(lundi_run *run, const char *fn, int (*write)(const char *path, void *ctx),
                              void *ctx, uint8_t **data, size_t *n);

#endif
