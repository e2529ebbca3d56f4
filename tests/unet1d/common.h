/* Helpers shared by the unet1d tests. */
#ifndef LUNDI_TEST_UNET1D_COMMON_H
#define LUNDI_TEST_UNET1D_COMMON_H

#include "harness.h"
#include "denoisers/unet1d.h"

/* The tiny model of the gradient checks: action_dim 2, global_cond_dim 3, down_dims 4,8,
 * kernel 3, 2 groups, dsed 4, FiLM scale on. */
lundi_unet1d_config u1_tiny(void);
/* A model from cfg (weights from seed) with every GroupNorm weight redrawn from N(1, 0.3) and
 * bias from N(0, 0.3), so the norms' gradients are not those of the (1, 0) special case. */
lundi_unet1d *u1_model(const lundi_unet1d_config *cfg, uint64_t seed);
/* The module's parameters, sorted by name, into out; 0 on success. */
int u1_params(lundi_unet1d *u, lundi_param_list *out);
/* Relative max difference max |a - b| / max |a| (INFINITY on a size mismatch or NaN). */
double u1_rel_diff(lundi_tensor *a, lundi_tensor *b);

#endif
