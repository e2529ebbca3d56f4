/* Storage memory on a Vulkan device. Each storage is one VkBuffer with its own
 * VkDeviceMemory (the caching sub-allocator that carves large blocks is the next step).
 * Where device memory is also host-visible (UMA, ReBAR, lavapipe) it stays mapped and
 * transfers are memcpy; elsewhere they go through a staging buffer and a copy command. */
#include "vulkan/vk.h"

#include <stdlib.h>
#include <string.h>

#define HV VK_MEMORY_PROPERTY_HOST_VISIBLE_BIT
#define HC VK_MEMORY_PROPERTY_HOST_COHERENT_BIT
#define DL VK_MEMORY_PROPERTY_DEVICE_LOCAL_BIT

static int find_type(const vk_dev *d, uint32_t bits, VkMemoryPropertyFlags want) {
  for (uint32_t i = 0; i < d->mem.memoryTypeCount; i++)
    if ((bits & (1u << i)) && (d->mem.memoryTypes[i].propertyFlags & want) == want) return (int)i;
  return -1;
}

int lundi_vk_choose_memory(vk_dev *d) {
  VkDeviceSize biggest = 0;
  for (uint32_t i = 0; i < d->mem.memoryHeapCount; i++)
    if ((d->mem.memoryHeaps[i].flags & VK_MEMORY_HEAP_DEVICE_LOCAL_BIT) && d->mem.memoryHeaps[i].size > biggest)
      biggest = d->mem.memoryHeaps[i].size;
  int staging = find_type(d, ~0u, HV | HC | VK_MEMORY_PROPERTY_HOST_CACHED_BIT);
  if (staging < 0) staging = find_type(d, ~0u, HV | HC);
  if (staging < 0)
    return lundi__err(LUNDI_EUNSUPPORTED, "vulkan:%d: no host-visible coherent memory type", d->index);
  d->staging_type = (uint32_t)staging;
  /* Map storages directly only when the host-visible device-local heap is (nearly) all of
   * device memory: a 256 MiB BAR window must not hold tensors. */
  int direct = find_type(d, ~0u, DL | HV | HC);
  if (direct >= 0 && d->mem.memoryHeaps[d->mem.memoryTypes[direct].heapIndex].size < biggest / 2) direct = -1;
  if (direct < 0 && biggest == 0) direct = staging; /* no device-local heap: host memory it is */
  const char *force = getenv("LUNDI_VULKAN_STAGING"); /* tests the staging path on UMA devices */
  if (force && !strcmp(force, "1")) direct = -1;
  int local = direct >= 0 ? direct : find_type(d, ~0u, DL);
  if (local < 0) local = staging;
  d->direct = direct >= 0;
  d->mem_type = (uint32_t)local;
  return 0;
}

/* A buffer of `size` bytes in a memory type of `props` (preferring type `pref`). */
static int make_buf(vk_dev *d, VkDeviceSize size, uint32_t pref, VkMemoryPropertyFlags props, int map,
                    vk_buf *b) {
  VkBufferCreateInfo bi = {.sType = VK_STRUCTURE_TYPE_BUFFER_CREATE_INFO, .size = size,
                           .usage = VK_BUFFER_USAGE_STORAGE_BUFFER_BIT | VK_BUFFER_USAGE_TRANSFER_SRC_BIT |
                                    VK_BUFFER_USAGE_TRANSFER_DST_BIT,
                           .sharingMode = VK_SHARING_MODE_EXCLUSIVE};
  VkResult r = vkCreateBuffer(d->device, &bi, NULL, &b->buf);
  if (r != VK_SUCCESS)
    return lundi__err(LUNDI_ENOMEM, "vulkan:%d: vkCreateBuffer of %llu bytes failed with %s", d->index,
                      (unsigned long long)size, lundi_vk_result(r));
  VkMemoryRequirements req;
  vkGetBufferMemoryRequirements(d->device, b->buf, &req);
  int type = (req.memoryTypeBits & (1u << pref)) ? (int)pref : find_type(d, req.memoryTypeBits, props);
  if (type < 0) {
    vkDestroyBuffer(d->device, b->buf, NULL);
    return lundi__err(LUNDI_EUNSUPPORTED, "vulkan:%d: no memory type fits a storage buffer", d->index);
  }
  b->heap = d->mem.memoryTypes[type].heapIndex;
  VkMemoryAllocateInfo ai = {.sType = VK_STRUCTURE_TYPE_MEMORY_ALLOCATE_INFO, .allocationSize = req.size,
                             .memoryTypeIndex = (uint32_t)type};
  r = vkAllocateMemory(d->device, &ai, NULL, &b->mem);
  if (r != VK_SUCCESS) {
    vkDestroyBuffer(d->device, b->buf, NULL);
    const VkMemoryHeap *h = &d->mem.memoryHeaps[b->heap];
    return lundi__err(LUNDI_ENOMEM,
                      "vulkan:%d: out of device memory: requested %llu bytes (%.1f MiB); the heap holds "
                      "%.1f MiB, of which lundi already uses %.1f MiB (vkAllocateMemory: %s)",
                      d->index, (unsigned long long)size, (double)size / 1048576.0, (double)h->size / 1048576.0,
                      (double)d->heap_used[b->heap] / 1048576.0, lundi_vk_result(r));
  }
  b->size = req.size;
  r = vkBindBufferMemory(d->device, b->buf, b->mem, 0);
  if (r == VK_SUCCESS && map) r = vkMapMemory(d->device, b->mem, 0, VK_WHOLE_SIZE, 0, &b->map);
  if (r != VK_SUCCESS) {
    vkDestroyBuffer(d->device, b->buf, NULL);
    vkFreeMemory(d->device, b->mem, NULL);
    return lundi__err(LUNDI_EUNSUPPORTED, "vulkan:%d: %s failed with %s", d->index,
                      map ? "vkBindBufferMemory/vkMapMemory" : "vkBindBufferMemory", lundi_vk_result(r));
  }
  d->heap_used[b->heap] += b->size;
  return 0;
}

void lundi_vk_destroy_buf(vk_dev *d, vk_buf *b) {
  if (b->map) vkUnmapMemory(d->device, b->mem);
  vkDestroyBuffer(d->device, b->buf, NULL);
  vkFreeMemory(d->device, b->mem, NULL);
  d->heap_used[b->heap] -= b->size;
  free(b);
}

void *lundi_vk_alloc(lundi_device *dev, size_t nbytes) {
  vk_dev *d = lundi_vk_dev(dev);
  VkDeviceSize size = ((VkDeviceSize)nbytes + 15) & ~(VkDeviceSize)15; /* shaders access 32-bit words */
  if (size > d->max_alloc)
    return lundi__errp(LUNDI_ENOMEM, "vulkan:%d: cannot allocate %zu bytes: more than the device's "
                       "maxMemoryAllocationSize (%llu bytes)", d->index, nbytes, (unsigned long long)d->max_alloc);
  if (size > d->max_range)
    return lundi__errp(LUNDI_ENOMEM, "vulkan:%d: cannot allocate %zu bytes: more than the device's "
                       "maxStorageBufferRange (%llu bytes) one shader binding can address",
                       d->index, nbytes, (unsigned long long)d->max_range);
  vk_buf *b = calloc(1, sizeof *b);
  if (!b) return lundi__errp(LUNDI_ENOMEM, "vulkan:%d: out of host memory", d->index);
  pthread_mutex_lock(&d->lock);
  int rc = make_buf(d, size, d->mem_type, d->direct ? (DL | HV | HC) : DL, d->direct, b);
  pthread_mutex_unlock(&d->lock);
  if (rc) {
    free(b);
    return NULL;
  }
  return b;
}

void lundi_vk_free(lundi_device *dev, void *ptr, size_t nbytes) {
  (void)nbytes;
  vk_dev *d = lundi_vk_dev(dev);
  vk_buf *b = ptr;
  if (!b) return;
  pthread_mutex_lock(&d->lock);
  if (lundi_vk_in_flight(d, b, 1)) { /* recorded work still uses it: free after the submit */
    if (d->n_deferred == d->cap_deferred) {
      int cap = d->cap_deferred ? 2 * d->cap_deferred : 64;
      vk_buf **p = realloc(d->deferred, sizeof *p * (size_t)cap);
      if (!p) lundi_vk_flush(d); /* no room to wait: run the work now */
      else d->deferred = p, d->cap_deferred = cap;
    }
    if (lundi_vk_in_flight(d, b, 1)) {
      d->deferred[d->n_deferred++] = b;
      b = NULL;
    }
  }
  if (b) lundi_vk_destroy_buf(d, b);
  pthread_mutex_unlock(&d->lock);
}

/* Copies between b and a fresh staging buffer in a command buffer of its own, with the
 * barriers that order it after earlier dispatches and before later ones and the host. */
static int staged_copy(vk_dev *d, vk_buf *b, size_t off, void *host, size_t n, int to_device) {
  vk_buf s = {0};
  if (make_buf(d, n, d->staging_type, HV | HC, 1, &s)) return -1;
  if (to_device) memcpy(s.map, host, n);
  int rc = lundi_vk_begin(d);
  if (!rc) {
    VkMemoryBarrier mb = {.sType = VK_STRUCTURE_TYPE_MEMORY_BARRIER,
                          .srcAccessMask = VK_ACCESS_SHADER_WRITE_BIT | VK_ACCESS_SHADER_READ_BIT,
                          .dstAccessMask = VK_ACCESS_TRANSFER_READ_BIT | VK_ACCESS_TRANSFER_WRITE_BIT};
    vkCmdPipelineBarrier(d->cmd, VK_PIPELINE_STAGE_COMPUTE_SHADER_BIT, VK_PIPELINE_STAGE_TRANSFER_BIT, 0, 1, &mb,
                         0, NULL, 0, NULL);
    VkBufferCopy region = {.srcOffset = to_device ? 0 : off, .dstOffset = to_device ? off : 0, .size = n};
    vkCmdCopyBuffer(d->cmd, to_device ? s.buf : b->buf, to_device ? b->buf : s.buf, 1, &region);
    rc = lundi_vk_flush(d); /* ends with the transfer -> compute/host barrier */
  }
  if (!rc && !to_device) memcpy(host, s.map, n);
  vkUnmapMemory(d->device, s.mem);
  vkDestroyBuffer(d->device, s.buf, NULL);
  vkFreeMemory(d->device, s.mem, NULL);
  d->heap_used[s.heap] -= s.size;
  return rc;
}

static int check_range(vk_dev *d, const char *what, const vk_buf *b, size_t off, size_t n) {
  if (off + n < off || off + n > b->size)
    return lundi__err(LUNDI_EINVAL, "vulkan:%d: %s of %zu bytes at offset %zu overruns a %llu-byte buffer",
                      d->index, what, n, off, (unsigned long long)b->size);
  return 0;
}

int lundi_vk_upload(lundi_device *dev, void *dst, size_t off, const void *src, size_t n) {
  vk_dev *d = lundi_vk_dev(dev);
  vk_buf *b = dst;
  if (!n) return 0;
  if (check_range(d, "upload", b, off, n)) return LUNDI_EINVAL;
  pthread_mutex_lock(&d->lock);
  int rc = lundi_vk_in_flight(d, b, 1) ? lundi_vk_flush(d) : 0;
  if (!rc) {
    if (b->map) memcpy((char *)b->map + off, src, n); /* coherent: visible at the next submit */
    else rc = staged_copy(d, b, off, (void *)src, n, 1);
  }
  pthread_mutex_unlock(&d->lock);
  return rc ? lundi_last_error_code() : 0;
}

int lundi_vk_download(lundi_device *dev, const void *src, size_t off, void *dst, size_t n) {
  vk_dev *d = lundi_vk_dev(dev);
  vk_buf *b = (vk_buf *)src;
  if (!n) return 0;
  if (check_range(d, "download", b, off, n)) return LUNDI_EINVAL;
  pthread_mutex_lock(&d->lock);
  int rc = lundi_vk_in_flight(d, b, 0) ? lundi_vk_flush(d) : 0;
  if (!rc) {
    if (b->map) memcpy(dst, (char *)b->map + off, n);
    else rc = staged_copy(d, b, off, dst, n, 0);
  }
  pthread_mutex_unlock(&d->lock);
  return rc ? lundi_last_error_code() : 0;
}
