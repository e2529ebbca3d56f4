/* lundi_vulkan_device, the Vulkan-only call that predates the registry, on top of it: an
 * index, or (index < 0) the Vulkan device LUNDI_DEVICE names, else the best one. */
#include "tensor/tensor_internal.h"
#include "device/registry.h"

#include <string.h>

lundi_device *lundi_vulkan_device(int index) {
  int vk = lundi__backend_find("vulkan", 6);
  if (vk < 0) return lundi__errp(LUNDI_EUNSUPPORTED, "this lundi was built without the vulkan backend");
  lundi_device_spec s = {.is_auto = 0, .backend = vk, .index = index < 0 ? -1 : index};
  const char *env = index < 0 ? lundi_device_env() : NULL;
  lundi_device_spec e;
  /* Only a LUNDI_DEVICE about Vulkan matters here; "cpu" or "auto" are the front-end's. */
  if (env && *env && lundi_device_parse(env, &e) != 0 && e.backend == vk) {
    char names[512];
    return lundi__errp(LUNDI_EINVAL, "LUNDI_DEVICE=%s: expected %s", env, lundi_device_names(names, sizeof names, 0));
  }
  if (env && *env && e.backend == vk) s.index = e.index;
  lundi_clear_error();
  return lundi_device_open(&s);
}
