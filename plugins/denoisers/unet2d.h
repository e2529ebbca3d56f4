/* unet2d: the image denoiser (an ADM/DDPM-style U-Net), used by the image pipeline and as
 * the reference model of the benchmarks ("mnist-unet" in DESIGN.md). */
#ifndef LUNDI_UNET2D_H
#define LUNDI_UNET2D_H

#include "lundi/nn.h"

#define LUNDI_UNET2D_MAX_LEVELS 5

typedef struct lundi_unet2d_config {
  int in_channels, out_channels;
  int base_channels;                          /* channels at level 0 */
  int n_levels;
  int channel_mult[LUNDI_UNET2D_MAX_LEVELS];  /* per level, times base_channels */
  int attn_level[LUNDI_UNET2D_MAX_LEVELS];    /* 1: self-attention after each res block */
  int res_down, res_up;                       /* res blocks per level, down and up */
  int mid_attention;                          /* res -> attention -> res in the middle */
  int heads;
  int groups;                                 /* GroupNorm groups */
  int time_freq_dim;                          /* sinusoidal embedding size */
  int time_dim;                               /* embedding MLP width */
  int num_classes;                            /* 0: unconditional; else + 1 null class */
  int context_dim;                            /* > 0: cross-attention to a context */
  float dropout;
} lundi_unet2d_config;

/* "mnist-unet" (the reference model) or "mnist-tiny"; returns 0 or LUNDI_EINVAL. */
int lundi_unet2d_preset(const char *name, lundi_unet2d_config *out);

typedef struct lundi_unet2d lundi_unet2d;
lundi_unet2d *lundi_unet2d_new(const lundi_unet2d_config *cfg, lundi_rng *rng);
void lundi_unet2d_free(lundi_unet2d *u);
lundi_module *lundi_unet2d_module(lundi_unet2d *u); /* borrowed: parameters, save/load */
const lundi_unet2d_config *lundi_unet2d_get_config(const lundi_unet2d *u);
/* x [N, C, H, W] (H, W divisible by 2^(levels-1)); t f32 [N] timesteps; labels i32 [N]
 * (num_classes = the null class) or NULL; context [N, S, context_dim] or NULL. */
lundi_tensor *lundi_unet2d_forward(lundi_unet2d *u, lundi_tensor *x, lundi_tensor *t,
                                   lundi_tensor *labels, lundi_tensor *context, lundi_rng *rng);
/* Multiply-adds x 2 of one forward pass, counted from the layer shapes. */
double lundi_unet2d_flops(const lundi_unet2d_config *cfg, int batch, int h, int w);

#endif
