/* Private state of the Vulkan backend. Vulkan is loaded through volk (volk.h defines
 * VK_NO_PROTOTYPES), so nothing links against libvulkan and a missing loader is an error
 * message, not a failed program start. Device-level functions are the loader's trampolines
 * (volkLoadInstance), which work for every device at once. */
#ifndef LUNDI_VULKAN_VK_H
#define LUNDI_VULKAN_VK_H

#include <volk.h>

#include "core/internal.h"
#include "lundi/device.h"

#include <pthread.h>

#define LUNDI_VK_MAX_DEVICES 16
#define LUNDI_VK_MAX_BINDINGS 4     /* storage buffers per dispatch */
#define LUNDI_VK_PUSH_BYTES 128     /* the minimum maxPushConstantsSize every device offers */
#define LUNDI_VK_MAX_DISPATCHES 1024/* per command buffer; also the descriptor pool's size */
#define LUNDI_VK_MAX_PIPES 64
#define LUNDI_VK_MAX_SPEC 6     /* specialization constants per pipeline (id 0 = workgroup size x) */

typedef enum vk_shader {
  VK_SH_FILL, VK_SH_COPY, VK_SH_BINARY,
  VK_SH_UNARY, VK_SH_UNARY_BWD, VK_SH_WHERE, VK_SH_CAST,
  VK_SH_REDUCE, VK_SH_RNG, VK_SH_GEMM, VK_SH_OPTIM,
  VK_SH_SOFTMAX, VK_SH_NORM, VK_SH_NORM_WGRAD, VK_SH_INDEX,
  VK_SH_CONV, VK_SH_ATTN, VK_SH_LOSS,
  VK_SH_COUNT
} vk_shader;

/* One storage's memory (the storage's `data` points here). One VkBuffer + VkDeviceMemory
 * each for now; the caching sub-allocator will carve these out of large blocks. */
typedef struct vk_buf {
  VkBuffer buf;
  VkDeviceMemory mem;
  VkDeviceSize size;
  uint32_t heap;
  void *map; /* persistent mapping when the memory is host-visible (UMA / ReBAR) */
  /* Hazard tracking: the barrier epoch of the last write / read (see submit.c). */
  uint64_t w_epoch, r_epoch;
} vk_buf;

typedef struct vk_pipe {
  int shader;
  int n_spec;
  uint32_t spec[LUNDI_VK_MAX_SPEC]; /* specialization constants 0..n_spec-1 */
  VkPipeline pipe;
} vk_pipe;

typedef struct vk_dev {
  lundi_device dev; /* the public handle; dev.impl points back here */
  char name[16];    /* "vulkan:N" */
  int index;
  VkPhysicalDevice pd;
  VkPhysicalDeviceProperties props;
  VkPhysicalDeviceMemoryProperties mem;
  VkDevice device;
  VkQueue queue;
  uint32_t queue_family;
  VkCommandPool cmd_pool;
  VkCommandBuffer cmd;
  VkFence fence;
  VkDescriptorPool desc_pool;
  VkDescriptorSetLayout set_layout;
  VkPipelineLayout pipe_layout;
  VkShaderModule modules[VK_SH_COUNT];
  vk_pipe pipes[LUNDI_VK_MAX_PIPES];
  int n_pipes;
  uint32_t local_size;  /* threads per workgroup for elementwise shaders */
  /* memory */
  int direct;           /* storages are host-mapped, no staging */
  uint32_t mem_type;    /* for storages */
  uint32_t staging_type;/* HOST_VISIBLE | HOST_COHERENT, for staging buffers */
  uint64_t heap_used[VK_MAX_MEMORY_HEAPS];
  uint64_t max_alloc, max_range;
  /* recording */
  int recording;
  int n_dispatch;
  uint64_t epoch;       /* current barrier epoch; bumps at every barrier and submit */
  uint64_t cmd_epoch0;  /* epoch when the current command buffer began */
  vk_buf **deferred;    /* frees waiting for the command buffer that uses them */
  int n_deferred, cap_deferred;
  pthread_mutex_t lock;
} vk_dev;

/* instance.c */
const char *lundi_vk_result(VkResult r);
/* Loads Vulkan and lists the usable physical devices once; returns their count. */
int lundi_vk_physical(VkPhysicalDevice **out);
int lundi_vk_fill_info(VkPhysicalDevice pd, lundi_device_info *out);
/* Whether the physical device offers the named device extension. */
int lundi_vk_has_device_ext(VkPhysicalDevice pd, const char *name);

/* device.c */
int lundi_vk_open(vk_dev *d, int index, VkPhysicalDevice pd);
static inline vk_dev *lundi_vk_dev(lundi_device *dev) { return dev->impl; }

/* memory.c */
void *lundi_vk_alloc(lundi_device *dev, size_t nbytes);
void lundi_vk_free(lundi_device *dev, void *ptr, size_t nbytes);
int lundi_vk_upload(lundi_device *dev, void *dst, size_t off, const void *src, size_t n);
int lundi_vk_download(lundi_device *dev, const void *src, size_t off, void *dst, size_t n);
int lundi_vk_choose_memory(vk_dev *d);
void lundi_vk_destroy_buf(vk_dev *d, vk_buf *b);

/* submit.c (callers hold d->lock) */
int lundi_vk_begin(vk_dev *d);
int lundi_vk_flush(vk_dev *d);
int lundi_vk_sync(lundi_device *dev);
int lundi_vk_in_flight(const vk_dev *d, const vk_buf *b, int writing);

/* pipeline.c */
int lundi_vk_pipeline_init(vk_dev *d);
/* Records one dispatch of `shader` over n threads. bufs[k] is written when bit k of
 * `writes` is set, read otherwise; barriers are added where an earlier dispatch in the
 * same command buffer wrote (or, for writes, touched) one of them. */
int lundi_vk_dispatch(vk_dev *d, int shader, vk_buf *const *bufs, int n_bufs, unsigned writes,
                      const void *push, size_t push_bytes, uint64_t n);
/* The same with an explicit grid of gx x gy x gz workgroups and specialization constants
 * spec[0..n_spec-1] (ids 0..n_spec-1; id 0 is the workgroup size x). */
int lundi_vk_dispatch_groups(vk_dev *d, int shader, const uint32_t *spec, int n_spec, vk_buf *const *bufs,
                             int n_bufs, unsigned writes, const void *push, size_t push_bytes, uint32_t gx,
                             uint32_t gy, uint32_t gz);

/* kernels.c */
int lundi_vk_fill(const lundi_kcall *c);
int lundi_vk_copy(const lundi_kcall *c);
int lundi_vk_binary(const lundi_kcall *c);
/* kernels_ew.c */
int lundi_vk_unary(const lundi_kcall *c);
int lundi_vk_unary_bwd(const lundi_kcall *c);
int lundi_vk_where(const lundi_kcall *c);
int lundi_vk_cast(const lundi_kcall *c);
int lundi_vk_adamw(const lundi_kcall *c);
int lundi_vk_ema(const lundi_kcall *c);
/* kernels_reduce.c */
int lundi_vk_reduce(const lundi_kcall *c);
/* kernels_rng.c */
int lundi_vk_rng_uniform(const lundi_kcall *c);
int lundi_vk_rng_normal(const lundi_kcall *c);
/* kernels_gemm.c */
int lundi_vk_gemm(const lundi_kcall *c);
/* kernels_rows.c */
int lundi_vk_softmax_fwd(const lundi_kcall *c);
int lundi_vk_softmax_bwd(const lundi_kcall *c);
int lundi_vk_log_softmax_fwd(const lundi_kcall *c);
int lundi_vk_log_softmax_bwd(const lundi_kcall *c);
int lundi_vk_layer_norm_fwd(const lundi_kcall *c);
int lundi_vk_layer_norm_bwd(const lundi_kcall *c);
int lundi_vk_rms_norm_fwd(const lundi_kcall *c);
int lundi_vk_rms_norm_bwd(const lundi_kcall *c);
int lundi_vk_group_norm_fwd(const lundi_kcall *c);
int lundi_vk_group_norm_bwd(const lundi_kcall *c);
int lundi_vk_group_norm_silu_fwd(const lundi_kcall *c);
int lundi_vk_group_norm_silu_bwd(const lundi_kcall *c);
/* kernels_index.c */
int lundi_vk_embedding_fwd(const lundi_kcall *c);
int lundi_vk_embedding_bwd(const lundi_kcall *c);
int lundi_vk_upsample_fwd(const lundi_kcall *c);
int lundi_vk_upsample_bwd(const lundi_kcall *c);
int lundi_vk_avgpool_fwd(const lundi_kcall *c);
int lundi_vk_avgpool_bwd(const lundi_kcall *c);
int lundi_vk_rope(const lundi_kcall *c);
/* kernels_conv.c */
int lundi_vk_conv2d_fwd(const lundi_kcall *c);
int lundi_vk_conv2d_bwd_data(const lundi_kcall *c);
int lundi_vk_conv2d_bwd_weight(const lundi_kcall *c);
/* kernels_attn.c */
int lundi_vk_attn_fwd(const lundi_kcall *c);
int lundi_vk_attn_bwd(const lundi_kcall *c);
/* kernels_loss.c */
int lundi_vk_cross_entropy_fwd(const lundi_kcall *c);
int lundi_vk_cross_entropy_bwd(const lundi_kcall *c);
int lundi_vk_max_bwd(const lundi_kcall *c);

#endif
