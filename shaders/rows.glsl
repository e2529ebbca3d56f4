// Shared by the row-wise shaders (softmax, norms): G threads (a power of two, at most the
// workgroup size) cooperate on one row, a workgroup holds workgroup_size / G whole rows,
// and the G partials of a row are combined by a shared-memory tree in a fixed order, so
// results are deterministic. Every thread of the workgroup must call the tree functions
// (they hold barriers), including threads whose row is past the end.
layout(local_size_x_id = 0) in;

shared vec2 sh2[gl_WorkGroupSize.x];

// Row handled by this thread (its lane is gl_LocalInvocationID.x % G).
uint row_index(uint G) {
  uint per = gl_WorkGroupSize.x / G;
  uint group = gl_WorkGroupID.y * gl_NumWorkGroups.x + gl_WorkGroupID.x;
  return group * per + gl_LocalInvocationID.x / G;
}

// Sums of (a, b) over the G lanes of this thread's row, returned to all of them.
vec2 tree_sum2(vec2 v, uint G) {
  uint lid = gl_LocalInvocationID.x, lane = lid % G;
  sh2[lid] = v;
  for (uint s = G / 2u; s > 0u; s >>= 1) {
    barrier();
    if (lane < s) sh2[lid] += sh2[lid + s];
  }
  barrier();
  vec2 r = sh2[lid - lane];
  barrier(); // sh2 is reused by the next call
  return r;
}

// Max over the lanes; NaN partials lose every comparison (callers never produce them).
float tree_max(float v, uint G) {
  uint lid = gl_LocalInvocationID.x, lane = lid % G;
  sh2[lid].x = v;
  for (uint s = G / 2u; s > 0u; s >>= 1) {
    barrier();
    if (lane < s) {
      float o = sh2[lid + s].x;
      if (o > sh2[lid].x) sh2[lid].x = o;
    }
  }
  barrier();
  float r = sh2[lid - lane].x;
  barrier();
  return r;
}
