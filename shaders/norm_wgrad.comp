#version 450
#extension GL_GOOGLE_include_directive : require
// Gradients of the norms' gamma and beta (runtime/cpu/norm.c): for each channel c of C,
//   dgamma[c] = sum over n < N, h < HW of gg * (x - mean) * rstd,   dbeta[c] = sum of gg,
// with x, gout at (n * C + c) * HW + h, statistics of row n * groups + c / Cg, and gg the
// gout (or dz for group norm + SiLU, as in norm.comp). Layer / RMS norm: HW = 1, groups = 1,
// Cg = C. A workgroup holds `per` channels (adjacent threads on adjacent channels) with
// L = workgroup size / per lanes each, combined by a shared-memory tree in a fixed order.
// Output (binding 0): dgamma at ooff + c, dbeta at ooff + C + c.
#include "mathf.glsl"
layout(local_size_x_id = 0) in;

layout(push_constant) uniform Push {
  uint C, N, HW, per;
  uint flags; // 1 centered, 2 silu, 4 gamma, 8 beta
  uint Cg, groups;
  uint ooff, xoff, goff;
  uint pm, pr, pgam, pbet;
} pc;

layout(std430, binding = 0) writeonly buffer Out { float o[]; };
layout(std430, binding = 1) readonly buffer X { float x[]; };
layout(std430, binding = 2) readonly buffer Gout { float go[]; };
layout(std430, binding = 3) readonly buffer P { float p[]; };

shared vec2 sh[gl_WorkGroupSize.x];

void main() {
  uint lid = gl_LocalInvocationID.x, per = pc.per, L = gl_WorkGroupSize.x / per;
  uint col = lid % per, lane = lid / per;
  uint group = gl_WorkGroupID.y * gl_NumWorkGroups.x + gl_WorkGroupID.x;
  uint c = group * per + col;
  bool live = c < pc.C;
  bool centered = (pc.flags & 1u) != 0u, silu = (pc.flags & 2u) != 0u;
  uint T = live ? pc.N * pc.HW : 0u;
  float ga = live && (pc.flags & 4u) != 0u ? p[pc.pgam + c] : 1.0;
  float be = live && (pc.flags & 8u) != 0u ? p[pc.pbet + c] : 0.0;
  vec2 s = vec2(0.0);
  for (uint t = lane; t < T; t += L) {
    uint n = t / pc.HW, e = (n * pc.C + c) * pc.HW + t % pc.HW, row = n * pc.groups + c / pc.Cg;
    float mean = centered ? p[pc.pm + row] : 0.0, rstd = p[pc.pr + row];
    float d = x[pc.xoff + e] - mean, g = go[pc.goff + e];
    if (silu) {
      float z = d * (rstd * ga) + be, sg = m_sigmoid(z);
      g = g * sg * (1.0 + z * (1.0 - sg));
    }
    s += vec2(g * d * rstd, g);
  }
  sh[lid] = s;
  for (uint st = L / 2u; st > 0u; st >>= 1) {
    barrier();
    if (lane < st) sh[lid] += sh[lid + st * per];
  }
  barrier();
  if (live && lane == 0u) {
    o[pc.ooff + c] = sh[lid].x;
    o[pc.ooff + pc.C + c] = sh[lid].y;
  }
}
