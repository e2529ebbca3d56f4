/* The CPU backend: host memory and the kernel table. */
#include "cpu/kernels.h"

#include <stdlib.h>
#include <string.h>

static void *cpu_alloc(lundi_device *dev, size_t n) {
  (void)dev;
  void *p = NULL;
  /* 64-byte alignment for AVX-512 loads; round the size up as aligned_alloc requires. */
  if (posix_memalign(&p, 64, (n + 63) & ~(size_t)63)) return NULL;
  return p;
}

static void cpu_free(lundi_device *dev, void *p) {
  (void)dev;
  free(p);
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
