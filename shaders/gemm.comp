#version 450
// Batched, transposable SGEMM (LUNDI_K_GEMM): C[b] = alpha op(A[b]) op(B[b]) + beta C[b],
// row-major, as runtime/cpu/gemm.c. A workgroup computes a BM x BN tile of C; the K loop
// stages BK-deep slices of A and B in shared memory (zero-padded at the edges), and each
// thread keeps a TM x TN block of C in registers, rows ty + i * (BM / TM) and columns
// tx + j * (BN / TN). Tile sizes are specialization constants (threads = BM/TM * BN/TN).
// beta == 0 never reads C (BLAS semantics: NaN in C does not leak).
layout(local_size_x_id = 0) in;
layout(constant_id = 1) const uint BM = 64;
layout(constant_id = 2) const uint BN = 64;
layout(constant_id = 3) const uint BK = 16;
layout(constant_id = 4) const uint TM = 4;
layout(constant_id = 5) const uint TN = 4;

layout(push_constant) uniform Push {
  uint M, N, K;
  uint ta, tb;
  uint lda, ldb, ldc;
  uint sa, sb, sc;      // batch strides (elements; 0 = shared across the batch)
  uint aoff, boff, coff;
  uint batch0;          // first batch entry of this dispatch
  float alpha, beta;
} pc;

layout(std430, binding = 0) buffer C { float c[]; };
layout(std430, binding = 1) readonly buffer A { float a[]; };
layout(std430, binding = 2) readonly buffer B { float b[]; };

shared float As[BK * BM];
shared float Bs[BK * BN];

void main() {
  const uint threads = (BM / TM) * (BN / TN);
  uint tid = gl_LocalInvocationID.x;
  uint tx = tid % (BN / TN), ty = tid / (BN / TN);
  uint row0 = gl_WorkGroupID.y * BM, col0 = gl_WorkGroupID.x * BN;
  uint bt = pc.batch0 + gl_WorkGroupID.z;
  uint abase = pc.aoff + bt * pc.sa, bbase = pc.boff + bt * pc.sb, cbase = pc.coff + bt * pc.sc;
  float acc[TM * TN];
  for (uint i = 0u; i < TM * TN; i++) acc[i] = 0.0;
  for (uint k0 = 0u; k0 < pc.K; k0 += BK) {
    for (uint e = tid; e < BM * BK; e += threads) {
      uint m, k; // walk memory order: k fastest for A, m fastest for A^T
      if (pc.ta == 0u) { m = e / BK; k = e % BK; } else { k = e / BM; m = e % BM; }
      uint gm = row0 + m, gk = k0 + k;
      float v = 0.0;
      if (gm < pc.M && gk < pc.K) v = a[abase + (pc.ta == 0u ? gm * pc.lda + gk : gk * pc.lda + gm)];
      As[k * BM + m] = v;
    }
    for (uint e = tid; e < BN * BK; e += threads) {
      uint n, k; // n fastest for B, k fastest for B^T
      if (pc.tb == 0u) { k = e / BN; n = e % BN; } else { n = e / BK; k = e % BK; }
      uint gn = col0 + n, gk = k0 + k;
      float v = 0.0;
      if (gn < pc.N && gk < pc.K) v = b[bbase + (pc.tb == 0u ? gk * pc.ldb + gn : gn * pc.ldb + gk)];
      Bs[k * BN + n] = v;
    }
    barrier();
    for (uint k = 0u; k < BK; k++) {
      float ra[TM], rb[TN];
      for (uint i = 0u; i < TM; i++) ra[i] = As[k * BM + ty + i * (BM / TM)];
      for (uint j = 0u; j < TN; j++) rb[j] = Bs[k * BN + tx + j * (BN / TN)];
      for (uint i = 0u; i < TM; i++)
        for (uint j = 0u; j < TN; j++) acc[i * TN + j] += ra[i] * rb[j];
    }
    barrier();
  }
  for (uint i = 0u; i < TM; i++) {
    uint gm = row0 + ty + i * (BM / TM);
    if (gm >= pc.M) continue;
    for (uint j = 0u; j < TN; j++) {
      uint gn = col0 + tx + j * (BN / TN);
      if (gn >= pc.N) continue;
      uint ci = cbase + gm * pc.ldc + gn;
      float r = pc.alpha * acc[i * TN + j];
      if (pc.beta != 0.0) r += pc.beta * c[ci];
      c[ci] = r;
    }
  }
}
