#version 450
#extension GL_GOOGLE_include_directive : require
// out <- gout * d op / dx at x (LUNDI_K_UNARY_BWD); y = op(x) from operand 3 when given.
#include "ew4.glsl"
#include "mathf.glsl"
#include "unary_ops.glsl"

layout(std430, binding = 0) writeonly buffer Out { float o[]; };
layout(std430, binding = 1) readonly buffer X { float x[]; };
layout(std430, binding = 2) readonly buffer G { float g[]; };
layout(std430, binding = 3) readonly buffer Y { float y[]; };

void main() {
  uint i = thread_index();
  if (i >= pc.n) return;
  uvec4 off = operand_offsets4(i);
  float xv = x[off.y];
  float yv = pc.has_y != 0u ? y[off.w] : unary_f(pc.op, xv, pc.f0, pc.f1);
  o[off.x] = g[off.z] * unary_df(pc.op, xv, yv, pc.f0, pc.f1);
}
