/* Per-thread last-error message. */
#include "core/error.h"

#include <stdarg.h>

#include <stdio.h>

static _Thread_local char err_msg[1024];
static _Thread_local int err_code;

const char *lundi_last_error(void) { return err_msg; }
int lundi_last_error_code(void) { return err_code; }
void lundi_clear_error(void) {
  err_msg[0] = 0;
  err_code = 0;
}

static void set_error(int code, const char *fmt, va_list ap) {
  vsnprintf(err_msg, sizeof err_msg, fmt, ap);
  err_code = code;
}

int lundi_set_error(int code, const char *fmt, ...) {
  va_list ap;
  va_start(ap, fmt);
  set_error(code, fmt, ap);
  va_end(ap);
  return code;
}

int lundi__err(int code, const char *fmt, ...) {
  va_list ap;
  va_start(ap, fmt);
  set_error(code, fmt, ap);
  va_end(ap);
  return code;
}

void *lundi__errp(int code, const char *fmt, ...) {
  va_list ap;
  va_start(ap, fmt);
  set_error(code, fmt, ap);
  va_end(ap);
  return NULL;
}
