/* Placeholder while the kernels are written. */
#include "vulkan/vk.h"

int lundi_vk_attn_fwd(const lundi_kcall *c) {
  (void)c;
  return lundi__err(LUNDI_EUNSUPPORTED, "attn_fwd: not implemented on the vulkan backend yet");
}

int lundi_vk_attn_bwd(const lundi_kcall *c) {
  (void)c;
  return lundi__err(LUNDI_EUNSUPPORTED, "attn_bwd: not implemented on the vulkan backend yet");
}

