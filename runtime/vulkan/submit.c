/* Command buffers. Ops record into the current one (pipeline.c adds barriers only where a
 * later dispatch touches what an earlier one wrote). It is submitted when the host needs data
 * (a download, an item, a sync, a host write to a buffer it uses) or, without waiting, after
 * LUNDI_VK_MAX_DISPATCHES dispatches or LUNDI_VK_SUBMIT_BYTES bound bytes.
 *
 * A ring of LUNDI_VK_RING command buffers, each with its own fence and descriptor pool, lets
 * the host record the next while the device runs earlier ones; the host blocks only when it
 * reuses a slot still in flight or needs data. Every submission gets a serial; a buffer
 * remembers the serials of the last command buffer that wrote and that used it, so a host
 * access waits exactly for those, and a free waits (d->deferred) until the fence of the last
 * command buffer using the buffer has signalled. */
#include "vulkan/vk.h"

#include <stdlib.h>

#define VK_FAIL(call, r)                                                                           \
  lundi__err((r) == VK_ERROR_OUT_OF_DEVICE_MEMORY || (r) == VK_ERROR_OUT_OF_HOST_MEMORY              \
                 ? LUNDI_ENOMEM : LUNDI_EUNSUPPORTED,                                              \
             "vulkan:%d: %s failed with %s", d->index, call, lundi_vk_result(r))

int lundi_vk_submit_init(vk_dev *d) {
  VkCommandPoolCreateInfo pi = {.sType = VK_STRUCTURE_TYPE_COMMAND_POOL_CREATE_INFO,
                                .flags = VK_COMMAND_POOL_CREATE_RESET_COMMAND_BUFFER_BIT,
                                .queueFamilyIndex = d->queue_family};
  VkResult r = vkCreateCommandPool(d->device, &pi, NULL, &d->cmd_pool);
  if (r != VK_SUCCESS) return VK_FAIL("vkCreateCommandPool", r);
  VkDescriptorPoolSize ps = {VK_DESCRIPTOR_TYPE_STORAGE_BUFFER, LUNDI_VK_MAX_DISPATCHES * LUNDI_VK_MAX_BINDINGS};
  VkDescriptorPoolCreateInfo dpi = {.sType = VK_STRUCTURE_TYPE_DESCRIPTOR_POOL_CREATE_INFO,
                                    .maxSets = LUNDI_VK_MAX_DISPATCHES, .poolSizeCount = 1, .pPoolSizes = &ps};
  VkFenceCreateInfo fi = {.sType = VK_STRUCTURE_TYPE_FENCE_CREATE_INFO};
  for (int i = 0; i < LUNDI_VK_RING; i++) {
    vk_slot *s = &d->ring[i];
    VkCommandBufferAllocateInfo ai = {.sType = VK_STRUCTURE_TYPE_COMMAND_BUFFER_ALLOCATE_INFO,
                                      .commandPool = d->cmd_pool, .level = VK_COMMAND_BUFFER_LEVEL_PRIMARY,
                                      .commandBufferCount = 1};
    if ((r = vkAllocateCommandBuffers(d->device, &ai, &s->cmd)) != VK_SUCCESS)
      return VK_FAIL("vkAllocateCommandBuffers", r);
    if ((r = vkCreateFence(d->device, &fi, NULL, &s->fence)) != VK_SUCCESS) return VK_FAIL("vkCreateFence", r);
    if ((r = vkCreateDescriptorPool(d->device, &dpi, NULL, &s->pool)) != VK_SUCCESS)
      return VK_FAIL("vkCreateDescriptorPool", r);
  }
  d->serial = 1;
  return 0;
}

/* For a device that failed to open: nothing was submitted. */
void lundi_vk_submit_destroy(vk_dev *d) {
  for (int i = 0; i < LUNDI_VK_RING; i++) {
    if (d->ring[i].pool) vkDestroyDescriptorPool(d->device, d->ring[i].pool, NULL);
    if (d->ring[i].fence) vkDestroyFence(d->device, d->ring[i].fence, NULL);
  }
  if (d->cmd_pool) vkDestroyCommandPool(d->device, d->cmd_pool, NULL); /* frees the command buffers */
}

static void release_done(vk_dev *d) {
  for (int i = 0; i < d->n_deferred;) {
    vk_buf *b = d->deferred[i];
    if (b->u_serial > d->done) {
      i++;
      continue;
    }
    d->deferred[i] = d->deferred[--d->n_deferred];
    lundi_vk_release(d, b);
  }
}

void lundi_vk_defer(vk_dev *d, vk_buf *b) {
  if (d->n_deferred == d->cap_deferred) {
    int cap = d->cap_deferred ? 2 * d->cap_deferred : 64;
    vk_buf **p = realloc(d->deferred, sizeof *p * (size_t)cap);
    if (p) {
      d->deferred = p;
      d->cap_deferred = cap;
    } else { /* no room to wait: run the work now */
      lundi_vk_flush(d);
      lundi_vk_release(d, b);
      return;
    }
  }
  d->deferred[d->n_deferred++] = b;
  for (int i = 0; i < LUNDI_VK_RING; i++)
    if (d->ring[i].serial == b->u_serial || (i == d->cur && d->recording && b->u_serial == d->serial))
      d->ring[i].freed += b->csize;
}

/* The slot's work has completed (or failed for good): make it reusable. */
static void retire(vk_dev *d, vk_slot *s) {
  vkResetFences(d->device, 1, &s->fence);
  vkResetCommandBuffer(s->cmd, 0);
  vkResetDescriptorPool(d->device, s->pool, 0);
  if (s->serial > d->done) d->done = s->serial;
  s->serial = 0;
  s->freed = 0;
}

/* The k-th slot in submission order: the slot after the recording one is the oldest in
 * flight (the recording slot itself never is), and when nothing records, `cur` is. */
static vk_slot *nth_oldest(vk_dev *d, int k) { return &d->ring[(d->cur + k) % LUNDI_VK_RING]; }

void lundi_vk_poll(vk_dev *d) {
  int any = 0;
  for (int k = 0; k < LUNDI_VK_RING; k++) {
    vk_slot *s = nth_oldest(d, k);
    if (!s->serial) continue;
    /* in order: a later fence is no proof for an earlier one */
    if (vkGetFenceStatus(d->device, s->fence) != VK_SUCCESS) break;
    retire(d, s);
    any = 1;
  }
  if (any) release_done(d);
}

int lundi_vk_wait(vk_dev *d, uint64_t serial) {
  int rc = 0;
  for (int k = 0; k < LUNDI_VK_RING; k++) {
    vk_slot *s = nth_oldest(d, k);
    if (!s->serial || s->serial > serial) continue;
    if (vkGetFenceStatus(d->device, s->fence) != VK_SUCCESS) {
      d->n_waits++;
      VkResult r = vkWaitForFences(d->device, 1, &s->fence, VK_TRUE, UINT64_MAX);
      /* A lost device never signals: the slot is retired all the same, so frees proceed. */
      if (r != VK_SUCCESS && !rc) rc = VK_FAIL("vkWaitForFences", r);
    }
    retire(d, s);
  }
  release_done(d);
  return rc;
}

int lundi_vk_reclaim(vk_dev *d, VkDeviceSize need) {
  uint64_t sum = 0;
  for (int k = 0; k < LUNDI_VK_RING; k++) {
    vk_slot *s = nth_oldest(d, k);
    if (!s->serial) continue;
    if ((sum += s->freed) >= need) return lundi_vk_wait(d, s->serial), 1;
  }
  return 0;
}

int lundi_vk_begin(vk_dev *d) {
  if (d->recording) return 0;
  vk_slot *s = &d->ring[d->cur];
  if (s->serial) { /* the ring is full: wait for the oldest */
    if (lundi_vk_wait(d, s->serial)) return -1;
  } else {
    lundi_vk_poll(d);
  }
  VkCommandBufferBeginInfo bi = {.sType = VK_STRUCTURE_TYPE_COMMAND_BUFFER_BEGIN_INFO,
                                 .flags = VK_COMMAND_BUFFER_USAGE_ONE_TIME_SUBMIT_BIT};
  VkResult r = vkBeginCommandBuffer(s->cmd, &bi);
  if (r != VK_SUCCESS) return VK_FAIL("vkBeginCommandBuffer", r);
  d->cmd = s->cmd;
  d->desc_pool = s->pool;
  d->recording = 1;
  d->n_dispatch = 0;
  d->cmd_bytes = d->cmd_staging = 0;
  return 0;
}

int lundi_vk_submit(vk_dev *d) {
  if (!d->recording) return 0;
  vk_slot *s = &d->ring[d->cur];
  /* Everything written so far is made visible to later commands (in any later submission,
   * since a barrier's second scope is all later work in submission order) and to the host. */
  VkMemoryBarrier mb = {.sType = VK_STRUCTURE_TYPE_MEMORY_BARRIER,
                        .srcAccessMask = VK_ACCESS_SHADER_WRITE_BIT | VK_ACCESS_TRANSFER_WRITE_BIT,
                        .dstAccessMask = VK_ACCESS_SHADER_READ_BIT | VK_ACCESS_SHADER_WRITE_BIT |
                                         VK_ACCESS_TRANSFER_READ_BIT | VK_ACCESS_TRANSFER_WRITE_BIT |
                                         VK_ACCESS_HOST_READ_BIT};
  vkCmdPipelineBarrier(s->cmd, VK_PIPELINE_STAGE_COMPUTE_SHADER_BIT | VK_PIPELINE_STAGE_TRANSFER_BIT,
                       VK_PIPELINE_STAGE_COMPUTE_SHADER_BIT | VK_PIPELINE_STAGE_TRANSFER_BIT |
                           VK_PIPELINE_STAGE_HOST_BIT,
                       0, 1, &mb, 0, NULL, 0, NULL);
  const char *call = "vkEndCommandBuffer";
  VkResult r = vkEndCommandBuffer(s->cmd);
  if (r == VK_SUCCESS) {
    VkSubmitInfo si = {.sType = VK_STRUCTURE_TYPE_SUBMIT_INFO, .commandBufferCount = 1, .pCommandBuffers = &s->cmd};
    call = "vkQueueSubmit";
    r = vkQueueSubmit(d->queue, 1, &si, s->fence);
  }
  d->recording = 0;
  d->epoch++;
  uint64_t serial = d->serial++;
  if (r != VK_SUCCESS) {
    /* The work is lost. Once what went before has completed, its buffers are idle. */
    int rc = VK_FAIL(call, r);
    lundi_vk_wait(d, serial - 1);
    s->serial = serial;
    retire(d, s);
    release_done(d);
    return rc;
  }
  s->serial = serial;
  d->cur = (d->cur + 1) % LUNDI_VK_RING;
  d->n_submits++;
  return 0;
}

int lundi_vk_flush(vk_dev *d) {
  int rc = lundi_vk_submit(d);
  int rw = lundi_vk_wait(d, d->serial - 1);
  return rc ? rc : rw;
}

int lundi_vk_host_access(vk_dev *d, const vk_buf *b, int writing) {
  uint64_t s = writing ? b->u_serial : b->w_serial;
  if (s <= d->done) return 0;
  if (d->recording && s == d->serial && lundi_vk_submit(d)) return -1;
  return lundi_vk_wait(d, s);
}

int lundi_vk_sync(lundi_device *dev) {
  vk_dev *d = lundi_vk_dev(dev);
  pthread_mutex_lock(&d->lock);
  int rc = lundi_vk_flush(d);
  lundi_vk_pcache_point(d);
  pthread_mutex_unlock(&d->lock);
  return rc;
}
