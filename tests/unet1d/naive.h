/* The reference forward of ConditionalUnet1D in plain loops (naive.c), for the formula check. */
#ifndef LUNDI_TEST_UNET1D_NAIVE_H
#define LUNDI_TEST_UNET1D_NAIVE_H

#include "common.h"

/* x [B, T, A], tsteps [B], g [B, global_cond_dim] (NULL when 0) -> out [B, T, A], from m's
 * parameters (on the host). Returns 0. */
int naive_unet1d(const lundi_unet1d_config *c, lundi_module *m, const float *x, const float *tsteps, const float *g,
                 int B, int T, float *out);

#endif
