/* Metrics of a run logged several at a time, as run:log{} gives them, with the policy for a
 * flush that fails inside a log call. */
#include "session/session_internal.h"

#include <stdio.h>

int lundi_session_log(lundi_run *run, const char *const *names, const double *values, int n,
                      int64_t step, int *warned) {
  if (!(run = lundi__session_run(run, "log"))) return LUNDI_ESTATE;
  int flush_failed = 0;
  char why[512] = "";
  for (int i = 0; i < n; i++) {
    int rc = lundi_run_log(run, names[i], step, values[i]);
    if (rc == LUNDI_EINVAL || rc == LUNDI_ENOMEM) return rc;
    if (rc != 0 && !flush_failed) { /* the values stay buffered; the next flush retries */
      flush_failed = 1;
      snprintf(why, sizeof why, "%s", lundi_last_error());
    }
  }
  if (flush_failed && !*warned) {
    fprintf(stderr, "lundi: warning: %s\n", why);
    *warned = 1;
  } else if (!flush_failed) {
    *warned = 0;
  }
  return 0;
}
