/* matmul (batched, broadcasting) and linear, on the GEMM kernel. */
#include "ops/ops_internal.h"

#include <string.h>

typedef struct gemm_operand {
  lundi_tensor *t; /* owned reference: the tensor the kernel reads */
  int trans;
  int64_t ld, bstride;
} gemm_operand;

/* Single batch stride for dims [0, nb) if the batch walks memory uniformly. */
static int batch_stride(const lundi_tensor *t, int nb, int64_t *bs) {
  int64_t stride = 0, expect = -1;
  for (int d = nb - 1; d >= 0; d--) {
    if (t->shape[d] == 1) continue;
    if (expect < 0) {
      stride = t->stride[d];
      expect = stride * t->shape[d];
    } else {
      if (t->stride[d] != expect) return 0;
      expect *= t->shape[d];
    }
  }
  *bs = stride;
  return 1;
}

/* Prepares t [batch..., R, C] (batch dims already broadcast) for sgemm. */
static int prepare(lundi_tensor *t, gemm_operand *op) {
  int nd = t->ndim;
  int64_t R = t->shape[nd - 2], C = t->shape[nd - 1];
  int64_t sr = t->stride[nd - 2], sc = t->stride[nd - 1];
  int64_t bs;
  int batch_ok = batch_stride(t, nd - 2, &bs);
  if (batch_ok && (sc == 1 || C == 1) && (sr >= C || R == 1)) {
    op->trans = 0;
    op->ld = R == 1 ? (C > 0 ? C : 1) : (sr > 0 ? sr : 1);
    if (op->ld < C) op->ld = C;
  } else if (batch_ok && (sr == 1 || R == 1) && (sc >= R || C == 1)) {
    op->trans = 1;
    op->ld = C == 1 ? (R > 0 ? R : 1) : sc;
    if (op->ld < R) op->ld = R;
  } else {
    lundi_tensor *c = lundi_clone(t);
    if (!c) return -1;
    op->t = c;
    op->trans = 0;
    op->ld = C > 0 ? C : 1;
    op->bstride = R * C;
    return 0;
  }
  op->t = lundi_retain(t);
  op->bstride = bs;
  return 0;
}

/* out[batch, M, N] = a[batch, M, K] @ b[batch, K, N], shapes already checked/broadcast. */
static int gemm_into(lundi_tensor *out, lundi_tensor *a, lundi_tensor *b, int64_t batch) {
  int nd = a->ndim;
  int64_t M = a->shape[nd - 2], K = a->shape[nd - 1], N = b->shape[nd - 1];
  if (K == 0) return lundi_fill_(out, 0);
  gemm_operand oa = {0}, ob = {0};
  int rc = prepare(a, &oa);
  if (!rc) rc = prepare(b, &ob);
  if (!rc) {
    lundi_kcall c = {.id = LUNDI_K_GEMM, .n_in = 2, .n_out = 1, .in = {oa.t, ob.t}, .out = {out},
                     .i = {batch, M, N, K, oa.trans, ob.trans, oa.ld, ob.ld, N > 0 ? N : 1, oa.bstride,
                           ob.bstride, M * N},
                     .f = {1.0, 0.0}};
    rc = lundi__run(&c);
  }
  lundi_release(oa.t);
  lundi_release(ob.t);
  return rc;
}

static int matmul_bw(lundi_node *n, lundi_tensor *g, lundi_tensor **gin) {
  lundi_tensor *a = n->in[0], *b = n->in[1];
  if (a->requires_grad) {
    lundi_tensor *bt = lundi_transpose(b, -1, -2);
    lundi_tensor *p = bt ? lundi_matmul(g, bt) : NULL;
    lundi_release(bt);
    if (!p) return -1;
    gin[0] = lundi_sum_to(p, a->ndim, a->shape);
    lundi_release(p);
    if (!gin[0]) return -1;
  }
  if (b->requires_grad) {
    lundi_tensor *at = lundi_transpose(a, -1, -2);
    lundi_tensor *p = at ? lundi_matmul(at, g) : NULL;
    lundi_release(at);
    if (!p) return -1;
    gin[1] = lundi_sum_to(p, b->ndim, b->shape);
    lundi_release(p);
    if (!gin[1]) return -1;
  }
  return 0;
}

static lundi_tensor *matmul_nd(lundi_tensor *a, lundi_tensor *b) {
  char s1[160], s2[160];
  int na = a->ndim, nb = b->ndim;
  if (a->shape[na - 1] != b->shape[nb - 2])
    return lundi__errp(LUNDI_ESHAPE, "matmul: inner dims differ: %s @ %s", lundi_shape_str(na, a->shape, s1, sizeof s1),
                       lundi_shape_str(nb, b->shape, s2, sizeof s2));
  int nbatch;
  int64_t bshape[LUNDI_MAX_DIMS];
  if (lundi__broadcast_shape("matmul (batch dims)", na - 2, a->shape, nb - 2, b->shape, &nbatch, bshape)) return NULL;
  int nd = nbatch + 2;
  int64_t M = a->shape[na - 2], K = a->shape[na - 1], N = b->shape[nb - 1];
  int64_t sa[LUNDI_MAX_DIMS], sb[LUNDI_MAX_DIMS], oshape[LUNDI_MAX_DIMS];
  memcpy(oshape, bshape, sizeof(int64_t) * (size_t)nbatch);
  int64_t batch = lundi__numel(nbatch, bshape);
  /* Fold a's batch into M when b is shared across the batch: one big GEMM. */
  oshape[nbatch] = M;
  oshape[nbatch + 1] = N;
  lundi_tensor *out = lundi_empty(nd, oshape, LUNDI_F32, a->storage->device);
  if (!out) return NULL;
  int rc;
  if (nb == 2 && na > 2 && lundi_is_contiguous(a)) {
    int64_t s2d[2] = {batch * M, K}, st2[2] = {K, 1}, os[2] = {batch * M, N}, ost[2] = {N, 1};
    lundi_tensor *a2 = lundi__view(a, 2, s2d, st2, a->offset), *o2 = lundi__view(out, 2, os, ost, 0);
    rc = (a2 && o2) ? gemm_into(o2, a2, b, 1) : -1;
    lundi_release(a2);
    lundi_release(o2);
  } else {
    int64_t ash[LUNDI_MAX_DIMS], bsh[LUNDI_MAX_DIMS];
    memcpy(ash, bshape, sizeof(int64_t) * (size_t)nbatch);
    memcpy(bsh, bshape, sizeof(int64_t) * (size_t)nbatch);
    ash[nbatch] = M, ash[nbatch + 1] = K, bsh[nbatch] = K, bsh[nbatch + 1] = N;
    lundi__broadcast_strides(a, nd, ash, sa);
    lundi__broadcast_strides(b, nd, bsh, sb);
    lundi_tensor *va = lundi__view(a, nd, ash, sa, a->offset), *vb = lundi__view(b, nd, bsh, sb, b->offset);
    rc = (va && vb) ? gemm_into(out, va, vb, batch) : -1;
    lundi_release(va);
    lundi_release(vb);
  }
  if (rc) {
    lundi_release(out);
    return NULL;
  }
  lundi_tensor *in[2] = {a, b};
  lundi__record(out, "matmul", matmul_bw, 2, in);
  return out;
}

lundi_tensor *lundi_matmul(lundi_tensor *a, lundi_tensor *b) {
  if (lundi__check_f32("matmul", "a", a) || lundi__check_f32("matmul", "b", b)) return NULL;
  lundi_tensor *ab[2] = {a, b};
  if (lundi__same_device("matmul", 2, ab)) return NULL;
  if (a->ndim == 0 || b->ndim == 0) return lundi__errp(LUNDI_ESHAPE, "matmul: operands must have at least 1 dim");
  lundi_tensor *a2 = a->ndim == 1 ? lundi_unsqueeze(a, 0) : lundi_retain(a);
  lundi_tensor *b2 = b->ndim == 1 ? lundi_unsqueeze(b, 1) : lundi_retain(b);
  lundi_tensor *out = (a2 && b2) ? matmul_nd(a2, b2) : NULL;
  lundi_release(a2);
  lundi_release(b2);
  if (out && a->ndim == 1) {
    lundi_tensor *s = lundi_squeeze(out, -2);
    lundi_release(out);
    out = s;
  }
  if (out && b->ndim == 1) {
    lundi_tensor *s = lundi_squeeze(out, -1);
    lundi_release(out);
    out = s;
  }
  return out;
}

lundi_tensor *lundi_linear(lundi_tensor *x, lundi_tensor *w, lundi_tensor *bias) {
  char s1[160], s2[160];
  if (lundi__check_f32("linear", "x", x) || lundi__check_f32("linear", "weight", w)) return NULL;
  if (w->ndim != 2 || x->ndim < 1 || x->shape[x->ndim - 1] != w->shape[1])
    return lundi__errp(LUNDI_ESHAPE, "linear: input %s does not fit weight %s (expected [..., %lld])",
                       lundi_shape_str(x->ndim, x->shape, s1, sizeof s1), lundi_shape_str(w->ndim, w->shape, s2, sizeof s2),
                       (long long)(w->ndim == 2 ? w->shape[1] : -1));
  if (bias && (bias->ndim != 1 || bias->shape[0] != w->shape[0]))
    return lundi__errp(LUNDI_ESHAPE, "linear: bias %s does not fit weight %s",
                       lundi_shape_str(bias->ndim, bias->shape, s1, sizeof s1), lundi_shape_str(2, w->shape, s2, sizeof s2));
  lundi_tensor *wt = lundi_transpose(w, 0, 1);
  lundi_tensor *y = wt ? lundi_matmul(x, wt) : NULL;
  lundi_release(wt);
  if (!y || !bias) return y;
  lundi_tensor *yb = lundi_add(y, bias);
  lundi_release(y);
  return yb;
}
