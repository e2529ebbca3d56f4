/* A finite-difference gradient check for whole models, stricter than tests/gradcheck.h's
 * central difference: a model's f32 forward carries more rounding noise than one op, which a
 * small step amplifies and a large one drowns in truncation error. The five-point stencil
 *   f'(x) ~ (8 (f(x+h) - f(x-h)) - (f(x+2h) - f(x-2h))) / 12h
 * is exact to O(h^4), so h can be large enough that the noise is small.
 * L = sum(f(in) * R) (R fixed random, accumulated in double); in[] are host f32 leaves, each
 * element perturbed in place. */
#ifndef LUNDI_TEST_FD_CHECK_H
#define LUNDI_TEST_FD_CHECK_H

#include "gradcheck.h" /* gc_fn */

/* Checks |analytic - numeric| <= atol + rtol |numeric| for every element of every input and
 * returns the largest ratio of the two sides (<= 1: pass; negative when the forward or the
 * backward failed); names[k] labels input k in the messages printed for the worst misses. */
double fd_check(const char *what, gc_fn f, int n, lundi_tensor **in, char **names, void *ctx, double h, double rtol,
                double atol);

#endif
