/* The list of backends: the built-in ones in meson's order, then those registered at run
 * time. Entries are only ever appended, and the count is published after the entry, so
 * readers need no lock. */
#include "device/registry.h"
#include "tensor/tensor_internal.h"
#include "device/builtin_backends.h"

#include <pthread.h>
#include <stdio.h>
#include <string.h>

#define DECLARE(name) extern const lundi_backend_desc lundi_##name##_backend_desc;
LUNDI_BUILTIN_BACKENDS(DECLARE)
#define ENTRY(name) &lundi_##name##_backend_desc,
static const lundi_backend_desc *const builtins[] = {LUNDI_BUILTIN_BACKENDS(ENTRY)};
#define N_BUILTIN ((int)(sizeof builtins / sizeof *builtins))

static const lundi_backend_desc *added[LUNDI_MAX_BACKENDS];
static int n_added;
static pthread_mutex_t lock = PTHREAD_MUTEX_INITIALIZER;

int lundi_backend_count(void) { return N_BUILTIN + __atomic_load_n(&n_added, __ATOMIC_ACQUIRE); }

const lundi_backend_desc *lundi__backend(int b) {
  if (b < 0 || b >= lundi_backend_count()) return NULL;
  return b < N_BUILTIN ? builtins[b] : added[b - N_BUILTIN];
}

int lundi__backend_find(const char *name, size_t len) {
  int n = lundi_backend_count();
  for (int b = 0; b < n; b++) {
    const char *s = lundi__backend(b)->name;
    if (strlen(s) == len && !strncmp(s, name, len)) return b;
  }
  return -1;
}

static int valid_name(const char *s) {
  size_t n = s ? strlen(s) : 0;
  if (!n || n > LUNDI_BACKEND_NAME_MAX || !strcmp(s, "auto")) return 0;
  for (size_t i = 0; i < n; i++)
    if (!lundi__backend_name_char(s[i])) return 0;
  return 1;
}

int lundi__backend_register(const lundi_backend_desc *d, const char *origin) {
  const char *from = origin ? origin : "lundi__backend_register";
  if (!d) return lundi__err(LUNDI_EINVAL, "%s: the backend descriptor is NULL", from);
  if (!valid_name(d->name))
    return lundi__err(LUNDI_EINVAL, "%s: backend name '%s' is not valid (a-z, 0-9 and _, at most %d "
                      "characters, not 'auto')", from, d->name ? d->name : "(null)", LUNDI_BACKEND_NAME_MAX);
  if (d->kernel_count != LUNDI_K_COUNT)
    return lundi__err(LUNDI_EUNSUPPORTED, "%s: backend '%s' was built for %d kernel ids, but this lundi has %d; "
                      "rebuild it against lundi's headers", from, d->name, d->kernel_count, LUNDI_K_COUNT);
  if (!d->device_count || !d->device_info || !d->rank || !d->open || !d->memory)
    return lundi__err(LUNDI_EINVAL, "%s: backend '%s' lacks one of device_count, device_info, rank, open "
                      "and memory", from, d->name);
  pthread_mutex_lock(&lock);
  int rc = 0, b = lundi__backend_find(d->name, strlen(d->name));
  if (b >= 0 && lundi__backend(b) != d)
    rc = lundi__err(LUNDI_EINVAL, "%s: a backend named '%s' is already registered", from, d->name);
  else if (b < 0 && n_added == LUNDI_MAX_BACKENDS)
    rc = lundi__err(LUNDI_ENOMEM, "%s: too many backends (at most %d added)", from, LUNDI_MAX_BACKENDS);
  else if (b < 0) {
    added[n_added] = d;
    __atomic_store_n(&n_added, n_added + 1, __ATOMIC_RELEASE);
  }
  pthread_mutex_unlock(&lock);
  return rc;
}

const char *lundi_backend_name(int b) {
  const lundi_backend_desc *d = lundi__backend(b);
  return d ? d->name : NULL;
}

int lundi_backend_device_count(int b) {
  const lundi_backend_desc *d = lundi__backend(b);
  return d ? d->device_count() : 0;
}

int lundi_backend_is_single(int b) {
  const lundi_backend_desc *d = lundi__backend(b);
  return d ? d->single : 0;
}

int lundi_backend_device_info(int b, int index, lundi_device_info *out) {
  const lundi_backend_desc *d = lundi__backend(b);
  if (!out) return lundi__err(LUNDI_EINVAL, "device_info: out is NULL");
  if (!d) return lundi__err(LUNDI_EINVAL, "device_info: no backend %d (%d registered)", b, lundi_backend_count());
  int rc = d->device_info(index, out);
  if (rc == 0) {
    out->backend = d->name;
    out->index = index;
  }
  return rc;
}

int lundi_device_entry_at(int k, lundi_device_entry *out) {
  for (int b = 0; b < lundi_backend_count(); b++)
    for (int i = 0, n = lundi_backend_device_count(b); i < n; i++) {
      if (lundi_backend_device_info(b, i, &out->info) != 0) { /* left out, as if absent */
        lundi_clear_error();
        continue;
      }
      if (k-- > 0) continue;
      if (!out->info.type) out->info.type = "other";
      lundi_backend_device_name(b, i, out->name, sizeof out->name);
      return 1;
    }
  lundi_clear_error(); /* a backend without a driver may have said so while counting */
  return 0;
}

const char *lundi_backend_unavailable(int b) {
  const lundi_backend_desc *d = lundi__backend(b);
  if (!d || !d->unavailable || d->device_count() > 0) return "";
  const char *why = d->unavailable();
  return why ? why : "";
}

int lundi_device_backend(const lundi_device *dev) {
  return dev && dev->backend ? lundi__backend_find(dev->backend->name, strlen(dev->backend->name)) : -1;
}

char *lundi_backend_device_name(int b, int index, char *buf, size_t cap) {
  const lundi_backend_desc *d = lundi__backend(b);
  if (!d) snprintf(buf, cap, "?");
  else if (d->single) snprintf(buf, cap, "%s", d->name);
  else snprintf(buf, cap, "%s:%d", d->name, index);
  return buf;
}

int lundi_device_memory(lundi_device *dev, uint64_t *used, uint64_t *reserved) {
  if (!dev) return lundi__err(LUNDI_EINVAL, "device_memory: device is NULL");
  const lundi_backend_desc *d = lundi__backend(lundi_device_backend(dev));
  if (!d) return lundi__err(LUNDI_EINVAL, "device_memory: %s belongs to no registered backend", dev->name);
  uint64_t u = 0, r = 0;
  int rc = d->memory(dev, &u, &r);
  if (used) *used = u;
  if (reserved) *reserved = r;
  return rc;
}
