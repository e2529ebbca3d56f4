/* N-d iteration shared by the CPU elementwise kernels. */
#include "cpu/kernels.h"

#include <omp.h>
#include <string.h>

void lundi_cpu_foreach_row(int ndim, const int64_t *shape_in, int nops,
                           const int64_t *const *strides, lundi_cpu_row_fn fn, void *ctx,
                           int parallel) {
  for (int i = 0; i < ndim; i++)
    if (shape_in[i] == 0) return;
  /* drop size-1 dims, merge dims contiguous for all operands */
  lundi_dims dims;
  lundi__coalesce_dims(ndim, shape_in, nops, strides, &dims);
  int nd = dims.ndim;
  int64_t *shape = dims.shape;
  int64_t (*st)[LUNDI_MAX_DIMS] = dims.stride;
  if (nd == 0) {
    shape[0] = 1;
    for (int k = 0; k < nops; k++) st[k][0] = 0;
    nd = 1;
  }
  /* a very short innermost dim (an interleave's phase, say) would make every row a call
   * for a few elements: run the next dim innermost instead */
  if (nd >= 2 && shape[nd - 1] < 8 && shape[nd - 2] > shape[nd - 1]) {
    int64_t t = shape[nd - 1];
    shape[nd - 1] = shape[nd - 2], shape[nd - 2] = t;
    for (int k = 0; k < nops; k++) t = st[k][nd - 1], st[k][nd - 1] = st[k][nd - 2], st[k][nd - 2] = t;
  }
  int64_t inner = shape[nd - 1];
  int64_t ist[4];
  for (int k = 0; k < nops; k++) ist[k] = st[k][nd - 1];
  int64_t rows = 1;
  for (int i = 0; i < nd - 1; i++) rows *= shape[i];
  /* split very long single rows so both cores get work */
  int64_t chunk = inner, nchunk = 1;
  if (parallel && rows < 2 * lundi__threads() && inner >= 65536) {
    nchunk = 8 * lundi__threads();
    chunk = (inner + nchunk - 1) / nchunk;
  }
  int64_t total = rows * nchunk;
  int par = parallel && rows * inner >= 32768 && total > 1;
  if (nchunk == 1) {
    /* each thread a contiguous range of rows (the same share of the batch as the other
     * static kernels); offsets found once by division, then stepped like an odometer */
#pragma omp parallel if (par)
    {
      const int nt = omp_get_num_threads(), t = omp_get_thread_num();
      const int64_t r0 = rows * t / nt, r1 = rows * (t + 1) / nt;
      int64_t idx[LUNDI_MAX_DIMS + 1], off[4] = {0, 0, 0, 0}, rem = r0;
      for (int i = nd - 2; i >= 0; i--) {
        idx[i] = rem % shape[i];
        rem /= shape[i];
        for (int k = 0; k < nops; k++) off[k] += idx[i] * st[k][i];
      }
      for (int64_t r = r0; r < r1; r++) {
        fn(ctx, inner, off, ist);
        for (int i = nd - 2; i >= 0; i--) {
          for (int k = 0; k < nops; k++) off[k] += st[k][i];
          if (++idx[i] < shape[i]) break;
          for (int k = 0; k < nops; k++) off[k] -= st[k][i] * shape[i];
          idx[i] = 0;
        }
      }
    }
    return;
  }
#pragma omp parallel for schedule(static) if (par)
  for (int64_t r = 0; r < total; r++) {
    int64_t row = r / nchunk, ci = r % nchunk;
    int64_t off[4] = {0, 0, 0, 0};
    int64_t rem = row;
    for (int i = nd - 2; i >= 0; i--) {
      int64_t idx = rem % shape[i];
      rem /= shape[i];
      for (int k = 0; k < nops; k++) off[k] += idx * st[k][i];
    }
    int64_t start = ci * chunk;
    if (start >= inner) continue;
    int64_t n = inner - start < chunk ? inner - start : chunk;
    for (int k = 0; k < nops; k++) off[k] += start * ist[k];
    fn(ctx, n, off, ist);
  }
}
