/* softmax and log_softmax over any dim. The input is made contiguous and seen as
 * [outer, D, inner], so the kernel reduces over D with stride inner and no transpose. The
 * node keeps the output, from which both gradients follow. */
#include "ops/ops_internal.h"

static int softmax_bw(lundi_node *n, lundi_tensor *g, lundi_tensor **gin) {
  lundi_tensor *y = n->saved[0];
  lundi_tensor *gc = lundi_contiguous(g);
  lundi_tensor *dx = gc ? lundi_empty(y->ndim, y->shape, LUNDI_F32, y->storage->device) : NULL;
  int rc = -1;
  if (dx) {
    lundi_kcall c = {.id = (int)n->i[3], .n_in = 2, .n_out = 1, .in = {y, gc}, .out = {dx},
                     .i = {n->i[0], n->i[1], n->i[2]}};
    rc = lundi__run(&c);
  }
  lundi_release(gc);
  if (rc) {
    lundi_release(dx);
    return -1;
  }
  gin[0] = dx;
  return 0;
}

static lundi_tensor *softmax_op(const char *op, int fwd, int bwd, lundi_tensor *x, int dim) {
  if (lundi__check_f32(op, "input", x)) return NULL;
  int d;
  if (lundi__normalize_dim(op, dim, x->ndim, &d)) return NULL;
  int64_t D = x->ndim ? x->shape[d] : 1;
  int64_t O = lundi__numel(d, x->shape), I = x->ndim ? lundi__numel(x->ndim - d - 1, x->shape + d + 1) : 1;
  lundi_no_grad_enter();
  lundi_tensor *xc = lundi_contiguous(x);
  lundi_no_grad_exit();
  lundi_tensor *y = xc ? lundi_empty(x->ndim, x->shape, LUNDI_F32, x->storage->device) : NULL;
  int rc = -1;
  if (y) {
    lundi_kcall c = {.id = fwd, .n_in = 1, .n_out = 1, .in = {xc}, .out = {y}, .i = {O, D, I}};
    rc = lundi__run(&c);
  }
  lundi_release(xc);
  if (rc) {
    lundi_release(y);
    return NULL;
  }
  lundi_node *nd = lundi__record(y, op, softmax_bw, 1, &x);
  if (nd) {
    nd->saved[0] = lundi__alias(y);
    nd->i[0] = O, nd->i[1] = D, nd->i[2] = I, nd->i[3] = bwd;
  }
  return y;
}

lundi_tensor *lundi_softmax(lundi_tensor *x, int dim) {
  return softmax_op("softmax", LUNDI_K_SOFTMAX_FWD, LUNDI_K_SOFTMAX_BWD, x, dim);
}

lundi_tensor *lundi_log_softmax(lundi_tensor *x, int dim) {
  return softmax_op("log_softmax", LUNDI_K_LOG_SOFTMAX_FWD, LUNDI_K_LOG_SOFTMAX_BWD, x, dim);
}
