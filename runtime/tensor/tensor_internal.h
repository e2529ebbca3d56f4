/* Storage and tensor structs and the shape helpers every floor above uses. Nothing here
 * records on the tape: that is runtime/autograd/node.h. */
#ifndef LUNDI_TENSOR_INTERNAL_H
#define LUNDI_TENSOR_INTERNAL_H

#include "core/backend.h"
#include "core/error.h"
#include "lundi/tensor.h"

typedef struct lundi_storage {
  int refcount;
  lundi_device *device;
  void *data; /* host pointer (CPU) or backend handle */
  size_t nbytes;
} lundi_storage;

struct lundi_node;
/* The first member of every autograd node (runtime/autograd/node.h): a tensor drops its
 * producer through it, so releasing a tensor needs no call up into autograd. */
typedef struct lundi_node_head {
  void (*release)(struct lundi_node *n);
} lundi_node_head;

struct lundi_tensor {
  int refcount;
  int ndim;
  lundi_dtype dtype;
  int64_t shape[LUNDI_MAX_DIMS];
  int64_t stride[LUNDI_MAX_DIMS];
  int64_t offset; /* in elements */
  lundi_storage *storage;
  /* autograd */
  int requires_grad;
  lundi_tensor *grad;     /* accumulated gradient (leaves) */
  struct lundi_node *node; /* producer; NULL for leaves */
};

/* ---- tensors (tensor.c) ---- */
lundi_tensor *lundi__alloc_like_shape(int ndim, const int64_t *shape, lundi_dtype dt,
                                      lundi_device *dev);
lundi_tensor *lundi__view(lundi_tensor *base, int ndim, const int64_t *shape,
                          const int64_t *stride, int64_t offset);
/* An alias of t sharing storage but with no node, safe to keep in a node's saved[]. */
lundi_tensor *lundi__alias(lundi_tensor *t);
static inline float *lundi__f32(lundi_tensor *t) {
  return (float *)t->storage->data + t->offset;
}
static inline int32_t *lundi__i32(lundi_tensor *t) {
  return (int32_t *)t->storage->data + t->offset;
}
int lundi__check_f32(const char *op, const char *arg, const lundi_tensor *t);
int lundi__same_device(const char *op, int n, lundi_tensor *const *ts);

/* ---- shapes (shape.c) ---- */
int64_t lundi__numel(int ndim, const int64_t *shape);
void lundi__contig_strides(int ndim, const int64_t *shape, int64_t *stride);
int lundi__normalize_dim(const char *op, int dim, int ndim, int *out);
/* Broadcast shape of a and b, or ESHAPE naming op and both shapes. */
int lundi__broadcast_shape(const char *op, int na, const int64_t *sa, int nb, const int64_t *sb,
                           int *nout, int64_t *out);
/* Stride of a broadcast to (nout, out): 0 along broadcast dims. */
void lundi__broadcast_strides(const lundi_tensor *t, int nout, const int64_t *out, int64_t *st);
/* Dims of an n-operand iteration with size-1 dims dropped and neighbours merged where every
 * operand is contiguous across them: the CPU's row loop and the Vulkan push constants walk
 * this, in this order. */
#define LUNDI_COALESCE_MAX_OPS 4
typedef struct lundi_dims {
  int ndim;
  int64_t shape[LUNDI_MAX_DIMS];
  int64_t stride[LUNDI_COALESCE_MAX_OPS][LUNDI_MAX_DIMS];
} lundi_dims;
/* nops <= LUNDI_COALESCE_MAX_OPS operands of shape (ndim, shape), strides[k] each. */
void lundi__coalesce_dims(int ndim, const int64_t *shape, int nops, const int64_t *const *strides,
                          lundi_dims *out);
/* Same for tensors of one shape (ops[0]'s; inputs pre-broadcast). */
void lundi__coalesce_tensors(lundi_tensor *const *ops, int nops, lundi_dims *out);
/* Strides for viewing t as (ndim, shape) without a copy; 0 when the layout does not allow it. */
int lundi__view_strides(const lundi_tensor *t, int ndim, const int64_t *shape, int64_t *st);

/* ---- kernel-level copies and arithmetic (copy.c): dispatched directly, no tape, so the
 * tape, the backends and the host transfers can use them ---- */
/* t itself (retained) when contiguous, else a fresh contiguous copy (LUNDI_K_COPY). */
lundi_tensor *lundi__contiguous_copy(lundi_tensor *t);
/* Always a fresh contiguous copy of t. */
lundi_tensor *lundi__copy_new(lundi_tensor *t);
/* a (op) b broadcast together into a new f32 tensor (LUNDI_K_BINARY, op a lundi_binop). */
lundi_tensor *lundi__binary_kernel(const char *name, int op, lundi_tensor *a, lundi_tensor *b);

#endif
