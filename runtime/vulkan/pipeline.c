/* Embedded shaders, pipelines (created on first use through the on-disk VkPipelineCache of
 * pipeline_cache.c, kept per shader and specialization constants)
 * and recording one dispatch with the barriers it needs. All shaders share one descriptor
 * set layout (LUNDI_VK_MAX_BINDINGS storage buffers; a shader writes only those it uses)
 * and one 128-byte push-constant range. */
#include "vulkan/vk.h"

#include <string.h>

static const uint32_t fill_spv[] = {
#include "fill.spv.h"
};
static const uint32_t copy_spv[] = {
#include "copy.spv.h"
};
static const uint32_t binary_spv[] = {
#include "binary.spv.h"
};
static const uint32_t unary_spv[] = {
#include "unary.spv.h"
};
static const uint32_t unary_bwd_spv[] = {
#include "unary_bwd.spv.h"
};
static const uint32_t where_spv[] = {
#include "where.spv.h"
};
static const uint32_t cast_spv[] = {
#include "cast.spv.h"
};
static const uint32_t reduce_spv[] = {
#include "reduce.spv.h"
};
static const uint32_t rng_spv[] = {
#include "rng.spv.h"
};
static const uint32_t gemm_spv[] = {
#include "gemm.spv.h"
};
static const uint32_t optim_spv[] = {
#include "optim.spv.h"
};
static const uint32_t softmax_spv[] = {
#include "softmax.spv.h"
};
static const uint32_t norm_spv[] = {
#include "norm.spv.h"
};
static const uint32_t norm_wgrad_spv[] = {
#include "norm_wgrad.spv.h"
};
static const uint32_t index_spv[] = {
#include "index.spv.h"
};
static const uint32_t conv_spv[] = {
#include "conv.spv.h"
};
static const uint32_t attn_spv[] = {
#include "attn.spv.h"
};
static const uint32_t loss_spv[] = {
#include "loss.spv.h"
};

static const struct {
  const char *name;
  const uint32_t *code;
  size_t bytes;
} shaders[VK_SH_COUNT] = {
    [VK_SH_FILL] = {"fill", fill_spv, sizeof fill_spv},
    [VK_SH_COPY] = {"copy", copy_spv, sizeof copy_spv},
    [VK_SH_BINARY] = {"binary", binary_spv, sizeof binary_spv},
    [VK_SH_UNARY] = {"unary", unary_spv, sizeof unary_spv},
    [VK_SH_UNARY_BWD] = {"unary_bwd", unary_bwd_spv, sizeof unary_bwd_spv},
    [VK_SH_WHERE] = {"where", where_spv, sizeof where_spv},
    [VK_SH_CAST] = {"cast", cast_spv, sizeof cast_spv},
    [VK_SH_REDUCE] = {"reduce", reduce_spv, sizeof reduce_spv},
    [VK_SH_RNG] = {"rng", rng_spv, sizeof rng_spv},
    [VK_SH_GEMM] = {"gemm", gemm_spv, sizeof gemm_spv},
    [VK_SH_OPTIM] = {"optim", optim_spv, sizeof optim_spv},
    [VK_SH_SOFTMAX] = {"softmax", softmax_spv, sizeof softmax_spv},
    [VK_SH_NORM] = {"norm", norm_spv, sizeof norm_spv},
    [VK_SH_NORM_WGRAD] = {"norm_wgrad", norm_wgrad_spv, sizeof norm_wgrad_spv},
    [VK_SH_INDEX] = {"index", index_spv, sizeof index_spv},
    [VK_SH_CONV] = {"conv", conv_spv, sizeof conv_spv},
    [VK_SH_ATTN] = {"attn", attn_spv, sizeof attn_spv},
    [VK_SH_LOSS] = {"loss", loss_spv, sizeof loss_spv},
};

#define VK_TRY(call, what)                                                                         \
  do {                                                                                             \
    VkResult r_ = (call);                                                                          \
    if (r_ != VK_SUCCESS)                                                                          \
      return lundi__err(r_ == VK_ERROR_OUT_OF_DEVICE_MEMORY || r_ == VK_ERROR_OUT_OF_HOST_MEMORY   \
                            ? LUNDI_ENOMEM : LUNDI_EUNSUPPORTED,                                   \
                        "vulkan:%d: %s failed with %s", d->index, what, lundi_vk_result(r_));      \
  } while (0)

int lundi_vk_pipeline_init(vk_dev *d) {
  VkDescriptorSetLayoutBinding b[LUNDI_VK_MAX_BINDINGS];
  for (uint32_t i = 0; i < LUNDI_VK_MAX_BINDINGS; i++)
    b[i] = (VkDescriptorSetLayoutBinding){.binding = i, .descriptorType = VK_DESCRIPTOR_TYPE_STORAGE_BUFFER,
                                          .descriptorCount = 1, .stageFlags = VK_SHADER_STAGE_COMPUTE_BIT};
  VkDescriptorSetLayoutCreateInfo li = {.sType = VK_STRUCTURE_TYPE_DESCRIPTOR_SET_LAYOUT_CREATE_INFO,
                                        .bindingCount = LUNDI_VK_MAX_BINDINGS, .pBindings = b};
  VK_TRY(vkCreateDescriptorSetLayout(d->device, &li, NULL, &d->set_layout), "vkCreateDescriptorSetLayout");
  VkPushConstantRange pr = {VK_SHADER_STAGE_COMPUTE_BIT, 0, LUNDI_VK_PUSH_BYTES};
  VkPipelineLayoutCreateInfo pi = {.sType = VK_STRUCTURE_TYPE_PIPELINE_LAYOUT_CREATE_INFO, .setLayoutCount = 1,
                                   .pSetLayouts = &d->set_layout, .pushConstantRangeCount = 1,
                                   .pPushConstantRanges = &pr};
  VK_TRY(vkCreatePipelineLayout(d->device, &pi, NULL, &d->pipe_layout), "vkCreatePipelineLayout");
  for (int s = 0; s < VK_SH_COUNT; s++) {
    VkShaderModuleCreateInfo mi = {.sType = VK_STRUCTURE_TYPE_SHADER_MODULE_CREATE_INFO,
                                   .codeSize = shaders[s].bytes, .pCode = shaders[s].code};
    VK_TRY(vkCreateShaderModule(d->device, &mi, NULL, &d->modules[s]), "vkCreateShaderModule");
  }
  return 0;
}

static VkPipeline get_pipeline(vk_dev *d, int shader, const uint32_t *spec, int n_spec) {
  for (int i = 0; i < d->n_pipes; i++)
    if (d->pipes[i].shader == shader && d->pipes[i].n_spec == n_spec &&
        !memcmp(d->pipes[i].spec, spec, sizeof *spec * (size_t)n_spec))
      return d->pipes[i].pipe;
  if (d->n_pipes == LUNDI_VK_MAX_PIPES) {
    lundi__err(LUNDI_EUNSUPPORTED, "vulkan:%d: more than %d pipelines", d->index, LUNDI_VK_MAX_PIPES);
    return VK_NULL_HANDLE;
  }
  VkSpecializationMapEntry me[LUNDI_VK_MAX_SPEC];
  for (int k = 0; k < n_spec; k++)
    me[k] = (VkSpecializationMapEntry){(uint32_t)k, (uint32_t)(k * sizeof(uint32_t)), sizeof(uint32_t)};
  VkSpecializationInfo si = {(uint32_t)n_spec, me, sizeof *spec * (size_t)n_spec, spec};
  VkComputePipelineCreateInfo ci = {
      .sType = VK_STRUCTURE_TYPE_COMPUTE_PIPELINE_CREATE_INFO,
      .stage = {.sType = VK_STRUCTURE_TYPE_PIPELINE_SHADER_STAGE_CREATE_INFO, .stage = VK_SHADER_STAGE_COMPUTE_BIT,
                .module = d->modules[shader], .pName = "main", .pSpecializationInfo = &si},
      .layout = d->pipe_layout};
  VkPipeline p;
  VkResult r = vkCreateComputePipelines(d->device, d->pcache, 1, &ci, NULL, &p);
  if (r != VK_SUCCESS) {
    lundi__err(LUNDI_EUNSUPPORTED, "vulkan:%d: vkCreateComputePipelines(%s) failed with %s", d->index,
               shaders[shader].name, lundi_vk_result(r));
    return VK_NULL_HANDLE;
  }
  d->pc_dirty = 1; /* the cache may hold a new entry: save it at the next sync point */
  vk_pipe *e = &d->pipes[d->n_pipes++];
  *e = (vk_pipe){.shader = shader, .n_spec = n_spec, .pipe = p};
  memcpy(e->spec, spec, sizeof *spec * (size_t)n_spec);
  return p;
}

static int record(vk_dev *d, int shader, const uint32_t *spec, int n_spec, vk_buf *const *bufs, int n_bufs,
                  unsigned writes, const void *push, size_t push_bytes, uint32_t gx, uint32_t gy, uint32_t gz) {
  /* Bounded work per command buffer: submit it (without waiting) and start the next. */
  if (d->recording && (d->n_dispatch >= LUNDI_VK_MAX_DISPATCHES || d->cmd_bytes >= LUNDI_VK_SUBMIT_BYTES) &&
      lundi_vk_submit(d))
    return -1;
  VkPipeline pipe = get_pipeline(d, shader, spec, n_spec);
  if (!pipe || lundi_vk_begin(d)) return -1;
  VkDescriptorSetAllocateInfo ai = {.sType = VK_STRUCTURE_TYPE_DESCRIPTOR_SET_ALLOCATE_INFO,
                                    .descriptorPool = d->desc_pool, .descriptorSetCount = 1,
                                    .pSetLayouts = &d->set_layout};
  VkDescriptorSet set;
  VkResult r = vkAllocateDescriptorSets(d->device, &ai, &set);
  if (r == VK_ERROR_OUT_OF_POOL_MEMORY || r == VK_ERROR_FRAGMENTED_POOL) { /* a pool per command buffer */
    if (lundi_vk_submit(d) || lundi_vk_begin(d)) return -1;
    r = vkAllocateDescriptorSets(d->device, &ai, &set);
  }
  VK_TRY(r, "vkAllocateDescriptorSets");
  VkDescriptorBufferInfo bi[LUNDI_VK_MAX_BINDINGS];
  VkWriteDescriptorSet w[LUNDI_VK_MAX_BINDINGS];
  for (int k = 0; k < n_bufs; k++) {
    bi[k] = (VkDescriptorBufferInfo){bufs[k]->buf, bufs[k]->offset, bufs[k]->size}; /* its range of the block */
    w[k] = (VkWriteDescriptorSet){.sType = VK_STRUCTURE_TYPE_WRITE_DESCRIPTOR_SET, .dstSet = set,
                                  .dstBinding = (uint32_t)k, .descriptorCount = 1,
                                  .descriptorType = VK_DESCRIPTOR_TYPE_STORAGE_BUFFER, .pBufferInfo = &bi[k]};
  }
  vkUpdateDescriptorSets(d->device, (uint32_t)n_bufs, w, 0, NULL);
  /* A barrier only when this dispatch reads what an earlier one in this barrier epoch wrote,
   * or writes what one touched. One global memory barrier covers all buffers at once, which
   * drivers treat no worse than per-buffer barriers. */
  int hazard = 0;
  for (int k = 0; k < n_bufs; k++) {
    int wr = (writes >> k) & 1;
    hazard |= bufs[k]->w_epoch == d->epoch || (wr && bufs[k]->r_epoch == d->epoch);
  }
  if (hazard) {
    VkMemoryBarrier mb = {.sType = VK_STRUCTURE_TYPE_MEMORY_BARRIER,
                          .srcAccessMask = VK_ACCESS_SHADER_WRITE_BIT | VK_ACCESS_SHADER_READ_BIT,
                          .dstAccessMask = VK_ACCESS_SHADER_READ_BIT | VK_ACCESS_SHADER_WRITE_BIT};
    vkCmdPipelineBarrier(d->cmd, VK_PIPELINE_STAGE_COMPUTE_SHADER_BIT, VK_PIPELINE_STAGE_COMPUTE_SHADER_BIT, 0, 1,
                         &mb, 0, NULL, 0, NULL);
    d->epoch++;
  }
  for (int k = 0; k < n_bufs; k++) {
    if ((writes >> k) & 1) {
      bufs[k]->w_epoch = d->epoch;
      bufs[k]->w_serial = d->serial;
    } else {
      bufs[k]->r_epoch = d->epoch;
    }
    bufs[k]->u_serial = d->serial;
    d->cmd_bytes += bufs[k]->size;
  }
  vkCmdBindPipeline(d->cmd, VK_PIPELINE_BIND_POINT_COMPUTE, pipe);
  vkCmdBindDescriptorSets(d->cmd, VK_PIPELINE_BIND_POINT_COMPUTE, d->pipe_layout, 0, 1, &set, 0, NULL);
  vkCmdPushConstants(d->cmd, d->pipe_layout, VK_SHADER_STAGE_COMPUTE_BIT, 0, (uint32_t)push_bytes, push);
  vkCmdDispatch(d->cmd, gx, gy, gz);
  d->n_dispatch++;
  return 0;
}

int lundi_vk_dispatch(vk_dev *d, int shader, vk_buf *const *bufs, int n_bufs, unsigned writes,
                      const void *push, size_t push_bytes, uint64_t n) {
  if (!n) return 0;
  if (n_bufs > LUNDI_VK_MAX_BINDINGS || push_bytes > LUNDI_VK_PUSH_BYTES)
    return lundi__err(LUNDI_EINVAL, "vulkan: %s: %d buffers / %zu push bytes exceed the layout",
                      shaders[shader].name, n_bufs, push_bytes);
  uint64_t groups = (n + d->local_size - 1) / d->local_size;
  const uint32_t *maxc = d->props.limits.maxComputeWorkGroupCount;
  uint64_t gx = groups < maxc[0] ? groups : maxc[0];
  if (gx > 65535) gx = 65535; /* the shaders' folding assumes nothing; keep within every limit */
  uint64_t gy = (groups + gx - 1) / gx;
  if (gy > maxc[1])
    return lundi__err(LUNDI_EUNSUPPORTED, "vulkan:%d: %s over %llu elements needs %llu x %llu workgroups",
                      d->index, shaders[shader].name, (unsigned long long)n, (unsigned long long)gx,
                      (unsigned long long)gy);
  return lundi_vk_dispatch_groups(d, shader, &d->local_size, 1, bufs, n_bufs, writes, push, push_bytes,
                                  (uint32_t)gx, (uint32_t)gy, 1);
}

int lundi_vk_dispatch_groups(vk_dev *d, int shader, const uint32_t *spec, int n_spec, vk_buf *const *bufs,
                             int n_bufs, unsigned writes, const void *push, size_t push_bytes, uint32_t gx,
                             uint32_t gy, uint32_t gz) {
  if (!gx || !gy || !gz) return 0;
  if (n_bufs > LUNDI_VK_MAX_BINDINGS || push_bytes > LUNDI_VK_PUSH_BYTES || n_spec > LUNDI_VK_MAX_SPEC)
    return lundi__err(LUNDI_EINVAL, "vulkan: %s: %d buffers / %zu push bytes / %d constants exceed the layout",
                      shaders[shader].name, n_bufs, push_bytes, n_spec);
  const uint32_t *maxc = d->props.limits.maxComputeWorkGroupCount;
  if (gx > maxc[0] || gy > maxc[1] || gz > maxc[2])
    return lundi__err(LUNDI_EUNSUPPORTED, "vulkan:%d: %s needs %u x %u x %u workgroups, more than the device's %u x %u x %u",
                      d->index, shaders[shader].name, gx, gy, gz, maxc[0], maxc[1], maxc[2]);
  pthread_mutex_lock(&d->lock);
  int rc = record(d, shader, spec, n_spec, bufs, n_bufs, writes, push, push_bytes, gx, gy, gz);
  pthread_mutex_unlock(&d->lock);
  return rc ? lundi_last_error_code() : 0;
}
