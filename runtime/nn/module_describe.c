/* A module in one line, as tostring(m) shows it: "Linear(2 tensors, 15 parameters)". */
#include "nn/nn_internal.h"

#include <stdio.h>

int lundi_module_describe(const lundi_module *m, const char *note, char *buf, size_t cap) {
  if (!m || !buf) return lundi__err(LUNDI_EINVAL, "module_describe: module and buffer must be non-NULL");
  lundi_param_list l = {0};
  int rc = lundi_module_parameters(m, &l);
  if (!rc)
    snprintf(buf, cap, "%s(%d tensors, %lld parameters%s%s)", lundi_module_type(m), l.n,
             (long long)lundi_param_list_numel(&l), note ? ", " : "", note ? note : "");
  lundi_param_list_free(&l);
  return rc;
}
