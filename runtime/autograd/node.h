/* The tape: nodes that ops record and lundi_backward walks. */
#ifndef LUNDI_AUTOGRAD_NODE_H
#define LUNDI_AUTOGRAD_NODE_H

#include "tensor/tensor_internal.h"

#define LUNDI_NODE_MAX_IN 8
#define LUNDI_NODE_MAX_SAVED 8
typedef struct lundi_node lundi_node;
/* Computes gradients for the inputs from gout. gin[i] may be left NULL when input i
 * needs no gradient; each non-NULL gin[i] is a new reference with in[i]'s shape. */
typedef int (*lundi_backward_fn)(lundi_node *n, lundi_tensor *gout, lundi_tensor **gin);
struct lundi_node {
  lundi_node_head head; /* first: how lundi_release drops the node */
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
void lundi__node_release(lundi_node *n);
/* Accumulates g into *acc (takes ownership of g). */
int lundi__accumulate(lundi_tensor **acc, lundi_tensor *g);

#endif
