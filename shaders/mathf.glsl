// f32 transcendental functions built only from +, -, *, / and exact bit operations, so their
// accuracy does not depend on the driver's exp/log/sin/tanh (the Vulkan spec allows those
// 3 + 2|x| ulp, an absolute 2^-21 near 1 and an absolute 2^-11: too loose for a 1e-5
// comparison with the CPU). All propagate NaN. About 1-3 ulp on their domains.

const float LN2_HI = 0.693359375;        // 355/512: k * LN2_HI is exact for |k| < 2^15
const float LN2_LO = -2.12194440e-4;     // ln 2 - LN2_HI
const float LOG2E = 1.44269504088896341;

float m_exp(float x) {
  if (isnan(x)) return x;
  if (x > 88.7228394) return uintBitsToFloat(0x7f800000u);
  if (x < -103.972084) return 0.0;
  float k = floor(x * LOG2E + 0.5);
  precise float r = (x - k * LN2_HI) - k * LN2_LO; // |r| <= 0.35
  // Taylor series to r^8 (the next term is below 2e-9 relative).
  float p = 2.48015873e-5;
  p = p * r + 1.98412698e-4;
  p = p * r + 1.38888889e-3;
  p = p * r + 8.33333333e-3;
  p = p * r + 4.16666667e-2;
  p = p * r + 1.66666667e-1;
  p = p * r + 0.5;
  p = p * r + 1.0;
  p = p * r + 1.0;
  int ki = int(k);
  // Two steps so 2^k stays representable at both ends (k in [-150, 128]).
  int k1 = ki / 2;
  return ldexp(ldexp(p, k1), ki - k1);
}

// 2 atanh(s) = log((1 + s) / (1 - s)) for |s| <= 1/3.
float m_atanh2(float s) {
  float z = s * s;
  float p = 1.0 / 17.0;
  p = p * z + 1.0 / 15.0;
  p = p * z + 1.0 / 13.0;
  p = p * z + 1.0 / 11.0;
  p = p * z + 1.0 / 9.0;
  p = p * z + 1.0 / 7.0;
  p = p * z + 1.0 / 5.0;
  p = p * z + 1.0 / 3.0;
  return 2.0 * s + 2.0 * s * (z * p);
}

// log(1 + e) for e in [0, 1] (softplus).
float m_log1p01(float e) { return m_atanh2(e / (2.0 + e)); }

float m_log(float x) {
  if (isnan(x) || x < 0.0) return uintBitsToFloat(0x7fc00000u);
  if (x == 0.0) return uintBitsToFloat(0xff800000u);
  if (isinf(x)) return x;
  int e;
  float m = frexp(x, e); // [0.5, 1)
  if (m < 0.70710678) {
    m *= 2.0;
    e -= 1;
  }
  float f = m - 1.0; // exact (Sterbenz)
  float l = m_atanh2(f / (2.0 + f));
  float fe = float(e);
  return fe * LN2_HI + (fe * LN2_LO + l);
}

float m_tanh(float x) {
  float a = abs(x);
  if (a < 0.125) {
    float z = x * x; // tanh = x - x^3/3 + 2x^5/15 - 17x^7/315 + 62x^9/2835
    return x + x * (z * (-1.0 / 3.0 + z * (2.0 / 15.0 + z * (-17.0 / 315.0 + z * (62.0 / 2835.0)))));
  }
  float t = m_exp(-2.0 * a);
  float r = (1.0 - t) / (1.0 + t);
  return x < 0.0 ? -r : r;
}

// 1 / (1 + exp(-x)) without overflow.
float m_sigmoid(float x) {
  float e = m_exp(-abs(x)), r = 1.0 / (1.0 + e);
  return x >= 0.0 ? r : e * r;
}

float m_softplus(float x) { return x > 20.0 ? x : max(x, 0.0) + m_log1p01(m_exp(-abs(x))); }

// erfc(z) for z >= 0 with a relative error below 1.2e-7 (Chebyshev fit, Numerical Recipes'
// erfcc form).
float m_erfc_pos(float z) {
  float t = 1.0 / (1.0 + 0.5 * z);
  float p = 0.17087277;
  p = p * t - 0.82215223;
  p = p * t + 1.48851587;
  p = p * t - 1.13520398;
  p = p * t + 0.27886807;
  p = p * t - 0.18628806;
  p = p * t + 0.09678418;
  p = p * t + 0.37409196;
  p = p * t + 1.00002368;
  p = p * t - 1.26551223;
  return t * m_exp(p - z * z);
}

// Phi(x) = 0.5 (1 + erf(x / sqrt 2)), the normal CDF, without cancellation on either side.
float m_phi(float x) {
  if (isnan(x)) return x;
  float c = 0.5 * m_erfc_pos(abs(x) * 0.70710678118654752);
  return x >= 0.0 ? 1.0 - c : c;
}

// sin and cos of 2 pi u for u in [0, 1), reduced exactly to an octant.
vec2 m_sincos_turns(float u) {
  float t = u * 4.0;
  float k = floor(t + 0.5);
  float r = (t - k) * 1.57079632679489662; // |r| <= pi/4
  float z = r * r;
  float s = r + r * (z * (-1.0 / 6.0 + z * (1.0 / 120.0 + z * (-1.0 / 5040.0 + z * (1.0 / 362880.0)))));
  float c = 1.0 + z * (-0.5 + z * (1.0 / 24.0 + z * (-1.0 / 720.0 + z * (1.0 / 40320.0 + z * (-1.0 / 3628800.0)))));
  int q = int(k) & 3;
  if (q == 0) return vec2(s, c);
  if (q == 1) return vec2(c, -s);
  if (q == 2) return vec2(-s, -c);
  return vec2(-c, s);
}
