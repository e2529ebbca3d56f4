/* Batched SGEMM (LUNDI_K_GEMM) on the tiled shader shaders/gemm.comp. The kcall is that of
 * runtime/cpu/gemm.c: i = batch, M, N, K, transA, transB, lda, ldb, ldc, batch strides of A,
 * B, C (elements, from each tensor's offset); f = alpha, beta. Tiles are picked from the
 * device's workgroup limit: 64x64 (BK 16, 4x4 per thread) with 256 threads, 64x32 with 128. */
#include "vulkan/vk.h"

typedef struct gemm_push {
  uint32_t M, N, K, ta, tb, lda, ldb, ldc, sa, sb, sc, aoff, boff, coff, batch0;
  float alpha, beta;
} gemm_push;

/* Highest element index op(X) of rows x cols reaches over the batch (0-based, from offset). */
static int64_t reach(int64_t batch, int64_t bs, int64_t rows, int64_t cols, int trans, int64_t ld) {
  int64_t r = trans ? (cols - 1) * ld + (rows - 1) : (rows - 1) * ld + (cols - 1);
  return r + (batch - 1) * bs;
}

int lundi_vk_gemm(const lundi_kcall *c) {
  lundi_tensor *A = c->in[0], *B = c->in[1], *C = c->out[0];
  int64_t batch = c->i[0], M = c->i[1], N = c->i[2], K = c->i[3];
  int ta = c->i[4] != 0, tb = c->i[5] != 0;
  int64_t lda = c->i[6], ldb = c->i[7], ldc = c->i[8], sa = c->i[9], sb = c->i[10], sc = c->i[11];
  if (A->dtype != LUNDI_F32 || B->dtype != LUNDI_F32 || C->dtype != LUNDI_F32)
    return lundi__err(LUNDI_EUNSUPPORTED, "gemm: only f32 is supported on vulkan");
  if (batch <= 0 || M <= 0 || N <= 0) return 0;
  if (K < 0 || lda < 1 || ldb < 1 || ldc < N || sa < 0 || sb < 0 || sc < 0 || (ta ? lda < M : lda < K) ||
      (tb ? ldb < K : ldb < N))
    return lundi__err(LUNDI_EINVAL, "gemm: inconsistent arguments (M %lld N %lld K %lld lda %lld ldb %lld ldc %lld)",
                      (long long)M, (long long)N, (long long)K, (long long)lda, (long long)ldb, (long long)ldc);
  int64_t ra = K ? A->offset + reach(batch, sa, M, K, ta, lda) : A->offset;
  int64_t rb = K ? B->offset + reach(batch, sb, K, N, tb, ldb) : B->offset;
  int64_t rc_ = C->offset + reach(batch, sc, M, N, 0, ldc);
  if (ra >= (int64_t)UINT32_MAX || rb >= (int64_t)UINT32_MAX || rc_ >= (int64_t)UINT32_MAX)
    return lundi__err(LUNDI_EUNSUPPORTED, "gemm: operands beyond 2^32 elements are not supported on vulkan");
  if ((uint64_t)(ra + 1) * 4 > A->storage->nbytes || (uint64_t)(rb + 1) * 4 > B->storage->nbytes ||
      (uint64_t)(rc_ + 1) * 4 > C->storage->nbytes)
    return lundi__err(LUNDI_EINVAL, "gemm: an operand runs past its storage");
  vk_dev *d = lundi_vk_dev(C->storage->device);
  /* spec: threads, BM, BN, BK, TM, TN */
  uint32_t spec[6] = {256, 64, 64, 16, 4, 4};
  if (d->local_size < 256) spec[0] = 128, spec[2] = 32;
  uint64_t gx = ((uint64_t)N + spec[2] - 1) / spec[2], gy = ((uint64_t)M + spec[1] - 1) / spec[1];
  gemm_push p = {(uint32_t)M, (uint32_t)N, (uint32_t)K, (uint32_t)ta, (uint32_t)tb, (uint32_t)lda,
                 (uint32_t)ldb, (uint32_t)ldc, (uint32_t)sa, (uint32_t)sb, (uint32_t)sc, (uint32_t)A->offset,
                 (uint32_t)B->offset, (uint32_t)C->offset, 0, (float)c->f[0], (float)c->f[1]};
  vk_buf *bufs[3] = {C->storage->data, A->storage->data, B->storage->data};
  uint64_t zmax = d->props.limits.maxComputeWorkGroupCount[2];
  if (gx > UINT32_MAX || gy > UINT32_MAX) return lundi__err(LUNDI_EUNSUPPORTED, "gemm: too many tiles");
  for (int64_t b0 = 0; b0 < batch; b0 += (int64_t)zmax) {
    uint64_t gz = (uint64_t)(batch - b0) < zmax ? (uint64_t)(batch - b0) : zmax;
    p.batch0 = (uint32_t)b0;
    int rc = lundi_vk_dispatch_groups(d, VK_SH_GEMM, spec, 6, bufs, 3, 1u, &p, sizeof p, (uint32_t)gx,
                                      (uint32_t)gy, (uint32_t)gz);
    if (rc) return rc;
  }
  return 0;
}
