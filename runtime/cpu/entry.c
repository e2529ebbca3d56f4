/* The CPU as the device registry sees it: one device, "cpu", always there. It is the
 * fallback of auto-selection rather than a candidate, so it ranks as a software device. */
#include "core/backend_desc.h"
#include "cpu/threads.h"
#include "tensor/tensor_internal.h"

#include <stdio.h>
#include <string.h>

static int cpu_count(void) { return 1; }

static int cpu_info(int index, lundi_device_info *o) {
  if (index != 0) return lundi__err(LUNDI_EINVAL, "device_info: no CPU device %d", index);
  memset(o, 0, sizeof *o);
  snprintf(o->name, sizeof o->name, "%d threads", lundi__threads());
  o->type = "cpu";
  o->backend = "cpu";
  return 0;
}

static int cpu_rank(int index) { return (void)index, LUNDI_RANK_SOFTWARE; }

static lundi_device *cpu_open(int index) { return (void)index, lundi_cpu(); }

static int cpu_memory(lundi_device *dev, uint64_t *used, uint64_t *reserved) {
  (void)dev;
  *used = *reserved = (uint64_t)lundi_live_storage_bytes();
  return 0;
}

const lundi_backend_desc lundi_cpu_backend_desc = {
    .name = "cpu", .label = "CPU", .single = 1, .kernel_count = LUNDI_K_COUNT,
    .device_count = cpu_count, .device_info = cpu_info, .rank = cpu_rank, .open = cpu_open,
    .memory = cpu_memory, .unavailable = NULL,
};
