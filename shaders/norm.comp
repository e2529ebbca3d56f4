#version 450
#extension GL_GOOGLE_include_directive : require
// Layer norm, RMS norm, group norm and group norm + SiLU (runtime/cpu/norm.c), row-wise
// parts. A row is one contiguous span of M elements (a layer-norm row, or the C/G * HW
// elements of group (n, g)); element i of row r uses channel (r % groups) * Cg + i / HW of
// gamma and beta.
// mode 0, forward: shifted sums s1 = sum(x - k), s2 = sum((x - k)^2) with k the row's first
//   element (0 when not centered), mean = k + s1/M, var = max(s2/M - (s1/M)^2, 0),
//   rstd = 1/sqrt(var + eps); writes y and the statistics (binding 2 at smean + r, srstd + r).
// mode 1, backward dx: with d = x - mean, gg = gout (or dz = gout s (1 + z (1 - s)) for
//   SiLU, z = d (rstd gamma) + beta, s = sigmoid(z)), SA = sum gamma gg, SB = sum gamma gg d:
//   dx = rstd gamma gg - rstd^3 d SB / M - (centered ? rstd SA / M : 0).
// Binding 3 packs the small vectors: gamma at pgam, beta at pbet, and for mode 1 the saved
// mean at pm and rstd at pr (one buffer keeps every dispatch within 4 bindings).
#include "rows.glsl"
#include "mathf.glsl"

layout(push_constant) uniform Push {
  uint rows, M, G, mode;
  uint flags; // 1 centered, 2 silu, 4 gamma, 8 beta, 16 gamma folded into rstd first (group norm)
  float eps;
  uint HW, Cg, groups;
  uint ooff, xoff, goff;
  uint pm, pr, pgam, pbet;
  uint smean, srstd;
} pc;

layout(std430, binding = 0) writeonly buffer Out { float o[]; };
layout(std430, binding = 1) readonly buffer X { float x[]; };
layout(std430, binding = 2) buffer Aux { float aux[]; }; // mode 0: statistics out; 1: gout
layout(std430, binding = 3) readonly buffer P { float p[]; };

float gam(uint c) { return (pc.flags & 4u) != 0u ? p[pc.pgam + c] : 1.0; }
float bet(uint c) { return (pc.flags & 8u) != 0u ? p[pc.pbet + c] : 0.0; }

void main() {
  uint G = pc.G, lane = gl_LocalInvocationID.x % G;
  uint r = row_index(G);
  bool live = r < pc.rows;
  uint rr = live ? r : 0u, M = live ? pc.M : 0u;
  uint xb = pc.xoff + rr * pc.M, ob = pc.ooff + rr * pc.M, c0 = (rr % pc.groups) * pc.Cg;
  bool centered = (pc.flags & 1u) != 0u, silu = (pc.flags & 2u) != 0u;
  if (pc.mode == 0u) {
    float k = centered && M > 0u ? x[xb] : 0.0;
    vec2 s = vec2(0.0);
    for (uint i = lane; i < M; i += G) {
      float d = x[xb + i] - k;
      s += vec2(d, d * d);
    }
    s = tree_sum2(s, G);
    float mean = 0.0, rstd = 1.0 / sqrt(pc.eps);
    if (pc.M > 0u) {
      float mu = s.x / float(pc.M);
      float var = s.y / float(pc.M) - (centered ? mu * mu : 0.0);
      if (var < 0.0) var = 0.0;
      mean = centered ? k + mu : 0.0;
      rstd = 1.0 / sqrt(var + pc.eps);
    }
    if (live && lane == 0u) {
      if (centered) aux[pc.smean + r] = mean;
      aux[pc.srstd + r] = rstd;
    }
    for (uint i = lane; i < M; i += G) {
      uint c = c0 + i / pc.HW;
      float d = x[xb + i] - mean, y;
      if ((pc.flags & 16u) != 0u) y = d * (rstd * gam(c)) + bet(c);
      else y = d * rstd * gam(c) + bet(c);
      if (silu) y = y * m_sigmoid(y);
      o[ob + i] = y;
    }
  } else {
    float mean = centered ? p[pc.pm + rr] : 0.0, rstd = p[pc.pr + rr];
    vec2 s = vec2(0.0);
    for (uint i = lane; i < M; i += G) {
      uint c = c0 + i / pc.HW;
      float d = x[xb + i] - mean, g = aux[pc.goff + rr * pc.M + i], ga = gam(c);
      if (silu) {
        float z = d * (rstd * ga) + bet(c), sg = m_sigmoid(z);
        g = g * sg * (1.0 + z * (1.0 - sg));
      }
      float t = ga * g;
      s += vec2(t, t * d);
    }
    s = tree_sum2(s, G);
    float c2 = -rstd * rstd * rstd * s.y / float(pc.M), c3 = centered ? -rstd * s.x / float(pc.M) : 0.0;
    for (uint i = lane; i < M; i += G) {
      uint c = c0 + i / pc.HW;
      float d = x[xb + i] - mean, g = aux[pc.goff + rr * pc.M + i], ga = gam(c);
      if (silu) {
        float z = d * (rstd * ga) + bet(c), sg = m_sigmoid(z);
        g = g * sg * (1.0 + z * (1.0 - sg));
      }
      o[ob + i] = (rstd * ga) * g + c2 * d + c3;
    }
  }
}
