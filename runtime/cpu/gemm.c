/* Batched sgemm through OpenBLAS.
 * i: batch, M, N, K, transA, transB, lda, ldb, ldc, batch strides A, B, C (elements);
 * f: alpha, beta. C[b] = alpha * op(A[b]) op(B[b]) + beta * C[b], row-major. */
#include "cpu/kernels.h"

#include <cblas.h>

int lundi_cpu_gemm(const lundi_kcall *c) {
  const float *A = lundi__f32(c->in[0]), *B = lundi__f32(c->in[1]);
  float *C = lundi__f32(c->out[0]);
  int64_t batch = c->i[0], M = c->i[1], N = c->i[2], K = c->i[3];
  enum CBLAS_TRANSPOSE ta = c->i[4] ? CblasTrans : CblasNoTrans;
  enum CBLAS_TRANSPOSE tb = c->i[5] ? CblasTrans : CblasNoTrans;
  int lda = (int)c->i[6], ldb = (int)c->i[7], ldc = (int)c->i[8];
  int64_t sa = c->i[9], sb = c->i[10], sc = c->i[11];
  float alpha = (float)c->f[0], beta = (float)c->f[1];
  if (M == 0 || N == 0) return 0;
  /* Small matrices: one single-threaded sgemm per batch entry, batches across threads. */
  int per_batch = batch > 1 && M * N * K < 64 * 64 * 64 * 8;
#pragma omp parallel for schedule(dynamic) if (per_batch)
  for (int64_t b = 0; b < batch; b++)
    cblas_sgemm(CblasRowMajor, ta, tb, (int)M, (int)N, (int)K, alpha, A + b * sa, lda, B + b * sb,
                ldb, beta, C + b * sc, ldc);
  return 0;
}
