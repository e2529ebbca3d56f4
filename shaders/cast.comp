#version 450
#extension GL_GOOGLE_include_directive : require
// out (dtype) <- in (dtype), both contiguous (LUNDI_K_CAST), through f32 as the CPU does.
// Storage is read and written as 32-bit words (no 8/16-bit storage features needed): one
// thread per output word; a word the view only partly covers keeps its other lanes.
// Conversions are integer bit operations matching runtime/tensor/dtype.c exactly.
layout(local_size_x_id = 0) in;

layout(push_constant) uniform Push {
  uint n;       // elements
  uint words;   // output words touched = threads
  uint in_dt, out_dt; // lundi_dtype
  uint in_off, out_off; // element offsets
} pc;

layout(std430, binding = 0) buffer Out { uint o[]; };
layout(std430, binding = 1) readonly buffer In { uint a[]; };

// lundi_dtype: F32 = 0, F16 = 1, BF16 = 2, I32 = 3, U8 = 4
uint esize(uint dt) { return dt == 1u || dt == 2u ? 2u : dt == 4u ? 1u : 4u; }

float f16_to_f32(uint h) {
  uint sign = (h & 0x8000u) << 16, e = (h >> 10) & 0x1fu, m = h & 0x3ffu;
  if (e == 0u) {
    float v = float(m) * (1.0 / 16777216.0); // m * 2^-24, exact
    return sign != 0u ? -v : v;
  }
  if (e == 31u) return uintBitsToFloat(sign | 0x7f800000u | (m << 13));
  return uintBitsToFloat(sign | ((e + 112u) << 23) | (m << 13));
}

uint f32_to_f16(float f) {
  uint u = floatBitsToUint(f);
  uint sign = (u >> 16) & 0x8000u, a = u & 0x7fffffffu;
  if (a > 0x7f800000u) return sign | 0x7e00u;
  if (a >= 0x477ff000u) return sign | 0x7c00u;
  if (a < 0x38800000u) {
    if (a < 0x33000000u) return sign;
    uint e = a >> 23, m = (a & 0x7fffffu) | 0x800000u;
    uint shift = 126u - e;
    uint r = m >> shift, rem = m & ((1u << shift) - 1u), half_ = 1u << (shift - 1u);
    if (rem > half_ || (rem == half_ && (r & 1u) != 0u)) r++;
    return sign | r;
  }
  uint r = a - 0x38000000u;
  r += 0xfffu + ((r >> 13) & 1u);
  return sign | (r >> 13);
}

uint f32_to_bf16(float f) {
  uint u = floatBitsToUint(f);
  if ((u & 0x7fffffffu) > 0x7f800000u) return (u >> 16) | 0x40u;
  u += 0x7fffu + ((u >> 16) & 1u);
  return u >> 16;
}

float load(uint j) { // element j of the input (absolute index)
  uint es = esize(pc.in_dt);
  uint w = a[j * es / 4u];
  if (es == 2u) w = (w >> (16u * (j & 1u))) & 0xffffu;
  else if (es == 1u) w = (w >> (8u * (j & 3u))) & 0xffu;
  switch (pc.in_dt) {
  case 0u: return uintBitsToFloat(w);
  case 1u: return f16_to_f32(w);
  case 2u: return uintBitsToFloat(w << 16);
  case 3u: return float(int(w));
  default: return float(w);
  }
}

uint store_bits(float v) {
  switch (pc.out_dt) {
  case 0u: return floatBitsToUint(v);
  case 1u: return f32_to_f16(v);
  case 2u: return f32_to_bf16(v);
  case 3u: return isnan(v) ? 0u : uint(int(roundEven(v))); // lrintf; |v| >= 2^31 is undefined in C too
  default: return isnan(v) || v < 0.0 ? 0u : v > 255.0 ? 255u : uint(roundEven(v));
  }
}

void main() {
  uint t = (gl_WorkGroupID.y * gl_NumWorkGroups.x + gl_WorkGroupID.x) * gl_WorkGroupSize.x + gl_LocalInvocationID.x;
  if (t >= pc.words) return;
  uint es = esize(pc.out_dt), lanes = 4u / es, bits = 8u * es;
  uint word = pc.out_off / lanes + t;
  uint first = word * lanes; // absolute element index of lane 0
  uint mask = es == 4u ? 0xffffffffu : (1u << bits) - 1u;
  bool whole = first >= pc.out_off && first + lanes <= pc.out_off + pc.n;
  uint v = whole ? 0u : o[word];
  for (uint l = 0u; l < lanes; l++) {
    uint e = first + l;
    if (e < pc.out_off || e >= pc.out_off + pc.n) continue;
    uint b = store_bits(load(pc.in_off + (e - pc.out_off))) & mask;
    v = (v & ~(mask << (bits * l))) | (b << (bits * l));
  }
  o[word] = v;
}
