/* Placeholder while the kernels are written. */
#include "vulkan/vk.h"

int lundi_vk_cross_entropy_fwd(const lundi_kcall *c) {
  (void)c;
  return lundi__err(LUNDI_EUNSUPPORTED, "cross_entropy_fwd: not implemented on the vulkan backend yet");
}

int lundi_vk_cross_entropy_bwd(const lundi_kcall *c) {
  (void)c;
  return lundi__err(LUNDI_EUNSUPPORTED, "cross_entropy_bwd: not implemented on the vulkan backend yet");
}

int lundi_vk_max_bwd(const lundi_kcall *c) {
  (void)c;
  return lundi__err(LUNDI_EUNSUPPORTED, "max_bwd: not implemented on the vulkan backend yet");
}

