#version 450
// Fused optimiser updates, the formulas of runtime/cpu/optim.c on contiguous f32 operands.
// op 0, AdamW (LUNDI_K_ADAMW): bindings g, p, m, v. op 1, EMA (LUNDI_K_EMA): bindings p,
// shadow. Mul/add are kept uncontracted (precise), so m, v and the EMA match the CPU bit
// for bit; AdamW's p differs only by sqrt and division rounding.
layout(local_size_x_id = 0) in;

layout(push_constant) uniform Push {
  uint n, op;
  uint off[4];   // element offsets of the bindings
  float b1, b2, eps, decay, step_size, sqrt_bc2; // AdamW; EMA uses b1 = d, b2 = 1 - d
} pc;

layout(std430, binding = 0) buffer B0 { float s0[]; };
layout(std430, binding = 1) buffer B1 { float s1[]; };
layout(std430, binding = 2) buffer B2 { float s2[]; };
layout(std430, binding = 3) buffer B3 { float s3[]; };

void main() {
  uint k = (gl_WorkGroupID.y * gl_NumWorkGroups.x + gl_WorkGroupID.x) * gl_WorkGroupSize.x + gl_LocalInvocationID.x;
  if (k >= pc.n) return;
  if (pc.op == 0u) {
    float g = s0[pc.off[0] + k];
    precise float m = pc.b1 * s2[pc.off[2] + k] + (1.0 - pc.b1) * g;
    precise float v = pc.b2 * s3[pc.off[3] + k] + (1.0 - pc.b2) * g * g;
    s2[pc.off[2] + k] = m;
    s3[pc.off[3] + k] = v;
    uint pi = pc.off[1] + k;
    precise float p = s1[pi] * pc.decay - pc.step_size * m / (sqrt(v) / pc.sqrt_bc2 + pc.eps);
    s1[pi] = p;
  } else {
    float p = s0[pc.off[0] + k];
    uint si = pc.off[1] + k;
    float s = s1[si];
    precise float r;
    if (pc.b2 < 0.5) r = s + pc.b2 * (p - s);
    else r = p - (p - s) * pc.b1;
    s1[si] = r;
  }
}
