/* Normalisation ops: group norm (and the fused silu(group_norm)), layer norm, RMS norm.
 * Kernels see contiguous tensors and also return the per-group / per-row mean and rstd,
 * which the node keeps so the backward does not recompute them. */
#include "ops/ops_internal.h"

enum { GN, LN, RMS, GN_SILU };

static const struct {
  const char *name;
  int fwd, bwd;
} kinds[] = {
    [GN] = {"group_norm", LUNDI_K_GROUP_NORM_FWD, LUNDI_K_GROUP_NORM_BWD},
    [LN] = {"layer_norm", LUNDI_K_LAYER_NORM_FWD, LUNDI_K_LAYER_NORM_BWD},
    [RMS] = {"rms_norm", LUNDI_K_RMS_NORM_FWD, LUNDI_K_RMS_NORM_BWD},
    [GN_SILU] = {"group_norm_silu", LUNDI_K_GROUP_NORM_SILU_FWD, LUNDI_K_GROUP_NORM_SILU_BWD},
};

/* saved[]: 0 x (contiguous), 1 mean (NULL for RMS), 2 rstd, 3 gamma (contiguous or NULL),
 * 4 beta (contiguous or NULL; GN_SILU only, whose backward recomputes the norm's output),
 * 5 the per-(n, c) shift of add_group_norm_silu (in[3]; its gradient is dx summed over the
 * spatial dims). i[0..3]: the kernel's i[]; i[4]: kind. */
static int norm_bw(lundi_node *n, lundi_tensor *g, lundi_tensor **gin) {
  int kind = (int)n->i[4];
  lundi_tensor *x = n->in[0], *gamma = n->in[1], *beta = kind == RMS ? NULL : n->in[2];
  int64_t P = n->i[1]; /* gamma size: C (group norm) or D */
  lundi_tensor *gc = lundi_contiguous(g);
  /* out[0] always exists so the call dispatches on it; it is dropped when x needs no grad */
  lundi_tensor *dx = gc ? lundi_empty(x->ndim, x->shape, LUNDI_F32, x->storage->device) : NULL;
  lundi_tensor *dg = gamma && gamma->requires_grad ? lundi_empty(1, &P, LUNDI_F32, x->storage->device) : NULL;
  lundi_tensor *db = beta && beta->requires_grad ? lundi_empty(1, &P, LUNDI_F32, x->storage->device) : NULL;
  int rc = -1;
  if (dx && (dg || !(gamma && gamma->requires_grad)) && (db || !(beta && beta->requires_grad))) {
    lundi_kcall c = {.id = kinds[kind].bwd, .n_out = 3, .out = {dx, dg, db}, .i = {n->i[0], n->i[1], n->i[2], n->i[3]}};
    if (kind == RMS) {
      c.n_in = 4;
      c.in[0] = n->saved[0], c.in[1] = gc, c.in[2] = n->saved[2], c.in[3] = n->saved[3];
      c.n_out = 2;
    } else {
      c.n_in = 5;
      c.in[0] = n->saved[0], c.in[1] = gc, c.in[2] = n->saved[1], c.in[3] = n->saved[2], c.in[4] = n->saved[3];
      if (kind == GN_SILU) c.n_in = 6, c.in[5] = n->saved[4];
      if (n->saved[5]) c.n_in = 7, c.in[6] = n->saved[5];
    }
    rc = lundi__run(&c);
  }
  lundi_release(gc);
  lundi_tensor *shift = n->n_in > 3 ? n->in[3] : NULL;
  if (!rc && shift && shift->requires_grad) {
    int axes[LUNDI_MAX_DIMS];
    for (int k = 2; k < x->ndim; k++) axes[k - 2] = k;
    gin[3] = x->ndim > 2 ? lundi_sum(dx, x->ndim - 2, axes, 0) : lundi_retain(dx);
    if (!gin[3]) rc = -1;
  }
  if (rc) {
    lundi_release(dx);
    lundi_release(dg);
    lundi_release(db);
    return -1;
  }
  if (x->requires_grad) gin[0] = dx;
  else lundi_release(dx);
  gin[1] = dg;
  if (db) gin[2] = db;
  return 0;
}

static int check_param(const char *op, const char *arg, lundi_tensor *p, int64_t n, lundi_tensor *x) {
  char s1[160], s2[160];
  if (!p) return 0;
  if (lundi__check_f32(op, arg, p)) return -1;
  if (p->ndim != 1 || p->shape[0] != n)
    return lundi__err(LUNDI_ESHAPE, "%s: %s %s does not fit input %s (expected [%lld])", op, arg,
                      lundi_shape_str(p->ndim, p->shape, s1, sizeof s1), lundi_shape_str(x->ndim, x->shape, s2, sizeof s2),
                      (long long)n);
  return 0;
}

/* shift: [N, C] added to x per (sample, channel) before the norm (group norms only), or NULL. */
static lundi_tensor *norm(int kind, lundi_tensor *x, int groups, lundi_tensor *gamma, lundi_tensor *beta,
                          lundi_tensor *shift, float eps, const char *op) {
  char s1[160];
  if (lundi__check_f32(op, "input", x)) return NULL;
  lundi_tensor *all[4] = {x, gamma, beta, shift};
  if (lundi__same_device(op, shift ? 4 : 3, all)) return NULL;
  if (!(eps >= 0)) return lundi__errp(LUNDI_EINVAL, "%s: eps %g must be >= 0", op, eps);
  int64_t ki[4] = {0}, sshape[2];
  int snd;
  if (kind == GN || kind == GN_SILU) {
    if (x->ndim < 2)
      return lundi__errp(LUNDI_ESHAPE, "%s: input %s must be [N, C, ...]", op,
                         lundi_shape_str(x->ndim, x->shape, s1, sizeof s1));
    int64_t C = x->shape[1];
    if (groups <= 0 || C % groups)
      return lundi__errp(LUNDI_ESHAPE, "%s: %d groups do not divide the %lld channels of input %s", op, groups,
                         (long long)C, lundi_shape_str(x->ndim, x->shape, s1, sizeof s1));
    ki[0] = x->shape[0], ki[1] = C, ki[2] = lundi__numel(x->ndim - 2, x->shape + 2), ki[3] = groups;
    snd = 2, sshape[0] = ki[0], sshape[1] = groups;
  } else {
    if (x->ndim < 1)
      return lundi__errp(LUNDI_ESHAPE, "%s: input %s must have at least 1 dim", op,
                         lundi_shape_str(x->ndim, x->shape, s1, sizeof s1));
    ki[0] = lundi__numel(x->ndim - 1, x->shape), ki[1] = x->shape[x->ndim - 1];
    snd = 1, sshape[0] = ki[0];
  }
  if (check_param(op, "gamma", gamma, ki[1], x) || check_param(op, "beta", beta, ki[1], x)) return NULL;
  if (shift && lundi__check_f32(op, "shift", shift)) return NULL;
  if (shift && (shift->ndim != 2 || shift->shape[0] != ki[0] || shift->shape[1] != ki[1])) {
    char s2[160];
    return lundi__errp(LUNDI_ESHAPE, "%s: shift %s must be [N, C] = [%lld, %lld] for input %s", op,
                       lundi_shape_str(shift->ndim, shift->shape, s1, sizeof s1), (long long)ki[0], (long long)ki[1],
                       lundi_shape_str(x->ndim, x->shape, s2, sizeof s2));
  }

  lundi_no_grad_enter();
  lundi_tensor *xc = lundi_contiguous(x);
  lundi_tensor *gc = gamma ? lundi_contiguous(gamma) : NULL, *bc = beta ? lundi_contiguous(beta) : NULL;
  lundi_tensor *sc = shift ? lundi_contiguous(shift) : NULL;
  lundi_no_grad_exit();
  lundi_device *dev = x->storage->device;
  lundi_tensor *y = lundi_empty(x->ndim, x->shape, LUNDI_F32, dev);
  lundi_tensor *mean = kind == RMS ? NULL : lundi_empty(snd, sshape, LUNDI_F32, dev);
  lundi_tensor *rstd = lundi_empty(snd, sshape, LUNDI_F32, dev);
  int rc = -1;
  if (xc && (gc || !gamma) && (bc || !beta) && (sc || !shift) && y && (mean || kind == RMS) && rstd) {
    lundi_kcall c = {.id = kinds[kind].fwd, .n_in = sc ? 4 : 3, .n_out = 3, .in = {xc, gc, bc, sc},
                     .out = {y, mean, rstd}, .i = {ki[0], ki[1], ki[2], ki[3]}, .f = {eps}};
    if (kind == RMS) c.n_in = 2, c.n_out = 2, c.out[1] = rstd, c.out[2] = NULL;
    rc = lundi__run(&c);
  }
  lundi_node *nd = rc ? NULL : lundi__record(y, op, norm_bw, shift ? 4 : kind == RMS ? 2 : 3, all);
  if (nd) {
    nd->saved[0] = lundi_retain(xc);
    nd->saved[1] = lundi_retain(mean);
    nd->saved[2] = lundi_retain(rstd);
    nd->saved[3] = lundi_retain(gc);
    if (kind == GN_SILU) nd->saved[4] = lundi_retain(bc);
    nd->saved[5] = lundi_retain(sc);
    for (int k = 0; k < 4; k++) nd->i[k] = ki[k];
    nd->i[4] = kind;
  }
  lundi_release(xc);
  lundi_release(gc);
  lundi_release(bc);
  lundi_release(sc);
  lundi_release(mean);
  lundi_release(rstd);
  if (rc) {
    lundi_release(y);
    return NULL;
  }
  return y;
}

lundi_tensor *lundi_group_norm(lundi_tensor *x, int groups, lundi_tensor *gamma, lundi_tensor *beta, float eps) {
  return norm(GN, x, groups, gamma, beta, NULL, eps, "group_norm");
}

lundi_tensor *lundi_group_norm_silu(lundi_tensor *x, int groups, lundi_tensor *gamma, lundi_tensor *beta, float eps) {
  return norm(GN_SILU, x, groups, gamma, beta, NULL, eps, "group_norm_silu");
}

lundi_tensor *lundi_add_group_norm_silu(lundi_tensor *x, lundi_tensor *e, int groups, lundi_tensor *gamma,
                                        lundi_tensor *beta, float eps) {
  const char *op = "add_group_norm_silu";
  if (lundi__check_f32(op, "input", x)) return NULL;
  if (!e) return lundi__errp(LUNDI_EINVAL, "%s: e is NULL (use lundi_group_norm_silu)", op);
  if (x->storage->device->is_host) return norm(GN_SILU, x, groups, gamma, beta, e, eps, op);
  /* other backends: the add, then the norm (their kernels take no shift) */
  char s1[160], s2[160];
  if (x->ndim < 2 || e->ndim != 2 || e->shape[0] != x->shape[0] || e->shape[1] != x->shape[1])
    return lundi__errp(LUNDI_ESHAPE, "%s: shift %s must be [N, C] for input %s", op,
                       lundi_shape_str(e->ndim, e->shape, s1, sizeof s1), lundi_shape_str(x->ndim, x->shape, s2, sizeof s2));
  int64_t shape[LUNDI_MAX_DIMS];
  for (int k = 0; k < x->ndim; k++) shape[k] = k < 2 ? x->shape[k] : 1;
  lundi_tensor *e4 = lundi_reshape(e, x->ndim, shape), *xe = e4 ? lundi_add(x, e4) : NULL;
  lundi_tensor *y = xe ? norm(GN_SILU, xe, groups, gamma, beta, NULL, eps, op) : NULL;
  lundi_release(e4);
  lundi_release(xe);
  return y;
}

lundi_tensor *lundi_layer_norm(lundi_tensor *x, lundi_tensor *gamma, lundi_tensor *beta, float eps) {
  return norm(LN, x, 0, gamma, beta, NULL, eps, "layer_norm");
}

lundi_tensor *lundi_rms_norm(lundi_tensor *x, lundi_tensor *gamma, float eps) {
  return norm(RMS, x, 0, gamma, NULL, NULL, eps, "rms_norm");
}
