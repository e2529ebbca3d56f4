/* The CPU backend: host memory and the kernel table. */
#include "cpu/kernels.h"
#include "lundi/cpu.h"

#include <pthread.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

/* Large blocks are cached for reuse: a training step frees and reallocates the same
 * activation sizes every iteration, and handing them back to the kernel costs a page fault
 * and a page clear per 4 KiB on the next step (measured: ~12% of an mnist-unet step).
 * The cache is bounded, so memory stays flat; lundi_release_cached_memory() empties it. */
#ifdef __SANITIZE_ADDRESS__
#define CACHE_MIN SIZE_MAX /* let ASan see every free, so use-after-free is caught */
#else
#define CACHE_MIN ((size_t)256 << 10)
#endif
#define CACHE_SLOTS 4096
#define CACHE_CAP_BYTES ((size_t)2 << 30)

typedef struct block {
  void *ptr;
  size_t size;
} block;

static struct {
  pthread_mutex_t lock;
  block free_blocks[CACHE_SLOTS];
  int n;
  size_t bytes;
} cache = {PTHREAD_MUTEX_INITIALIZER, {{0}}, 0, 0};

/* Header before each cached-size block, so free() knows its size class. */
typedef struct hdr {
  size_t size;
  size_t pad[7]; /* keeps the payload 64-byte aligned */
} hdr;

/* Size classes: 8 steps per power of two, so reuse wastes at most 12.5%. */
static size_t size_class(size_t n) {
  size_t p = CACHE_MIN;
  while (p * 2 <= n) p *= 2;
  size_t step = p / 8;
  return (n + step - 1) / step * step;
}

static void *cpu_alloc(lundi_device *dev, size_t n) {
  (void)dev;
  void *p = NULL;
  if (n < CACHE_MIN) {
    /* 64-byte alignment for AVX-512 loads; round the size up as aligned_alloc requires. */
    if (posix_memalign(&p, 64, (n + 63) & ~(size_t)63)) return NULL;
    return p;
  }
  size_t sz = size_class(n);
  pthread_mutex_lock(&cache.lock);
  for (int i = cache.n - 1; i >= 0; i--)
    if (cache.free_blocks[i].size == sz) {
      p = cache.free_blocks[i].ptr;
      cache.free_blocks[i] = cache.free_blocks[--cache.n];
      cache.bytes -= sz;
      break;
    }
  pthread_mutex_unlock(&cache.lock);
  if (p) return (char *)p + sizeof(hdr);
  if (posix_memalign(&p, 64, sz + sizeof(hdr))) {
    lundi_release_cached_memory(); /* retry once with the cache given back */
    if (posix_memalign(&p, 64, sz + sizeof(hdr))) return NULL;
  }
  ((hdr *)p)->size = sz;
  return (char *)p + sizeof(hdr);
}

/* Small blocks come straight from posix_memalign; only blocks of nbytes >= CACHE_MIN carry
 * a header (the backend interface passes nbytes back to free for this). */
static void cpu_free(lundi_device *dev, void *p, size_t nbytes) {
  (void)dev;
  if (!p) return;
  if (nbytes < CACHE_MIN) {
    free(p);
    return;
  }
  hdr *h = (hdr *)((char *)p - sizeof(hdr));
  pthread_mutex_lock(&cache.lock);
  if (cache.n < CACHE_SLOTS && cache.bytes + h->size <= CACHE_CAP_BYTES) {
    cache.free_blocks[cache.n++] = (block){h, h->size};
    cache.bytes += h->size;
    h = NULL;
  }
  pthread_mutex_unlock(&cache.lock);
  free(h);
}

void lundi_release_cached_memory(void) {
  pthread_mutex_lock(&cache.lock);
  for (int i = 0; i < cache.n; i++) free(cache.free_blocks[i].ptr);
  cache.n = 0;
  cache.bytes = 0;
  pthread_mutex_unlock(&cache.lock);
}


static int cpu_upload(lundi_device *dev, void *dst, size_t off, const void *src, size_t n) {
  (void)dev;
  memcpy((char *)dst + off, src, n);
  return 0;
}

static int cpu_download(lundi_device *dev, const void *src, size_t off, void *dst, size_t n) {
  (void)dev;
  memcpy(dst, (const char *)src + off, n);
  return 0;
}

static int cpu_sync(lundi_device *dev) {
  (void)dev;
  return 0;
}

static lundi_backend cpu_backend = {
    .name = "cpu",
    .alloc = cpu_alloc,
    .free = cpu_free,
    .upload = cpu_upload,
    .download = cpu_download,
    .sync = cpu_sync,
};

static lundi_device cpu_device = {.backend = &cpu_backend, .name = "cpu", .is_host = 1};

static void fill_table(lundi_kernel *k) {
  k[LUNDI_K_COPY] = lundi_cpu_copy;
  k[LUNDI_K_FILL] = lundi_cpu_fill;
  k[LUNDI_K_CAST] = lundi_cpu_cast;
  k[LUNDI_K_BINARY] = lundi_cpu_binary;
  k[LUNDI_K_UNARY] = lundi_cpu_unary;
  k[LUNDI_K_UNARY_BWD] = lundi_cpu_unary_bwd;
  k[LUNDI_K_WHERE] = lundi_cpu_where;
  k[LUNDI_K_REDUCE] = lundi_cpu_reduce;
  k[LUNDI_K_MAX_BWD] = lundi_cpu_max_bwd;
  k[LUNDI_K_GEMM] = lundi_cpu_gemm;
  k[LUNDI_K_CONV2D_FWD] = lundi_cpu_conv2d_fwd;
  k[LUNDI_K_CONV2D_BWD_DATA] = lundi_cpu_conv2d_bwd_data;
  k[LUNDI_K_CONV2D_BWD_WEIGHT] = lundi_cpu_conv2d_bwd_weight;
  k[LUNDI_K_GROUP_NORM_FWD] = lundi_cpu_group_norm_fwd;
  k[LUNDI_K_GROUP_NORM_BWD] = lundi_cpu_group_norm_bwd;
  k[LUNDI_K_GROUP_NORM_SILU_FWD] = lundi_cpu_group_norm_silu_fwd;
  k[LUNDI_K_GROUP_NORM_SILU_BWD] = lundi_cpu_group_norm_silu_bwd;
  k[LUNDI_K_LAYER_NORM_FWD] = lundi_cpu_layer_norm_fwd;
  k[LUNDI_K_LAYER_NORM_BWD] = lundi_cpu_layer_norm_bwd;
  k[LUNDI_K_RMS_NORM_FWD] = lundi_cpu_rms_norm_fwd;
  k[LUNDI_K_RMS_NORM_BWD] = lundi_cpu_rms_norm_bwd;
  k[LUNDI_K_SOFTMAX_FWD] = lundi_cpu_softmax_fwd;
  k[LUNDI_K_SOFTMAX_BWD] = lundi_cpu_softmax_bwd;
  k[LUNDI_K_LOG_SOFTMAX_FWD] = lundi_cpu_log_softmax_fwd;
  k[LUNDI_K_LOG_SOFTMAX_BWD] = lundi_cpu_log_softmax_bwd;
  k[LUNDI_K_ATTN_FWD] = lundi_cpu_attn_fwd;
  k[LUNDI_K_ATTN_BWD] = lundi_cpu_attn_bwd;
  k[LUNDI_K_EMBEDDING_FWD] = lundi_cpu_embedding_fwd;
  k[LUNDI_K_EMBEDDING_BWD] = lundi_cpu_embedding_bwd;
  k[LUNDI_K_UPSAMPLE_FWD] = lundi_cpu_upsample_fwd;
  k[LUNDI_K_UPSAMPLE_BWD] = lundi_cpu_upsample_bwd;
  k[LUNDI_K_AVGPOOL_FWD] = lundi_cpu_avgpool_fwd;
  k[LUNDI_K_AVGPOOL_BWD] = lundi_cpu_avgpool_bwd;
  k[LUNDI_K_CROSS_ENTROPY_FWD] = lundi_cpu_cross_entropy_fwd;
  k[LUNDI_K_CROSS_ENTROPY_BWD] = lundi_cpu_cross_entropy_bwd;
  k[LUNDI_K_ROPE] = lundi_cpu_rope;
  k[LUNDI_K_RNG_UNIFORM] = lundi_cpu_rng_uniform;
  k[LUNDI_K_RNG_NORMAL] = lundi_cpu_rng_normal;
  k[LUNDI_K_ADAMW] = lundi_cpu_adamw;
  k[LUNDI_K_EMA] = lundi_cpu_ema;
}

lundi_device *lundi_cpu(void) {
  static int ready;
  if (!ready) { /* idempotent, so a race only repeats identical stores */
    fill_table(cpu_backend.kernels);
    ready = 1;
  }
  return &cpu_device;
}

const char *lundi_device_name(const lundi_device *dev) { return dev->name; }
