/* Status codes and the per-thread last-error message: the one header every part of lundi
 * (and the store, which needs nothing else) includes to report failures. */
#ifndef LUNDI_ERROR_H
#define LUNDI_ERROR_H

#include <stddef.h>

#ifdef __cplusplus
extern "C" {
#endif

typedef enum lundi_status {
  LUNDI_OK = 0,
  LUNDI_EINVAL = -1,      /* bad argument */
  LUNDI_ESHAPE = -2,      /* shapes do not fit the op */
  LUNDI_ENOMEM = -3,      /* host or device allocation failed */
  LUNDI_EIO = -4,         /* file could not be read or written */
  LUNDI_EFORMAT = -5,     /* malformed file contents */
  LUNDI_EUNSUPPORTED = -6,/* op, dtype or device combination not available */
  LUNDI_ESTATE = -7       /* call not valid in the current state (e.g. graph freed) */
} lundi_status;

/* Message of the last error on this thread ("" when none). */
const char *lundi_last_error(void);
int lundi_last_error_code(void);
void lundi_clear_error(void);
/* For plugins and front-ends: records a message and returns code (so `return lundi_set_error(...)`). */
int lundi_set_error(int code, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
/* The last error as a front-end reports it for its function fn: "fn: <message>", the message
 * alone when it already starts with fn's name ("reshape: ..."), "fn: failed" when there is
 * none. Writes buf (cap bytes, truncated) and returns it. */
const char *lundi_error_for(const char *fn, char *buf, size_t cap);

#ifdef __cplusplus
}
#endif
#endif
