/* A plugin file may carry a backend (LUNDI_BACKEND_EXPORT, runtime/core/backend_desc.h):
 * the loader hands its descriptor to the device registry. The file then stays mapped for
 * the whole process, since devices and tensors of that backend outlive any registry. */
#include "plugin/plugin_internal.h"
#include "device/registry.h"

#include <dlfcn.h>

int lundi__plugin_add_backend(const void *sym, const char *path, const char *open_as) {
  const lundi_backend_desc *const *d = sym;
  if (lundi__backend_register(*d, path)) return lundi_last_error_code();
  void *pin = dlopen(open_as, RTLD_NOW | RTLD_NOLOAD | RTLD_NODELETE);
  (void)pin; /* only marks the file undeletable; the loader keeps the counted handle */
  return 0;
}
