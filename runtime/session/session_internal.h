/* Private to runtime/session. */
#ifndef LUNDI_SESSION_INTERNAL_H
#define LUNDI_SESSION_INTERNAL_H

#include "lundi/session.h"

/* run, or the thread's current run when run is NULL; NULL with "<fn>: no run is current"
 * set when there is neither. */
lundi_run *lundi__session_run(lundi_run *run, const char *fn);

#endif
