/* Vulkan as the device registry sees it: the physical devices with a compute queue, ranked
 * by type, opened on first use. */
#include "core/backend_desc.h"
#include "vulkan/vk.h"

#include <string.h>

static int vk_rank(int index) {
  lundi_device_info info;
  if (lundi_device_get_info(index, &info)) return LUNDI_RANK_OTHER;
  static const struct { const char *type; int rank; } order[] = {
      {"discrete", LUNDI_RANK_DISCRETE}, {"integrated", LUNDI_RANK_INTEGRATED},
      {"virtual", LUNDI_RANK_VIRTUAL}, {"cpu", LUNDI_RANK_SOFTWARE}};
  for (int i = 0; i < 4; i++)
    if (!strcmp(info.type, order[i].type)) return order[i].rank;
  return LUNDI_RANK_OTHER;
}

static int vk_memory(lundi_device *dev, uint64_t *used, uint64_t *reserved) {
  lundi_vk_stats st;
  lundi_vk_memory_stats(dev, &st);
  *used = st.live_bytes;
  *reserved = st.device_bytes;
  return 0;
}

const lundi_backend_desc lundi_vulkan_backend_desc = {
    .name = "vulkan", .label = "Vulkan", .single = 0, .kernel_count = LUNDI_K_COUNT,
    .device_count = lundi_device_count, .device_info = lundi_device_get_info, .rank = vk_rank,
    .open = lundi_vk_device, .memory = vk_memory, .unavailable = lundi_vulkan_unavailable_reason,
};
