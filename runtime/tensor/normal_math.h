/* Box-Muller normals from Philox words, built only from operations every backend rounds the
 * same way: integer and bit operations, exact int->float conversions, and single +, -, *
 * (correctly rounded in IEEE C and in Vulkan SPIR-V), never contracted into fma. Division,
 * sqrt, log, sin and cos are not used: Vulkan lets a driver's versions be off by ulps. So the
 * CPU and every Vulkan device give bit-identical normals for a (seed, offset).
 *
 * shaders/normal_math.glsl is an op-for-op copy of this file: change both together. The log
 * table comes from tools/gen_log_table.py. The build passes -ffp-contract=off so no compiler
 * turns a * b + c into an fma (GCC's C11 mode already does not; clang's default does). */
#ifndef LUNDI_NORMAL_MATH_H
#define LUNDI_NORMAL_MATH_H

#include <stdint.h>
#include <string.h>

static const float lundi_nm_r[64] = {
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
  1.02811241, 1.01992035, 1.01185775, 1.0,
};
static const float lundi_nm_t[64] = {
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
  -0.0277245101, -0.0197245348, -0.0117879957, -0.0,
};

static inline float lundi_nm_bits_float(uint32_t u) {
  float f;
  memcpy(&f, &u, 4);
  return f;
}
static inline uint32_t lundi_nm_float_bits(float f) {
  uint32_t u;
  memcpy(&u, &f, 4);
  return u;
}

/* -2 ln(u) for u = j * 2^-24, j in [1, 2^24] (so u is normal and in (0, 1]). */
static inline float lundi_nm_minus2log(float u) {
  uint32_t b = lundi_nm_float_bits(u);
  int e = (int)(b >> 23) - 127;
  uint32_t i = (b >> 17) & 63u;
  float m = lundi_nm_bits_float((b & 0x007fffffu) | 0x3f800000u); /* [1, 2) */
  if (i >= 32u) { /* into [0.75, 1.5), so u near 1 means m near 1: no cancellation */
    m = m * 0.5f;
    e = e + 1;
  }
  float g = m * lundi_nm_r[i] - 1.0f; /* |g| < 2^-6 */
  float p = g * (1.0f + g * (-0.5f + g * (0.333333343f + g * (-0.25f + g * 0.200000003f))));
  float fe = (float)e;
  float l = ((fe * -2.12194442e-4f + p) + lundi_nm_t[i]) + fe * 0.693359375f; /* ln 2 = hi + lo */
  return -2.0f * l;
}

/* sqrt(v) for v in [0, 64): three Newton steps on 1/sqrt from a bit-level first guess. */
static inline float lundi_nm_sqrt(float v) {
  if (v == 0.0f) return 0.0f;
  float y = lundi_nm_bits_float(0x5f375a86u - (lundi_nm_float_bits(v) >> 1));
  float h = 0.5f * v;
  y = y * (1.5f - h * y * y);
  y = y * (1.5f - h * y * y);
  y = y * (1.5f - h * y * y);
  float s = v * y;
  return s + (0.5f * y) * (v - s * s);
}

/* cos and sin of 2 pi u for u in [0, 1): exact reduction to a quarter turn, then Taylor. */
static inline void lundi_nm_sincos_turns(float u, float *c, float *s) {
  float t = u * 4.0f;          /* exact */
  float k = (float)(int)(t + 0.5f); /* nearest quarter; t + 0.5 >= 0.5 so truncation floors */
  float r = (t - k) * 1.57079637f; /* |r| <= pi/4 (plus one rounding) */
  float z = r * r;
  float sr = r + r * (z * (-0.166666672f + z * (0.00833333377f + z * (-0.000198412701f + z * 2.75573188e-06f))));
  float cr = 1.0f + z * (-0.5f + z * (0.0416666679f + z * (-0.00138888892f + z * (2.48015876e-05f + z * -2.75573192e-07f))));
  switch ((int)k & 3) {
  case 0: *c = cr; *s = sr; break;
  case 1: *c = -sr; *s = cr; break;
  case 2: *c = -cr; *s = -sr; break;
  default: *c = sr; *s = -cr; break;
  }
}

/* Two standard normals from two Philox words: u1 in (0, 1] from a, u2 in [0, 1) from b. */
static inline void lundi_nm_box_muller(uint32_t a, uint32_t b, float *z0, float *z1) {
  float u1 = (float)((a >> 8) + 1u) * 5.96046448e-08f; /* 2^-24 */
  float u2 = (float)(b >> 8) * 5.96046448e-08f;
  float rad = lundi_nm_sqrt(lundi_nm_minus2log(u1));
  float c, s;
  lundi_nm_sincos_turns(u2, &c, &s);
  *z0 = rad * c;
  *z1 = rad * s;
}

#endif
