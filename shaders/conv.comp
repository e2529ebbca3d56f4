#version 450
// Conv2d as implicit GEMMs, with the kcall contract of runtime/cpu/conv.c (NCHW, weights
// [O, C/G, kh, kw], group g in gl_WorkGroupID.z). A workgroup computes a BM x BN tile of
// C = A B as shaders/gemm.comp does (BK-deep slices of A and B in shared memory, TM x TN
// outputs per thread), but no im2col matrix exists: the tile loads compute each element's
// address from the conv geometry and read zero for taps in the padding. MODE:
//   0 forward:      y  = w (Og x Cg*kh*kw) . im2col(x) (.. x N*OH*OW), + bias[o]
//   1 data grad:    gx = w^T (Cg x Og*kh*kw) . gather(gy) (.. x N*H*W), + bias[c]; each gx
//                   pixel gathers the gy pixels its taps reach (a transposed conv, no atomics)
//   2 weight grad:  gw = gy (Og x N*OH*OW) . im2col(x)^T; the bias gradient, gy's row sums,
//                   accumulates in the workgroups of column tile 0 as they stage gy. The
//                   reduction may be split over workgroups (split-K, gl_WorkGroupID.z =
//                   split * G + g) into partial sums, rows of Cg*kh*kw (+1 for the bias)
//   3 the partial sums of mode 2 added in a fixed order (deterministic; no float atomics).
// The reduction index of each row of the current slice (channel and tap, or image and
// pixel) is decoded once into a shared table, by BK threads while the others multiply, so
// the loads divide nothing. All addresses are int: the host keeps every operand < 2^31.
layout(local_size_x_id = 0) in;
layout(constant_id = 1) const uint BM = 64;
layout(constant_id = 2) const uint BN = 64;
layout(constant_id = 3) const uint BK = 16;
layout(constant_id = 4) const uint MODE = 0;
const uint TM = 4u, TN = 4u;
const uint THREADS = (BM / TM) * (BN / TN); // the host sets local size x to this

layout(push_constant) uniform Push {
  int N, C, H, W, O, OH, OW, KH, KW;
  int sh, sw, ph, pw, dh, dw;
  int G;
  int M, NC, K;             // per group: rows, columns, reduction length of the GEMM
  int ooff, aoff, boff, bioff; // element offsets of bindings 0..3
  int has_bias;
  int tile0;                // first column tile of this dispatch
  int kchunk, nsplit;       // mode 2: reduction terms per split, splits; mode 3: splits
  int pstride;              // modes 2, 3: length of a row of partial sums
} pc;

// 0: the output (y, gx, gw or the partials); 1: in[0] (x, gy, x, or the partials in mode 3);
// 2: in[1] (w, w, gy); 3: the bias (modes 0, 1) or the bias gradient (modes 2, 3).
layout(std430, binding = 0) buffer Out { float outv[]; };
layout(std430, binding = 1) readonly buffer In0 { float in0[]; };
layout(std430, binding = 2) readonly buffer In1 { float in1[]; };
layout(std430, binding = 3) buffer Bias { float biasv[]; };

// Rows of the tiles are padded by one word: the loads that walk k fastest then store to
// distinct banks instead of one (stride BM or BN, both multiples of 32).
const uint AS = BM + 1u, BS = BN + 1u;
shared float As[BK * AS];
shared float Bs[BK * BS];
// Row table of the slice (reduction index k0 + kk); R0 < 0 marks a row past the end.
//   mode 0, k = (c, r, s):  R0 = c*H*W, R1 = r*dh, R2 = s*dw
//   mode 1, k = (o, r, s):  R0 = o*OH*OW, R1 = r*dh / sh, R2 = r*dh % sh, R3 = s*dw / sw,
//                           R4 = s*dw % sw, R5 = o*Cg*kh*kw + r*kw + s (weight offset)
//   mode 2, k = (n, pix):   R0 = n*O*OH*OW + pix, R1 = n*C*H*W, R2 = oh*sh - ph, R3 = ow*sw - pw
shared int R0[BK], R1[BK], R2[BK], R3[BK], R4[BK], R5[BK];
// Mode 2's column table, col = (c, r, s): Q0 = (g*Cg + c)*H*W (-1: past the end), Q1 = r*dh,
// Q2 = s*dw.
shared int Q0[BN], Q1[BN], Q2[BN];

void fill_rows(int k0, int kend, uint tid) {
  int k = k0 + int(tid), khw = pc.KH * pc.KW;
  if (k >= kend) {
    R0[tid] = -1;
    return;
  }
  if (MODE == 0u) {
    int c = k / khw, rs = k - c * khw, r = rs / pc.KW, s = rs - r * pc.KW;
    R0[tid] = c * pc.H * pc.W;
    R1[tid] = r * pc.dh;
    R2[tid] = s * pc.dw;
  } else if (MODE == 1u) {
    int o = k / khw, rs = k - o * khw, r = rs / pc.KW, s = rs - r * pc.KW;
    int th = r * pc.dh, tw = s * pc.dw;
    R0[tid] = o * pc.OH * pc.OW;
    R1[tid] = th / pc.sh;
    R2[tid] = th - (th / pc.sh) * pc.sh;
    R3[tid] = tw / pc.sw;
    R4[tid] = tw - (tw / pc.sw) * pc.sw;
    R5[tid] = o * (pc.C / pc.G) * khw + rs;
  } else {
    int ohw = pc.OH * pc.OW, n = k / ohw, pix = k - n * ohw, oh = pix / pc.OW, ow = pix - oh * pc.OW;
    R0[tid] = n * pc.O * ohw + pix;
    R1[tid] = n * pc.C * pc.H * pc.W;
    R2[tid] = oh * pc.sh - pc.ph;
    R3[tid] = ow * pc.sw - pc.pw;
  }
}

void reduce_partials() {
  int kw = (pc.C / pc.G) * pc.KH * pc.KW, total = pc.O * pc.pstride;
  int e = int((gl_WorkGroupID.y * gl_NumWorkGroups.x + gl_WorkGroupID.x) * gl_WorkGroupSize.x +
              gl_LocalInvocationID.x);
  if (e >= total) return;
  float s = 0.0;
  for (int sp = 0; sp < pc.nsplit; sp++) s += in0[pc.aoff + sp * total + e];
  int o = e / pc.pstride, col = e - o * pc.pstride;
  if (col < kw) outv[pc.ooff + o * kw + col] = s;
  else biasv[pc.bioff + o] = s;
}

void main() {
  if (MODE == 3u) {
    reduce_partials();
    return;
  }
  uint tid = gl_LocalInvocationID.x;
  uint tx = tid % (BN / TN), ty = tid / (BN / TN);
  int g = int(gl_WorkGroupID.z), split = 0;
  if (MODE == 2u) {
    split = g / pc.G;
    g -= split * pc.G;
  }
  int row0 = int(gl_WorkGroupID.y * BM), col0 = (pc.tile0 + int(gl_WorkGroupID.x)) * int(BN);
  int Cg = pc.C / pc.G, Og = pc.O / pc.G, hw = pc.H * pc.W, ohw = pc.OH * pc.OW;
  int kbeg = split * pc.kchunk, kend = min(pc.K, kbeg + pc.kchunk);

  // This thread's B column in modes 0 and 1 (fixed: THREADS is a multiple of BN).
  uint bc = tid % BN;
  int cbase = -1, ch = 0, cw = 0, cmh = 0, cmw = 0;
  int p = col0 + int(bc);
  if (MODE == 0u && p < pc.NC) { // p = (n, oh, ow)
    int n = p / ohw, pix = p - n * ohw, oh = pix / pc.OW, ow = pix - oh * pc.OW;
    cbase = (n * pc.C + g * Cg) * hw;
    ch = oh * pc.sh - pc.ph;
    cw = ow * pc.sw - pc.pw;
  } else if (MODE == 1u && p < pc.NC) { // p = (n, ih, iw); tap (r, s) reads gy at
    // oh = (ih + ph - r*dh) / sh when that divides: quotient and remainder split here and in R*
    int n = p / hw, pix = p - n * hw, ih = pix / pc.W, iw = pix - ih * pc.W;
    int th = ih + pc.ph, tw = iw + pc.pw;
    cbase = (n * pc.O + g * Og) * ohw;
    ch = th / pc.sh;
    cmh = th - ch * pc.sh;
    cw = tw / pc.sw;
    cmw = tw - cw * pc.sw;
  } else if (MODE == 2u) {
    int kw = Cg * pc.KH * pc.KW, khw = pc.KH * pc.KW;
    for (uint c = tid; c < BN; c += THREADS) {
      int col = col0 + int(c);
      if (col < kw) {
        int ci = col / khw, rs = col - ci * khw, r = rs / pc.KW, s = rs - r * pc.KW;
        Q0[c] = (g * Cg + ci) * hw;
        Q1[c] = r * pc.dh;
        Q2[c] = s * pc.dw;
      } else {
        Q0[c] = -1;
      }
    }
  }

  float acc[TM * TN];
  for (uint i = 0u; i < TM * TN; i++) acc[i] = 0.0;
  // Mode 2's bias gradient: this thread's share of gy's row sums, one per A element it stages
  // (at most 8: the host keeps BM * BK <= 8 * THREADS), summed in order over the slices.
  bool bias_tile = MODE == 2u && pc.has_bias != 0 && col0 == 0;
  float bsum[8];
  for (uint i = 0u; i < 8u; i++) bsum[i] = 0.0;
  if (tid < BK) fill_rows(kbeg, kend, tid);
  barrier();
  for (int k0 = kbeg; k0 < kend; k0 += int(BK)) {
    // A tile, k fastest (the memory order of w's rows and of gy's pixels)
    for (uint e = tid, i = 0u; e < BM * BK; e += THREADS, i++) {
      uint kk = e % BK, m = e / BK;
      int gm = row0 + int(m);
      float v = 0.0;
      if (gm < pc.M && R0[kk] >= 0) {
        if (MODE == 0u) v = in1[pc.boff + (g * Og + gm) * pc.K + k0 + int(kk)];
        else if (MODE == 1u) v = in1[pc.boff + g * Og * Cg * pc.KH * pc.KW + R5[kk] + gm * pc.KH * pc.KW];
        else v = in1[pc.boff + R0[kk] + (g * Og + gm) * ohw];
      }
      As[kk * AS + m] = v;
      if (bias_tile) bsum[i] += v;
    }
    // B tile: pixels fastest (columns in modes 0, 1; rows in mode 2)
    for (uint e = tid; e < BK * BN; e += THREADS) {
      uint kk, c;
      if (MODE == 2u) { kk = e % BK; c = e / BK; } else { c = bc; kk = e / BN; }
      float v = 0.0;
      int r0 = R0[kk];
      if (MODE == 0u) {
        if (cbase >= 0 && r0 >= 0) {
          int ih = ch + R1[kk], iw = cw + R2[kk];
          if (uint(ih) < uint(pc.H) && uint(iw) < uint(pc.W)) v = in0[pc.aoff + cbase + r0 + ih * pc.W + iw];
        }
      } else if (MODE == 1u) {
        if (cbase >= 0 && r0 >= 0 && cmh == R2[kk] && cmw == R4[kk]) {
          int oh = ch - R1[kk], ow = cw - R3[kk];
          if (uint(oh) < uint(pc.OH) && uint(ow) < uint(pc.OW)) v = in0[pc.aoff + cbase + r0 + oh * pc.OW + ow];
        }
      } else if (r0 >= 0) {
        int q = Q0[c];
        if (q >= 0) {
          int ih = R2[kk] + Q1[c], iw = R3[kk] + Q2[c];
          if (uint(ih) < uint(pc.H) && uint(iw) < uint(pc.W)) v = in0[pc.aoff + R1[kk] + q + ih * pc.W + iw];
        }
      }
      Bs[kk * BS + c] = v;
    }
    barrier();
    // Nobody reads the row table again before the next barrier: decode the next slice now.
    if (tid < BK) fill_rows(k0 + int(BK), kend, tid);
    for (uint k = 0u; k < BK; k++) {
      float ra[TM], rb[TN];
      for (uint i = 0u; i < TM; i++) ra[i] = As[k * AS + ty + i * (BM / TM)];
      for (uint j = 0u; j < TN; j++) rb[j] = Bs[k * BS + tx + j * (BN / TN)];
      for (uint i = 0u; i < TM; i++)
        for (uint j = 0u; j < TN; j++) acc[i * TN + j] += ra[i] * rb[j];
    }
    barrier();
  }

  if (bias_tile) { // the row sums: per thread as staged, then over kk in order (As is free)
    for (uint e = tid, i = 0u; e < BM * BK; e += THREADS, i++) As[(e % BK) * AS + e / BK] = bsum[i];
    barrier();
    int gm = row0 + int(tid);
    if (tid < BM && gm < pc.M) {
      float s = 0.0;
      for (uint kk = 0u; kk < BK; kk++) s += As[kk * AS + tid];
      int o = g * pc.M + gm, kw = Cg * pc.KH * pc.KW;
      if (pc.nsplit > 1) outv[pc.ooff + (split * pc.O + o) * pc.pstride + kw] = s;
      else biasv[pc.bioff + o] = s;
    }
  }

  for (uint i = 0u; i < TM; i++) {
    int gm = row0 + int(ty + i * (BM / TM));
    if (gm >= pc.M) continue;
    int ch_out = g * pc.M + gm; // output channel (modes 0, 2) or input channel (mode 1)
    float b = 0.0;
    if (MODE < 2u && pc.has_bias != 0) b = biasv[pc.bioff + ch_out];
    for (uint j = 0u; j < TN; j++) {
      int col = col0 + int(tx + j * (BN / TN));
      if (col >= pc.NC) continue;
      float r = acc[i * TN + j];
      if (MODE == 0u) {
        int n = col / ohw, pix = col - n * ohw;
        outv[pc.ooff + (n * pc.O + ch_out) * ohw + pix] = pc.has_bias != 0 ? r + b : r;
      } else if (MODE == 1u) {
        int n = col / hw, pix = col - n * hw;
        outv[pc.ooff + (n * pc.C + ch_out) * hw + pix] = pc.has_bias != 0 ? r + b : r;
      } else if (pc.nsplit > 1) {
        outv[pc.ooff + (split * pc.O + ch_out) * pc.pstride + col] = r;
      } else {
        outv[pc.ooff + ch_out * pc.NC + col] = r;
      }
    }
  }
}
