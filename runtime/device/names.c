/* Device names: the one parser of "auto", "name" and "name:N", and the list of accepted
 * names that its messages (and the CLI's) show, both read from the registered backends. */
#include "tensor/tensor_internal.h"
#include "device/registry.h"

#include <stdio.h>
#include <string.h>

char *lundi_device_names(char *buf, size_t cap, int with_auto) {
  const char *item[2 * LUNDI_MAX_BACKENDS + 16];
  char indexed[LUNDI_MAX_BACKENDS + 16][LUNDI_BACKEND_NAME_MAX + 3];
  int n = 0, nb = lundi_backend_count();
  for (int b = 0; b < nb && b < LUNDI_MAX_BACKENDS + 16; b++) {
    const lundi_backend_desc *d = lundi__backend(b);
    item[n++] = d->name;
    if (!d->single) {
      snprintf(indexed[b], sizeof indexed[b], "%s:N", d->name);
      item[n++] = indexed[b];
    }
  }
  if (with_auto) item[n++] = "auto";
  size_t at = 0;
  buf[0] = 0;
  for (int i = 0; i < n && at < cap; i++) {
    const char *sep = i == 0 ? "" : i == n - 1 ? " or " : ", ";
    int w = snprintf(buf + at, cap - at, "%s%s", sep, item[i]);
    if (w < 0) break;
    at += (size_t)w;
  }
  return buf;
}

static int unknown(int code, const char *name) {
  char names[512];
  return lundi__err(code, "unknown device '%s' (expected %s)", name, lundi_device_names(names, sizeof names, 1));
}

int lundi_device_parse(const char *name, lundi_device_spec *out) {
  lundi_device_spec s = {.is_auto = 0, .backend = -1, .index = -1};
  if (out) *out = s;
  if (!out) return lundi__err(LUNDI_EINVAL, "device_parse: out is NULL");
  if (!name || !*name || !strcmp(name, "auto")) {
    out->is_auto = 1;
    return 0;
  }
  size_t len = strcspn(name, ":");
  for (size_t i = 0; i < len; i++)
    if (!lundi__backend_name_char(name[i])) return unknown(LUNDI_EINVAL, name);
  if (len == 0 || len > LUNDI_BACKEND_NAME_MAX) return unknown(LUNDI_EINVAL, name);
  int b = lundi__backend_find(name, len);
  const char *ix = name[len] ? name + len + 1 : NULL;
  if (ix) { /* digits only, below a bound that keeps it an int */
    size_t nd = strspn(ix, "0123456789");
    if (!nd || ix[nd] || nd > 6) return out->backend = b, unknown(LUNDI_EINVAL, name);
  }
  if (b < 0) return unknown(LUNDI_EUNSUPPORTED, name);
  out->backend = b;
  if (ix && lundi__backend(b)->single) return unknown(LUNDI_EINVAL, name);
  if (ix) sscanf(ix, "%d", &out->index);
  return 0;
}
