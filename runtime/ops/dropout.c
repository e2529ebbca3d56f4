/* Inverted dropout. The keep mask comes from a Philox uniform draw (lundi_uniform_), so a
 * given rng state yields the same mask on every backend: element i is kept when its
 * uniform u_i >= p, and kept values are scaled by 1 / (1 - p). */
#include "ops/ops_internal.h"

/* mask = (u >= p) / (1 - p), computed in place in u with the elementwise kernels. */
static int keep_mask(lundi_tensor *u, float p) {
  lundi_device *dev = u->storage->device;
  lundi_tensor *ps = lundi_empty(0, NULL, LUNDI_F32, dev);
  if (!ps || lundi_fill_(ps, p)) {
    lundi_release(ps);
    return -1;
  }
  int64_t zero[LUNDI_MAX_DIMS] = {0};
  lundi_tensor *pb = lundi__view(ps, u->ndim, u->shape, zero, ps->offset);
  lundi_release(ps);
  if (!pb) return -1;
  lundi_kcall ge = {.id = LUNDI_K_BINARY, .n_in = 2, .n_out = 1, .in = {u, pb}, .out = {u}, .i = {LUNDI_BIN_GE}};
  int rc = lundi__run(&ge);
  lundi_release(pb);
  if (rc) return rc;
  lundi_kcall sc = {.id = LUNDI_K_UNARY, .n_in = 1, .n_out = 1, .in = {u}, .out = {u}, .i = {LUNDI_UN_MUL_S},
                    .f = {1.0 / (1.0 - (double)p)}};
  return lundi__run(&sc);
}

lundi_tensor *lundi_dropout(lundi_tensor *x, float p, int training, lundi_rng *rng) {
  if (lundi__check_f32("dropout", "x", x)) return NULL;
  if (!(p >= 0.0f && p < 1.0f)) return lundi__errp(LUNDI_EINVAL, "dropout: p = %g is outside [0, 1)", p);
  if (!training || p == 0.0f) return lundi_retain(x); /* x itself: no draw, no copy */
  if (!rng) return lundi__errp(LUNDI_EINVAL, "dropout: training needs an rng");
  lundi_tensor *m = lundi_empty(x->ndim, x->shape, LUNDI_F32, x->storage->device);
  if (!m) return NULL;
  if (lundi_uniform_(m, rng, 0.0f, 1.0f) || keep_mask(m, p)) {
    lundi_release(m);
    return NULL;
  }
  lundi_tensor *y = lundi_mul(x, m); /* the tape's mul gives dx = g * mask */
  lundi_release(m);
  return y;
}
