// Shared by the elementwise shaders: the workgroup size (specialization constant 0), the
// push constants (runtime/vulkan/kernels.c fills the same layout, exactly 128 bytes) and the
// strided index walk. Operand 0 is the output; dims arrive coalesced, at most 6.
layout(local_size_x_id = 0) in;

layout(push_constant) uniform Push {
  uint n;        // threads = output elements
  uint ndim;
  uint op;       // binary: lundi_binop
  uint bits;     // fill: the 32-bit pattern to store
  uint off[4];   // element offset of each operand
  uint shape[6];
  uint st[3][6]; // element strides of each operand, 0 along broadcast dims
} pc;

// The 2-D grid folds back to one index (x is capped at 65535 groups).
uint thread_index() {
  return (gl_WorkGroupID.y * gl_NumWorkGroups.x + gl_WorkGroupID.x) * gl_WorkGroupSize.x +
         gl_LocalInvocationID.x;
}

// Element offsets of operands 0, 1, 2 for row-major logical index i.
uvec3 operand_offsets(uint i) {
  uvec3 o = uvec3(pc.off[0], pc.off[1], pc.off[2]);
  for (int d = int(pc.ndim) - 1; d >= 0; d--) {
    uint s = pc.shape[d];
    uint k = i % s;
    i /= s;
    o += k * uvec3(pc.st[0][d], pc.st[1][d], pc.st[2][d]);
  }
  return o;
}
