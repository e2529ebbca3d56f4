/* Choosing and opening a device: a backend's best device, and auto, which takes the best
 * GPU of any backend by the backends' own ranking and otherwise the CPU (a software GPU
 * such as lavapipe is slower than the CPU backend, so it is never the default). */
#include "tensor/tensor_internal.h"
#include "device/registry.h"

#include <stdio.h>
#include <string.h>

static char auto_note[512];

const char *lundi_device_auto_note(void) { return auto_note; }

/* Highest rank first, the lowest index on a tie. */
static int best_index(const lundi_backend_desc *d, int n, int *rank) {
  int best = 0, r = d->rank(0);
  for (int i = 1; i < n; i++) {
    int ri = d->rank(i);
    if (ri > r) best = i, r = ri;
  }
  if (rank) *rank = r;
  return best;
}

/* The auto pick; *note gets why no GPU could be used (the backends without a device). */
static void pick_auto(lundi_device_spec *s, char *note, size_t cap) {
  int nb = lundi_backend_count(), best_rank = LUNDI_RANK_AUTO - 1;
  note[0] = 0;
  s->backend = lundi__backend_find("cpu", 3);
  s->index = 0;
  for (int b = 0; b < nb; b++) {
    const lundi_backend_desc *d = lundi__backend(b);
    int n = d->device_count(), r;
    if (n == 0) {
      const char *why = d->unavailable ? d->unavailable() : NULL;
      if (why && *why && !note[0]) snprintf(note, cap, "%s", why);
      continue;
    }
    int i = best_index(d, n, &r);
    if (r > best_rank) best_rank = r, s->backend = b, s->index = i;
  }
}

static int no_such(const lundi_backend_desc *d, int index, int n) {
  return lundi__err(LUNDI_EINVAL, "%s:%d: no such device; %d %s device%s found", d->name, index, n,
                    d->label ? d->label : d->name, n == 1 ? "" : "s");
}

int lundi_device_resolve(lundi_device_spec *s) {
  if (!s) return lundi__err(LUNDI_EINVAL, "device_resolve: spec is NULL");
  if (s->is_auto) {
    char note[512];
    pick_auto(s, note, sizeof note);
    s->is_auto = 0;
    return 0;
  }
  const lundi_backend_desc *d = lundi__backend(s->backend);
  if (!d) return lundi__err(LUNDI_EINVAL, "device_resolve: no backend %d", s->backend);
  int n = d->device_count();
  if (n == 0) {
    const char *why = d->unavailable ? d->unavailable() : NULL;
    if (why && *why) return lundi__err(LUNDI_EUNSUPPORTED, "%s", why);
    return lundi__err(LUNDI_EUNSUPPORTED, "%s: no %s device found", d->name, d->label ? d->label : d->name);
  }
  if (s->index < 0) s->index = best_index(d, n, NULL);
  else if (s->index >= n) return no_such(d, s->index, n);
  return 0;
}

lundi_device *lundi_device_open(const lundi_device_spec *spec) {
  if (!spec) return lundi__errp(LUNDI_EINVAL, "device_open: spec is NULL");
  lundi_device_spec s = *spec;
  if (!s.is_auto) {
    if (lundi_device_resolve(&s)) return NULL;
    return lundi__backend(s.backend)->open(s.index);
  }
  char note[sizeof auto_note];
  pick_auto(&s, note, sizeof note);
  const lundi_backend_desc *d = lundi__backend(s.backend);
  lundi_device *dev = d && strcmp(d->name, "cpu") ? d->open(s.index) : NULL;
  if (d && strcmp(d->name, "cpu") && !dev) {
    char id[64];
    snprintf(note, sizeof note, "%s could not be opened (%s)", lundi_backend_device_name(s.backend, s.index, id, sizeof id),
             lundi_last_error());
  }
  snprintf(auto_note, sizeof auto_note, "%s", dev ? "" : note);
  lundi_clear_error();
  return dev ? dev : lundi_cpu();
}

lundi_device *lundi_device_from_name(const char *name) {
  lundi_device_spec s;
  if (lundi_device_parse(name, &s)) return NULL;
  return lundi_device_open(&s);
}
