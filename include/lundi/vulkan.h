/* Vulkan-specific calls, implemented by runtime/vulkan. The generic way to list and open
 * devices of any backend is lundi/device.h; these remain for code that wants Vulkan itself.
 *
 * Vulkan is loaded at run time (no link-time libvulkan), so a machine without a loader or a
 * driver still runs on the CPU: lundi_device_count() is then 0 and
 * lundi_vulkan_unavailable_reason() says why, in one sentence. */
#ifndef LUNDI_VULKAN_H
#define LUNDI_VULKAN_H

#include "lundi/device_info.h"

#ifdef __cplusplus
extern "C" {
#endif

/* Number of usable Vulkan devices (those with a compute queue); 0 when Vulkan is missing. */
int lundi_device_count(void);
/* (Not "lundi_device_info": C forbids a function sharing the struct typedef's name.)
 * Fills *out for Vulkan device index (0 <= index < lundi_device_count()); 0 or a negative
 * status. */
int lundi_device_get_info(int index, lundi_device_info *out);
/* Why there is no Vulkan device ("" while Vulkan is usable or not yet probed). */
const char *lundi_vulkan_unavailable_reason(void);

#ifdef __cplusplus
}
#endif
#endif
