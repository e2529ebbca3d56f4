/* lundi_cond helpers: release, and batch concatenation for classifier-free guidance. */
#include "plugin/plugin_internal.h"

#include <string.h>

void lundi_cond_clear(lundi_cond *c) {
  if (!c) return;
  lundi_release(c->labels);
  lundi_release(c->context);
  lundi_release(c->mask);
  lundi_release(c->vector);
  memset(c, 0, sizeof *c);
}

/* lundi_concat copies any dtype (i32 labels included), so every field joins the same way. */
int lundi_cond_cat(const lundi_cond *a, const lundi_cond *b, lundi_cond *out) {
  if (!a || !b || !out) return lundi_set_error(LUNDI_EINVAL, "lundi_cond_cat: NULL argument");
  static const char *const names[4] = {"labels", "context", "mask", "vector"};
  lundi_tensor *const fa[4] = {a->labels, a->context, a->mask, a->vector};
  lundi_tensor *const fb[4] = {b->labels, b->context, b->mask, b->vector};
  for (int k = 0; k < 4; k++)
    if (!fa[k] != !fb[k])
      return lundi_set_error(LUNDI_EINVAL, "lundi_cond_cat: field '%s' is set in the %s condition but not the %s",
                             names[k], fa[k] ? "first" : "second", fa[k] ? "second" : "first");
  lundi_tensor *res[4] = {NULL, NULL, NULL, NULL};
  for (int k = 0; k < 4; k++) {
    if (!fa[k]) continue;
    lundi_tensor *pair[2] = {fa[k], fb[k]};
    if (!(res[k] = lundi_concat(2, pair, 0))) {
      char msg[1024];
      strncpy(msg, lundi_last_error(), sizeof msg - 1);
      msg[sizeof msg - 1] = 0;
      int code = lundi_last_error_code();
      for (int j = 0; j < k; j++) lundi_release(res[j]);
      return lundi_set_error(code ? code : LUNDI_EINVAL, "lundi_cond_cat: field '%s': %s", names[k], msg);
    }
  }
  /* out is written, not released (it may be uninitialised), unless it is one of the inputs:
   * then its old references are the caller's and are dropped here. */
  if (out == a || out == b) lundi_cond_clear(out);
  out->labels = res[0];
  out->context = res[1];
  out->mask = res[2];
  out->vector = res[3];
  return 0;
}
