/* Devices: the registry of backends (runtime/device). Every device has a name: "cpu", or a
 * backend's name and an index ("vulkan:0"); a backend's name alone means its best device,
 * and "auto" means the best GPU of any backend, else the CPU.
 *
 * The backends are the ones built in (meson's `backends` list: cpu, vulkan) and those a
 * shared object adds at run time (a plugin file exporting a backend; see runtime/plugin/
 * loader.c). Device handles live for the whole process; they are never released.
 */
#ifndef LUNDI_DEVICE_H
#define LUNDI_DEVICE_H

#include "lundi/tensor.h"
#include "lundi/device_info.h"
#include "lundi/vulkan.h" /* the Vulkan-specific calls that predate the registry */

#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

/* ---- backends, by position 0 <= b < lundi_backend_count() ---- */
int lundi_backend_count(void);
const char *lundi_backend_name(int b);      /* "cpu", "vulkan", ...; NULL when out of range */
int lundi_backend_device_count(int b);      /* usable devices now; 0 when it has none */
int lundi_backend_device_info(int b, int index, lundi_device_info *out);
const char *lundi_backend_unavailable(int b); /* why it has no device ("" when it does) */
int lundi_backend_is_single(int b);         /* one device, named without an index ("cpu") */
int lundi_device_backend(const lundi_device *dev); /* dev's backend position, -1 if none */
/* The name of device index of backend b: "cpu", "vulkan:0". Returns buf. */
char *lundi_backend_device_name(int b, int index, char *buf, size_t cap);

/* Every backend's usable devices as one list, in the registry's order: entry k (0-based) into
 * out, its name ("vulkan:0") and information (type "other" where the backend gives none).
 * Devices whose information cannot be read are left out, and so are their errors. 1 when
 * entry k exists, 0 past the end. */
typedef struct lundi_device_entry {
  char name[64];
  lundi_device_info info;
} lundi_device_entry;
int lundi_device_entry_at(int k, lundi_device_entry *out);

/* ---- names ---- */
/* A parsed device name. */
typedef struct lundi_device_spec {
  int is_auto;   /* "auto" (also NULL and "") */
  int backend;   /* position of the named backend; -1 for auto or an unknown name */
  int index;     /* the N of "name:N"; -1: the backend's best device */
} lundi_device_spec;
/* The one parser of device names: "auto", "", NULL, "name" and "name:N". 0 on success;
 * LUNDI_EINVAL when malformed (out->backend is still set when the name part is known, as
 * for "vulkan:x"); LUNDI_EUNSUPPORTED for a well-formed name no backend has (yet: a plugin
 * loaded later may add it). The message lists the names that are accepted. */
int lundi_device_parse(const char *name, lundi_device_spec *out);
/* The accepted names in prose, from the registered backends: "cpu, vulkan or vulkan:N"
 * (with_auto: "cpu, vulkan, vulkan:N or auto"). Returns buf. */
char *lundi_device_names(char *buf, size_t cap, int with_auto);
/* Resolves auto and a missing index to one device without opening it (auto: the best GPU
 * by the backends' ranking, discrete > integrated > virtual, else the CPU; software devices
 * are never picked). Errors name the device and how many there are. */
int lundi_device_resolve(lundi_device_spec *s);
/* The device s names, opened on first use. Auto falls back to the CPU when the GPU it
 * picked cannot be opened (lundi_device_auto_note() says so). NULL with the error set. */
lundi_device *lundi_device_open(const lundi_device_spec *s);
/* parse + open: the device named "cpu", "vulkan", "vulkan:N", "auto" (NULL or "" mean
 * auto). NULL with the error set when the name is malformed or the device cannot be opened. */
lundi_device *lundi_device_from_name(const char *spec);
/* Why auto could not use a GPU, in one sentence: no driver, or a GPU that failed to open
 * ("" otherwise, including when the only GPUs are software ones). */
const char *lundi_device_auto_note(void);

/* ---- the default device ---- */
/* $LUNDI_DEVICE as set (NULL when unset): for messages and tools that want its text. */
const char *lundi_device_env(void);
/* The device $LUNDI_DEVICE names (auto when unset or empty); NULL with the error set when
 * it is malformed or cannot be opened. */
lundi_device *lundi_device_from_env(void);
/* Where scripts and plugins put new tensors and models: set by lundi_set_default_device,
 * else LUNDI_DEVICE, else auto (a bad LUNDI_DEVICE gives the CPU). Ops themselves always
 * run on their operands' device. */
lundi_device *lundi_default_device(void);
void lundi_set_default_device(lundi_device *dev);
/* Takes over t (a new reference) and returns it on the default device: t itself when it is
 * there already, else a copy (t released). NULL in, or a failed copy: NULL with the error set. */
lundi_tensor *lundi_to_default_device(lundi_tensor *t);

/* ---- using a device ---- */
/* Memory of dev in bytes: used by live buffers (frees still pending on the device included)
 * and reserved from the driver (the sub-allocator's blocks). The CPU reports its live tensor
 * storage for both. Training loops should keep both flat. */
int lundi_device_memory(lundi_device *dev, uint64_t *used, uint64_t *reserved);
/* Waits for all work recorded on dev (no-op for the CPU). */
int lundi_device_sync(lundi_device *dev);

/* Vulkan device index (created on first use) through the registry. index < 0 picks: the env
 * LUNDI_DEVICE=vulkan:N when set, else the best device (discrete GPU, then integrated,
 * then virtual, then CPU/software). NULL with the error set when none is available. */
lundi_device *lundi_vulkan_device(int index);

#ifdef __cplusplus
}
#endif
#endif
