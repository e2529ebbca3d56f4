#version 450
#extension GL_GOOGLE_include_directive : require
// Philox4x32-10 fills (LUNDI_K_RNG_UNIFORM / _NORMAL), the stream of runtime/cpu/rng.c:
// element i uses counter block offset + i/4 (a 64-bit counter in words 0-1, words 2-3 zero),
// lane i%4, key = seed. One thread per block. The uniform is bit-identical to the CPU (only
// exact integer work and correctly rounded, uncontracted f32 mul/add), and so is the normal
// (normal_math.glsl, the CPU's Box-Muller op for op).
#include "normal_math.glsl"
layout(local_size_x_id = 0) in;

layout(push_constant) uniform Push {
  uint n;          // elements
  uint blocks;     // ceil(n / 4) = threads
  uint off;        // element offset of the output
  uint normal;     // 0 uniform, 1 normal
  uint seed_lo, seed_hi, ctr_lo, ctr_hi;
  float a, b;      // uniform: lo, span (computed on the host as the CPU does); normal: mean, std
} pc;

layout(std430, binding = 0) writeonly buffer Out { float o[]; };

uvec4 philox(uvec4 c, uvec2 k) {
  for (int r = 0; r < 10; r++) {
    uint hi0, lo0, hi1, lo1;
    umulExtended(0xD2511F53u, c.x, hi0, lo0);
    umulExtended(0xCD9E8D57u, c.z, hi1, lo1);
    c = uvec4(hi1 ^ c.y ^ k.x, lo1, hi0 ^ c.w ^ k.y, lo0);
    k += uvec2(0x9E3779B9u, 0xBB67AE85u);
  }
  return c;
}

void main() {
  uint blk = (gl_WorkGroupID.y * gl_NumWorkGroups.x + gl_WorkGroupID.x) * gl_WorkGroupSize.x + gl_LocalInvocationID.x;
  if (blk >= pc.blocks) return;
  uint carry;
  uint lo = uaddCarry(pc.ctr_lo, blk, carry);
  uvec4 r = philox(uvec4(lo, pc.ctr_hi + carry, 0u, 0u), uvec2(pc.seed_lo, pc.seed_hi));
  precise vec4 z;
  if (pc.normal == 0u) {
    precise vec4 u = vec4(r >> 8u) * (1.0 / 16777216.0);
    z = pc.a + pc.b * u;
  } else {
    precise vec2 z01 = nm_box_muller(r.x, r.y), z23 = nm_box_muller(r.z, r.w);
    z = pc.a + pc.b * vec4(z01, z23);
  }
  uint base = blk * 4u;
  for (uint k = 0u; k < 4u; k++)
    if (base + k < pc.n) o[pc.off + base + k] = z[k];
}
