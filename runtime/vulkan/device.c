/* Opening a Vulkan device (queue, command pool, descriptor pool, pipelines' layout). */
#include "vulkan/vk.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static vk_dev *opened[LUNDI_VK_MAX_DEVICES];
static pthread_mutex_t open_lock = PTHREAD_MUTEX_INITIALIZER;

#define VK_TRY(call, what)                                                                         \
  do {                                                                                             \
    VkResult r_ = (call);                                                                          \
    if (r_ != VK_SUCCESS) {                                                                        \
      lundi__err(r_ == VK_ERROR_OUT_OF_DEVICE_MEMORY || r_ == VK_ERROR_OUT_OF_HOST_MEMORY          \
                     ? LUNDI_ENOMEM : LUNDI_EUNSUPPORTED,                                          \
                 "vulkan:%d: %s failed with %s", index, what, lundi_vk_result(r_));                \
      goto fail;                                                                                   \
    }                                                                                              \
  } while (0)

/* A family with compute but no graphics is usually an async-compute queue that does not
 * compete with the display; otherwise any compute family. */
static uint32_t pick_queue_family(VkPhysicalDevice pd) {
  uint32_t n = 0, best = UINT32_MAX;
  VkQueueFamilyProperties q[32];
  vkGetPhysicalDeviceQueueFamilyProperties(pd, &n, NULL);
  if (n > 32) n = 32;
  vkGetPhysicalDeviceQueueFamilyProperties(pd, &n, q);
  for (uint32_t i = 0; i < n; i++) {
    if (!(q[i].queueFlags & VK_QUEUE_COMPUTE_BIT)) continue;
    if (!(q[i].queueFlags & VK_QUEUE_GRAPHICS_BIT)) return i;
    if (best == UINT32_MAX) best = i;
  }
  return best;
}

extern const lundi_backend lundi_vk_backend;

int lundi_vk_open(vk_dev *d, int index, VkPhysicalDevice pd) {
  d->index = index;
  d->pd = pd;
  vkGetPhysicalDeviceProperties(pd, &d->props);
  vkGetPhysicalDeviceMemoryProperties(pd, &d->mem);
  lundi_device_info info;
  lundi_vk_fill_info(pd, &info);
  d->max_alloc = info.max_memory_allocation_size;
  d->max_range = info.max_storage_buffer_range;
  d->queue_family = pick_queue_family(pd);
  float prio = 1.0f;
  VkDeviceQueueCreateInfo qi = {.sType = VK_STRUCTURE_TYPE_DEVICE_QUEUE_CREATE_INFO,
                                .queueFamilyIndex = d->queue_family, .queueCount = 1,
                                .pQueuePriorities = &prio};
  const char *exts[2];
  uint32_t n_exts = 0;
  /* The spec requires enabling it wherever it is offered (MoltenVK). */
  if (lundi_vk_has_device_ext(pd, "VK_KHR_portability_subset")) exts[n_exts++] = "VK_KHR_portability_subset";
  /* Free memory per heap for out-of-memory messages; queried through the 1.1 call. */
  if (volkGetInstanceVersion() >= VK_API_VERSION_1_1 && d->props.apiVersion >= VK_API_VERSION_1_1 &&
      vkGetPhysicalDeviceMemoryProperties2 && lundi_vk_has_device_ext(pd, VK_EXT_MEMORY_BUDGET_EXTENSION_NAME)) {
    exts[n_exts++] = VK_EXT_MEMORY_BUDGET_EXTENSION_NAME;
    d->has_budget = 1;
  }
  VkDeviceCreateInfo ci = {.sType = VK_STRUCTURE_TYPE_DEVICE_CREATE_INFO, .queueCreateInfoCount = 1,
                           .pQueueCreateInfos = &qi, .enabledExtensionCount = n_exts,
                           .ppEnabledExtensionNames = exts};
  VK_TRY(vkCreateDevice(pd, &ci, NULL, &d->device), "vkCreateDevice");
  vkGetDeviceQueue(d->device, d->queue_family, 0, &d->queue);
  if (lundi_vk_submit_init(d)) goto fail;
  if (lundi_vk_pipeline_init(d) || lundi_vk_choose_memory(d)) goto fail;
  uint32_t local = 256;
  if (local > info.max_workgroup_invocations) local = info.max_workgroup_invocations;
  if (local > info.max_workgroup_size[0]) local = info.max_workgroup_size[0];
  d->local_size = local;
  d->epoch = 1;
  snprintf(d->name, sizeof d->name, "vulkan:%d", index);
  d->dev = (lundi_device){.backend = &lundi_vk_backend, .name = d->name, .is_host = 0, .impl = d};
  pthread_mutex_init(&d->lock, NULL);
  lundi_vk_pcache_init(d); /* last: it registers d for the save at exit */
  return 0;
fail:
  /* Children go before the device; the pipeline objects die with it in the error path. */
  if (d->device) {
    lundi_vk_submit_destroy(d);
    for (int i = 0; i < VK_SH_COUNT; i++)
      if (d->modules[i]) vkDestroyShaderModule(d->device, d->modules[i], NULL);
    if (d->pipe_layout) vkDestroyPipelineLayout(d->device, d->pipe_layout, NULL);
    if (d->set_layout) vkDestroyDescriptorSetLayout(d->device, d->set_layout, NULL);
    vkDestroyDevice(d->device, NULL);
  }
  return -1;
}

/* The Vulkan device with this index (0 <= index), created on first use. Which index to
 * use is the device registry's choice (runtime/device). */
lundi_device *lundi_vk_device(int index) {
  VkPhysicalDevice *pd;
  int n = lundi_vk_physical(&pd);
  if (!n) return lundi__errp(LUNDI_EUNSUPPORTED, "%s", lundi_vulkan_unavailable_reason());
  if (index < 0 || index >= n)
    return lundi__errp(LUNDI_EINVAL, "vulkan:%d: no such device; %d Vulkan device%s found", index, n,
                       n == 1 ? "" : "s");
  pthread_mutex_lock(&open_lock);
  vk_dev *d = opened[index];
  if (!d) {
    d = calloc(1, sizeof *d);
    if (!d) lundi__err(LUNDI_ENOMEM, "vulkan:%d: out of host memory", index);
    else if (lundi_vk_open(d, index, pd[index])) {
      free(d);
      d = NULL;
    }
    opened[index] = d;
  }
  pthread_mutex_unlock(&open_lock);
  return d ? &d->dev : NULL;
}
