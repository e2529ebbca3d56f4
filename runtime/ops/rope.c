/* Rotary position embedding. The backward is the same rotation by the negative angle. */
#include "ops/ops_internal.h"

/* i[0..3]: R, L, D, pos_offset; f[0]: base. */
static int rope_run(lundi_tensor *x, lundi_tensor *out, const int64_t *ki, double base, int inverse) {
  lundi_kcall c = {.id = LUNDI_K_ROPE, .n_in = 1, .n_out = 1, .in = {x}, .out = {out},
                   .i = {ki[0], ki[1], ki[2], ki[3], inverse}, .f = {base}};
  return lundi__run(&c);
}

static int rope_bw(lundi_node *n, lundi_tensor *g, lundi_tensor **gin) {
  lundi_tensor *x = n->in[0], *gc = lundi_contiguous(g);
  lundi_tensor *dx = gc ? lundi_empty(x->ndim, x->shape, LUNDI_F32, x->storage->device) : NULL;
  int rc = dx ? rope_run(gc, dx, n->i, n->f[0], 1) : -1;
  lundi_release(gc);
  if (rc) {
    lundi_release(dx);
    return -1;
  }
  gin[0] = dx;
  return 0;
}

lundi_tensor *lundi_rope(lundi_tensor *x, float base, int64_t pos_offset) {
  char s1[160];
  if (lundi__check_f32("rope", "x", x)) return NULL;
  if (x->ndim < 2 || x->shape[x->ndim - 1] % 2)
    return lundi__errp(LUNDI_ESHAPE, "rope: input %s must be [..., L, D] with D even",
                       lundi_shape_str(x->ndim, x->shape, s1, sizeof s1));
  if (!(base > 0)) return lundi__errp(LUNDI_EINVAL, "rope: base %g must be > 0", base);
  int64_t L = x->shape[x->ndim - 2], D = x->shape[x->ndim - 1];
  int64_t ki[4] = {lundi__numel(x->ndim - 2, x->shape), L, D, pos_offset};
  lundi_no_grad_enter();
  lundi_tensor *xc = lundi_contiguous(x);
  lundi_no_grad_exit();
  lundi_tensor *out = xc ? lundi_empty(x->ndim, x->shape, LUNDI_F32, x->storage->device) : NULL;
  int rc = out ? rope_run(xc, out, ki, base, 0) : -1;
  lundi_release(xc);
  if (rc) {
    lundi_release(out);
    return NULL;
  }
  lundi_node *nd = lundi__record(out, "rope", rope_bw, 1, &x);
  if (nd) {
    for (int k = 0; k < 4; k++) nd->i[k] = ki[k];
    nd->f[0] = base;
  }
  return out;
}
