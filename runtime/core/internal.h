/* Private runtime structures shared by the core, the kernels and the backends. */
#ifndef LUNDI_INTERNAL_H
#define LUNDI_INTERNAL_H

#include "lundi/lundi.h"
#include "core/backend.h"

#include <stdarg.h>

/* ---- errors ---- */
/* Records the message and returns code, so callers can `return lundi__err(...)`. */
int lundi__err(int code, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
/* Same, returning NULL for pointer-returning functions. */
void *lundi__errp(int code, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

/* ---- storage and tensors ---- */
typedef struct lundi_storage {
  int refcount;
  lundi_device *device;
  void *data; /* host pointer (CPU) or backend handle */
  size_t nbytes;
} lundi_storage;

struct lundi_node;

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

lundi_tensor *lundi__alloc_like_shape(int ndim, const int64_t *shape, lundi_dtype dt,
                                      lundi_device *dev);
lundi_tensor *lundi__view(lundi_tensor *base, int ndim, const int64_t *shape,
                          const int64_t *stride, int64_t offset);
int64_t lundi__numel(int ndim, const int64_t *shape);
void lundi__contig_strides(int ndim, const int64_t *shape, int64_t *stride);
int lundi__normalize_dim(const char *op, int dim, int ndim, int *out);
/* Broadcast shape of a and b, or ESHAPE naming op and both shapes. */
int lundi__broadcast_shape(const char *op, int na, const int64_t *sa, int nb, const int64_t *sb,
                           int *nout, int64_t *out);
/* Stride of a broadcast to (nout, out): 0 along broadcast dims. */
void lundi__broadcast_strides(const lundi_tensor *t, int nout, const int64_t *out, int64_t *st);
static inline float *lundi__f32(lundi_tensor *t) {
  return (float *)t->storage->data + t->offset;
}
static inline int32_t *lundi__i32(lundi_tensor *t) {
  return (int32_t *)t->storage->data + t->offset;
}
int lundi__check_f32(const char *op, const char *arg, const lundi_tensor *t);
int lundi__same_device(const char *op, int n, lundi_tensor *const *ts);

/* ---- autograd ---- */
#define LUNDI_NODE_MAX_IN 8
#define LUNDI_NODE_MAX_SAVED 8
typedef struct lundi_node lundi_node;
/* Computes gradients for the inputs from gout. gin[i] may be left NULL when input i
 * needs no gradient; each non-NULL gin[i] is a new reference with in[i]'s shape. */
typedef int (*lundi_backward_fn)(lundi_node *n, lundi_tensor *gout, lundi_tensor **gin);
struct lundi_node {
  int refcount;
  const char *op;
  lundi_backward_fn backward;
  int n_in;
  lundi_tensor *in[LUNDI_NODE_MAX_IN];       /* strong refs (NULL allowed) */
  lundi_tensor *saved[LUNDI_NODE_MAX_SAVED]; /* strong refs, never the output itself */
  double f[8];
  int64_t i[16];
  void *ctx;                   /* op-private, freed with free() */
  lundi_tensor *gacc;          /* gradient being accumulated during backward */
  int visited, released;
};
/* True when grad mode is on and any of the inputs requires grad. */
int lundi__needs_grad(int n, lundi_tensor *const *in);
/* Creates a node for out (which must be fresh and have no node yet) with the given inputs;
 * returns the node so the op can fill saved/f/i, or NULL when no recording is needed. */
lundi_node *lundi__record(lundi_tensor *out, const char *op, lundi_backward_fn bw, int n,
                          lundi_tensor *const *in);
/* An alias of t sharing storage but with no node, safe to keep in a node's saved[]. */
lundi_tensor *lundi__alias(lundi_tensor *t);
void lundi__node_release(lundi_node *n);
/* Accumulates g into *acc (takes ownership of g). */
int lundi__accumulate(lundi_tensor **acc, lundi_tensor *g);

/* Differentiable unary op by lundi_unop id (used by activations in other files). */
lundi_tensor *lundi__unary(const char *name, int op, lundi_tensor *x, float f0, float f1);

/* ---- threading ---- */
int lundi__threads(void);

#endif
