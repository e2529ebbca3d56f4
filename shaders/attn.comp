#version 450
#extension GL_GOOGLE_include_directive : require
// Scaled dot-product attention (LUNDI_K_ATTN_FWD / _BWD, contract in runtime/cpu/attention.c),
// flash-attention style: the [L, S] score matrix never exists. A workgroup of 128 threads
// owns a block of 32 rows (query rows, or key rows for mode 2) and DC columns of one output
// (a chunk of Dv or D; gl_WorkGroupID.z picks the chunk, .y the batch entry), and walks the
// other side in tiles of 32:
//   mode 0, forward: scores S = scale q k^T + mask (causal -> -inf) per key tile, an online
//     softmax (running max m and sum l per row), o = sum exp(S - m) v / l, lse = m + log l.
//   mode 1, backward rows: P = exp(S - lse), dP = g v^T; sweep 1 sums delta = rowsum(P dP)
//     (written for mode 2), sweep 2 forms dS = P (dP - delta) (written as dscores when asked)
//     and accumulates dq = scale dS k.
//   mode 2, backward keys: per query tile, P^T and dS^T for this key block; z < nz0
//     accumulates dv = P^T g, the other chunks dk = scale dS^T q.
// Every sum runs in a fixed order (no atomics), so results are deterministic. Products of a
// zero probability with a NaN value still give NaN, as the CPU's GEMMs do; a row whose scores
// are all -inf gets probabilities 0 (output 0, lse -inf), as on the CPU.
// Binding 0 holds q, k, v (and for the backward gout, lse and delta) at element offsets;
// binding 1 the mask, a strided view whose batch offset is mixed-radix over mshape / mst.
#include "mathf.glsl"

layout(local_size_x_id = 0) in;             // the host always passes 128
layout(constant_id = 1) const uint DC = 64; // output columns per workgroup: 32, 64 or 128

const uint T = 128u;  // threads
const uint BR = 32u;  // rows of a block and of a tile
const uint DK = 16u;  // depth of one staged slice of a dot-product tile
const uint WS = 33u;  // row stride of W (padded against bank conflicts)
const uint KS = 1024u / DC; // tile rows per staged slice of the accumulate step
const uint NJ = DC / 16u;   // accumulator columns per thread

layout(push_constant) uniform Push {
  uint mode, b0, L, S, D, Dv, causal;
  float scale;
  uint qoff, koff, voff, goff, lseoff, deloff; // in binding 0
  uint o0off, o1off;                           // bindings 2 and 3
  uint flags; // 1 mask, 2 binding 2 is an output, 4 binding 3 is an output
  uint nz0;   // chunks of the first output (mode 2: of dv; the rest are dk's)
  uint moff, msl, mss, mnb;
  uint mshape[4], mst[4];
} pc;

layout(std430, binding = 0) buffer X { float x[]; };
layout(std430, binding = 1) readonly buffer M { float mk[]; };
layout(std430, binding = 2) writeonly buffer O0 { float o0[]; };
layout(std430, binding = 3) writeonly buffer O1 { float o1[]; };

shared float stage[1024]; // a dot-product slice (two 16 x 32) or an accumulate slice (KS x DC)
shared float W[BR * WS];  // the 32 x 32 weights of the accumulate step (P or dS)
shared float red[T], red2[T];
shared float rm[BR], rl[BR], ra[BR]; // per row: running max, running sum, rescale / delta

// This thread's accumulators: rows ay + 8 i, columns ax + 16 j (see acc_tile).
float acc[4u * NJ];

#define NEG_INF uintBitsToFloat(0xff800000u)

// The CPU's lundi__exp_nonpos: exp(min(x, 0)), 0 below -87.33654, NaN stays NaN.
float exp_nonpos(float v) {
  if (isnan(v)) return v;
  if (v < -87.33654) return 0.0;
  return v > 0.0 ? 1.0 : m_exp(v);
}

// t[i * 4 + j] = sum_d A[sy + 16 i][d] B[sx + 8 j][d] over d < n, for the row-major blocks of
// na and nb rows (stride n) at abase and bbase in binding 0; rows past na / nb give 0.
// Thread layout: sx = tid % 8, sy = tid / 8.
void dot_tile(uint abase, uint na, uint bbase, uint nb, uint n, inout float t[8]) {
  uint tid = gl_LocalInvocationID.x, sx = tid % 8u, sy = tid / 8u;
  for (uint k = 0u; k < 8u; k++) t[k] = 0.0;
  for (uint d0 = 0u; d0 < n; d0 += DK) {
    for (uint e = tid; e < BR * DK; e += T) {
      uint r = e / DK, d = e % DK;
      bool in_d = d0 + d < n;
      stage[d * BR + r] = r < na && in_d ? x[abase + r * n + d0 + d] : 0.0;
      stage[512u + d * BR + r] = r < nb && in_d ? x[bbase + r * n + d0 + d] : 0.0;
    }
    barrier();
    for (uint d = 0u; d < DK; d++) {
      float a0 = stage[d * BR + sy], a1 = stage[d * BR + sy + 16u];
      for (uint j = 0u; j < 4u; j++) {
        float bv = stage[512u + d * BR + sx + 8u * j];
        t[j] += a0 * bv;
        t[4u + j] += a1 * bv;
      }
    }
    barrier();
  }
}

// acc[i * NJ + j] += sum_k W[ay + 8 i][k] Y[k][c0 + ax + 16 j] over the nk rows of Y (stride
// ldy, ncols columns) at ybase in binding 0. Thread layout: ax = tid % 16, ay = tid / 16.
void acc_tile(uint ybase, uint nk, uint ldy, uint c0, uint ncols) {
  uint tid = gl_LocalInvocationID.x, ax = tid % 16u, ay = tid / 16u;
  for (uint k0 = 0u; k0 < BR; k0 += KS) {
    for (uint e = tid; e < KS * DC; e += T) {
      uint kk = e / DC, cc = e % DC;
      stage[e] = k0 + kk < nk && c0 + cc < ncols ? x[ybase + (k0 + kk) * ldy + c0 + cc] : 0.0;
    }
    barrier();
    for (uint kk = 0u; kk < KS; kk++) {
      float w[4];
      for (uint i = 0u; i < 4u; i++) w[i] = W[(ay + 8u * i) * WS + k0 + kk];
      for (uint j = 0u; j < NJ; j++) {
        float yv = stage[kk * DC + ax + 16u * j];
        for (uint i = 0u; i < 4u; i++) acc[i * NJ + j] += w[i] * yv;
      }
    }
    barrier();
  }
}

// The CPU's score: scale (q . k) + mask, -inf where causal blocks s > l + (S - L).
float score(float dot, uint l, uint s, uint mbase) {
  if (pc.causal != 0u && s + pc.L > l + pc.S) return NEG_INF;
  float v = pc.scale * dot;
  if ((pc.flags & 1u) != 0u) v += mk[mbase + l * pc.msl + s * pc.mss];
  return v;
}

// Probability from a recomputed score and the row's lse (0 for a fully masked row).
float prob(float s, float lse) {
  return lse == NEG_INF ? 0.0 : exp_nonpos(s - lse);
}

void main() {
  uint tid = gl_LocalInvocationID.x;
  uint sx = tid % 8u, sy = tid / 8u, ax = tid % 16u, ay = tid / 16u;
  uint b = pc.b0 + gl_WorkGroupID.y, z = gl_WorkGroupID.z;
  uint L = pc.L, S = pc.S, D = pc.D, Dv = pc.Dv;
  uint mbase = pc.moff, rem = b;
  for (int d = int(pc.mnb) - 1; d >= 0; d--) {
    mbase += (rem % pc.mshape[d]) * pc.mst[d];
    rem /= pc.mshape[d];
  }
  for (uint k = 0u; k < 4u * NJ; k++) acc[k] = 0.0;
  float t[8], u[8];

  if (pc.mode == 0u) {
    uint l0 = gl_WorkGroupID.x * BR, nr = min(BR, L - l0), c0 = z * DC;
    uint qbase = pc.qoff + (b * L + l0) * D;
    if (tid < BR) {
      rm[tid] = NEG_INF;
      rl[tid] = 0.0;
    }
    uint r = tid / 4u, lane = tid % 4u; // softmax layout: 4 threads per row
    for (uint s0 = 0u; s0 < S; s0 += BR) {
      uint ns = min(BR, S - s0);
      dot_tile(qbase, nr, pc.koff + (b * S + s0) * D, ns, D, t);
      for (uint i = 0u; i < 2u; i++)
        for (uint j = 0u; j < 4u; j++) {
          uint rr = sy + 16u * i, cc = sx + 8u * j;
          bool ok = rr < nr && cc < ns;
          W[rr * WS + cc] = ok ? score(t[i * 4u + j], l0 + rr, s0 + cc, mbase) : NEG_INF;
        }
      barrier();
      // Online softmax over this tile: the max ignores NaN (as the CPU's); a row still at
      // -inf takes probabilities 0; alpha rescales what earlier tiles accumulated.
      float mt = NEG_INF;
      for (uint j = 0u; j < 8u; j++) {
        float v = W[r * WS + lane + 4u * j];
        if (v > mt) mt = v;
      }
      red[tid] = mt;
      barrier();
      for (uint q = 0u; q < 4u; q++) {
        float v = red[r * 4u + q];
        if (v > mt) mt = v;
      }
      float mo = rm[r], mn = mt > mo ? mt : mo, alpha = 1.0, ps = 0.0;
      if (mn == NEG_INF) {
        for (uint j = 0u; j < 8u; j++) W[r * WS + lane + 4u * j] = 0.0;
      } else {
        alpha = exp_nonpos(mo - mn);
        for (uint j = 0u; j < 8u; j++) {
          float p = exp_nonpos(W[r * WS + lane + 4u * j] - mn);
          W[r * WS + lane + 4u * j] = p;
          ps += p;
        }
      }
      red2[tid] = ps;
      barrier();
      if (lane == 0u) {
        float sum = ((red2[r * 4u] + red2[r * 4u + 1u]) + red2[r * 4u + 2u]) + red2[r * 4u + 3u];
        rl[r] = rl[r] * alpha + sum;
        rm[r] = mn;
        ra[r] = alpha;
      }
      barrier();
      for (uint i = 0u; i < 4u; i++) {
        float a = ra[ay + 8u * i];
        for (uint j = 0u; j < NJ; j++) acc[i * NJ + j] *= a;
      }
      acc_tile(pc.voff + (b * S + s0) * Dv, ns, Dv, c0, Dv);
    }
    barrier(); // rm / rl final for every row (the loop is empty when S == 0)
    for (uint i = 0u; i < 4u; i++) {
      uint rr = ay + 8u * i;
      if (rr >= nr) continue;
      // fully masked: 0 * sum(0 v) keeps the CPU's 0 (or its NaN from a NaN value)
      float inv = rm[rr] == NEG_INF ? 0.0 : 1.0 / rl[rr];
      for (uint j = 0u; j < NJ; j++) {
        uint col = c0 + ax + 16u * j;
        if (col < Dv) o0[pc.o0off + (b * L + l0 + rr) * Dv + col] = acc[i * NJ + j] * inv;
      }
    }
    if (z == 0u && tid < nr)
      o1[pc.o1off + b * L + l0 + tid] = rm[tid] == NEG_INF ? NEG_INF : rm[tid] + m_log(rl[tid]);
    return;
  }

  if (pc.mode == 1u) {
    uint l0 = gl_WorkGroupID.x * BR, nr = min(BR, L - l0), c0 = z * DC;
    uint qbase = pc.qoff + (b * L + l0) * D, gbase = pc.goff + (b * L + l0) * Dv;
    float lse[2], dsum[2] = float[2](0.0, 0.0);
    for (uint i = 0u; i < 2u; i++) {
      uint rr = sy + 16u * i;
      lse[i] = rr < nr ? x[pc.lseoff + b * L + l0 + rr] : NEG_INF;
    }
    // sweep 1: delta per row; each thread sums its own columns, then 8 threads per row
    for (uint s0 = 0u; s0 < S; s0 += BR) {
      uint ns = min(BR, S - s0);
      dot_tile(qbase, nr, pc.koff + (b * S + s0) * D, ns, D, t);
      dot_tile(gbase, nr, pc.voff + (b * S + s0) * Dv, ns, Dv, u);
      for (uint i = 0u; i < 2u; i++)
        for (uint j = 0u; j < 4u; j++) {
          uint rr = sy + 16u * i, cc = sx + 8u * j;
          if (rr >= nr || cc >= ns) continue;
          float p = prob(score(t[i * 4u + j], l0 + rr, s0 + cc, mbase), lse[i]);
          dsum[i] += p * u[i * 4u + j];
        }
    }
    red[tid] = dsum[0];
    red2[tid] = dsum[1];
    barrier();
    if (tid < BR) {
      uint base = (tid % 16u) * 8u;
      float dl = 0.0;
      for (uint q = 0u; q < 8u; q++) dl += tid < 16u ? red[base + q] : red2[base + q];
      ra[tid] = dl;
      if (z == 0u && tid < nr) x[pc.deloff + b * L + l0 + tid] = dl;
    }
    barrier();
    bool want_dq = (pc.flags & 2u) != 0u, want_ds = z == 0u && (pc.flags & 4u) != 0u;
    if (!want_dq && !want_ds) return;
    float dl[2] = float[2](ra[sy], ra[sy + 16u]);
    // sweep 2: dS per tile (-> dscores), dq += dS k
    for (uint s0 = 0u; s0 < S; s0 += BR) {
      uint ns = min(BR, S - s0);
      dot_tile(qbase, nr, pc.koff + (b * S + s0) * D, ns, D, t);
      dot_tile(gbase, nr, pc.voff + (b * S + s0) * Dv, ns, Dv, u);
      for (uint i = 0u; i < 2u; i++)
        for (uint j = 0u; j < 4u; j++) {
          uint rr = sy + 16u * i, cc = sx + 8u * j;
          float ds = 0.0;
          if (rr < nr && cc < ns) {
            float p = prob(score(t[i * 4u + j], l0 + rr, s0 + cc, mbase), lse[i]);
            ds = p * (u[i * 4u + j] - dl[i]);
            if (want_ds) o1[pc.o1off + (b * L + l0 + rr) * S + s0 + cc] = ds;
          }
          W[rr * WS + cc] = ds;
        }
      barrier();
      if (want_dq) acc_tile(pc.koff + (b * S + s0) * D, ns, D, c0, D);
    }
    if (!want_dq) return;
    for (uint i = 0u; i < 4u; i++) {
      uint rr = ay + 8u * i;
      if (rr >= nr) continue;
      for (uint j = 0u; j < NJ; j++) {
        uint col = c0 + ax + 16u * j;
        if (col < D) o0[pc.o0off + (b * L + l0 + rr) * D + col] = pc.scale * acc[i * NJ + j];
      }
    }
    return;
  }

  // mode 2: rows of the block are keys, tile columns are queries
  uint k0 = gl_WorkGroupID.x * BR, nk = min(BR, S - k0);
  bool is_dv = z < pc.nz0;
  uint c0 = (is_dv ? z : z - pc.nz0) * DC;
  uint kbase = pc.koff + (b * S + k0) * D, vbase = pc.voff + (b * S + k0) * Dv;
  for (uint l0 = 0u; l0 < L; l0 += BR) {
    uint nq = min(BR, L - l0);
    dot_tile(kbase, nk, pc.qoff + (b * L + l0) * D, nq, D, t);
    if (!is_dv) dot_tile(vbase, nk, pc.goff + (b * L + l0) * Dv, nq, Dv, u);
    for (uint i = 0u; i < 2u; i++)
      for (uint j = 0u; j < 4u; j++) {
        uint kk = sy + 16u * i, qq = sx + 8u * j;
        float w = 0.0;
        if (kk < nk && qq < nq) {
          uint row = b * L + l0 + qq;
          w = prob(score(t[i * 4u + j], l0 + qq, k0 + kk, mbase), x[pc.lseoff + row]);
          if (!is_dv) w *= u[i * 4u + j] - x[pc.deloff + row];
        }
        W[kk * WS + qq] = w;
      }
    barrier();
    if (is_dv) acc_tile(pc.goff + (b * L + l0) * Dv, nq, Dv, c0, Dv);
    else acc_tile(pc.qoff + (b * L + l0) * D, nq, D, c0, D);
  }
  uint n = is_dv ? Dv : D, obase = (is_dv ? pc.o1off : pc.o0off) + (b * S + k0) * n;
  float f = is_dv ? 1.0 : pc.scale;
  for (uint i = 0u; i < 4u; i++) {
    uint kk = ay + 8u * i;
    if (kk >= nk) continue;
    for (uint j = 0u; j < NJ; j++) {
      uint col = c0 + ax + 16u * j;
      if (col >= n) continue;
      if (is_dv) o1[obase + kk * n + col] = acc[i * NJ + j];
      else o0[obase + kk * n + col] = f * acc[i * NJ + j];
    }
  }
}
