/* How a backend folder presents its devices to the device registry (runtime/device): a name,
 * how many devices it has, what each one is, how good it is for auto-selection, how to open
 * one and how much memory one uses. The kernels themselves are in lundi_backend (backend.h).
 *
 * A built-in backend defines `const lundi_backend_desc lundi_<name>_backend_desc` and is
 * listed in meson's `backends`; a shared object exports one with LUNDI_BACKEND_EXPORT and is
 * loaded as a plugin file. */
#ifndef LUNDI_BACKEND_DESC_H
#define LUNDI_BACKEND_DESC_H

#include "core/backend.h"
#include "lundi/device_info.h"

/* The order auto-selection prefers. Auto picks the highest rank of at least LUNDI_RANK_AUTO
 * over all backends (first registered wins a tie), else the CPU; a backend's name alone
 * ("vulkan") picks its highest-ranked device, software ones included. */
enum {
  LUNDI_RANK_OTHER = 0,
  LUNDI_RANK_SOFTWARE = 1, /* a CPU emulating a GPU (lavapipe): slower than the CPU backend */
  LUNDI_RANK_VIRTUAL = 2,
  LUNDI_RANK_INTEGRATED = 3,
  LUNDI_RANK_DISCRETE = 4,
  LUNDI_RANK_AUTO = LUNDI_RANK_VIRTUAL
};

typedef struct lundi_backend_desc {
  const char *name;   /* device names' prefix: [a-z0-9_]+, at most 31 characters */
  const char *label;  /* in messages: "Vulkan" ("2 Vulkan devices found") */
  int single;         /* exactly one device, named without an index ("cpu") */
  int kernel_count;   /* LUNDI_K_COUNT as compiled; a loaded backend must match */
  int (*device_count)(void);                       /* probes lazily; 0 when none */
  int (*device_info)(int index, lundi_device_info *out);
  int (*rank)(int index);                          /* a LUNDI_RANK_* */
  lundi_device *(*open)(int index);                /* created once, lives for the process */
  int (*memory)(lundi_device *dev, uint64_t *used, uint64_t *reserved);
  const char *(*unavailable)(void);                /* why device_count() is 0; may be NULL */
} lundi_backend_desc;

/* A shared object's backend: the loader finds this symbol, checks kernel_count and registers it. */
#define LUNDI_BACKEND_SYMBOL "lundi_backend_export"
#define LUNDI_BACKEND_EXPORT(desc)                                                                 \
  __attribute__((visibility("default"))) const lundi_backend_desc *const lundi_backend_export = &(desc);

#endif
