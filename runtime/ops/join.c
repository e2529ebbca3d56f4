/* Joining and splitting along a dim: concat copies each input into a slice of the output
 * (the copy kernel merges dims, so a channel concat of NCHW tensors is one threaded memcpy
 * per batch row); split returns slice views, each on the tape. */
#include "ops/ops_internal.h"

#include <stdlib.h>
#include <string.h>

/* node->i[0] = dim; node->i[1 + k] = start of input k along dim. */
static int concat_bw(lundi_node *n, lundi_tensor *g, lundi_tensor **gin) {
  int d = (int)n->i[0];
  for (int k = 0; k < n->n_in; k++) {
    if (!n->in[k]->requires_grad) continue;
    gin[k] = lundi_slice(g, d, n->i[1 + k], n->i[1 + k] + n->in[k]->shape[d], 1);
    if (!gin[k]) return -1;
  }
  return 0;
}

/* Concatenates at most LUNDI_NODE_MAX_IN tensors already checked to fit. */
static lundi_tensor *concat_some(int n, lundi_tensor *const *ts, int d) {
  lundi_tensor *t0 = ts[0];
  int64_t shape[LUNDI_MAX_DIMS], start[LUNDI_NODE_MAX_IN];
  memcpy(shape, t0->shape, sizeof shape);
  shape[d] = 0;
  for (int k = 0; k < n; k++) {
    start[k] = shape[d];
    shape[d] += ts[k]->shape[d];
  }
  lundi_tensor *out = lundi_empty(t0->ndim, shape, t0->dtype, t0->storage->device);
  if (!out) return NULL;
  for (int k = 0; k < n; k++) {
    if (ts[k]->shape[d] == 0) continue;
    lundi_tensor *dst = lundi__view(out, out->ndim, ts[k]->shape, out->stride, start[k] * out->stride[d]);
    int rc = dst ? lundi_copy_(dst, ts[k]) : -1;
    lundi_release(dst);
    if (rc) {
      lundi_release(out);
      return NULL;
    }
  }
  lundi_node *nd = lundi__record(out, "concat", concat_bw, n, ts);
  if (nd) {
    nd->i[0] = d;
    memcpy(nd->i + 1, start, sizeof(int64_t) * (size_t)n);
  }
  return out;
}

/* A tape node holds at most LUNDI_NODE_MAX_IN inputs: join larger lists in groups, then
 * join the groups (each level is differentiable). */
static lundi_tensor *concat_many(int n, lundi_tensor *const *ts, int d) {
  if (n <= LUNDI_NODE_MAX_IN) return concat_some(n, ts, d);
  int ng = (n + LUNDI_NODE_MAX_IN - 1) / LUNDI_NODE_MAX_IN;
  lundi_tensor **parts = calloc((size_t)ng, sizeof *parts);
  if (!parts) return lundi__errp(LUNDI_ENOMEM, "concat: out of host memory for %d tensors", n);
  lundi_tensor *out = NULL;
  int k = 0;
  for (; k < ng; k++) {
    int lo = k * LUNDI_NODE_MAX_IN, cnt = n - lo < LUNDI_NODE_MAX_IN ? n - lo : LUNDI_NODE_MAX_IN;
    if (!(parts[k] = concat_some(cnt, ts + lo, d))) break;
  }
  if (k == ng) out = concat_many(ng, parts, d);
  for (int j = 0; j < ng; j++) lundi_release(parts[j]);
  free(parts);
  return out;
}

lundi_tensor *lundi_concat(int n, lundi_tensor *const *ts, int dim) {
  char s1[160], s2[160];
  if (n < 1 || !ts) return lundi__errp(LUNDI_EINVAL, "concat: needs at least one tensor, got %d", n);
  for (int k = 0; k < n; k++)
    if (!ts[k]) return lundi__errp(LUNDI_EINVAL, "concat: tensor %d is NULL", k);
  lundi_tensor *t0 = ts[0];
  int d;
  if (t0->ndim == 0) return lundi__errp(LUNDI_ESHAPE, "concat: cannot concatenate 0-dim tensors");
  if (lundi__normalize_dim("concat", dim, t0->ndim, &d) || lundi__same_device("concat", n, ts)) return NULL;
  for (int k = 1; k < n; k++) {
    lundi_tensor *t = ts[k];
    if (t->dtype != t0->dtype)
      return lundi__errp(LUNDI_EINVAL, "concat: tensor %d is %s but tensor 0 is %s", k, lundi_dtype_name(t->dtype),
                         lundi_dtype_name(t0->dtype));
    int ok = t->ndim == t0->ndim;
    for (int i = 0; ok && i < t0->ndim; i++) ok = i == d || t->shape[i] == t0->shape[i];
    if (!ok)
      return lundi__errp(LUNDI_ESHAPE, "concat: tensor %d %s does not match tensor 0 %s outside dim %d", k,
                         lundi_shape_str(t->ndim, t->shape, s1, sizeof s1),
                         lundi_shape_str(t0->ndim, t0->shape, s2, sizeof s2), dim);
  }
  return concat_many(n, ts, d);
}

int lundi_split(lundi_tensor *x, int dim, int n, const int64_t *sizes, lundi_tensor **out) {
  char s1[160];
  if (!x || !out || n < 1) return lundi__err(LUNDI_EINVAL, "split: needs a tensor and n >= 1 pieces (n = %d)", n);
  int d;
  if (x->ndim == 0) return lundi__err(LUNDI_ESHAPE, "split: cannot split a 0-dim tensor");
  if (lundi__normalize_dim("split", dim, x->ndim, &d)) return lundi_last_error_code();
  int64_t total = 0, len = x->shape[d];
  for (int k = 0; k < n; k++) {
    int64_t s = sizes ? sizes[k] : len / n;
    if (s < 0) return lundi__err(LUNDI_ESHAPE, "split: piece %d has negative size %lld", k, (long long)s);
    total += s;
  }
  if (total != len)
    return lundi__err(LUNDI_ESHAPE, "split: %s along dim %d has size %lld but the %d pieces sum to %lld",
                      lundi_shape_str(x->ndim, x->shape, s1, sizeof s1), dim, (long long)len, n, (long long)total);
  int64_t off = 0;
  for (int k = 0; k < n; k++) {
    int64_t s = sizes ? sizes[k] : len / n;
    out[k] = lundi_slice(x, d, off, off + s, 1);
    if (!out[k]) {
      for (int j = 0; j < k; j++) {
        lundi_release(out[j]);
        out[j] = NULL;
      }
      return lundi_last_error_code();
    }
    off += s;
  }
  return 0;
}
