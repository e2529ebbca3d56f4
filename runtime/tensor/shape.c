/* Shape arithmetic: element counts, strides, dims, broadcasting, and when a reshape can be
 * a view. Pure functions of shapes and strides. */
#include "tensor/tensor_internal.h"

int64_t lundi__numel(int ndim, const int64_t *shape) {
  int64_t n = 1;
  for (int i = 0; i < ndim; i++) n *= shape[i];
  return n;
}

void lundi__contig_strides(int ndim, const int64_t *shape, int64_t *stride) {
  int64_t s = 1;
  for (int i = ndim - 1; i >= 0; i--) {
    stride[i] = s;
    s *= shape[i] > 0 ? shape[i] : 1;
  }
}

int lundi__normalize_dim(const char *op, int dim, int ndim, int *out) {
  int d = dim < 0 ? dim + ndim : dim;
  if (d < 0 || d >= (ndim > 0 ? ndim : 1))
    return lundi__err(LUNDI_EINVAL, "%s: dim %d is out of range for a %d-dim tensor", op, dim, ndim);
  *out = d;
  return 0;
}

/* Strides for viewing t as (ndim, shape) without a copy, if possible (PyTorch's rule:
 * each run of merged input dims must be contiguous within itself). */
int lundi__view_strides(const lundi_tensor *t, int ndim, const int64_t *shape, int64_t *st) {
  if (lundi_is_contiguous(t)) {
    lundi__contig_strides(ndim, shape, st);
    return 1;
  }
  int i = 0, o = 0;
  while (i < t->ndim || o < ndim) {
    /* skip size-1 dims */
    if (o < ndim && shape[o] == 1) { st[o] = 1; o++; continue; }
    if (i < t->ndim && t->shape[i] == 1) { i++; continue; }
    if (i >= t->ndim || o >= ndim) return 0;
    /* gather a group of input dims [i, ie) forming one contiguous chunk matching outputs */
    int64_t in_n = t->shape[i], out_n = shape[o];
    int ie = i + 1, oe = o + 1;
    while (in_n != out_n) {
      if (in_n < out_n) {
        if (ie >= t->ndim) return 0;
        if (t->shape[ie] == 1) { ie++; continue; }
        if (t->stride[ie - 1] != t->stride[ie] * t->shape[ie]) {
          /* the previous non-1 dim must chain to this one */
          int pj = ie - 1;
          while (pj > i && t->shape[pj] == 1) pj--;
          if (t->stride[pj] != t->stride[ie] * t->shape[ie]) return 0;
        }
        in_n *= t->shape[ie++];
      } else {
        if (oe >= ndim) return 0;
        out_n *= shape[oe++];
      }
    }
    /* input group must be internally contiguous */
    int last = ie - 1;
    while (last > i && t->shape[last] == 1) last--;
    for (int j = i; j < last; j++) {
      if (t->shape[j] == 1) continue;
      int nx = j + 1;
      while (t->shape[nx] == 1) nx++;
      if (t->stride[j] != t->stride[nx] * t->shape[nx]) return 0;
    }
    int64_t s = t->stride[last];
    for (int j = oe - 1; j >= o; j--) {
      st[j] = s;
      s *= shape[j];
    }
    i = ie;
    o = oe;
  }
  return 1;
}

void lundi__coalesce_dims(int ndim, const int64_t *shape, int nops, const int64_t *const *strides,
                          lundi_dims *out) {
  int nd = 0;
  for (int i = 0; i < ndim; i++) {
    if (shape[i] == 1) continue; /* size-1 dims never move the index */
    int merge = nd > 0;
    for (int k = 0; k < nops && merge; k++) merge = out->stride[k][nd - 1] == strides[k][i] * shape[i];
    if (merge) {
      out->shape[nd - 1] *= shape[i];
      for (int k = 0; k < nops; k++) out->stride[k][nd - 1] = strides[k][i];
    } else {
      out->shape[nd] = shape[i];
      for (int k = 0; k < nops; k++) out->stride[k][nd] = strides[k][i];
      nd++;
    }
  }
  out->ndim = nd;
}

void lundi__coalesce_tensors(lundi_tensor *const *ops, int nops, lundi_dims *out) {
  const int64_t *st[LUNDI_COALESCE_MAX_OPS];
  for (int k = 0; k < nops; k++) st[k] = ops[k]->stride;
  lundi__coalesce_dims(ops[0]->ndim, ops[0]->shape, nops, st, out);
}

/* ---- broadcasting ---- */

int lundi__broadcast_shape(const char *op, int na, const int64_t *sa, int nb, const int64_t *sb,
                           int *nout, int64_t *out) {
  int n = na > nb ? na : nb;
  for (int i = 0; i < n; i++) {
    int ia = i - (n - na), ib = i - (n - nb);
    int64_t a = ia >= 0 ? sa[ia] : 1, b = ib >= 0 ? sb[ib] : 1;
    if (a != b && a != 1 && b != 1) {
      char s1[160], s2[160];
      return lundi__err(LUNDI_ESHAPE, "%s: shapes %s and %s do not broadcast (dim %d: %lld vs %lld)", op,
                        lundi_shape_str(na, sa, s1, sizeof s1), lundi_shape_str(nb, sb, s2, sizeof s2), i,
                        (long long)a, (long long)b);
    }
    out[i] = a == 1 ? b : a;
  }
  *nout = n;
  return 0;
}

void lundi__broadcast_strides(const lundi_tensor *t, int nout, const int64_t *out, int64_t *st) {
  int lead = nout - t->ndim;
  for (int i = 0; i < nout; i++) {
    int j = i - lead;
    st[i] = (j < 0 || (t->shape[j] == 1 && out[i] != 1)) ? 0 : t->stride[j];
  }
}
