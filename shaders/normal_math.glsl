// Box-Muller normals from Philox words: an op-for-op copy of runtime/tensor/normal_math.h
// (change both together). Only integer/bit operations, exact conversions and single +, -, *
// marked precise (no fma contraction, no reassociation), which Vulkan rounds exactly like
// IEEE C, so every device gives the CPU's bits. Values stay far from denormals, which a
// driver may flush.

const float NM_R[64] = float[64](
  1.0, 0.97709924, 0.962406039, 0.948148131,
  0.934306562, 0.92086333, 0.90780139, 0.895104885,
  0.882758617, 0.870748281, 0.859060407, 0.847682118,
  0.836601317, 0.825806439, 0.815286636, 0.805031419,
  0.795031071, 0.785276055, 0.775757551, 0.766467094,
  0.75739646, 0.748538017, 0.739884377, 0.731428564,
  0.723163843, 0.715083778, 0.707182348, 0.699453533,
  0.691891909, 0.684491992, 0.677248657, 0.670157075,
  1.32642484, 1.31282055, 1.29949236, 1.28643215,
  1.27363181, 1.26108372, 1.24878049, 1.23671496,
  1.22488034, 1.21327019, 1.20187795, 1.19069767,
  1.1797235, 1.16894972, 1.15837109, 1.14798212,
  1.13777781, 1.12775326, 1.11790395, 1.10822511,
  1.09871244, 1.08936167, 1.08016872, 1.07112968,
  1.06224072, 1.05349791, 1.04489791, 1.03643727,
  1.02811241, 1.01992035, 1.01185775, 1.0);
const float NM_T[64] = float[64](
  -0.0, 0.0231670551, 0.0383188389, 0.0532445312,
  0.0679506734, 0.0824436471, 0.0967296585, 0.110814378,
  0.124703482, 0.138402343, 0.151916042, 0.165249571,
  0.178407639, 0.191394866, 0.204215527, 0.216873974,
  0.229374081, 0.241719961, 0.25391525, 0.265963525,
  0.27786845, 0.289633274, 0.301261365, 0.312755734,
  0.324119478, 0.33535558, 0.34646672, 0.357455909,
  0.368325531, 0.379078329, 0.389716774, 0.400243163,
  -0.282487243, -0.272177905, -0.261973709, -0.251872599,
  -0.241872519, -0.231971443, -0.222167462, -0.21245864,
  -0.202843159, -0.19331935, -0.183885291, -0.174539417,
  -0.165280089, -0.156105667, -0.147014782, -0.138005719,
  -0.129077062, -0.120227389, -0.111455455, -0.102759734,
  -0.0941389874, -0.0855918974, -0.0771172568, -0.0687138662,
  -0.0603805631, -0.0521159694, -0.0439191908, -0.0357891321,
  -0.0277245101, -0.0197245348, -0.0117879957, -0.0);

// -2 ln(u) for u = j * 2^-24, j in [1, 2^24].
float nm_minus2log(float u) {
  uint b = floatBitsToUint(u);
  int e = int(b >> 23u) - 127;
  uint i = (b >> 17u) & 63u;
  precise float m = uintBitsToFloat((b & 0x007fffffu) | 0x3f800000u);
  if (i >= 32u) {
    m = m * 0.5;
    e = e + 1;
  }
  precise float g = m * NM_R[i] - 1.0;
  precise float p = g * (1.0 + g * (-0.5 + g * (0.333333343 + g * (-0.25 + g * 0.200000003))));
  precise float fe = float(e);
  precise float l = ((fe * -2.12194442e-4 + p) + NM_T[i]) + fe * 0.693359375;
  precise float res = -2.0 * l;
  return res;
}

// sqrt(v) for v in [0, 64): three Newton steps on 1/sqrt from a bit-level first guess.
float nm_sqrt(float v) {
  if (v == 0.0) return 0.0;
  precise float y = uintBitsToFloat(0x5f375a86u - (floatBitsToUint(v) >> 1u));
  precise float h = 0.5 * v;
  y = y * (1.5 - h * y * y);
  y = y * (1.5 - h * y * y);
  y = y * (1.5 - h * y * y);
  precise float s = v * y;
  precise float res = s + (0.5 * y) * (v - s * s);
  return res;
}

// (cos, sin) of 2 pi u for u in [0, 1).
vec2 nm_cossin_turns(float u) {
  precise float t = u * 4.0;
  int ki = int(t + 0.5);
  precise float k = float(ki);
  precise float r = (t - k) * 1.57079637;
  precise float z = r * r;
  precise float sr = r + r * (z * (-0.166666672 + z * (0.00833333377 + z * (-0.000198412701 + z * 2.75573188e-06))));
  precise float cr = 1.0 + z * (-0.5 + z * (0.0416666679 + z * (-0.00138888892 + z * (2.48015876e-05 + z * -2.75573192e-07))));
  int q = ki & 3;
  if (q == 0) return vec2(cr, sr);
  if (q == 1) return vec2(-sr, cr);
  if (q == 2) return vec2(-cr, -sr);
  return vec2(sr, -cr);
}

// Two standard normals from two Philox words.
vec2 nm_box_muller(uint a, uint b) {
  precise float u1 = float((a >> 8u) + 1u) * 5.96046448e-08;
  precise float u2 = float(b >> 8u) * 5.96046448e-08;
  precise float rad = nm_sqrt(nm_minus2log(u1));
  vec2 cs = nm_cossin_turns(u2);
  precise vec2 z = rad * cs;
  return z;
}
