/* unet1d: the action denoiser of Diffusion Policy (Chi et al. 2023), a ConditionalUnet1D:
 * a 1-D U-Net over the time axis of an action sequence, every residual block modulated
 * (FiLM) by one global feature, the diffusion step's embedding concatenated with a global
 * condition (the flattened observation history). docs/action.md describes it. */
#ifndef LUNDI_UNET1D_H
#define LUNDI_UNET1D_H

#include "lundi/nn.h"

#define LUNDI_UNET1D_MAX_LEVELS 6

typedef struct lundi_unet1d_config {
  int action_dim;                        /* channels in and out (the reference's input_dim) */
  int global_cond_dim;                   /* width of the global condition; 0: none */
  int n_levels;                          /* entries of down_dims */
  int down_dims[LUNDI_UNET1D_MAX_LEVELS];/* channels per level (reference 256, 512, 1024) */
  int kernel_size;                       /* odd (reference lowdim: 5) */
  int n_groups;                          /* GroupNorm groups; divides every down_dims entry */
  int step_embed_dim;                    /* dsed: sinusoidal width and step feature width; even, >= 4 */
  int cond_predict_scale;                /* 1: FiLM out = scale * h + bias; 0: out = h + bias */
} lundi_unet1d_config;

/* action_dim 2, no global condition, down_dims 64,128, kernel 5, groups 8, dsed 64, scale on. */
lundi_unet1d_config lundi_unet1d_defaults(void);
/* Parses "64,128,256" into cfg's down_dims and n_levels; 0 or LUNDI_EINVAL naming the item. */
int lundi_unet1d_parse_dims(const char *text, lundi_unet1d_config *cfg);

typedef struct lundi_unet1d lundi_unet1d;
/* NULL with the error set when cfg is invalid (the message says which field and why). */
lundi_unet1d *lundi_unet1d_new(const lundi_unet1d_config *cfg, lundi_rng *rng);
void lundi_unet1d_free(lundi_unet1d *u);
lundi_module *lundi_unet1d_module(lundi_unet1d *u); /* borrowed: parameters, save/load */
const lundi_unet1d_config *lundi_unet1d_get_config(const lundi_unet1d *u);
/* 2^(n_levels - 1): the horizon T must be a multiple of it. */
int lundi_unet1d_horizon_multiple(const lundi_unet1d_config *cfg);
/* x [B, T, action_dim] (time-major, as the sampler holds an action sequence; T a multiple
 * of lundi_unet1d_horizon_multiple); t f32 [B] diffusion steps; global_cond f32
 * [B, global_cond_dim], required when global_cond_dim > 0 and refused otherwise. Returns
 * [B, T, action_dim], contiguous. */
lundi_tensor *lundi_unet1d_forward(lundi_unet1d *u, lundi_tensor *x, lundi_tensor *t, lundi_tensor *global_cond);
/* The reference's sinusoidal step embedding (not the DDPM one of lundi_timestep_embedding):
 * f_i = exp(-i ln(10000) / (half - 1)), i < half = dim / 2, out [N, dim] = [sin(t f), cos(t f)];
 * no gradient; on t's device. dim even, >= 4. */
lundi_tensor *lundi_unet1d_step_embedding(lundi_tensor *t, int dim);

#endif
