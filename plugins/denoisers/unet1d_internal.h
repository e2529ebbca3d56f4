/* unet1d's layers, shared by its construction (unet1d.c) and forward (unet1d_forward.c). */
#ifndef LUNDI_UNET1D_INTERNAL_H
#define LUNDI_UNET1D_INTERNAL_H

#include "unet1d.h"

#define LUNDI__UNET1D_GN_EPS 1e-5f /* PyTorch GroupNorm default */

typedef struct unet1d_conv_block {
  lundi_module *conv, *norm;
} unet1d_conv_block;

typedef struct unet1d_res_block {
  unet1d_conv_block b0, b1;
  lundi_module *cond, *residual; /* residual NULL: identity */
  int cout;
} unet1d_res_block;

struct lundi_unet1d {
  lundi_unet1d_config cfg;
  lundi_module *root;
  lundi_module *step1, *step2;
  unet1d_res_block down[LUNDI_UNET1D_MAX_LEVELS][2], mid[2], up[LUNDI_UNET1D_MAX_LEVELS][2];
  lundi_module *downsample[LUNDI_UNET1D_MAX_LEVELS], *upsample[LUNDI_UNET1D_MAX_LEVELS];
  unet1d_conv_block final_block;
  lundi_module *final_conv;
};

#endif
