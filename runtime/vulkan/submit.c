/* The command buffer: ops record into it and nothing runs until the host needs data
 * (download, sync), a buffer the host writes is still in use, or LUNDI_VK_MAX_DISPATCHES
 * dispatches have piled up. A flush submits and waits; one command buffer in flight is the
 * first version (double-buffering so the host records while the device runs is next). */
#include "vulkan/vk.h"

int lundi_vk_in_flight(const vk_dev *d, const vk_buf *b, int writing) {
  if (!d->recording) return 0;
  return b->w_epoch >= d->cmd_epoch0 || (writing && b->r_epoch >= d->cmd_epoch0);
}

int lundi_vk_begin(vk_dev *d) {
  if (d->recording) return 0;
  VkCommandBufferBeginInfo bi = {.sType = VK_STRUCTURE_TYPE_COMMAND_BUFFER_BEGIN_INFO,
                                 .flags = VK_COMMAND_BUFFER_USAGE_ONE_TIME_SUBMIT_BIT};
  VkResult r = vkBeginCommandBuffer(d->cmd, &bi);
  if (r != VK_SUCCESS)
    return lundi__err(LUNDI_EUNSUPPORTED, "vulkan:%d: vkBeginCommandBuffer failed with %s", d->index,
                      lundi_vk_result(r));
  d->recording = 1;
  d->n_dispatch = 0;
  d->cmd_epoch0 = d->epoch;
  return 0;
}

#define FAIL(call, r)                                                                              \
  do {                                                                                             \
    rc = lundi__err((r) == VK_ERROR_OUT_OF_DEVICE_MEMORY ? LUNDI_ENOMEM : LUNDI_EUNSUPPORTED,      \
                    "vulkan:%d: %s failed with %s", d->index, call, lundi_vk_result(r));           \
    goto done;                                                                                     \
  } while (0)

int lundi_vk_flush(vk_dev *d) {
  if (!d->recording) return 0;
  int rc = 0;
  /* Everything written so far is made visible to later commands (in any later submission,
   * since a barrier's second scope is all later work in submission order) and to the host. */
  VkMemoryBarrier mb = {.sType = VK_STRUCTURE_TYPE_MEMORY_BARRIER,
                        .srcAccessMask = VK_ACCESS_SHADER_WRITE_BIT | VK_ACCESS_TRANSFER_WRITE_BIT,
                        .dstAccessMask = VK_ACCESS_SHADER_READ_BIT | VK_ACCESS_SHADER_WRITE_BIT |
                                         VK_ACCESS_TRANSFER_READ_BIT | VK_ACCESS_TRANSFER_WRITE_BIT |
                                         VK_ACCESS_HOST_READ_BIT};
  vkCmdPipelineBarrier(d->cmd, VK_PIPELINE_STAGE_COMPUTE_SHADER_BIT | VK_PIPELINE_STAGE_TRANSFER_BIT,
                       VK_PIPELINE_STAGE_COMPUTE_SHADER_BIT | VK_PIPELINE_STAGE_TRANSFER_BIT |
                           VK_PIPELINE_STAGE_HOST_BIT,
                       0, 1, &mb, 0, NULL, 0, NULL);
  VkResult r = vkEndCommandBuffer(d->cmd);
  if (r != VK_SUCCESS) FAIL("vkEndCommandBuffer", r);
  VkSubmitInfo si = {.sType = VK_STRUCTURE_TYPE_SUBMIT_INFO, .commandBufferCount = 1, .pCommandBuffers = &d->cmd};
  r = vkQueueSubmit(d->queue, 1, &si, d->fence);
  if (r != VK_SUCCESS) FAIL("vkQueueSubmit", r);
  r = vkWaitForFences(d->device, 1, &d->fence, VK_TRUE, UINT64_MAX);
  if (r != VK_SUCCESS) FAIL("vkWaitForFences", r);
  r = vkResetFences(d->device, 1, &d->fence);
  if (r != VK_SUCCESS) FAIL("vkResetFences", r);
done:
  vkResetCommandBuffer(d->cmd, 0);
  vkResetDescriptorPool(d->device, d->desc_pool, 0);
  d->recording = 0;
  d->n_dispatch = 0;
  d->epoch++;
  for (int i = 0; i < d->n_deferred; i++) lundi_vk_destroy_buf(d, d->deferred[i]);
  d->n_deferred = 0;
  return rc;
}

int lundi_vk_sync(lundi_device *dev) {
  vk_dev *d = lundi_vk_dev(dev);
  pthread_mutex_lock(&d->lock);
  int rc = lundi_vk_flush(d);
  pthread_mutex_unlock(&d->lock);
  return rc;
}
