/* A whole-model finite-difference check that stays fast for thousands of parameters: the
 * five-point stencil of tests/transformer/fd_check.h, along directions. An input of at most
 * max_elems elements is checked element by element; a larger one along n_dirs random unit
 * directions v, comparing (d/ds) L(x + s v) with <grad, v>: a wrong gradient of a tensor
 * shows in a random projection of it (a miss would need the error orthogonal to v).
 * L = sum(f(in) * R) (R fixed random); in[] are host f32 leaves with requires_grad. Returns
 * the largest |analytic - numeric| / (atol + rtol |numeric|) (<= 1: pass; negative when the
 * forward or the backward failed), printing the worst misses with names[k]. */
#ifndef LUNDI_TEST_FD_DIR_H
#define LUNDI_TEST_FD_DIR_H

#include "gradcheck.h" /* gc_fn */

double fd_dir_check(const char *what, gc_fn f, int n, lundi_tensor **in, char **names, void *ctx, double h,
                    double rtol, double atol, int64_t max_elems, int n_dirs);

#endif
