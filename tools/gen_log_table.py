#!/usr/bin/env python3
"""Prints the 64-entry log table of runtime/tensor/normal_math.h and shaders/normal_math.glsl.

The mantissa m in [1, 2) with top-6-bit index i is used as m (i < 32) or m / 2 (i >= 32),
so it lies in [0.75, 1.5). Its interval's centre c (1 exactly for the two intervals touching
1, so ln u keeps full relative accuracy as u -> 1) gives r[i] = f32(1 / c) and
t[i] = f32(-ln r[i]); then ln(m) = t[i] + ln(1 + g) with g = m r[i] - 1, |g| < 2^-6.
Both files must hold exactly these values (printed with 9 significant digits, which round
trip to the same f32 in C and GLSL)."""
import math
import struct


def f32(x):
    return struct.unpack("f", struct.pack("f", x))[0]


def lit(x):
    s = "%.9g" % x
    return s if ("." in s or "e" in s) else s + ".0"


def centre(i):
    if i in (0, 63):
        return 1.0
    c = 1.0 + (i + 0.5) / 64.0
    return c if i < 32 else c / 2


r = [f32(1.0 / centre(i)) for i in range(64)]
t = [f32(-math.log(v)) for v in r]
for name, vals in (("r", r), ("t", t)):
    print(name)
    for i in range(0, 64, 4):
        print("  " + ", ".join(lit(v) for v in vals[i:i + 4]) + ",")
