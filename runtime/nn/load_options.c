/* lundi_module_load by options, as front-ends offer it (m:load(path, {strict, nonfinite})):
 * NaN or Inf in the file is refused, or loaded with a warning the caller shows. */
#include "nn/nn_internal.h"

#include <stdio.h>
#include <string.h>

const char *const lundi_nonfinite_names[] = {"error", "warn", NULL};

lundi_load_options lundi_load_defaults(void) {
  lundi_load_options o = {1, LUNDI_NONFINITE_ERROR};
  return o;
}

int lundi_module_load_opts(lundi_module *m, const char *path, const lundi_load_options *o, char **warning) {
  if (warning) *warning = NULL;
  if (!o || !warning) return lundi__err(LUNDI_EINVAL, "module_load: options and warning must be non-NULL");
  int warn = o->nonfinite == LUNDI_NONFINITE_WARN;
  int rc = lundi_module_load(m, path, (o->strict ? LUNDI_LOAD_STRICT : 0) | (warn ? LUNDI_LOAD_ALLOW_NONFINITE : 0));
  if (rc || !warn) return rc;
  lundi_param_list l = {0}; /* loaded anyway: say what is wrong with it */
  char what[1100];
  snprintf(what, sizeof what, "load '%s'", path);
  rc = lundi_module_parameters(m, &l);
  if (!rc && lundi_param_list_check_finite(&l, what) != 0) {
    *warning = strdup(lundi_last_error());
    if (!*warning) rc = lundi__err(LUNDI_ENOMEM, "module_load: out of host memory");
  }
  lundi_param_list_free(&l);
  return rc;
}
