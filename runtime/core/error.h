/* Setting the per-thread error from inside the library (lundi/error.h has the codes). */
#ifndef LUNDI_CORE_ERROR_H
#define LUNDI_CORE_ERROR_H

#include "lundi/error.h"

/* Records the message and returns code, so callers can `return lundi__err(...)`. */
int lundi__err(int code, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
/* Same, returning NULL for pointer-returning functions. */
void *lundi__errp(int code, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

#endif
