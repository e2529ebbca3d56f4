/* Devices beyond the CPU: Vulkan enumeration and selection.
 *
 * Vulkan is loaded at run time (no link-time libvulkan), so a machine without a loader or a
 * driver still runs on the CPU: lundi_device_count() is then 0 and
 * lundi_vulkan_unavailable_reason() says why, in one sentence.
 * Device handles live for the whole process; they are never released.
 */
#ifndef LUNDI_DEVICE_H
#define LUNDI_DEVICE_H

#include "lundi/tensor.h"

#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

typedef struct lundi_device_info {
  char name[256];     /* e.g. "NVIDIA GeForce RTX 4090", "llvmpipe (LLVM 15.0.6, 256 bits)" */
  const char *type;   /* "discrete", "integrated", "virtual", "cpu" or "other" */
  char driver[256];   /* driver name and info, "unknown" where the driver does not say */
  char api_version[16];           /* "1.3.230" */
  uint64_t device_local_bytes;    /* sum of the DEVICE_LOCAL heaps */
  uint32_t max_compute_shared_memory;   /* maxComputeSharedMemorySize, bytes */
  uint32_t max_workgroup_invocations;   /* maxComputeWorkGroupInvocations */
  uint32_t max_workgroup_size[3];       /* maxComputeWorkGroupSize */
  uint32_t subgroup_size;               /* 0 when the driver cannot report it (Vulkan 1.0) */
  int shader_float16;                   /* shaderFloat16 feature */
  int storage_buffer_16bit;             /* storageBuffer16BitAccess feature */
  uint64_t max_storage_buffer_range;    /* bytes one storage-buffer binding may span */
  uint64_t max_memory_allocation_size;  /* bytes one VkDeviceMemory may hold */
} lundi_device_info;

/* Number of usable Vulkan devices (those with a compute queue); 0 when Vulkan is missing. */
int lundi_device_count(void);
/* (Not "lundi_device_info": C forbids a function sharing the struct typedef's name.)
 * Fills *out for device index (0 <= index < lundi_device_count()); 0 or a negative status. */
int lundi_device_get_info(int index, lundi_device_info *out);
/* The Vulkan device with this index, created on first use. index < 0 picks: the env
 * LUNDI_DEVICE=vulkan:N when set, else the best device (discrete GPU, then integrated,
 * then virtual, then CPU/software). NULL with the error set when none is available. */
lundi_device *lundi_vulkan_device(int index);
/* Why there is no Vulkan device ("" while Vulkan is usable or not yet probed). */
const char *lundi_vulkan_unavailable_reason(void);
/* The device named "cpu", "vulkan" (the best Vulkan device), "vulkan:N" or "auto" (a Vulkan
 * GPU when there is one, else the CPU; NULL or "" mean auto). NULL with the error set when
 * the name is malformed or that device cannot be opened. */
lundi_device *lundi_device_from_name(const char *spec);
/* Where scripts and plugins put new tensors and models: set by lundi_set_default_device,
 * else LUNDI_DEVICE, else auto. Ops themselves always run on their operands' device. */
lundi_device *lundi_default_device(void);
void lundi_set_default_device(lundi_device *dev);
/* Why auto could not use Vulkan, in one sentence: no driver, or a GPU that failed to open
 * ("" otherwise, including when the only Vulkan devices are software ones). */
const char *lundi_device_auto_note(void);
/* Memory of dev in bytes: used by live buffers (frees still pending on the device included)
 * and reserved from the driver (the sub-allocator's blocks). The CPU reports its live tensor
 * storage for both. Training loops should keep both flat. */
int lundi_device_memory(lundi_device *dev, uint64_t *used, uint64_t *reserved);
/* Waits for all work recorded on dev (no-op for the CPU). */
int lundi_device_sync(lundi_device *dev);

#ifdef __cplusplus
}
#endif
#endif
