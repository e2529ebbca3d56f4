#version 450
#extension GL_GOOGLE_include_directive : require
// out <- a (op) b in f32, strides pre-broadcast to the output. The expressions are those of
// runtime/cpu/elementwise.c (max/min as comparisons, so NaN handling matches the CPU).
#include "elementwise.glsl"

layout(std430, binding = 0) writeonly buffer Out { float o[]; };
layout(std430, binding = 1) readonly buffer A { float a[]; };
layout(std430, binding = 2) readonly buffer B { float b[]; };

void main() {
  uint i = thread_index();
  if (i >= pc.n) return;
  uvec3 off = operand_offsets(i);
  float x = a[off.y], y = b[off.z], r;
  switch (pc.op) {
  case 0: r = x + y; break;
  case 1: r = x - y; break;
  case 2: r = x * y; break;
  case 3: r = x / y; break;
  case 4: r = x > y ? x : y; break;
  case 5: r = x < y ? x : y; break;
  case 6: r = x == y ? 1.0 : 0.0; break;
  case 7: r = x > y ? 1.0 : 0.0; break;
  default: r = x >= y ? 1.0 : 0.0; break;
  }
  o[off.x] = r;
}
