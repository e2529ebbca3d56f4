/* Indexing and resampling ops: embedding lookup, nearest upsampling, average pooling. */
#include "ops/ops_internal.h"

#include <string.h>

/* Runs a one-in, one-out kernel into a fresh contiguous f32 tensor of the given shape. */
static lundi_tensor *run_kernel(int id, lundi_tensor *in0, lundi_tensor *in1, int ndim, const int64_t *shape,
                                const int64_t *iargs, int ni) {
  lundi_tensor *out = lundi_empty(ndim, shape, LUNDI_F32, in0->storage->device);
  if (!out) return NULL;
  lundi_kcall c = {.id = id, .n_in = in1 ? 2 : 1, .n_out = 1, .in = {in0, in1}, .out = {out}};
  memcpy(c.i, iargs, sizeof(int64_t) * (size_t)ni);
  if (lundi__run(&c)) {
    lundi_release(out);
    return NULL;
  }
  return out;
}

/* ---- embedding ---- */

/* Host copy of the ids, to check the range without trusting a device kernel to report it. */
static int check_ids(lundi_tensor *ids, int64_t V) {
  lundi_tensor *h = lundi_to_device(ids, lundi_cpu());
  if (!h) return -1;
  const int32_t *p = lundi__i32(h);
  int64_t n = lundi_numel(h);
  int rc = 0;
  for (int64_t k = 0; k < n; k++)
    if (p[k] < 0 || p[k] >= V) {
      rc = lundi__err(LUNDI_EINVAL, "embedding: token id %d at position %lld is out of range for a vocabulary of %lld",
                      p[k], (long long)k, (long long)V);
      break;
    }
  lundi_release(h);
  return rc;
}

static int embedding_bw(lundi_node *n, lundi_tensor *g, lundi_tensor **gin) {
  lundi_tensor *w = n->in[0], *ids = n->saved[0];
  int64_t N = lundi_numel(ids), D = w->shape[1], gs[2] = {N, D};
  lundi_tensor *gc = lundi_contiguous(g);
  lundi_tensor *g2 = gc ? lundi_reshape(gc, 2, gs) : NULL;
  lundi_release(gc);
  if (!g2) return -1;
  int64_t none[1] = {0};
  gin[0] = run_kernel(LUNDI_K_EMBEDDING_BWD, g2, ids, 2, w->shape, none, 0);
  lundi_release(g2);
  return gin[0] ? 0 : -1;
}

lundi_tensor *lundi_embedding(lundi_tensor *weight, lundi_tensor *idx) {
  char s1[160], s2[160];
  if (lundi__check_f32("embedding", "weight", weight)) return NULL;
  if (!idx) return lundi__errp(LUNDI_EINVAL, "embedding: idx is NULL");
  if (idx->dtype != LUNDI_I32)
    return lundi__errp(LUNDI_EINVAL, "embedding: idx must be i32, got %s", lundi_dtype_name(idx->dtype));
  lundi_tensor *both[2] = {weight, idx};
  if (lundi__same_device("embedding", 2, both)) return NULL;
  if (weight->ndim != 2 || idx->ndim >= LUNDI_MAX_DIMS)
    return lundi__errp(LUNDI_ESHAPE, "embedding: weight %s must be [V, D] and idx %s at most %d-dim",
                       lundi_shape_str(weight->ndim, weight->shape, s1, sizeof s1),
                       lundi_shape_str(idx->ndim, idx->shape, s2, sizeof s2), LUNDI_MAX_DIMS - 1);
  int64_t V = weight->shape[0], D = weight->shape[1], N = lundi_numel(idx);
  lundi_no_grad_enter();
  lundi_tensor *ic = lundi_contiguous(idx), *wc = lundi_contiguous(weight);
  lundi_no_grad_exit();
  int64_t flat[1] = {N}, oshape[LUNDI_MAX_DIMS], none[1] = {0};
  lundi_tensor *ids = ic ? lundi__view(ic, 1, flat, (int64_t[1]){1}, ic->offset) : NULL;
  lundi_tensor *out = NULL;
  if (ids && wc && !check_ids(ids, V)) {
    memcpy(oshape, idx->shape, sizeof(int64_t) * (size_t)idx->ndim);
    oshape[idx->ndim] = D;
    out = run_kernel(LUNDI_K_EMBEDDING_FWD, wc, ids, idx->ndim + 1, oshape, none, 0);
  }
  lundi_release(ic);
  lundi_release(wc);
  if (out) {
    lundi_node *nd = lundi__record(out, "embedding", embedding_bw, 1, &weight);
    if (nd) nd->saved[0] = lundi_retain(ids);
  }
  lundi_release(ids);
  return out;
}

/* ---- nearest upsampling ---- */

static int upsample_bw(lundi_node *n, lundi_tensor *g, lundi_tensor **gin) {
  lundi_tensor *x = n->in[0];
  gin[0] = run_kernel(LUNDI_K_UPSAMPLE_BWD, g, NULL, 4, x->shape, n->i, 1);
  return gin[0] ? 0 : -1;
}

lundi_tensor *lundi_upsample_nearest2d(lundi_tensor *x, int scale) {
  char s1[160];
  if (lundi__check_f32("upsample_nearest2d", "x", x)) return NULL;
  if (x->ndim != 4)
    return lundi__errp(LUNDI_ESHAPE, "upsample_nearest2d: x %s must be [N, C, H, W]",
                       lundi_shape_str(x->ndim, x->shape, s1, sizeof s1));
  if (scale < 1) return lundi__errp(LUNDI_EINVAL, "upsample_nearest2d: scale must be >= 1, got %d", scale);
  int64_t shape[4] = {x->shape[0], x->shape[1], x->shape[2] * scale, x->shape[3] * scale}, s[1] = {scale};
  lundi_tensor *out = run_kernel(LUNDI_K_UPSAMPLE_FWD, x, NULL, 4, shape, s, 1);
  if (!out) return NULL;
  lundi_node *nd = lundi__record(out, "upsample_nearest2d", upsample_bw, 1, &x);
  if (nd) nd->i[0] = scale;
  return out;
}

/* ---- average pooling ---- */

/* i[0..3] = kh, kw, sh, sw; i[4] = 1 when the op is 1-d (x was [N, C, L]). */
static int avgpool_bw(lundi_node *n, lundi_tensor *g, lundi_tensor **gin) {
  lundi_tensor *x = n->in[0], *g4 = n->i[4] ? lundi_unsqueeze(g, 2) : lundi_retain(g);
  if (!g4) return -1;
  int64_t xs[4] = {x->shape[0], x->shape[1], n->i[4] ? 1 : x->shape[2], x->shape[x->ndim - 1]};
  lundi_tensor *gx = run_kernel(LUNDI_K_AVGPOOL_BWD, g4, NULL, 4, xs, n->i, 4);
  lundi_release(g4);
  if (!gx) return -1;
  gin[0] = n->i[4] ? lundi_squeeze(gx, 2) : lundi_retain(gx);
  lundi_release(gx);
  return gin[0] ? 0 : -1;
}

/* x4 is x viewed as [N, C, H, W]; name and x (the original) are for messages and the tape. */
static lundi_tensor *avg_pool(const char *name, lundi_tensor *x, lundi_tensor *x4, int kh, int kw, int sh, int sw,
                              int one_d) {
  char s1[160];
  int64_t H = x4->shape[2], W = x4->shape[3];
  if (kh < 1 || kw < 1 || sh < 1 || sw < 1)
    return lundi__errp(LUNDI_EINVAL, "%s: kernel and stride must be positive (kernel %d, stride %d)", name,
                       one_d ? kw : kh, one_d ? sw : sh);
  if (kh > H || kw > W)
    return lundi__errp(LUNDI_ESHAPE, "%s: kernel %d is larger than the input %s (no padding)", name,
                       one_d ? kw : kh, lundi_shape_str(x->ndim, x->shape, s1, sizeof s1));
  int64_t args[5] = {kh, kw, sh, sw, one_d};
  int64_t os[4] = {x4->shape[0], x4->shape[1], (H - kh) / sh + 1, (W - kw) / sw + 1};
  lundi_tensor *out = run_kernel(LUNDI_K_AVGPOOL_FWD, x4, NULL, 4, os, args, 4);
  if (!out) return NULL;
  if (one_d) {
    int64_t s3[3] = {os[0], os[1], os[3]};
    lundi_tensor *o3 = lundi__view(out, 3, s3, (int64_t[3]){os[1] * os[3], os[3], 1}, 0);
    lundi_release(out);
    out = o3;
    if (!out) return NULL;
  }
  lundi_node *nd = lundi__record(out, name, avgpool_bw, 1, &x);
  if (nd) memcpy(nd->i, args, sizeof args);
  return out;
}

/* stride 0 means stride = kernel, as PyTorch's default. */
lundi_tensor *lundi_avg_pool2d(lundi_tensor *x, int kernel, int stride) {
  char s1[160];
  if (lundi__check_f32("avg_pool2d", "x", x)) return NULL;
  if (x->ndim != 4)
    return lundi__errp(LUNDI_ESHAPE, "avg_pool2d: x %s must be [N, C, H, W]",
                       lundi_shape_str(x->ndim, x->shape, s1, sizeof s1));
  if (stride == 0) stride = kernel;
  return avg_pool("avg_pool2d", x, x, kernel, kernel, stride, stride, 0);
}

lundi_tensor *lundi_avg_pool1d(lundi_tensor *x, int kernel, int stride) {
  char s1[160];
  if (lundi__check_f32("avg_pool1d", "x", x)) return NULL;
  if (x->ndim != 3)
    return lundi__errp(LUNDI_ESHAPE, "avg_pool1d: x %s must be [N, C, L]",
                       lundi_shape_str(x->ndim, x->shape, s1, sizeof s1));
  if (stride == 0) stride = kernel;
  int64_t s4[4] = {x->shape[0], x->shape[1], 1, x->shape[2]};
  int64_t st4[4] = {x->stride[0], x->stride[1], 0, x->stride[2]};
  lundi_tensor *x4 = lundi__view(x, 4, s4, st4, x->offset);
  if (!x4) return NULL;
  lundi_tensor *out = avg_pool("avg_pool1d", x, x4, 1, kernel, 1, stride, 1);
  lundi_release(x4);
  return out;
}
