#version 450
#extension GL_GOOGLE_include_directive : require
// Cross-entropy forward / backward and the max-reduction backward, with the contracts of
// runtime/cpu/loss.c and LUNDI_K_MAX_BWD in runtime/cpu/reduce.c:
//   mode 0, cross-entropy rows: G lanes per row find the max (ignoring NaN), then sum
//     exp(x - max) and x with compensated (Neumaier) sums and a fixed-order tree; writes
//     lse (binding 3) and, to the scratch (binding 0), the row's weighted loss at off0 + r
//     and its weight at off0 + R + r. An ignored row (weight 0) contributes exactly 0.
//   mode 1, cross-entropy total: one workgroup sums the scratch the same way; writes
//     loss = sum l / sum w (0 when sum w == 0) to binding 1 and sum w to binding 3.
//   mode 2, cross-entropy backward: one thread per logit; binding 3 packs [wsum, gout,
//     lse[R], mask[R]] at off3.
//   mode 3, max backward: G lanes per output find the first reduced index (in row-major
//     order over the reduced dims) where x equals the max (or both are NaN), then one lane
//     adds gout there. The max (binding 2, read as bits) and gout are contiguous keepdim
//     tensors, so output k's entry is at offset k.
// The CPU computes the cross-entropy sums in double; compensated float sums keep the
// difference to a few ulp of the sum of |terms|.
#include "rows.glsl"
#include "mathf.glsl"

layout(push_constant) uniform Push {
  uint mode, G;
  uint n;    // rows R (cross-entropy) or reduced elements per output (max backward)
  uint C;    // classes (cross-entropy) or ndim | redmask << 8 (max backward)
  uint off0, off1, off2, off3; // element offsets into bindings 0..3
  uint moff; // mode 0: the mask's offset in binding 0
  int ignore_index;
  float ls, lsc, keep; // label smoothing, ls / C and 1 - ls, rounded as the CPU does
  uint flags;          // 1: a mask is present
  uint shape[6], xst[6], ost[6]; // max backward: coalesced dims, x and out strides
} pc;

layout(std430, binding = 0) buffer B0 { float b0[]; };
layout(std430, binding = 1) buffer B1 { float b1[]; };
layout(std430, binding = 2) readonly buffer B2 { int b2[]; }; // targets, or the max as bits
layout(std430, binding = 3) buffer B3 { float b3[]; };

shared uint shu[gl_WorkGroupSize.x];

#define NEG_INF uintBitsToFloat(0xff800000u)

// Neumaier summation: a = (sum, compensation) plus v. Once the sum is infinite (or NaN) the
// compensation would turn it into NaN; it stops there, so the result is the plain sum's.
vec2 nadd(vec2 a, float v) {
  precise float t = a.x + v;
  precise float e = abs(a.x) >= abs(v) ? (a.x - t) + v : (v - t) + a.x;
  precise float c = a.y + (isinf(t) || isnan(t) ? 0.0 : e);
  return vec2(t, c);
}

float nval(vec2 a) {
  return isinf(a.x) || isnan(a.x) ? a.x : a.x + a.y;
}

uint flat_index() {
  uint group = gl_WorkGroupID.y * gl_NumWorkGroups.x + gl_WorkGroupID.x;
  return group * gl_WorkGroupSize.x + gl_LocalInvocationID.x;
}

void ce_rows() {
  uint G = pc.G, lane = gl_LocalInvocationID.x % G, r = row_index(G);
  bool live = r < pc.n;
  uint C = live ? pc.C : 0u, base = pc.off1 + (live ? r : 0u) * pc.C;
  float m = NEG_INF;
  for (uint c = lane; c < C; c += G) {
    float v = b1[base + c];
    if (v > m) m = v;
  }
  m = tree_max(m, G);
  vec2 se = vec2(0.0), sx = vec2(0.0);
  for (uint c = lane; c < C; c += G) {
    float v = b1[base + c];
    se = nadd(se, m_exp(v - m));
    sx = nadd(sx, v);
  }
  vec2 s = tree_sum2(vec2(nval(se), nval(sx)), G);
  if (!live || lane != 0u) return;
  float lse = m + m_log(s.x);
  b3[pc.off3 + r] = lse;
  int t = b2[pc.off2 + r];
  float w = t == pc.ignore_index ? 0.0 : (pc.flags & 1u) != 0u ? b0[pc.moff + r] : 1.0;
  float l = 0.0;
  if (w != 0.0) {
    // a target outside [0, C) (the front-end rejects those) gives NaN, never a stray read
    float xt = t >= 0 && t < int(C) ? b1[base + uint(t)] : uintBitsToFloat(0x7fc00000u);
    l = w * (pc.keep * (lse - xt) + pc.ls * (lse - s.y / float(C)));
  }
  b0[pc.off0 + r] = l;
  b0[pc.off0 + pc.n + r] = w;
}

void ce_total() {
  uint G = pc.G, lane = gl_LocalInvocationID.x % G, R = pc.n;
  vec2 sl = vec2(0.0), sw = vec2(0.0);
  for (uint r = lane; r < R; r += G) {
    sl = nadd(sl, b0[pc.off0 + r]);
    sw = nadd(sw, b0[pc.off0 + R + r]);
  }
  vec2 s = tree_sum2(vec2(nval(sl), nval(sw)), G);
  if (lane != 0u) return;
  b1[pc.off1] = s.y != 0.0 ? s.x / s.y : 0.0;
  b3[pc.off3] = s.y;
}

void ce_backward() {
  uint i = flat_index(), C = pc.C, R = pc.n;
  if (i >= R * C) return;
  uint r = i / C, c = i % C;
  float wsum = b3[pc.off3], gout = b3[pc.off3 + 1u];
  float scale = wsum != 0.0 ? gout / wsum : 0.0;
  int t = b2[pc.off2 + r];
  float w = t == pc.ignore_index ? 0.0 : (pc.flags & 1u) != 0u ? b3[pc.off3 + 2u + R + r] : 1.0;
  float s = scale * w, g = 0.0;
  if (s != 0.0) {
    g = s * (m_exp(b1[pc.off1 + i] - b3[pc.off3 + 2u + r]) - pc.lsc);
    if (int(c) == t) g -= s * pc.keep;
  }
  b0[pc.off0 + i] = g;
}

void max_backward() {
  uint G = pc.G, lid = gl_LocalInvocationID.x, lane = lid % G, k = row_index(G);
  uint ndim = pc.C & 0xffu, redmask = pc.C >> 8;
  uint n_out = 1u;
  for (uint d = 0u; d < ndim; d++)
    if ((redmask & (1u << d)) == 0u) n_out *= pc.shape[d];
  bool live = k < n_out;
  uint xbase = pc.off1, obase = pc.off0, q = live ? k : 0u;
  for (int d = int(ndim) - 1; d >= 0; d--) {
    if ((redmask & (1u << d)) != 0u) continue;
    uint c = q % pc.shape[d];
    q /= pc.shape[d];
    xbase += c * pc.xst[d];
    obase += c * pc.ost[d];
  }
  float mv = live ? intBitsToFloat(b2[pc.off2 + k]) : 0.0;
  uint first = 0xffffffffu;
  for (uint r = lane; live && r < pc.n; r += G) {
    uint off = xbase, rem = r;
    for (int d = int(ndim) - 1; d >= 0; d--) {
      if ((redmask & (1u << d)) == 0u) continue;
      off += (rem % pc.shape[d]) * pc.xst[d];
      rem /= pc.shape[d];
    }
    float v = b1[off];
    if (v == mv || (isnan(v) && isnan(mv))) {
      first = r; // lanes walk r upwards: a lane's first match is its smallest
      break;
    }
  }
  shu[lid] = first;
  for (uint s = G / 2u; s > 0u; s >>= 1) {
    barrier();
    if (lane < s) shu[lid] = min(shu[lid], shu[lid + s]);
  }
  barrier();
  first = shu[lid - lane];
  if (!live || lane != 0u || first == 0xffffffffu) return;
  uint off = obase, rem = first;
  for (int d = int(ndim) - 1; d >= 0; d--) {
    if ((redmask & (1u << d)) == 0u) continue;
    off += (rem % pc.shape[d]) * pc.ost[d];
    rem /= pc.shape[d];
  }
  b0[off] = b0[off] + b3[pc.off3 + k];
}

void main() {
  if (pc.mode == 0u) ce_rows();
  else if (pc.mode == 1u) ce_total();
  else if (pc.mode == 2u) ce_backward();
  else max_backward();
}
