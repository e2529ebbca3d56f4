/* The last error as a front-end reports it under its function's name. C messages usually
 * start with the op's own name ("reshape: ..."), which is then not said twice. */
#include "core/error.h"

#include <stdio.h>
#include <string.h>

const char *lundi_error_for(const char *fn, char *buf, size_t cap) {
  const char *msg = lundi_last_error();
  size_t n = fn ? strlen(fn) : 0;
  if (!fn) snprintf(buf, cap, "%s", *msg ? msg : "failed");
  else if (!*msg) snprintf(buf, cap, "%s: failed", fn);
  else if (!strncmp(msg, fn, n) && (msg[n] == ':' || msg[n] == ' ')) snprintf(buf, cap, "%s", msg);
  else snprintf(buf, cap, "%s: %s", fn, msg);
  return buf;
}
