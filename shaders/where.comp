#version 450
#extension GL_GOOGLE_include_directive : require
// out <- cond != 0 ? a : b, f32, strides pre-broadcast (LUNDI_K_WHERE). A NaN condition is
// "not 0", as on the CPU.
#include "ew4.glsl"

layout(std430, binding = 0) writeonly buffer Out { float o[]; };
layout(std430, binding = 1) readonly buffer C { float c[]; };
layout(std430, binding = 2) readonly buffer A { float a[]; };
layout(std430, binding = 3) readonly buffer B { float b[]; };

void main() {
  uint i = thread_index();
  if (i >= pc.n) return;
  uvec4 off = operand_offsets4(i);
  o[off.x] = !(c[off.y] == 0.0) ? a[off.z] : b[off.w];
}
