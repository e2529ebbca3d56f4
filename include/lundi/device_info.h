/* What a backend says about one of its devices. A plain type shared by the backends (which
 * fill it) and the device registry (which hands it out); it belongs to the lowest floor. */
#ifndef LUNDI_DEVICE_INFO_H
#define LUNDI_DEVICE_INFO_H

#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

typedef struct lundi_device_info {
  char name[256];     /* e.g. "NVIDIA GeForce RTX 4090", "llvmpipe (LLVM 15.0.6, 256 bits)" */
  const char *type;   /* "discrete", "integrated", "virtual", "cpu" or "other" */
  char driver[256];   /* driver name and info, "unknown" where the driver does not say;
                         "" for a device with nothing more to show (the CPU) */
  char api_version[16];           /* "1.3.230"; "" without a versioned API */
  uint64_t device_local_bytes;    /* sum of the DEVICE_LOCAL heaps */
  /* Compute limits (0 where the backend has none to report). */
  uint32_t max_compute_shared_memory;   /* maxComputeSharedMemorySize, bytes */
  uint32_t max_workgroup_invocations;   /* maxComputeWorkGroupInvocations */
  uint32_t max_workgroup_size[3];       /* maxComputeWorkGroupSize */
  uint32_t subgroup_size;               /* 0 when the driver cannot report it (Vulkan 1.0) */
  int shader_float16;                   /* shaderFloat16 feature */
  int storage_buffer_16bit;             /* storageBuffer16BitAccess feature */
  uint64_t max_storage_buffer_range;    /* bytes one storage-buffer binding may span */
  uint64_t max_memory_allocation_size;  /* bytes one VkDeviceMemory may hold */
  /* Where the device comes from. */
  const char *backend;                  /* "cpu", "vulkan", ...: the device name's prefix */
  int index;                            /* the N of "vulkan:N" (0 for a one-device backend) */
  const char *api;                      /* the API api_version belongs to ("Vulkan"), or NULL */
} lundi_device_info;

#ifdef __cplusplus
}
#endif
#endif
