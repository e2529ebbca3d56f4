/* Loading Vulkan, the one VkInstance, the list of usable physical devices and their
 * properties. Everything is probed once, lazily; a failure is kept as a sentence in
 * `reason` so the CPU fallback can say why Vulkan was not used. */
#include "vulkan/vk.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static pthread_once_t once = PTHREAD_ONCE_INIT;
static VkInstance instance;
static uint32_t instance_version = VK_API_VERSION_1_0;
static VkPhysicalDevice physical[LUNDI_VK_MAX_DEVICES];
static int n_physical;
static char reason[512];

const char *lundi_vk_result(VkResult r) {
  switch (r) {
#define R(x) case x: return #x;
    R(VK_SUCCESS) R(VK_NOT_READY) R(VK_TIMEOUT) R(VK_INCOMPLETE)
    R(VK_ERROR_OUT_OF_HOST_MEMORY) R(VK_ERROR_OUT_OF_DEVICE_MEMORY)
    R(VK_ERROR_INITIALIZATION_FAILED) R(VK_ERROR_DEVICE_LOST) R(VK_ERROR_MEMORY_MAP_FAILED)
    R(VK_ERROR_LAYER_NOT_PRESENT) R(VK_ERROR_EXTENSION_NOT_PRESENT)
    R(VK_ERROR_FEATURE_NOT_PRESENT) R(VK_ERROR_INCOMPATIBLE_DRIVER) R(VK_ERROR_TOO_MANY_OBJECTS)
    R(VK_ERROR_FORMAT_NOT_SUPPORTED) R(VK_ERROR_FRAGMENTED_POOL) R(VK_ERROR_OUT_OF_POOL_MEMORY)
    R(VK_ERROR_UNKNOWN)
#undef R
  default: return "VkResult(unknown)";
  }
}

static int has_layer(const char *name) {
  uint32_t n = 0;
  if (vkEnumerateInstanceLayerProperties(&n, NULL) != VK_SUCCESS || !n) return 0;
  VkLayerProperties *p = calloc(n, sizeof *p);
  int found = 0;
  if (p && vkEnumerateInstanceLayerProperties(&n, p) == VK_SUCCESS)
    for (uint32_t i = 0; i < n; i++) found |= !strcmp(p[i].layerName, name);
  free(p);
  return found;
}

static int has_instance_ext(const char *name) {
  uint32_t n = 0;
  if (vkEnumerateInstanceExtensionProperties(NULL, &n, NULL) != VK_SUCCESS || !n) return 0;
  VkExtensionProperties *p = calloc(n, sizeof *p);
  int found = 0;
  if (p && vkEnumerateInstanceExtensionProperties(NULL, &n, p) == VK_SUCCESS)
    for (uint32_t i = 0; i < n; i++) found |= !strcmp(p[i].extensionName, name);
  free(p);
  return found;
}

static int has_compute_queue(VkPhysicalDevice pd) {
  uint32_t n = 0;
  vkGetPhysicalDeviceQueueFamilyProperties(pd, &n, NULL);
  VkQueueFamilyProperties q[32];
  if (n > 32) n = 32;
  vkGetPhysicalDeviceQueueFamilyProperties(pd, &n, q);
  for (uint32_t i = 0; i < n; i++)
    if (q[i].queueFlags & VK_QUEUE_COMPUTE_BIT) return 1;
  return 0;
}

static void probe(void) {
  VkResult r = volkInitialize();
  if (r != VK_SUCCESS) {
    snprintf(reason, sizeof reason,
             "Vulkan is not available: the Vulkan loader (libvulkan.so.1) could not be loaded; "
             "install libvulkan1 and a driver (mesa-vulkan-drivers for the CPU driver lavapipe)");
    return;
  }
  instance_version = volkGetInstanceVersion();
  /* 1.1 gives vkGetPhysicalDeviceProperties2 (subgroup size, 16-bit features). */
  uint32_t api = instance_version >= VK_API_VERSION_1_1 ? VK_API_VERSION_1_1 : VK_API_VERSION_1_0;
  VkApplicationInfo app = {.sType = VK_STRUCTURE_TYPE_APPLICATION_INFO, .pApplicationName = "lundi",
                           .pEngineName = "lundi", .apiVersion = api};
  const char *layers[1], *exts[1];
  uint32_t n_layers = 0, n_exts = 0;
  VkInstanceCreateFlags flags = 0;
  const char *validate = getenv("LUNDI_VULKAN_VALIDATE");
  if (validate && !strcmp(validate, "1")) {
    if (has_layer("VK_LAYER_KHRONOS_validation")) layers[n_layers++] = "VK_LAYER_KHRONOS_validation";
    else fprintf(stderr, "lundi: LUNDI_VULKAN_VALIDATE=1 but VK_LAYER_KHRONOS_validation is not installed\n");
  }
#ifdef VK_KHR_portability_enumeration
  /* MoltenVK lists its devices only to instances that ask for portability drivers. */
  if (has_instance_ext(VK_KHR_PORTABILITY_ENUMERATION_EXTENSION_NAME)) {
    exts[n_exts++] = VK_KHR_PORTABILITY_ENUMERATION_EXTENSION_NAME;
    flags |= VK_INSTANCE_CREATE_ENUMERATE_PORTABILITY_BIT_KHR;
  }
#endif
  VkInstanceCreateInfo ci = {.sType = VK_STRUCTURE_TYPE_INSTANCE_CREATE_INFO, .flags = flags,
                             .pApplicationInfo = &app, .enabledLayerCount = n_layers,
                             .ppEnabledLayerNames = layers, .enabledExtensionCount = n_exts,
                             .ppEnabledExtensionNames = exts};
  r = vkCreateInstance(&ci, NULL, &instance);
  if (r != VK_SUCCESS) {
    snprintf(reason, sizeof reason, "Vulkan is not available: vkCreateInstance failed with %s%s",
             lundi_vk_result(r),
             r == VK_ERROR_INCOMPATIBLE_DRIVER
                 ? " (no Vulkan driver is installed; mesa-vulkan-drivers provides the CPU driver lavapipe)"
                 : "");
    instance = VK_NULL_HANDLE;
    return;
  }
  volkLoadInstance(instance);
  uint32_t n = 0;
  r = vkEnumeratePhysicalDevices(instance, &n, NULL);
  VkPhysicalDevice all[64];
  if (n > 64) n = 64;
  if (r == VK_SUCCESS || r == VK_INCOMPLETE) r = vkEnumeratePhysicalDevices(instance, &n, all);
  if (r != VK_SUCCESS && r != VK_INCOMPLETE) {
    snprintf(reason, sizeof reason, "Vulkan is not available: vkEnumeratePhysicalDevices failed with %s",
             lundi_vk_result(r));
    return;
  }
  for (uint32_t i = 0; i < n && n_physical < LUNDI_VK_MAX_DEVICES; i++)
    if (has_compute_queue(all[i])) physical[n_physical++] = all[i];
  if (!n_physical && n)
    snprintf(reason, sizeof reason, "Vulkan is not available: none of the %u Vulkan devices has a compute queue", n);
  else if (!n_physical)
    snprintf(reason, sizeof reason, "Vulkan is not available: the Vulkan loader found no device "
             "(no driver is installed; mesa-vulkan-drivers provides the CPU driver lavapipe)");
}

int lundi_vk_physical(VkPhysicalDevice **out) {
  pthread_once(&once, probe);
  if (out) *out = physical;
  return n_physical;
}

int lundi_device_count(void) { return lundi_vk_physical(NULL); }

const char *lundi_vulkan_unavailable_reason(void) { return reason; }

static const char *type_name(VkPhysicalDeviceType t) {
  switch (t) {
  case VK_PHYSICAL_DEVICE_TYPE_DISCRETE_GPU: return "discrete";
  case VK_PHYSICAL_DEVICE_TYPE_INTEGRATED_GPU: return "integrated";
  case VK_PHYSICAL_DEVICE_TYPE_VIRTUAL_GPU: return "virtual";
  case VK_PHYSICAL_DEVICE_TYPE_CPU: return "cpu";
  default: return "other";
  }
}

int lundi_vk_has_device_ext(VkPhysicalDevice pd, const char *name) {
  uint32_t n = 0;
  if (vkEnumerateDeviceExtensionProperties(pd, NULL, &n, NULL) != VK_SUCCESS || !n) return 0;
  VkExtensionProperties *p = calloc(n, sizeof *p);
  int found = 0;
  if (p && vkEnumerateDeviceExtensionProperties(pd, NULL, &n, p) == VK_SUCCESS)
    for (uint32_t i = 0; i < n; i++) found |= !strcmp(p[i].extensionName, name);
  free(p);
  return found;
}

int lundi_vk_fill_info(VkPhysicalDevice pd, lundi_device_info *o) {
  memset(o, 0, sizeof *o);
  VkPhysicalDeviceProperties p;
  vkGetPhysicalDeviceProperties(pd, &p);
  snprintf(o->name, sizeof o->name, "%s", p.deviceName);
  o->type = type_name(p.deviceType);
  o->backend = "vulkan";
  o->api = "Vulkan";
  snprintf(o->api_version, sizeof o->api_version, "%u.%u.%u", VK_API_VERSION_MAJOR(p.apiVersion),
           VK_API_VERSION_MINOR(p.apiVersion), VK_API_VERSION_PATCH(p.apiVersion));
  snprintf(o->driver, sizeof o->driver, "unknown");
  const VkPhysicalDeviceLimits *l = &p.limits;
  o->max_compute_shared_memory = l->maxComputeSharedMemorySize;
  o->max_workgroup_invocations = l->maxComputeWorkGroupInvocations;
  for (int i = 0; i < 3; i++) o->max_workgroup_size[i] = l->maxComputeWorkGroupSize[i];
  o->max_storage_buffer_range = l->maxStorageBufferRange;
  o->max_memory_allocation_size = UINT32_MAX; /* Vulkan 1.0 guarantees nothing more explicit */
  VkPhysicalDeviceMemoryProperties m;
  vkGetPhysicalDeviceMemoryProperties(pd, &m);
  for (uint32_t i = 0; i < m.memoryHeapCount; i++)
    if (m.memoryHeaps[i].flags & VK_MEMORY_HEAP_DEVICE_LOCAL_BIT) o->device_local_bytes += m.memoryHeaps[i].size;
  /* The *2 queries need a 1.1 instance and device; newer structs only where supported. */
  if (instance_version < VK_API_VERSION_1_1 || p.apiVersion < VK_API_VERSION_1_1) return 0;
  int v12 = p.apiVersion >= VK_API_VERSION_1_2;
  VkPhysicalDeviceDriverProperties drv = {.sType = VK_STRUCTURE_TYPE_PHYSICAL_DEVICE_DRIVER_PROPERTIES};
  VkPhysicalDeviceMaintenance3Properties m3 = {.sType = VK_STRUCTURE_TYPE_PHYSICAL_DEVICE_MAINTENANCE_3_PROPERTIES};
  VkPhysicalDeviceSubgroupProperties sg = {.sType = VK_STRUCTURE_TYPE_PHYSICAL_DEVICE_SUBGROUP_PROPERTIES, .pNext = &m3};
  if (v12 || lundi_vk_has_device_ext(pd, VK_KHR_DRIVER_PROPERTIES_EXTENSION_NAME)) m3.pNext = &drv;
  VkPhysicalDeviceProperties2 p2 = {.sType = VK_STRUCTURE_TYPE_PHYSICAL_DEVICE_PROPERTIES_2, .pNext = &sg};
  vkGetPhysicalDeviceProperties2(pd, &p2);
  o->subgroup_size = sg.subgroupSize;
  o->max_memory_allocation_size = m3.maxMemoryAllocationSize;
  if (m3.pNext)
    snprintf(o->driver, sizeof o->driver, "%.127s%s%.126s", drv.driverName, drv.driverInfo[0] ? " " : "", drv.driverInfo);
  VkPhysicalDeviceShaderFloat16Int8Features f16 = {.sType = VK_STRUCTURE_TYPE_PHYSICAL_DEVICE_SHADER_FLOAT16_INT8_FEATURES};
  VkPhysicalDevice16BitStorageFeatures s16 = {.sType = VK_STRUCTURE_TYPE_PHYSICAL_DEVICE_16BIT_STORAGE_FEATURES};
  if (v12 || lundi_vk_has_device_ext(pd, VK_KHR_SHADER_FLOAT16_INT8_EXTENSION_NAME)) s16.pNext = &f16;
  VkPhysicalDeviceFeatures2 f2 = {.sType = VK_STRUCTURE_TYPE_PHYSICAL_DEVICE_FEATURES_2, .pNext = &s16};
  vkGetPhysicalDeviceFeatures2(pd, &f2);
  o->storage_buffer_16bit = s16.storageBuffer16BitAccess;
  o->shader_float16 = s16.pNext ? (int)f16.shaderFloat16 : 0;
  return 0;
}

int lundi_device_get_info(int index, lundi_device_info *out) {
  VkPhysicalDevice *pd;
  int n = lundi_vk_physical(&pd);
  if (!out) return lundi__err(LUNDI_EINVAL, "device_info: out is NULL");
  if (index < 0 || index >= n)
    return lundi__err(LUNDI_EINVAL, "device_info: no Vulkan device %d (%d found)%s%s", index, n,
                      n ? "" : ": ", n ? "" : reason);
  int rc = lundi_vk_fill_info(pd[index], out);
  out->index = index;
  return rc;
}
