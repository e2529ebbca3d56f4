/* Device names ("cpu", "vulkan", "vulkan:N", "auto") and the default device that scripts
 * and plugins create tensors and models on. */
#include "core/error.h"
#include "lundi/device.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static lundi_device *default_dev;
static char auto_note[512];

/* "auto": a Vulkan GPU (discrete, integrated or virtual) when there is one; a software
 * Vulkan device such as lavapipe is slower than the CPU backend, so it is never the default. */
static lundi_device *pick_auto(void) {
  int n = lundi_device_count(), best = -1, best_rank = 0;
  static const char *gpu[] = {"virtual", "integrated", "discrete"};
  lundi_device_info info;
  for (int i = 0; i < n; i++) {
    if (lundi_device_get_info(i, &info)) continue;
    for (int r = 0; r < 3; r++)
      if (!strcmp(info.type, gpu[r]) && r + 1 > best_rank) best_rank = r + 1, best = i;
  }
  if (best >= 0) {
    lundi_device *d = lundi_vulkan_device(best);
    if (d) return d;
    snprintf(auto_note, sizeof auto_note, "vulkan:%d could not be opened (%s)", best, lundi_last_error());
  } else if (n == 0) {
    snprintf(auto_note, sizeof auto_note, "%s", lundi_vulkan_unavailable_reason());
  } /* only software Vulkan devices: the CPU backend is faster, and that is no failure */
  lundi_clear_error();
  return lundi_cpu();
}

lundi_device *lundi_device_from_name(const char *spec) {
  if (!spec || !*spec || !strcmp(spec, "auto")) return pick_auto();
  if (!strcmp(spec, "cpu")) return lundi_cpu();
  if (!strcmp(spec, "vulkan")) return lundi_vulkan_device(-1);
  if (!strncmp(spec, "vulkan:", 7)) {
    char *end;
    long i = strtol(spec + 7, &end, 10);
    if (end != spec + 7 && !*end && i >= 0 && i < 1 << 20) return lundi_vulkan_device((int)i);
  }
  return lundi__errp(LUNDI_EINVAL, "unknown device '%s' (expected cpu, vulkan, vulkan:N or auto)", spec);
}

const char *lundi_device_auto_note(void) { return auto_note; }

lundi_device *lundi_default_device(void) {
  if (!default_dev) {
    lundi_device *d = lundi_device_from_name(getenv("LUNDI_DEVICE"));
    if (!d) { /* a bad LUNDI_DEVICE: the front-end reports it; library users get the CPU */
      lundi_clear_error();
      d = lundi_cpu();
    }
    default_dev = d;
  }
  return default_dev;
}

void lundi_set_default_device(lundi_device *dev) { default_dev = dev; }
