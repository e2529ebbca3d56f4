/* Tensors: strided views over reference-counted storage on a device.
 *
 * Ownership: every function returning lundi_tensor* returns a NEW reference (NULL on
 * error, with lundi_last_error() set). Release it with lundi_release(). Views share
 * storage with their base; writing through one is visible in the other.
 * f32 is the compute type. f16/bf16 are storage types converted to f32 on load;
 * i32 holds indices (labels, token ids).
 */
#ifndef LUNDI_TENSOR_H
#define LUNDI_TENSOR_H

#include <stddef.h>
#include <stdint.h>

#include "lundi/error.h"

#ifdef __cplusplus
extern "C" {
#endif

#define LUNDI_MAX_DIMS 6

typedef enum lundi_dtype { LUNDI_F32 = 0, LUNDI_F16, LUNDI_BF16, LUNDI_I32, LUNDI_U8 } lundi_dtype;
const char *lundi_dtype_name(lundi_dtype dt);
size_t lundi_dtype_size(lundi_dtype dt);
/* The dtype named "f32", "f16", "bf16", "i32" or "u8" (lundi_dtype_name's inverse) into
 * out; LUNDI_EINVAL for any other name. */
int lundi_dtype_from_name(const char *name, lundi_dtype *out);
int lundi_dtype_is_integral(lundi_dtype dt); /* i32 and u8: values are whole numbers */

typedef struct lundi_device lundi_device;
lundi_device *lundi_cpu(void);
const char *lundi_device_name(const lundi_device *dev);

typedef struct lundi_tensor lundi_tensor;

/* ---- creation ---- */
lundi_tensor *lundi_empty(int ndim, const int64_t *shape, lundi_dtype dt, lundi_device *dev);
lundi_tensor *lundi_zeros(int ndim, const int64_t *shape);
lundi_tensor *lundi_full(int ndim, const int64_t *shape, float value);
lundi_tensor *lundi_scalar(float value); /* 0-dim */
lundi_tensor *lundi_scalar_on(float value, lundi_device *dev); /* 0-dim, on dev */
/* Copies n = prod(shape) values from host memory. */
lundi_tensor *lundi_from_f32(int ndim, const int64_t *shape, const float *data);
lundi_tensor *lundi_from_i32(int ndim, const int64_t *shape, const int32_t *data);
/* lundi_from_f32, converted to dt (lundi_to_dtype) when it is not f32. */
lundi_tensor *lundi_from_f32_as(int ndim, const int64_t *shape, const float *data, lundi_dtype dt);
lundi_tensor *lundi_arange(float start, float end, float step);

lundi_tensor *lundi_retain(lundi_tensor *t);
void lundi_release(lundi_tensor *t); /* NULL is fine */
/* Live tensor handles and storage bytes in this process (for leak and memory checks). */
int64_t lundi_live_tensors(void);
int64_t lundi_live_storage_bytes(void);
/* For a garbage-collected host whose GC sees handles, not storage: count each tensor handed
 * to it with lundi_gc_pressure_add, which returns 1 once the bytes since the last full
 * collection exceed max(LUNDI_GC_PRESSURE_FLOOR, the live bytes right after it); collect
 * then, and call lundi_gc_pressure_reset (also to start). */
#define LUNDI_GC_PRESSURE_FLOOR ((int64_t)64 << 20)
typedef struct lundi_gc_pressure {
  int64_t pushed;          /* bytes handed over since the last full collection */
  int64_t live_at_collect; /* lundi_live_storage_bytes() right after it */
} lundi_gc_pressure;
void lundi_gc_pressure_reset(lundi_gc_pressure *p);
int lundi_gc_pressure_add(lundi_gc_pressure *p, const lundi_tensor *t);

/* ---- inspection ---- */
int lundi_ndim(const lundi_tensor *t);
int64_t lundi_dim(const lundi_tensor *t, int i); /* negative i counts from the end */
const int64_t *lundi_shape(const lundi_tensor *t);
const int64_t *lundi_strides(const lundi_tensor *t); /* in elements */
int64_t lundi_numel(const lundi_tensor *t);
int64_t lundi_nbytes(const lundi_tensor *t); /* numel times the dtype's size */
lundi_dtype lundi_tensor_dtype(const lundi_tensor *t);
lundi_device *lundi_tensor_device(const lundi_tensor *t);
int lundi_is_contiguous(const lundi_tensor *t);
/* "f32[2,3] cpu" into buf; returns buf. */
char *lundi_describe(const lundi_tensor *t, char *buf, size_t n);
/* "[2,3]" into buf; returns buf. */
char *lundi_shape_str(int ndim, const int64_t *shape, char *buf, size_t n);

/* Direct pointer to the first element (honouring the view offset) of a host tensor;
 * NULL for device tensors. Index with lundi_strides(). */
void *lundi_data(lundi_tensor *t);
/* Logical-order (row-major) copies between a tensor of any layout and host memory.
 * n must equal numel. i32 tensors convert to/from float exactly for |v| < 2^24. */
int lundi_read_f32(const lundi_tensor *t, float *dst, int64_t n);
int lundi_write_f32(lundi_tensor *t, const float *src, int64_t n);
int lundi_item(const lundi_tensor *t, float *out); /* numel must be 1 */

/* ---- views (share storage) ---- */
/* One entry of shape may be -1. Copies only when the layout cannot be viewed. */
lundi_tensor *lundi_reshape(lundi_tensor *t, int ndim, const int64_t *shape);
lundi_tensor *lundi_permute(lundi_tensor *t, const int *perm);
lundi_tensor *lundi_transpose(lundi_tensor *t, int d0, int d1);
/* Elements start, start+step, ... < end along dim (negative start/end count from the end). */
lundi_tensor *lundi_slice(lundi_tensor *t, int dim, int64_t start, int64_t end, int64_t step);
/* Broadcast size-1 dims (stride 0); may prepend dims. -1 keeps a size. */
lundi_tensor *lundi_expand(lundi_tensor *t, int ndim, const int64_t *shape);
lundi_tensor *lundi_unsqueeze(lundi_tensor *t, int dim);
lundi_tensor *lundi_squeeze(lundi_tensor *t, int dim);
lundi_tensor *lundi_squeeze_all(lundi_tensor *t); /* drops every size-1 dim */
lundi_tensor *lundi_contiguous(lundi_tensor *t); /* retains t itself when already contiguous */
lundi_tensor *lundi_clone(lundi_tensor *t);      /* always a fresh contiguous copy */
lundi_tensor *lundi_detach(lundi_tensor *t);     /* shares storage, no grad history */
/* Converts dtype (f32 <-> f16/bf16/i32/u8); returns a fresh contiguous tensor. */
lundi_tensor *lundi_to_dtype(lundi_tensor *t, lundi_dtype dt);
lundi_tensor *lundi_to_device(lundi_tensor *t, lundi_device *dev);
/* Moves a leaf tensor (and its gradient) to dev in place, keeping the handle: whoever holds
 * t sees the new place. Views made from t earlier keep the old storage. */
int lundi_move_to_device_(lundi_tensor *t, lundi_device *dev);
/* Copies src into dst (same shape, any layouts), outside autograd. */
int lundi_copy_(lundi_tensor *dst, lundi_tensor *src);
int lundi_fill_(lundi_tensor *dst, float value);

/* Scalar conversions used by checkpoints (round-to-nearest-even). */
uint16_t lundi_f32_to_f16(float f);
float lundi_f16_to_f32(uint16_t h);
uint16_t lundi_f32_to_bf16(float f);
float lundi_bf16_to_f32(uint16_t h);

/* ---- autograd (define-by-run tape) ---- */
int lundi_set_requires_grad(lundi_tensor *t, int on); /* leaf f32 tensors only */
int lundi_requires_grad(const lundi_tensor *t);
int lundi_is_leaf(const lundi_tensor *t);
lundi_tensor *lundi_grad(lundi_tensor *t); /* borrowed; NULL when none yet */
void lundi_zero_grad(lundi_tensor *t);    /* drops the accumulated gradient */
/* Backpropagates from t. grad may be NULL when t has one element (seeded with 1).
 * Gradients accumulate into leaves; the graph is freed afterwards. */
int lundi_backward(lundi_tensor *t, lundi_tensor *grad);
/* no_grad scopes nest; ops inside record nothing. */
void lundi_no_grad_enter(void);
void lundi_no_grad_exit(void);
int lundi_grad_enabled(void);

/* ---- randomness: Philox4x32-10 ----
 * Element i of a draw uses counter block (offset + i/4), lane i%4, key = seed.
 * uniform: (x >> 8) * 2^-24 in [0,1). normal: Box-Muller on lanes (0,1) and (2,3),
 * u1 = ((x0 >> 8) + 1) * 2^-24 in (0,1], z0 = r cos(2 pi u2), z1 = r sin(2 pi u2), with
 * r = sqrt(-2 ln u1) and the log, sqrt, cos and sin evaluated by lundi's own f32 routines
 * (within 7.4e-7 of the exact values) so that they round alike everywhere. Each draw advances
 * offset by ceil(n/4). Bit-identical streams on every backend (CPU and Vulkan, tested). */
typedef struct lundi_rng {
  uint64_t seed;
  uint64_t offset;
} lundi_rng;
lundi_rng lundi_rng_make(uint64_t seed);
void lundi_philox4x32_10(uint64_t counter_lo, uint64_t counter_hi, uint64_t key, uint32_t out[4]);
lundi_tensor *lundi_rand(lundi_rng *rng, int ndim, const int64_t *shape);
lundi_tensor *lundi_randn(lundi_rng *rng, int ndim, const int64_t *shape);
lundi_tensor *lundi_randint(lundi_rng *rng, int ndim, const int64_t *shape, int32_t lo, int32_t hi);
/* The same draws made on dev (NULL: the CPU): the numbers do not depend on the device. */
lundi_tensor *lundi_rand_on(lundi_rng *rng, int ndim, const int64_t *shape, lundi_device *dev);
lundi_tensor *lundi_randn_on(lundi_rng *rng, int ndim, const int64_t *shape, lundi_device *dev);
lundi_tensor *lundi_randint_on(lundi_rng *rng, int ndim, const int64_t *shape, int32_t lo, int32_t hi,
                               lundi_device *dev);
/* Fills an existing tensor in place (outside autograd). */
int lundi_uniform_(lundi_tensor *t, lundi_rng *rng, float lo, float hi);
int lundi_normal_(lundi_tensor *t, lundi_rng *rng, float mean, float std);

#ifdef __cplusplus
}
#endif
#endif
