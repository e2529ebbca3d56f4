/* A number on either side of a binary op, as the scalar kernels compose it: the tensor-number
 * forms that add_scalar, mul_scalar and rsub_scalar (elementwise.c) do not cover. Each is a
 * composition of differentiable ops, so the tape records its gradient. */
#include "lundi/ops.h"

lundi_tensor *lundi_sub_scalar(lundi_tensor *a, float s) { return lundi_add_scalar(a, -s); }

lundi_tensor *lundi_div_scalar(lundi_tensor *a, float s) { return lundi_mul_scalar(a, 1.0f / s); }

lundi_tensor *lundi_rdiv_scalar(lundi_tensor *a, float s) {
  lundi_tensor *inv = lundi_pow_scalar(a, -1.0f);
  lundi_tensor *out = inv ? lundi_mul_scalar(inv, s) : NULL;
  lundi_release(inv);
  return out;
}
