#version 450
// Sum / max / mean over a set of axes (LUNDI_K_REDUCE), f32, any strides. G threads (a power
// of two) share one output: each accumulates a strided share of the reduced elements, then
// a shared-memory tree combines the G partials. With split > 1 (few outputs, long
// reductions) the reduced range of each output is cut into `split` chunks whose partials go
// to a scratch buffer (output index v = out * split + chunk), and a second dispatch reduces
// them. Max propagates NaN like the CPU ("x > acc || isnan(x)").
layout(local_size_x_id = 0) in;

layout(push_constant) uniform Push {
  uint n_out;    // outputs of this dispatch (virtual: outputs * split)
  uint nred;     // reduced elements per output
  uint G;        // threads per output (power of two, <= workgroup size)
  uint op;       // lundi_redop: 0 sum, 1 max, 2 mean
  float scale;   // applied to sums (1 / nred of the whole reduction for mean, else 1)
  uint xoff, ooff;
  uint ndim;
  uint redmask;  // bit d: dim d is reduced
  uint split, chunk; // chunks per output and reduced elements per chunk
  uint scratch;  // 1: output is the contiguous scratch buffer, index v
  uint shape[6];
  uint xst[6];
  uint ost[6];   // 0 along reduced dims
} pc;

layout(std430, binding = 0) buffer Out { float o[]; };
layout(std430, binding = 1) readonly buffer X { float x[]; };

shared float sh[gl_WorkGroupSize.x];

float combine(float a, float b) {
  if (pc.op == 1u) return (b > a || isnan(b)) ? b : a;
  return a + b;
}

void main() {
  uint lid = gl_LocalInvocationID.x;
  uint per = gl_WorkGroupSize.x / pc.G;
  uint group = gl_WorkGroupID.y * gl_NumWorkGroups.x + gl_WorkGroupID.x;
  uint v = group * per + lid / pc.G, lane = lid % pc.G;
  bool live = v < pc.n_out;
  uint out_i = live ? v / pc.split : 0u, part = live ? v % pc.split : 0u;
  // offsets of the kept coordinates (row-major over the kept dims)
  uint xbase = pc.xoff, obase = pc.ooff, k = out_i;
  for (int d = int(pc.ndim) - 1; d >= 0; d--) {
    if ((pc.redmask & (1u << d)) != 0u) continue;
    uint c = k % pc.shape[d];
    k /= pc.shape[d];
    xbase += c * pc.xst[d];
    obase += c * pc.ost[d];
  }
  float acc = pc.op == 1u ? uintBitsToFloat(0xff800000u) : 0.0;
  uint r0 = part * pc.chunk, r1 = min(pc.nred, r0 + pc.chunk);
  if (live)
    for (uint r = r0 + lane; r < r1; r += pc.G) {
      uint off = xbase, q = r;
      for (int d = int(pc.ndim) - 1; d >= 0; d--) {
        if ((pc.redmask & (1u << d)) == 0u) continue;
        off += (q % pc.shape[d]) * pc.xst[d];
        q /= pc.shape[d];
      }
      acc = combine(acc, x[off]);
    }
  sh[lid] = acc;
  for (uint s = pc.G / 2u; s > 0u; s >>= 1) {
    barrier();
    if (lane < s) sh[lid] = combine(sh[lid], sh[lid + s]);
  }
  if (live && lane == 0u) {
    float r = sh[lid];
    if (pc.op != 1u) r *= pc.scale;
    o[pc.scratch != 0u ? v : obase] = r;
  }
}
