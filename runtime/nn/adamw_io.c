/* AdamW's state in a file (resume) and its one-line description. */
#include "nn/nn_internal.h"

#include <stdio.h>
#include <string.h>

int lundi_adamw_save(const lundi_adamw *o, const char *path) {
  lundi_param_list l = {0};
  int rc = lundi_adamw_state(o, &l);
  if (!rc) rc = lundi_safetensors_save(path, &l, NULL);
  lundi_param_list_free(&l);
  return rc;
}

int lundi_adamw_load(lundi_adamw *o, const char *path) {
  lundi_param_list l = {0};
  int rc = lundi_safetensors_load(path, &l);
  if (!rc) rc = lundi_adamw_load_state(o, &l);
  lundi_param_list_free(&l);
  return rc;
}

/* lr as Lua writes a float (%.14g, and ".0" after a whole number), so tostring(opt) reads
 * the same as it always has. */
int lundi_adamw_describe(const lundi_adamw *o, char *buf, size_t cap) {
  char lr[64];
  int n = snprintf(lr, sizeof lr, "%.14g", (double)lundi_adamw_lr(o));
  if (n > 0 && lr[strspn(lr, "-0123456789")] == '\0') snprintf(lr + n, sizeof lr - (size_t)n, ".0");
  return snprintf(buf, cap, "AdamW(lr=%s, step=%lld)", lr, (long long)lundi_adamw_step_count(o));
}
