/* Placeholder while the kernels are written. */
#include "vulkan/vk.h"

int lundi_vk_conv2d_fwd(const lundi_kcall *c) {
  (void)c;
  return lundi__err(LUNDI_EUNSUPPORTED, "conv2d_fwd: not implemented on the vulkan backend yet");
}

int lundi_vk_conv2d_bwd_data(const lundi_kcall *c) {
  (void)c;
  return lundi__err(LUNDI_EUNSUPPORTED, "conv2d_bwd_data: not implemented on the vulkan backend yet");
}

int lundi_vk_conv2d_bwd_weight(const lundi_kcall *c) {
  (void)c;
  return lundi__err(LUNDI_EUNSUPPORTED, "conv2d_bwd_weight: not implemented on the vulkan backend yet");
}

