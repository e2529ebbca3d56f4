#version 450
#extension GL_GOOGLE_include_directive : require
// Gathers and window sums, each output element computed by one thread with the CPU's exact
// order of operations (runtime/cpu/index.c, rope.c), so results are bit-identical:
//   0 embedding forward   out[n, d] = w[ids[n], d]                        (threads N * D)
//   1 embedding backward  out[v, d] = sum over n in order with ids[n] == v of g[n, d]
//                         (one thread per (v, d) scanning every id: deterministic, no atomics)
//   2 upsample forward    out[n, c, h, w] = x[n, c, h / s, w / s]
//   3 upsample backward   gx[n, c, h, w] = sum of the s x s block ((a + b) + (c + d) for s = 2
//                         with unit w stride, else row-major order, as the CPU)
//   4 avgpool forward     out = (window sum in row-major order) * inv
//   5 avgpool backward    gx[h, w] = sum over windows covering it, in (oh, ow) order, of g * inv
//   6 rope                y from x with the host's cos / sin table (binding 2) [L, h] twice
// Binding 1 is the f32 input (weight, gout, x), 4-D strided for modes 2-5; binding 2 the ids
// (i32) or the rope table (f32 bits). The output (binding 0) is contiguous.
layout(local_size_x_id = 0) in;

layout(push_constant) uniform Push {
  uint mode, n;
  uint N, C, H, W;     // modes 2-5: the output's dims; 0-1: N, D, V in N, C, H
  uint H2, W2;         // modes 2-5: the input's spatial dims; 6: L, h
  uint kh, kw, sh, sw; // mode 2-3: s in kh
  float inv;
  uint ooff, xoff, toff;
  uint st[4];          // input strides (modes 2-5)
} pc;

layout(std430, binding = 0) writeonly buffer Out { float o[]; };
layout(std430, binding = 1) readonly buffer X { float x[]; };
layout(std430, binding = 2) readonly buffer T { uint t[]; };

void main() {
  uint i = (gl_WorkGroupID.y * gl_NumWorkGroups.x + gl_WorkGroupID.x) * gl_WorkGroupSize.x + gl_LocalInvocationID.x;
  if (i >= pc.n) return;
  if (pc.mode == 0u) {
    uint D = pc.C, nn = i / D, d = i % D;
    o[pc.ooff + i] = x[pc.xoff + uint(int(t[pc.toff + nn])) * D + d];
    return;
  }
  if (pc.mode == 1u) {
    uint D = pc.C, v = i / D, d = i % D;
    precise float acc = 0.0;
    for (uint nn = 0u; nn < pc.N; nn++)
      if (t[pc.toff + nn] == v) acc += x[pc.xoff + nn * D + d];
    o[pc.ooff + i] = acc;
    return;
  }
  if (pc.mode == 6u) {
    uint h = pc.W2, L = pc.H2, k = i % h, rl = i / h, l = rl % L;
    uint a0 = rl * 2u * h + k;
    float a = x[pc.xoff + a0], b = x[pc.xoff + a0 + h];
    float cs = uintBitsToFloat(t[pc.toff + l * h + k]), sn = uintBitsToFloat(t[pc.toff + L * h + l * h + k]);
    precise float ac = a * cs, bs = b * sn, bc = b * cs, as_ = a * sn;
    precise float ya = ac - bs, yb = bc + as_;
    o[pc.ooff + a0] = ya;
    o[pc.ooff + a0 + h] = yb;
    return;
  }
  uint w = i % pc.W, r = i / pc.W, h = r % pc.H, nc = r / pc.H, c = nc % pc.C, nn = nc / pc.C;
  uint base = pc.xoff + nn * pc.st[0] + c * pc.st[1];
  float res;
  if (pc.mode == 2u) {
    res = x[base + (h / pc.kh) * pc.st[2] + (w / pc.kh) * pc.st[3]];
  } else if (pc.mode == 3u) {
    uint s = pc.kh, src = base + h * s * pc.st[2];
    if (s == 2u && pc.st[3] == 1u) {
      uint s1 = src + pc.st[2];
      precise float p = x[src + 2u * w] + x[src + 2u * w + 1u], q = x[s1 + 2u * w] + x[s1 + 2u * w + 1u];
      precise float v = p + q;
      res = v;
    } else {
      precise float acc = 0.0;
      for (uint a = 0u; a < s; a++)
        for (uint b = 0u; b < s; b++) acc += x[src + a * pc.st[2] + (w * s + b) * pc.st[3]];
      res = acc;
    }
  } else if (pc.mode == 4u) {
    uint src = base + h * pc.sh * pc.st[2];
    precise float acc = 0.0;
    for (uint a = 0u; a < pc.kh; a++)
      for (uint b = 0u; b < pc.kw; b++) acc += x[src + a * pc.st[2] + (w * pc.sw + b) * pc.st[3]];
    precise float v = acc * pc.inv;
    res = v;
  } else {
    // output positions oh with oh * sh <= h < oh * sh + kh, oh < Ho (= H2), likewise ow
    uint oh0 = h + 1u > pc.kh ? (h + 1u - pc.kh + pc.sh - 1u) / pc.sh : 0u, oh1 = min(h / pc.sh + 1u, pc.H2);
    uint ow0 = w + 1u > pc.kw ? (w + 1u - pc.kw + pc.sw - 1u) / pc.sw : 0u, ow1 = min(w / pc.sw + 1u, pc.W2);
    precise float acc = 0.0;
    for (uint oh = oh0; oh < oh1; oh++)
      for (uint ow = ow0; ow < ow1; ow++) {
        precise float v = x[base + oh * pc.st[2] + ow * pc.st[3]] * pc.inv;
        acc += v;
      }
    res = acc;
  }
  o[pc.ooff + i] = res;
}
