/* How a run ends when the code that owns it exits without finishing it (a to-be-closed
 * Lua run, a collected one): the one policy, so every host records the same status. */
#include "lundi/session.h"

#include <string.h>

lundi_run_status lundi_session_error_status(const char *error) {
  if (!error) return LUNDI_RUN_FINISHED;
  return strcmp(error, "interrupted") == 0 ? LUNDI_RUN_INTERRUPTED : LUNDI_RUN_FAILED;
}

lundi_run_status lundi_session_unfinished_status(int script_known, lundi_run_status script, const char **msg) {
  if (!script_known) {
    *msg = "the Run object was collected before run:finish()";
    return LUNDI_RUN_INTERRUPTED;
  }
  *msg = script == LUNDI_RUN_FINISHED ? NULL : "the script of `lundi run` did not finish";
  return script;
}
