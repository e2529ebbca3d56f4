/* The backend interface. Ops (runtime/ops) check shapes, allocate outputs and record the
 * tape; backends only run kernels. A backend is a folder that fills one lundi_backend:
 * memory functions plus a table of kernels indexed by lundi_kernel_id. A NULL entry means
 * "not implemented here" and the dispatcher reports it by name, never falls back. */
#ifndef LUNDI_BACKEND_H
#define LUNDI_BACKEND_H

#include <stddef.h>
#include <stdint.h>

/* Only pointers to these cross this interface; runtime/tensor/tensor_internal.h has the
 * tensor struct (the same typedefs as lundi/tensor.h, which C11 allows to repeat). */
typedef struct lundi_tensor lundi_tensor;
typedef struct lundi_device lundi_device;

typedef enum lundi_kernel_id {
  LUNDI_K_COPY = 0, /* out[0] <- in[0], same shape, any strides, f32/i32 */
  LUNDI_K_FILL,     /* out[0] <- f[0] */
  LUNDI_K_CAST,     /* out[0] (dtype) <- in[0] (dtype), contiguous */
  LUNDI_K_BINARY,   /* out[0] <- in[0] (op i[0]) in[1]; in strides pre-broadcast to out */
  LUNDI_K_UNARY,    /* out[0] <- op i[0] (in[0]; f[0], f[1]); see lundi_unop */
  LUNDI_K_UNARY_BWD,/* out[0] <- d op i[0] / dx at in[0] (x), times in[1] (gout); in[2]=y */
  LUNDI_K_WHERE,    /* out[0] <- in[0] != 0 ? in[1] : in[2]; strides pre-broadcast */
  LUNDI_K_REDUCE,   /* out[0] (keepdim shape) <- reduce i[0] of in[0] */
  LUNDI_K_MAX_BWD,  /* out[0] (x shape, zeroed) += in[2] (gout) at first argmax of in[0] vs in[1]=max */
  LUNDI_K_GEMM,     /* see lundi_gemm_args */
  LUNDI_K_CONV2D_FWD,
  LUNDI_K_CONV2D_BWD_DATA,
  LUNDI_K_CONV2D_BWD_WEIGHT,
  LUNDI_K_GROUP_NORM_FWD,
  LUNDI_K_GROUP_NORM_BWD,
  LUNDI_K_LAYER_NORM_FWD,
  LUNDI_K_LAYER_NORM_BWD,
  LUNDI_K_RMS_NORM_FWD,
  LUNDI_K_RMS_NORM_BWD,
  LUNDI_K_SOFTMAX_FWD,
  LUNDI_K_SOFTMAX_BWD,
  LUNDI_K_LOG_SOFTMAX_FWD,
  LUNDI_K_LOG_SOFTMAX_BWD,
  LUNDI_K_ATTN_FWD,
  LUNDI_K_ATTN_BWD,
  LUNDI_K_EMBEDDING_FWD,
  LUNDI_K_EMBEDDING_BWD,
  LUNDI_K_UPSAMPLE_FWD,
  LUNDI_K_UPSAMPLE_BWD,
  LUNDI_K_AVGPOOL_FWD,
  LUNDI_K_AVGPOOL_BWD,
  LUNDI_K_CROSS_ENTROPY_FWD,
  LUNDI_K_CROSS_ENTROPY_BWD,
  LUNDI_K_ROPE,
  LUNDI_K_RNG_UNIFORM, /* out[0] <- uniform, u64 seed/offset in i[0], i[1]; f[0], f[1] = lo, hi */
  LUNDI_K_RNG_NORMAL,  /* out[0] <- normal, same counters; f[0], f[1] = mean, std */
  LUNDI_K_ADAMW,
  LUNDI_K_EMA,
  LUNDI_K_GROUP_NORM_SILU_FWD, /* silu(group_norm(x)), see runtime/cpu/norm.c */
  LUNDI_K_GROUP_NORM_SILU_BWD,
  LUNDI_K_COUNT
} lundi_kernel_id;

typedef enum lundi_binop {
  LUNDI_BIN_ADD, LUNDI_BIN_SUB, LUNDI_BIN_MUL, LUNDI_BIN_DIV, LUNDI_BIN_MAX, LUNDI_BIN_MIN,
  LUNDI_BIN_EQ, LUNDI_BIN_GT, LUNDI_BIN_GE
} lundi_binop;

typedef enum lundi_unop {
  LUNDI_UN_NEG, LUNDI_UN_EXP, LUNDI_UN_LOG, LUNDI_UN_SQRT, LUNDI_UN_RSQRT, LUNDI_UN_ABS,
  LUNDI_UN_TANH, LUNDI_UN_SIGMOID, LUNDI_UN_SILU, LUNDI_UN_GELU, LUNDI_UN_GELU_TANH,
  LUNDI_UN_MISH, LUNDI_UN_RELU,
  LUNDI_UN_ADD_S,  /* x + f0 */
  LUNDI_UN_MUL_S,  /* x * f0 */
  LUNDI_UN_RSUB_S, /* f0 - x */
  LUNDI_UN_POW_S,  /* x ^ f0 */
  LUNDI_UN_CLAMP,  /* clamp(x, f0, f1) */
  LUNDI_UN_SIGN,
  LUNDI_UN_COUNT
} lundi_unop;

typedef enum lundi_redop { LUNDI_RED_SUM, LUNDI_RED_MAX, LUNDI_RED_MEAN } lundi_redop;

/* One kernel invocation. Meaning of f[] and i[] is documented per kernel id. */
typedef struct lundi_kcall {
  int id;
  int n_in, n_out;
  lundi_tensor *in[8];
  lundi_tensor *out[4];
  double f[8];
  int64_t i[24];
  const void *extra; /* kernel-specific struct (e.g. lundi_conv_params) */
} lundi_kcall;

typedef int (*lundi_kernel)(const lundi_kcall *c);

typedef struct lundi_backend {
  const char *name;
  void *(*alloc)(lundi_device *dev, size_t nbytes);
  void (*free)(lundi_device *dev, void *ptr, size_t nbytes); /* nbytes as given to alloc */
  /* Host transfers of nbytes at byte offset within a storage. */
  int (*upload)(lundi_device *dev, void *dst, size_t off, const void *src, size_t nbytes);
  int (*download)(lundi_device *dev, const void *src, size_t off, void *dst, size_t nbytes);
  int (*sync)(lundi_device *dev);
  lundi_kernel kernels[LUNDI_K_COUNT];
} lundi_backend;

struct lundi_device {
  const lundi_backend *backend;
  const char *name;
  int is_host; /* storage data is a host pointer */
  void *impl;
};

/* The dispatcher (runtime/tensor/dispatch.c). */
const char *lundi__kernel_name(int id);
/* Runs the kernel on the device of out[0] (or in[0]); errors when it is not implemented.
 * Ops go through lundi__run (runtime/ops/ops_internal.h), which adds the CPU fallback. */
int lundi__dispatch(lundi_kcall *c);

#endif
