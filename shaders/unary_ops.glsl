// The unary ops of lundi_unop (runtime/core/backend.h) and their derivatives, following
// runtime/cpu/elementwise.c's unary_f / unary_df formula by formula, on mathf.glsl.
const float SQRT_2_OVER_PI = 0.7978845608028654;
const float INV_SQRT_2PI = 0.3989422804014327;

float unary_f(uint op, float x, float f0, float f1) {
  switch (op) {
  case 0: return -x;                                   // NEG
  case 1: return m_exp(x);                             // EXP
  case 2: return m_log(x);                             // LOG
  case 3: return sqrt(x);                              // SQRT
  case 4: return 1.0 / sqrt(x);                        // RSQRT
  case 5: return abs(x);                               // ABS
  case 6: return m_tanh(x);                            // TANH
  case 7: return m_sigmoid(x);                         // SIGMOID
  case 8: return x * m_sigmoid(x);                     // SILU
  case 9: return x * m_phi(x);                         // GELU (erf form)
  case 10: {                                           // GELU_TANH: 0.5 x (1 + tanh u) = x sigmoid(2u)
    float u = SQRT_2_OVER_PI * (x + 0.044715 * x * x * x);
    return x * m_sigmoid(2.0 * u);
  }
  case 11: return x * m_tanh(m_softplus(x));           // MISH
  case 12: return x > 0.0 ? x : 0.0;                   // RELU
  case 13: return x + f0;                              // ADD_S
  case 14: return x * f0;                              // MUL_S
  case 15: return f0 - x;                              // RSUB_S
  case 16: {                                           // POW_S, as C's powf
    if (f0 == 0.0 || x == 1.0) return 1.0;
    if (isnan(x) || isnan(f0)) return x + f0;
    bool neg = (floatBitsToUint(x) >> 31) != 0u; // -0 counts: powf(-0, -1) = -inf
    float ax = abs(x);
    bool is_int = floor(f0) == f0;
    bool odd_int = is_int && abs(f0) < 16777216.0 && (int(f0) & 1) == 1;
    if (neg && !is_int && ax != 0.0 && !isinf(ax)) return uintBitsToFloat(0x7fc00000u);
    float r;
    if (ax == 0.0) r = f0 > 0.0 ? 0.0 : uintBitsToFloat(0x7f800000u);
    else if (isinf(ax)) r = f0 > 0.0 ? ax : 0.0;
    else if (f0 == 1.0) r = ax;
    else if (f0 == 2.0) r = ax * ax;
    else if (f0 == 0.5) r = sqrt(ax);
    else if (f0 == -1.0) r = 1.0 / ax;
    else r = m_exp(f0 * m_log(ax));
    return neg && odd_int ? -r : r;
  }
  case 17: return x < f0 ? f0 : x > f1 ? f1 : x;       // CLAMP
  case 18: return x > 0.0 ? 1.0 : x < 0.0 ? -1.0 : 0.0; // SIGN
  }
  return uintBitsToFloat(0x7fc00000u);
}

float unary_df(uint op, float x, float y, float f0, float f1) {
  switch (op) {
  case 0: return -1.0;
  case 1: return y;
  case 2: return 1.0 / x;
  case 3: return 0.5 / y;
  case 4: return -0.5 * y * y * y;
  case 5: return x > 0.0 ? 1.0 : x < 0.0 ? -1.0 : 0.0;
  case 6: return 1.0 - y * y;
  case 7: return y * (1.0 - y);
  case 8: {
    float s = m_sigmoid(x);
    return s * (1.0 + x * (1.0 - s));
  }
  case 9: return m_phi(x) + x * INV_SQRT_2PI * m_exp(-0.5 * x * x);
  case 10: {
    float u = SQRT_2_OVER_PI * (x + 0.044715 * x * x * x), t = m_tanh(u);
    return 0.5 * (1.0 + t) + 0.5 * x * (1.0 - t * t) * SQRT_2_OVER_PI * (1.0 + 3.0 * 0.044715 * x * x);
  }
  case 11: {
    float t = m_tanh(m_softplus(x));
    return t + x * (1.0 - t * t) * m_sigmoid(x);
  }
  case 12: return x > 0.0 ? 1.0 : 0.0;
  case 13: return 1.0;
  case 14: return f0;
  case 15: return -1.0;
  case 16: return f0 == 0.0 ? 0.0 : f0 * unary_f(16u, x, f0 - 1.0, 0.0);
  case 17: return (x >= f0 && x <= f1) ? 1.0 : 0.0;
  case 18: return 0.0;
  }
  return uintBitsToFloat(0x7fc00000u);
}
