/* What the ddpm and ddim schedulers share: the common parameters (beta schedule, prediction
 * type, clipping, spacing), the forward process q(x_t | x_0), training targets, the x0 / eps
 * conversions of a model output and x0 clipping or dynamic thresholding. Internal. */
#ifndef LUNDI_SCHEDULERS_SCHED_COMMON_H
#define LUNDI_SCHEDULERS_SCHED_COMMON_H

#include "lundi/plugin.h"
#include "betas.h"

#define LUNDI__PREDICTIONS "epsilon|sample|v_prediction"

typedef enum { LUNDI__PRED_EPS = 0, LUNDI__PRED_SAMPLE, LUNDI__PRED_V } lundi__pred;

typedef struct lundi__sched {
  int T;               /* num_train_timesteps */
  double *betas, *ab;  /* [T]: betas and alphas_cumprod */
  lundi__pred pred;
  int clip;            /* clip_sample */
  double clip_range;
  int thresholding;    /* dynamic thresholding (takes precedence over clip) */
  double thr_ratio, thr_max;
  char spacing[16];
  int steps_offset;
  int *timesteps;      /* [n] after set_timesteps, descending */
  int n;               /* 0 before set_timesteps */
} lundi__sched;

/* Parameter specs every diffusers-style scheduler here has, for the start of a plugin's
 * spec array (a macro, so each plugin's array stays one static initialiser). The defaults of
 * clip_sample and timestep_spacing differ between diffusers' schedulers (DDPM / DDIM: true,
 * leading; the sigma-space solvers: false, linspace), hence the _DEFAULTS form. */
#define LUNDI__SCHED_COMMON_SPECS LUNDI__SCHED_COMMON_SPECS_DEFAULTS("true", "leading")
#define LUNDI__SCHED_COMMON_SPECS_DEFAULTS(clip_default, spacing_default)                         \
  {"num_train_timesteps", LUNDI_PARAM_INT, "1000", 1, 100000, NULL, "diffusion steps of training"}, \
  {"beta_start", LUNDI_PARAM_FLOAT, "0.0001", 0, 1, NULL, "first beta (linear, scaled_linear, sigmoid)"}, \
  {"beta_end", LUNDI_PARAM_FLOAT, "0.02", 0, 1, NULL, "last beta (linear, scaled_linear, sigmoid)"},    \
  {"beta_schedule", LUNDI_PARAM_CHOICE, "linear", 0, 0, LUNDI__BETA_SCHEDULES, "how betas grow over t"}, \
  {"prediction_type", LUNDI_PARAM_CHOICE, "epsilon", 0, 0, LUNDI__PREDICTIONS,                    \
   "what the denoiser predicts: noise, the clean sample, or v"},                                  \
  {"clip_sample", LUNDI_PARAM_BOOL, clip_default, 0, 0, NULL, "clip predicted x0 to +-clip_sample_range"}, \
  {"clip_sample_range", LUNDI_PARAM_FLOAT, "1.0", 0, 1e9, NULL, "bound for clip_sample"},         \
  {"thresholding", LUNDI_PARAM_BOOL, "false", 0, 0, NULL,                                         \
   "dynamic thresholding of predicted x0 (Imagen); overrides clip_sample"},                       \
  {"dynamic_thresholding_ratio", LUNDI_PARAM_FLOAT, "0.995", 0, 1, NULL,                          \
   "quantile of |x0| per sample used as the threshold"},                                          \
  {"sample_max_value", LUNDI_PARAM_FLOAT, "1.0", 0, 1e9, NULL, "upper bound of the threshold"},   \
  {"timestep_spacing", LUNDI_PARAM_CHOICE, spacing_default, 0, 0, LUNDI__SPACINGS,                      \
   "how inference timesteps are spread over the training ones"},                                  \
  {"steps_offset", LUNDI_PARAM_INT, "0", 0, 1000, NULL, "added to leading-spaced timesteps"}

/* Reads the common params and computes betas / alphas_cumprod; 0 or an error. */
int lundi__sched_init(lundi__sched *s, const lundi_params *p);
void lundi__sched_free(lundi__sched *s);
int lundi__sched_set_timesteps(lundi__sched *s, int n);
/* Checks 0 <= i < n (after set_timesteps); 0 or an error naming the step. */
int lundi__sched_check_step(const lundi__sched *s, int i);
double lundi__sched_timestep(const lundi__sched *s, int i);

/* sqrt(ab_t) x0 + sqrt(1 - ab_t) noise, t f32 [N] per row. */
lundi_tensor *lundi__sched_add_noise(const lundi__sched *s, lundi_tensor *x0, lundi_tensor *noise,
                                     lundi_tensor *t);
/* noise (epsilon), x0 (sample) or sqrt(ab_t) noise - sqrt(1 - ab_t) x0 (v_prediction). */
lundi_tensor *lundi__sched_target(const lundi__sched *s, lundi_tensor *x0, lundi_tensor *noise,
                                  lundi_tensor *t);

/* The training side of lundi_scheduler_api, shared by every built-in scheduler: self must be a
 * struct whose first member is its lundi__sched (each file asserts that at compile time). */
int lundi__sched_api_num_train_timesteps(void *self);
lundi_tensor *lundi__sched_api_add_noise(void *self, lundi_tensor *x0, lundi_tensor *noise,
                                         lundi_tensor *t);
lundi_tensor *lundi__sched_api_target(void *self, lundi_tensor *x0, lundi_tensor *noise,
                                      lundi_tensor *t);

/* img2img: checks that x0 and noise have one shape; 0 or an error naming fn. */
int lundi__sched_check_noise_args(const char *fn, lundi_tensor *x0, lundi_tensor *noise);
/* noise_to_step of ddpm and ddim: sqrt(ab) x0 + sqrt(1 - ab) noise at inference step k's
 * timestep (the scheduler's sample is x_t itself); *begin = k. */
lundi_tensor *lundi__sched_api_noise_to_step(void *self, lundi_tensor *x0, lundi_tensor *noise, int k, int *begin);

/* The x0 implied by model_out at x, with alphas_cumprod a, by prediction type (unclipped). */
lundi_tensor *lundi__sched_x0(const lundi__sched *s, lundi_tensor *model_out, lundi_tensor *x, double a);
/* The epsilon implied by model_out at x (for ddim's direction term). */
lundi_tensor *lundi__sched_eps(const lundi__sched *s, lundi_tensor *model_out, lundi_tensor *x, double a);
/* Checks the step index (after set_timesteps) and that model_out has x's shape. */
int lundi__sched_check_step_args(const lundi__sched *s, lundi_tensor *model_out, int i, lundi_tensor *x);
/* The model output of step i has the sample's shape (and at least one dim). */
int lundi__sched_check_out_shape(lundi_tensor *model_out, int i, lundi_tensor *x);
/* The clipped (or thresholded) x0 implied by model_out at inference step i: what step() uses
 * and what predict_x0 returns. Arguments unchecked. */
lundi_tensor *lundi__sched_x0_at(const lundi__sched *s, lundi_tensor *model_out, int i, lundi_tensor *x);
/* Dynamic thresholding when enabled, else clipping to +-clip_range when enabled, else x0
 * itself (retained). */
lundi_tensor *lundi__sched_clip_x0(const lundi__sched *s, lundi_tensor *x0);

/* a x + b y, in one fresh tensor; y may be NULL (then a x). */
lundi_tensor *lundi__axpby(double a, lundi_tensor *x, double b, lundi_tensor *y);

#endif
