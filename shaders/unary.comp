#version 450
#extension GL_GOOGLE_include_directive : require
// out <- op(x; f0, f1), f32, any strides (LUNDI_K_UNARY).
#include "ew4.glsl"
#include "mathf.glsl"
#include "unary_ops.glsl"

layout(std430, binding = 0) writeonly buffer Out { float o[]; };
layout(std430, binding = 1) readonly buffer X { float x[]; };

void main() {
  uint i = thread_index();
  if (i >= pc.n) return;
  uvec4 off = operand_offsets4(i);
  o[off.x] = unary_f(pc.op, x[off.y], pc.f0, pc.f1);
}
