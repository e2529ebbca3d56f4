// Shared by the elementwise shaders with up to 4 operands and two float parameters (unary,
// unary_bwd, where): workgroup size (specialization constant 0), the 128-byte push block
// (vk_push4 in runtime/vulkan/kernels_ew.c) and the strided index walk. Operand 0 is the
// output. Dims arrive coalesced, at most 4 (the host makes operands contiguous otherwise).
layout(local_size_x_id = 0) in;

layout(push_constant) uniform Push {
  uint n;        // threads = output elements
  uint ndim;
  uint op;       // lundi_unop for unary / unary_bwd
  uint has_y;    // unary_bwd: operand 3 holds op(x)
  float f0, f1;  // the kcall's f[0], f[1]
  uint pad[2];
  uint off[4];   // element offset of each operand
  uint shape[4];
  uint st[4][4]; // element strides of each operand, 0 along broadcast dims
} pc;

uint thread_index() {
  return (gl_WorkGroupID.y * gl_NumWorkGroups.x + gl_WorkGroupID.x) * gl_WorkGroupSize.x +
         gl_LocalInvocationID.x;
}

// Element offsets of operands 0..3 for row-major logical index i.
uvec4 operand_offsets4(uint i) {
  uvec4 o = uvec4(pc.off[0], pc.off[1], pc.off[2], pc.off[3]);
  for (int d = int(pc.ndim) - 1; d >= 0; d--) {
    uint s = pc.shape[d];
    uint k = i % s;
    i /= s;
    o += k * uvec4(pc.st[0][d], pc.st[1][d], pc.st[2][d], pc.st[3][d]);
  }
  return o;
}
