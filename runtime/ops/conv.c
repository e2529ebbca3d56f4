/* Convolutions: conv2d, conv1d and their transposes, all on the three conv2d kernels.
 * conv1d is conv2d on [N, C, 1, L] views. conv_transpose's forward is conv2d's backward
 * in x; its own backward uses the conv2d forward (grad x) and backward-weight (grad w). */
#include "ops/ops_internal.h"

#include <string.h>

/* Parameters resolved to 2-D (h, w); a 1-D conv's own parameters sit in the w slot. */
typedef struct cparams {
  int64_t s[2], p[2], d[2], op[2], groups;
} cparams;

static int resolve_params(const char *op, const lundi_conv_params *pp, int nsp, int transposed, cparams *c) {
  static const lundi_conv_params defaults = {{0, 0}, {0, 0}, {0, 0}, {0, 0}, 0};
  if (!pp) pp = &defaults;
  c->groups = 1;
  for (int k = 0; k < 2; k++) c->s[k] = 1, c->p[k] = 0, c->d[k] = 1, c->op[k] = 0;
  for (int k = 0; k < nsp; k++) {
    int j = 2 - nsp + k;
    int s = pp->stride[k], p = pp->padding[k], d = pp->dilation[k], o = pp->output_padding[k];
    if (s < 0 || p < 0 || d < 0 || o < 0)
      return lundi__err(LUNDI_EINVAL, "%s: stride %d, padding %d, dilation %d, output_padding %d must not be negative", op,
                        s, p, d, o);
    c->s[j] = s ? s : 1, c->p[j] = p, c->d[j] = d ? d : 1, c->op[j] = o;
    if (o && !transposed)
      return lundi__err(LUNDI_EINVAL, "%s: output_padding applies to transposed convolutions only", op);
    if (o >= c->s[j] && o >= c->d[j])
      return lundi__err(LUNDI_EINVAL, "%s: output_padding %d must be smaller than stride %lld or dilation %lld", op, o,
                        (long long)c->s[j], (long long)c->d[j]);
  }
  if (pp->groups < 0) return lundi__err(LUNDI_EINVAL, "%s: groups %d must not be negative", op, pp->groups);
  c->groups = pp->groups ? pp->groups : 1;
  return 0;
}

/* ---- the kernel calls ---- */

static int run_kernel(int id, lundi_tensor *in0, lundi_tensor *in1, lundi_tensor *in2, lundi_tensor *out0,
                      lundi_tensor *out1, const cparams *c) {
  lundi_kcall k = {.id = id, .n_in = 3, .n_out = out1 ? 2 : 1, .in = {in0, in1, in2}, .out = {out0, out1},
                   .i = {c->s[0], c->s[1], c->p[0], c->p[1], c->d[0], c->d[1], c->groups}};
  return lundi__run(&k);
}

static void params_to_node(lundi_node *n, const cparams *c) {
  int64_t v[9] = {c->s[0], c->s[1], c->p[0], c->p[1], c->d[0], c->d[1], c->op[0], c->op[1], c->groups};
  memcpy(n->i, v, sizeof v);
}

static void params_from_node(const lundi_node *n, cparams *c) {
  c->s[0] = n->i[0], c->s[1] = n->i[1], c->p[0] = n->i[2], c->p[1] = n->i[3], c->d[0] = n->i[4];
  c->d[1] = n->i[5], c->op[0] = n->i[6], c->op[1] = n->i[7], c->groups = n->i[8];
}

/* Fresh f32 tensor shaped like t, on t's device. */
static lundi_tensor *empty_like(const lundi_tensor *t) {
  return lundi_empty(t->ndim, t->shape, LUNDI_F32, t->storage->device);
}

static lundi_tensor *bias_grad_by_sum(lundi_tensor *g) {
  int axes[3] = {0, 2, 3};
  return lundi_sum(g, 3, axes, 0);
}

/* Backward of conv2d: saved[0] = x, saved[1] = w (contiguous). */
static int conv_bw(lundi_node *n, lundi_tensor *gout, lundi_tensor **gin) {
  lundi_tensor *x = n->saved[0], *w = n->saved[1], *bias = n->n_in > 2 ? n->in[2] : NULL;
  int need_x = n->in[0]->requires_grad, need_w = n->in[1]->requires_grad, need_b = bias && bias->requires_grad;
  cparams c;
  params_from_node(n, &c);
  lundi_tensor *g = lundi_contiguous(gout);
  if (!g) return -1;
  int rc = 0;
  if (need_x) {
    gin[0] = empty_like(x);
    rc = gin[0] ? run_kernel(LUNDI_K_CONV2D_BWD_DATA, g, w, NULL, gin[0], NULL, &c) : -1;
  }
  if (!rc && need_w) {
    gin[1] = empty_like(w);
    if (need_b) gin[2] = empty_like(bias);
    rc = gin[1] && (!need_b || gin[2]) ? run_kernel(LUNDI_K_CONV2D_BWD_WEIGHT, x, g, NULL, gin[1], gin[2], &c) : -1;
  } else if (!rc && need_b) {
    gin[2] = bias_grad_by_sum(g);
    rc = gin[2] ? 0 : -1;
  }
  lundi_release(g);
  return rc;
}

/* Backward of conv_transpose2d: saved[0] = x [N, Cin, H, W], saved[1] = w [Cin, Cout/G, kh, kw].
 * In conv2d terms x is the output gradient and gout the input, so grad x is the conv2d
 * forward of gout and grad w the conv2d weight gradient with the roles swapped. */
static int convt_bw(lundi_node *n, lundi_tensor *gout, lundi_tensor **gin) {
  lundi_tensor *x = n->saved[0], *w = n->saved[1], *bias = n->n_in > 2 ? n->in[2] : NULL;
  cparams c;
  params_from_node(n, &c);
  lundi_tensor *g = lundi_contiguous(gout);
  if (!g) return -1;
  int rc = 0;
  if (n->in[0]->requires_grad) {
    gin[0] = empty_like(x);
    rc = gin[0] ? run_kernel(LUNDI_K_CONV2D_FWD, g, w, NULL, gin[0], NULL, &c) : -1;
  }
  if (!rc && n->in[1]->requires_grad) {
    gin[1] = empty_like(w);
    rc = gin[1] ? run_kernel(LUNDI_K_CONV2D_BWD_WEIGHT, g, x, NULL, gin[1], NULL, &c) : -1;
  }
  if (!rc && bias && bias->requires_grad) {
    gin[2] = bias_grad_by_sum(g);
    rc = gin[2] ? 0 : -1;
  }
  lundi_release(g);
  return rc;
}

/* Runs the 4-D op on views x4/w4 (already checked) and records it against them. */
static lundi_tensor *conv2d_core(const char *op, int transposed, lundi_tensor *x, lundi_tensor *w, lundi_tensor *bias,
                                 const cparams *c, const int64_t *oshape) {
  lundi_no_grad_enter();
  lundi_tensor *xc = lundi_contiguous(x), *wc = lundi_contiguous(w);
  lundi_tensor *bc = bias ? lundi_contiguous(bias) : NULL;
  lundi_no_grad_exit();
  lundi_tensor *y = xc && wc && (!bias || bc) ? lundi_empty(4, oshape, LUNDI_F32, x->storage->device) : NULL;
  int rc = y ? run_kernel(transposed ? LUNDI_K_CONV2D_BWD_DATA : LUNDI_K_CONV2D_FWD, xc, wc, bc, y, NULL, c) : -1;
  lundi_release(bc);
  if (rc) {
    lundi_release(xc);
    lundi_release(wc);
    lundi_release(y);
    return NULL;
  }
  lundi_tensor *in[3] = {x, w, bias};
  lundi_node *nd = lundi__record(y, op, transposed ? convt_bw : conv_bw, bias ? 3 : 2, in);
  if (nd) {
    nd->saved[0] = xc, nd->saved[1] = wc;
    params_to_node(nd, c);
  } else {
    lundi_release(xc);
    lundi_release(wc);
  }
  return y;
}

/* Checks shapes, resolves parameters and output size, then runs conv2d_core on 4-D views. */
static lundi_tensor *conv_nd(const char *op, int nsp, int transposed, lundi_tensor *x, lundi_tensor *w,
                             lundi_tensor *bias, const lundi_conv_params *pp) {
  char s1[160], s2[160];
  if (lundi__check_f32(op, "input", x) || lundi__check_f32(op, "weight", w)) return NULL;
  if (bias && lundi__check_f32(op, "bias", bias)) return NULL;
  lundi_tensor *all[3] = {x, w, bias};
  if (lundi__same_device(op, bias ? 3 : 2, all)) return NULL;
  const char *xs = nsp == 2 ? "[N, C, H, W]" : "[N, C, L]";
  const char *ws = transposed ? (nsp == 2 ? "[Cin, Cout/groups, kh, kw]" : "[Cin, Cout/groups, k]")
                              : (nsp == 2 ? "[Cout, Cin/groups, kh, kw]" : "[Cout, Cin/groups, k]");
  int nd = nsp + 2;
  if (x->ndim != nd)
    return lundi__errp(LUNDI_ESHAPE, "%s: input must be %s, got %s", op, xs, lundi_shape_str(x->ndim, x->shape, s1, sizeof s1));
  if (w->ndim != nd)
    return lundi__errp(LUNDI_ESHAPE, "%s: weight must be %s, got %s", op, ws, lundi_shape_str(w->ndim, w->shape, s1, sizeof s1));
  cparams c;
  if (resolve_params(op, pp, nsp, transposed, &c)) return NULL;
  lundi_shape_str(x->ndim, x->shape, s1, sizeof s1);
  lundi_shape_str(w->ndim, w->shape, s2, sizeof s2);
  int64_t G = c.groups, C = x->shape[1], O;
  for (int k = 2; k < nd; k++)
    if (w->shape[k] < 1) return lundi__errp(LUNDI_ESHAPE, "%s: weight %s has an empty kernel", op, s2);
  if (C < 1 || w->shape[0] < 1 || w->shape[1] < 1)
    return lundi__errp(LUNDI_ESHAPE, "%s: input %s and weight %s need at least one channel each", op, s1, s2);
  if (!transposed) {
    O = w->shape[0];
    if (C % G || O % G)
      return lundi__errp(LUNDI_ESHAPE, "%s: groups=%lld must divide the input channels (%s) and output channels (weight %s)",
                         op, (long long)G, s1, s2);
    if (w->shape[1] * G != C)
      return lundi__errp(LUNDI_ESHAPE, "%s: input %s has %lld channels but weight %s with groups=%lld expects %lld", op, s1,
                         (long long)C, s2, (long long)G, (long long)(w->shape[1] * G));
  } else {
    O = w->shape[1] * G;
    if (C % G)
      return lundi__errp(LUNDI_ESHAPE, "%s: groups=%lld must divide the input channels (%s)", op, (long long)G, s1);
    if (w->shape[0] != C)
      return lundi__errp(LUNDI_ESHAPE, "%s: input %s has %lld channels but weight %s expects %lld", op, s1, (long long)C, s2,
                         (long long)w->shape[0]);
  }
  if (bias && (bias->ndim != 1 || bias->shape[0] != O))
    return lundi__errp(LUNDI_ESHAPE, "%s: bias %s does not match %lld output channels (weight %s)", op,
                       lundi_shape_str(bias->ndim, bias->shape, s1, sizeof s1), (long long)O, s2);
  int64_t oshape[4] = {x->shape[0], O, 1, 1};
  for (int k = 0; k < nsp; k++) {
    int j = 2 - nsp + k;
    int64_t in = x->shape[2 + k], kk = w->shape[2 + k], span = c.d[j] * (kk - 1) + 1, out;
    if (!transposed) {
      if (in + 2 * c.p[j] < span)
        return lundi__errp(LUNDI_ESHAPE, "%s: input %s is too small: spatial size %lld padded by %lld is less than the kernel "
                           "span %lld (weight %s, dilation %lld)", op, s1, (long long)in, (long long)c.p[j], (long long)span, s2,
                           (long long)c.d[j]);
      out = (in + 2 * c.p[j] - span) / c.s[j] + 1;
    } else {
      out = (in - 1) * c.s[j] - 2 * c.p[j] + span + c.op[j];
      if (in < 1 || out < 1)
        return lundi__errp(LUNDI_ESHAPE, "%s: input %s with weight %s gives an empty output (size %lld)", op, s1, s2,
                           (long long)out);
    }
    oshape[2 + j] = out;
  }
  if (nsp == 2) return conv2d_core(op, transposed, x, w, bias, &c, oshape);
  /* 1-D: [N, C, 1, L] views; the recorded unsqueeze/squeeze carry the gradient back. */
  lundi_tensor *x4 = lundi_unsqueeze(x, 2), *w4 = lundi_unsqueeze(w, 2);
  lundi_tensor *y4 = x4 && w4 ? conv2d_core(op, transposed, x4, w4, bias, &c, oshape) : NULL;
  lundi_tensor *y = y4 ? lundi_squeeze(y4, 2) : NULL;
  lundi_release(x4);
  lundi_release(w4);
  lundi_release(y4);
  return y;
}

lundi_tensor *lundi_conv2d(lundi_tensor *x, lundi_tensor *w, lundi_tensor *bias, const lundi_conv_params *p) {
  return conv_nd("conv2d", 2, 0, x, w, bias, p);
}

lundi_tensor *lundi_conv1d(lundi_tensor *x, lundi_tensor *w, lundi_tensor *bias, const lundi_conv_params *p) {
  return conv_nd("conv1d", 1, 0, x, w, bias, p);
}

lundi_tensor *lundi_conv_transpose2d(lundi_tensor *x, lundi_tensor *w, lundi_tensor *bias,
                                     const lundi_conv_params *p) {
  return conv_nd("conv_transpose2d", 2, 1, x, w, bias, p);
}

lundi_tensor *lundi_conv_transpose1d(lundi_tensor *x, lundi_tensor *w, lundi_tensor *bias,
                                     const lundi_conv_params *p) {
  return conv_nd("conv_transpose1d", 1, 1, x, w, bias, p);
}
