#version 450
#extension GL_GOOGLE_include_directive : require
// out <- a 32-bit pattern (f32 or i32), any strides.
#include "elementwise.glsl"

layout(std430, binding = 0) writeonly buffer Out { uint o[]; };

void main() {
  uint i = thread_index();
  if (i >= pc.n) return;
  o[operand_offsets(i).x] = pc.bits;
}
