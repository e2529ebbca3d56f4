#version 450
#extension GL_GOOGLE_include_directive : require
// Softmax and log-softmax over the middle dim of a contiguous [O, D, I] layout, forward and
// backward (LUNDI_K_SOFTMAX_FWD/BWD, LOG_SOFTMAX_FWD/BWD), as runtime/cpu/softmax.c: a row
// is (o, j) with D entries I apart. The max ignores NaN; a row of all -inf shifts by 0, so
// softmax gives 0 and log_softmax -inf; a sum that is not > 0 (0 or NaN) gives the CPU's
// 1/sum = 0 and log(sum) = inf.
#include "rows.glsl"
#include "mathf.glsl"

layout(push_constant) uniform Push {
  uint rows; // O * I
  uint D, I, G;
  uint op;   // 0 softmax, 1 log_softmax, 2 softmax backward, 3 log_softmax backward
  uint ooff, aoff, boff; // out, in[0] (x or y), in[1] (gout)
} pc;

layout(std430, binding = 0) writeonly buffer Out { float o[]; };
layout(std430, binding = 1) readonly buffer A { float a[]; };
layout(std430, binding = 2) readonly buffer B { float b[]; };

// The CPU's lundi__exp_nonpos: exp(min(x, 0)), 0 below -87.33654, NaN stays NaN.
float exp_nonpos(float x) {
  if (isnan(x)) return x;
  if (x < -87.33654) return 0.0;
  return x > 0.0 ? 1.0 : m_exp(x);
}

void main() {
  uint G = pc.G, lane = gl_LocalInvocationID.x % G;
  uint r = row_index(G);
  bool live = r < pc.rows;
  uint rr = live ? r : 0u;
  uint base = (rr / pc.I) * pc.D * pc.I + rr % pc.I, D = live ? pc.D : 0u, I = pc.I;
  if (pc.op < 2u) {
    float m = uintBitsToFloat(0xff800000u);
    for (uint d = lane; d < D; d += G) {
      float v = a[pc.aoff + base + d * I];
      if (v > m) m = v;
    }
    m = tree_max(m, G);
    if (isinf(m) && m < 0.0) m = 0.0;
    float s = 0.0;
    for (uint d = lane; d < D; d += G) s += exp_nonpos(a[pc.aoff + base + d * I] - m);
    s = tree_sum2(vec2(s, 0.0), G).x;
    if (pc.op == 0u) {
      float inv = s > 0.0 ? 1.0 / s : 0.0;
      for (uint d = lane; d < D; d += G) o[pc.ooff + base + d * I] = exp_nonpos(a[pc.aoff + base + d * I] - m) * inv;
    } else {
      float ls = s > 0.0 ? m_log(s) : uintBitsToFloat(0x7f800000u);
      for (uint d = lane; d < D; d += G) o[pc.ooff + base + d * I] = (a[pc.aoff + base + d * I] - m) - ls;
    }
  } else {
    float s = 0.0;
    for (uint d = lane; d < D; d += G) {
      float g = b[pc.boff + base + d * I];
      s += pc.op == 3u ? g : g * a[pc.aoff + base + d * I];
    }
    s = tree_sum2(vec2(s, 0.0), G).x;
    for (uint d = lane; d < D; d += G) {
      float y = a[pc.aoff + base + d * I], g = b[pc.boff + base + d * I];
      o[pc.ooff + base + d * I] = pc.op == 3u ? g - exp_nonpos(y) * s : y * (g - s);
    }
  }
}
