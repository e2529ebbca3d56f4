/* Routes a kernel call to the backend that owns the tensors, counts it, and optionally
 * times it. Routing only: the CPU fallback for missing kernels is the op layer's
 * (runtime/ops/fallback.c). */
#include "lundi/profile.h"
#include "tensor/tensor_internal.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

static int profiling;
static int64_t calls[2]; /* kernel calls on [0] device backends, [1] the host */

int64_t lundi_kernel_calls(int host) { return __atomic_load_n(&calls[host != 0], __ATOMIC_RELAXED); }
static double prof_seconds[LUNDI_K_COUNT];
static int64_t prof_calls[LUNDI_K_COUNT];

void lundi_profile_enable(int on) {
  profiling = on;
  if (on)
    for (int i = 0; i < LUNDI_K_COUNT; i++) prof_seconds[i] = 0, prof_calls[i] = 0;
}

static double now_s(void) {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return (double)ts.tv_sec + 1e-9 * (double)ts.tv_nsec;
}

void lundi_profile_report(FILE *out) {
  double total = 0;
  for (int i = 0; i < LUNDI_K_COUNT; i++) total += prof_seconds[i];
  fprintf(out, "%-26s %10s %10s %6s\n", "kernel", "calls", "ms", "%");
  for (int done = 0; done < LUNDI_K_COUNT; done++) { /* descending by time */
    int best = -1;
    for (int i = 0; i < LUNDI_K_COUNT; i++)
      if (prof_calls[i] >= 0 && prof_seconds[i] > 0 && (best < 0 || prof_seconds[i] > prof_seconds[best])) best = i;
    if (best < 0) break;
    fprintf(out, "%-26s %10lld %10.2f %6.1f\n", lundi__kernel_name(best), (long long)prof_calls[best],
            1e3 * prof_seconds[best], 100 * prof_seconds[best] / (total > 0 ? total : 1));
    prof_calls[best] = -1 - prof_calls[best]; /* mark printed */
  }
  for (int i = 0; i < LUNDI_K_COUNT; i++)
    if (prof_calls[i] < 0) prof_calls[i] = -1 - prof_calls[i];
  fprintf(out, "%-26s %10s %10.2f\n", "total in kernels", "", 1e3 * total);
}

static const char *const kernel_names[LUNDI_K_COUNT] = {
    [LUNDI_K_COPY] = "copy",
    [LUNDI_K_FILL] = "fill",
    [LUNDI_K_CAST] = "cast",
    [LUNDI_K_BINARY] = "binary",
    [LUNDI_K_UNARY] = "unary",
    [LUNDI_K_UNARY_BWD] = "unary_backward",
    [LUNDI_K_WHERE] = "where",
    [LUNDI_K_REDUCE] = "reduce",
    [LUNDI_K_MAX_BWD] = "max_backward",
    [LUNDI_K_GEMM] = "gemm",
    [LUNDI_K_CONV2D_FWD] = "conv2d",
    [LUNDI_K_CONV2D_BWD_DATA] = "conv2d_backward_data",
    [LUNDI_K_CONV2D_BWD_WEIGHT] = "conv2d_backward_weight",
    [LUNDI_K_GROUP_NORM_FWD] = "group_norm",
    [LUNDI_K_GROUP_NORM_BWD] = "group_norm_backward",
    [LUNDI_K_LAYER_NORM_FWD] = "layer_norm",
    [LUNDI_K_LAYER_NORM_BWD] = "layer_norm_backward",
    [LUNDI_K_RMS_NORM_FWD] = "rms_norm",
    [LUNDI_K_RMS_NORM_BWD] = "rms_norm_backward",
    [LUNDI_K_SOFTMAX_FWD] = "softmax",
    [LUNDI_K_SOFTMAX_BWD] = "softmax_backward",
    [LUNDI_K_LOG_SOFTMAX_FWD] = "log_softmax",
    [LUNDI_K_LOG_SOFTMAX_BWD] = "log_softmax_backward",
    [LUNDI_K_ATTN_FWD] = "attention",
    [LUNDI_K_ATTN_BWD] = "attention_backward",
    [LUNDI_K_EMBEDDING_FWD] = "embedding",
    [LUNDI_K_EMBEDDING_BWD] = "embedding_backward",
    [LUNDI_K_UPSAMPLE_FWD] = "upsample_nearest",
    [LUNDI_K_UPSAMPLE_BWD] = "upsample_nearest_backward",
    [LUNDI_K_AVGPOOL_FWD] = "avg_pool",
    [LUNDI_K_AVGPOOL_BWD] = "avg_pool_backward",
    [LUNDI_K_CROSS_ENTROPY_FWD] = "cross_entropy",
    [LUNDI_K_CROSS_ENTROPY_BWD] = "cross_entropy_backward",
    [LUNDI_K_ROPE] = "rope",
    [LUNDI_K_RNG_UNIFORM] = "rng_uniform",
    [LUNDI_K_RNG_NORMAL] = "rng_normal",
    [LUNDI_K_ADAMW] = "adamw",
    [LUNDI_K_EMA] = "ema",
    [LUNDI_K_GROUP_NORM_SILU_FWD] = "group_norm_silu",
    [LUNDI_K_GROUP_NORM_SILU_BWD] = "group_norm_silu_backward",
};

const char *lundi__kernel_name(int id) {
  if (id < 0 || id >= LUNDI_K_COUNT || !kernel_names[id]) return "?";
  return kernel_names[id];
}

int lundi__dispatch(lundi_kcall *c) {
  lundi_tensor *t = c->n_out > 0 ? c->out[0] : c->in[0];
  if (!t) return lundi__err(LUNDI_EINVAL, "%s: no tensor to dispatch on", lundi__kernel_name(c->id));
  lundi_device *dev = t->storage->device;
  for (int k = 0; k < c->n_in; k++)
    if (c->in[k] && c->in[k]->storage->device != dev)
      return lundi__err(LUNDI_EINVAL, "%s: input %d is on %s but the output is on %s",
                        lundi__kernel_name(c->id), k, c->in[k]->storage->device->name, dev->name);
  lundi_kernel k = dev->backend->kernels[c->id];
  if (!k)
    return lundi__err(LUNDI_EUNSUPPORTED,
                      "op '%s' is not implemented on the %s backend (LUNDI_CPU_FALLBACK=1 runs such ops on "
                      "the CPU, copying their operands)",
                      lundi__kernel_name(c->id), dev->backend->name);
  __atomic_fetch_add(&calls[dev->is_host != 0], 1, __ATOMIC_RELAXED);
  if (!profiling) return k(c);
  double t0 = now_s();
  int rc = k(c);
  prof_seconds[c->id] += now_s() - t0;
  prof_calls[c->id]++;
  return rc;
}

/* Declared in lundi/device.h (the device floor, above this one); it only routes to the
 * backend, so it lives with the router. */
int lundi_device_sync(lundi_device *dev);
int lundi_device_sync(lundi_device *dev) {
  if (!dev) return lundi__err(LUNDI_EINVAL, "device_sync: device is NULL");
  return dev->backend->sync(dev);
}
