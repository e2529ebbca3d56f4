/* Private state of the Vulkan backend. Vulkan is loaded through volk (volk.h defines
 * VK_NO_PROTOTYPES), so nothing links against libvulkan and a missing loader is an error
 * message, not a failed program start. Device-level functions are the loader's trampolines
 * (volkLoadInstance), which work for every device at once. */
#ifndef LUNDI_VULKAN_VK_H
#define LUNDI_VULKAN_VK_H

#include <volk.h>

#include "tensor/tensor_internal.h"

#include <stdarg.h>
#include <stdio.h>
#include "lundi/vulkan.h"

#include <pthread.h>

#define LUNDI_VK_MAX_DEVICES 16
#define LUNDI_VK_MAX_BINDINGS 4     /* storage buffers per dispatch */
#define LUNDI_VK_PUSH_BYTES 128     /* the minimum maxPushConstantsSize every device offers */
#define LUNDI_VK_MAX_DISPATCHES 1024/* per command buffer; also each descriptor pool's size */
#define LUNDI_VK_RING 3             /* command buffers: one records while up to two run */
/* Bytes a command buffer may bind (summed over its dispatches) before it is submitted, so
 * the device starts on long streams of work early; staged uploads count separately, which
 * bounds the staging memory held by work in flight. */
#define LUNDI_VK_SUBMIT_BYTES ((uint64_t)128 << 20)
#define LUNDI_VK_STAGING_BYTES ((uint64_t)64 << 20)
#define LUNDI_VK_BINS 512           /* free-list size classes (see memory.c) */
#define LUNDI_VK_MAX_PIPES 512
#define LUNDI_VK_MAX_SPEC 6     /* specialization constants per pipeline (id 0 = workgroup size x) */

typedef enum vk_shader {
  VK_SH_FILL, VK_SH_COPY, VK_SH_BINARY,
  VK_SH_UNARY, VK_SH_UNARY_BWD, VK_SH_WHERE, VK_SH_CAST,
  VK_SH_REDUCE, VK_SH_RNG, VK_SH_GEMM, VK_SH_OPTIM,
  VK_SH_SOFTMAX, VK_SH_NORM, VK_SH_NORM_WGRAD, VK_SH_INDEX,
  VK_SH_CONV, VK_SH_ATTN, VK_SH_LOSS,
  VK_SH_COUNT
} vk_shader;

struct vk_block;

/* One storage's memory (the storage's `data` points here): a range of a large block's
 * VkBuffer (memory.c). The same struct is the allocator's chunk: a free chunk sits in a
 * size-class bin, every chunk links to its neighbours in the block to coalesce on free. */
typedef struct vk_buf {
  VkBuffer buf;        /* the block's buffer; bind and copy at `offset` */
  VkDeviceSize offset; /* in the block, a multiple of vk_dev.align */
  VkDeviceSize size;   /* bytes usable and bound by descriptors: the request rounded up to 16 */
  void *map;           /* block mapping + offset when the memory is host-visible (UMA / ReBAR) */
  uint32_t heap;
  /* Hazard tracking: the barrier epoch of the last write / read (see pipeline.c), and the
   * serial of the command buffer that last wrote / used it (see submit.c). */
  uint64_t w_epoch, r_epoch;
  uint64_t w_serial, u_serial;
  /* allocator */
  struct vk_block *block;
  VkDeviceSize csize;           /* chunk bytes, >= size */
  struct vk_buf *prev, *next;   /* neighbours in the block, by address */
  struct vk_buf *fprev, *fnext; /* bin list while free */
  int free, bin;
} vk_buf;

/* Blocks of one memory type and their free chunks. */
typedef struct vk_pool {
  const char *what;  /* "storage" or "staging", for messages */
  uint32_t type;     /* preferred memory type */
  int mapped;        /* blocks stay host-mapped */
  VkDeviceSize base; /* first block size; grows 4x once the pool holds 4 blocks' worth */
  struct vk_block *blocks;
  VkDeviceSize block_bytes; /* in shared (not dedicated) blocks */
  vk_buf *bins[LUNDI_VK_BINS];
  uint64_t mask[LUNDI_VK_BINS / 64]; /* non-empty bins */
} vk_pool;

/* Counters for tests and diagnostics (lundi_vk_memory_stats). */
typedef struct lundi_vk_stats {
  uint64_t device_bytes;    /* live VkDeviceMemory bytes, all pools */
  uint64_t n_memory;        /* live VkDeviceMemory objects */
  uint64_t n_memory_allocs; /* vkAllocateMemory calls so far */
  uint64_t n_dedicated;     /* live allocations of their own (larger than half a block) */
  uint64_t live_bytes;      /* chunk bytes held by buffers, deferred frees included */
  uint64_t n_live;          /* buffers, deferred frees included */
  uint64_t cached_bytes;    /* wholly empty blocks kept for reuse */
  uint64_t n_deferred;      /* frees waiting for a command buffer */
  uint64_t alignment;       /* of every sub-allocation's offset */
  uint64_t block_size;      /* of the next shared storage block */
  uint64_t n_submits;       /* command buffers submitted */
  uint64_t n_waits;         /* fence waits (host blocked on the device) */
  int in_flight;            /* submitted, not yet seen complete */
  int pcache_status;        /* VK_PC_* */
  const char *pcache_note;  /* why the file was not used, "" when it was */
  const char *pcache_path;  /* NULL without a cache directory */
  uint64_t pcache_loaded_bytes, pcache_saves;
} lundi_vk_stats;

enum { VK_PC_NONE, VK_PC_LOADED, VK_PC_REJECTED, VK_PC_DISABLED };

/* A command buffer of the ring with its own fence and descriptor pool. */
typedef struct vk_slot {
  VkCommandBuffer cmd;
  VkFence fence;
  VkDescriptorPool pool;
  uint64_t serial; /* of the submission it holds; 0 once retired */
  uint64_t freed;  /* bytes of deferred frees that wait for it */
} vk_slot;

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
  vk_slot ring[LUNDI_VK_RING];
  int cur;                   /* the slot recording, or the next to */
  VkCommandBuffer cmd;       /* ring[cur]'s while recording */
  VkDescriptorPool desc_pool;
  VkDescriptorSetLayout set_layout;
  VkPipelineLayout pipe_layout;
  VkShaderModule modules[VK_SH_COUNT];
  vk_pipe pipes[LUNDI_VK_MAX_PIPES];
  int n_pipes;
  uint32_t local_size;  /* threads per workgroup for elementwise shaders */
  /* memory */
  int direct;           /* storages are host-mapped, no staging */
  int has_budget;       /* VK_EXT_memory_budget is enabled */
  uint32_t mem_type;    /* for storages */
  uint32_t staging_type;/* HOST_VISIBLE | HOST_COHERENT, for staging buffers */
  vk_pool pools[2];     /* storage, staging */
  VkDeviceSize align;   /* sub-allocation granule: >= 16 and minStorageBufferOffsetAlignment */
  uint64_t heap_used[VK_MAX_MEMORY_HEAPS]; /* VkDeviceMemory bytes lundi holds per heap */
  uint64_t cached_bytes, cache_limit;      /* empty blocks kept, and the most kept */
  uint64_t live_bytes, n_live, n_memory, n_memory_allocs, n_dedicated;
  uint64_t max_alloc, max_range;
  /* recording and submission */
  int recording;
  int n_dispatch;
  uint64_t cmd_bytes, cmd_staging; /* bound / staged so far in the recording command buffer */
  uint64_t epoch;       /* current barrier epoch; bumps at every barrier and submit */
  uint64_t serial;      /* of the command buffer recording (or the next); starts at 1 */
  uint64_t done;        /* every command buffer up to this serial has completed */
  uint64_t n_submits, n_waits;
  vk_buf **deferred;    /* frees waiting for the command buffer that uses them */
  int n_deferred, cap_deferred;
  /* pipeline cache on disk (pipeline_cache.c) */
  VkPipelineCache pcache;
  char *pc_path;
  int pc_status;
  const char *pc_note;
  int pc_dirty;               /* pipelines were created since the last snapshot */
  size_t pc_size;             /* driver data size last loaded or snapshotted */
  unsigned char *pc_pending;  /* a snapshot not yet written */
  size_t pc_pending_len;
  double pc_last_write;       /* monotonic seconds, 0 = never */
  uint64_t pc_loaded, pc_saves;
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
lundi_device *lundi_vk_device(int index); /* opened on first use; NULL with the error set */
static inline vk_dev *lundi_vk_dev(lundi_device *dev) { return dev->impl; }

/* memory.c */
void *lundi_vk_alloc(lundi_device *dev, size_t nbytes);
void lundi_vk_free(lundi_device *dev, void *ptr, size_t nbytes);
int lundi_vk_upload(lundi_device *dev, void *dst, size_t off, const void *src, size_t n);
int lundi_vk_download(lundi_device *dev, const void *src, size_t off, void *dst, size_t n);
int lundi_vk_choose_memory(vk_dev *d);
/* Returns a buffer no command buffer uses any more to its pool (caller holds d->lock). */
void lundi_vk_release(vk_dev *d, vk_buf *b);
/* Waits for all work, then gives every wholly empty block back to the driver. */
int lundi_vk_memory_trim(lundi_device *dev);
void lundi_vk_memory_stats(lundi_device *dev, lundi_vk_stats *out);

/* submit.c (callers hold d->lock) */
int lundi_vk_submit_init(vk_dev *d);
void lundi_vk_submit_destroy(vk_dev *d);
int lundi_vk_begin(vk_dev *d);
/* Submits the recording command buffer without waiting (a slot of the ring). */
int lundi_vk_submit(vk_dev *d);
/* Submits and waits for everything. */
int lundi_vk_flush(vk_dev *d);
/* Waits until the command buffer with this serial (and all before it) has completed and
 * releases the frees that waited for them. */
int lundi_vk_wait(vk_dev *d, uint64_t serial);
/* Retires completed command buffers without blocking. */
void lundi_vk_poll(vk_dev *d);
/* Frees b once the command buffer that last used it completes. */
void lundi_vk_defer(vk_dev *d, vk_buf *b);
/* When in-flight command buffers hold deferred frees of at least `need` bytes, waits for the
 * oldest ones that do (so the memory is reused instead of growing) and returns 1; else 0. */
int lundi_vk_reclaim(vk_dev *d, VkDeviceSize need);
/* Makes b safe for the host to read (writing = 0) or write: submits and waits for the
 * work that writes it (or uses it at all). */
int lundi_vk_host_access(vk_dev *d, const vk_buf *b, int writing);
int lundi_vk_sync(lundi_device *dev);

/* pipeline_cache.c (callers hold d->lock, except init) */
/* Creates d->pcache, from the file when it is valid for this device; never fails. */
void lundi_vk_pcache_init(vk_dev *d);
/* A sync point: snapshots the cache when pipelines were created, writes it at most every
 * few seconds (and at exit). Failures only go to the debug log (LUNDI_VULKAN_DEBUG=1). */
void lundi_vk_pcache_point(vk_dev *d);
/* The driver-data checksum the file's trailer holds (FNV-1a 64). */
uint64_t lundi_vk_pcache_hash(const void *p, size_t n);
void lundi_vk_debug(const vk_dev *d, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

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

/* operands.c. check_flat: t has dtype dt, is contiguous with n elements inside its storage and
 * 31-bit addressable, else an error naming op and what. copy_flat: n elements from src at
 * element offset soff to dst at doff (0 for n == 0). */
int lundi_vk_check_flat(const char *op, const char *what, const lundi_tensor *t, lundi_dtype dt, int64_t n);
int lundi_vk_copy_flat(lundi_tensor *dst, int64_t doff, lundi_tensor *src, int64_t soff, int64_t n);

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
