#include "common.h"

#include <stdarg.h>

lundi_registry *bt_registry(void) {
  lundi_registry *r = lundi_registry_new();
  if (!r || lundi_registry_load_builtins(r)) {
    fprintf(stderr, "cannot load the built-in plugins: %s\n", lundi_last_error());
    lundi_registry_free(r);
    return NULL;
  }
  return r;
}

lundi_instance *bt_make(lundi_registry *r, lundi_plugin_kind k, const char *name, ...) {
  const lundi_plugin *p = lundi_registry_find(r, k, name);
  if (!p) return NULL;
  lundi_params *ps = lundi_plugin_params(p);
  va_list ap;
  va_start(ap, name);
  const char *key;
  int rc = ps ? 0 : -1;
  while (!rc && (key = va_arg(ap, const char *))) rc = lundi_params_set(ps, key, va_arg(ap, const char *));
  va_end(ap);
  lundi_instance *inst = rc ? NULL : lundi_instance_new(p, ps);
  lundi_params_free(ps);
  return inst;
}

double bt_ab_linear(int t) {
  double p = 1;
  for (int i = 0; i <= t; i++) p *= 1 - (1e-4 + (0.02 - 1e-4) * i / 999.0);
  return p;
}

lundi_tensor *bt_tensor(int ndim, const int64_t *shape, const float *v) { return lundi_from_f32(ndim, shape, v); }
