/* Batched sgemm through OpenBLAS.
 * i: batch, M, N, K, transA, transB, lda, ldb, ldc, batch strides A, B, C (elements);
 * f: alpha, beta. C[b] = alpha * op(A[b]) op(B[b]) + beta * C[b], row-major. */
#include "cpu/kernels.h"

#include <cblas.h>

/* Below this many multiply-adds we split the work across our own threads (each sgemm then
 * runs single-threaded inside the parallel region). Letting OpenBLAS thread the products of
 * a network itself stalls: ~3.5 ms per call whatever the size, after our own parallel
 * regions ran (measured in the U-Net: a [3136,128] x [128,128] attention projection took
 * 4.0 ms; 0.36 ms split our way). Only products the size of a whole benchmark matrix go to it. */
#define SMALL_GEMM (1LL << 30)
/* Below this a parallel region costs more than the product (an 8->32 Linear at batch 64). */
#define TINY_GEMM (1 << 17)

int lundi_cpu_gemm(const lundi_kcall *c) {
  const float *A = lundi__f32(c->in[0]), *B = lundi__f32(c->in[1]);
  float *C = lundi__f32(c->out[0]);
  int64_t batch = c->i[0], M = c->i[1], N = c->i[2], K = c->i[3];
  int ta_ = (int)c->i[4], tb_ = (int)c->i[5];
  enum CBLAS_TRANSPOSE ta = ta_ ? CblasTrans : CblasNoTrans;
  enum CBLAS_TRANSPOSE tb = tb_ ? CblasTrans : CblasNoTrans;
  int lda = (int)c->i[6], ldb = (int)c->i[7], ldc = (int)c->i[8];
  int64_t sa = c->i[9], sb = c->i[10], sc = c->i[11];
  float alpha = (float)c->f[0], beta = (float)c->f[1];
  if (M == 0 || N == 0) return 0;
  if (batch == 1 && M * N * K < SMALL_GEMM && M * N * K >= TINY_GEMM && M >= 16) {
    /* row blocks of C: A's rows (or columns when transposed) split the same way */
    int nt = lundi__threads();
    int64_t rows = (M + nt - 1) / nt;
#pragma omp parallel for schedule(static) num_threads(nt)
    for (int t = 0; t < nt; t++) {
      int64_t r0 = t * rows, r1 = r0 + rows < M ? r0 + rows : M;
      if (r0 >= r1) continue;
      const float *a = ta_ ? A + r0 : A + r0 * lda;
      cblas_sgemm(CblasRowMajor, ta, tb, (int)(r1 - r0), (int)N, (int)K, alpha, a, lda, B, ldb, beta,
                  C + r0 * ldc, ldc);
    }
    return 0;
  }
  /* Small matrices: one single-threaded sgemm per batch entry, batches across threads. */
  int per_batch = batch > 1 && M * N * K < 64 * 64 * 64 * 8;
#pragma omp parallel for schedule(dynamic) if (per_batch)
  for (int64_t b = 0; b < batch; b++)
    cblas_sgemm(CblasRowMajor, ta, tb, (int)M, (int)N, (int)K, alpha, A + b * sa, lda, B + b * sb,
                ldb, beta, C + b * sc, ldc);
  return 0;
}
