#version 450
#extension GL_GOOGLE_include_directive : require
// out <- in for 32-bit dtypes (bits are moved, never converted), any strides.
#include "elementwise.glsl"

layout(std430, binding = 0) writeonly buffer Out { uint o[]; };
layout(std430, binding = 1) readonly buffer In { uint a[]; };

void main() {
  uint i = thread_index();
  if (i >= pc.n) return;
  uvec3 off = operand_offsets(i);
  o[off.x] = a[off.y];
}
