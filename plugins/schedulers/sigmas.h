/* Noise levels in sigma form, shared by the solver schedulers (euler, euler_ancestral, heun,
 * dpmpp_2m), after diffusers' EulerDiscrete / DPMSolverMultistep rules. With alphas_cumprod
 * ab_t of the training schedule, sigma_t = sqrt((1 - ab_t) / ab_t): x_t = sqrt(ab_t) (x0 +
 * sigma_t eps), so the unscaled sample x / sqrt(ab) = x0 + sigma eps is what k-diffusion's
 * probability-flow ODE dx/dsigma = (x - D(x, sigma)) / sigma moves. Internal. */
#ifndef LUNDI_SCHEDULERS_SIGMAS_H
#define LUNDI_SCHEDULERS_SIGMAS_H

#include "sched_common.h"

/* How inference timesteps are placed. EULER (EulerDiscrete, Heun, EulerAncestral): linspace is
 * linspace(0, T - 1, n) unrounded, leading and trailing as ddim; Karras sigmas span the
 * sigmas of the first and last spaced timestep. DPM (DPMSolverMultistep): linspace is
 * round(linspace(0, T - 1, n + 1)) without its final 0, leading uses T // (n + 1); Karras
 * sigmas span the whole training range. */
typedef enum { LUNDI__SIG_EULER = 0, LUNDI__SIG_DPM } lundi__sig_style;

typedef struct lundi__sig {
  lundi__sched s;       /* params, betas and alphas_cumprod (s.timesteps / s.n stay unused) */
  double *train;        /* [T] training sigmas, ascending */
  int karras;           /* use_karras_sigmas */
  lundi__sig_style style;
  int n;                /* inference steps after set_timesteps; 0 before */
  double *t;            /* [n] timesteps, descending; fractional with linspace or Karras */
  double *sigma;        /* [n + 1] noise levels, descending, sigma[n] = 0 */
} lundi__sig;

#define LUNDI__KARRAS_RHO 7.0

/* The common specs with the solvers' defaults (no clipping, linspace spacing, as diffusers)
 * plus use_karras_sigmas. */
#define LUNDI__SIG_SPECS                                                                           \
  LUNDI__SCHED_COMMON_SPECS_DEFAULTS("false", "linspace"),                                        \
  {"use_karras_sigmas", LUNDI_PARAM_BOOL, "false", 0, 0, NULL,                                    \
   "noise levels of Karras et al. 2022 (rho = 7) instead of the spaced timesteps' own"}

/* Stochastic churn (Karras et al. 2022, Algorithm 2) of euler and heun, with diffusers'
 * EulerDiscrete parameter names and defaults (s_tmax: diffusers' inf, here any value above
 * every sigma; parameters must be finite). */
typedef struct lundi__churn {
  double churn, tmin, tmax, noise;
} lundi__churn;

#define LUNDI__CHURN_SPECS                                                                         \
  {"s_churn", LUNDI_PARAM_FLOAT, "0", 0, 1e9, NULL,                                               \
   "stochasticity: gamma = min(s_churn / steps, sqrt(2) - 1) at each step; 0 is the plain ODE"},  \
  {"s_tmin", LUNDI_PARAM_FLOAT, "0", 0, 1e30, NULL, "churn only where sigma >= s_tmin"},          \
  {"s_tmax", LUNDI_PARAM_FLOAT, "1e30", 0, 1e30, NULL, "churn only where sigma <= s_tmax (diffusers: inf)"}, \
  {"s_noise", LUNDI_PARAM_FLOAT, "1.0", 0, 1e9, NULL, "scale of the churn noise (Karras et al.: 1.003 .. 1.007)"}

void lundi__churn_init(lundi__churn *c, const lundi_params *p);
/* sigma_hat = sigma (1 + gamma) of a step at sigma among n; sigma itself when there is no churn. */
double lundi__churn_sigma_hat(const lundi__churn *c, double sigma, int n);
/* x + s_noise z sqrt(sh^2 - s^2) with z drawn from rng (required), for step i's messages. */
lundi_tensor *lundi__churn_apply(const lundi__churn *c, lundi_tensor *x, double s, double sh, int i, lundi_rng *rng);

int lundi__sig_init(lundi__sig *g, const lundi_params *p, lundi__sig_style style);
void lundi__sig_free(lundi__sig *g);
/* Timesteps and sigmas for n steps (1 <= n <= T). */
int lundi__sig_set_timesteps(lundi__sig *g, int n);

/* Linear interpolation of train[T] at a fractional timestep t in [0, T - 1] (np.interp). */
double lundi__sig_interp(const double *train, int T, double t);
/* The fractional timestep of sigma: linear interpolation of log sigma between the two
 * training timesteps around it, clamped to [0, T - 1] (diffusers' _sigma_to_t). */
double lundi__sig_to_t(const double *train, int T, double sigma);
/* Karras et al. 2022 eq. 5: (smax^(1/rho) + k / (n - 1) (smin^(1/rho) - smax^(1/rho)))^rho
 * for k = 0 .. n - 1 (n == 1: smax); the ends are smax and smin exactly. */
void lundi__karras(double smin, double smax, int n, double rho, double *out);

/* init_noise_sigma of the EULER family: the largest sigma, or sqrt(sigma^2 + 1) of it with
 * leading spacing (diffusers' rule); NaN and the error before set_timesteps. */
double lundi__sig_init_noise_sigma(const lundi__sig *g);
/* Checks that set_timesteps ran and 0 <= i < count (count: model evaluations). */
int lundi__sig_check(const lundi__sig *g, int i, int count);
int lundi__sig_check_args(const lundi__sig *g, lundi_tensor *model_out, int i, int count, lundi_tensor *x);

/* img2img: x0 noised with noise to the level of inference step k, sigma_k: x0 + sigma_k
 * noise (vp = 0, the unscaled sample of the EULER family) or that over sqrt(sigma_k^2 + 1)
 * (vp = 1, x_t for dpmpp_2m). Checks k < n and the shapes. */
lundi_tensor *lundi__sig_noise_to(const lundi__sig *g, lundi_tensor *x0, lundi_tensor *noise, int k, int vp);

/* x / sqrt(sigma^2 + 1): the unscaled sample as the model was trained on it (x_t). */
lundi_tensor *lundi__sig_scale(lundi_tensor *x, double sigma);
/* The denoised estimate D (the x0 prediction, clipped or thresholded as configured) implied
 * by model_out at noise level sigma > 0. vp = 0: x is unscaled (x0 + sigma eps, the EULER
 * family); vp = 1: x is x_t = (x0 + sigma eps) / sqrt(sigma^2 + 1) (dpmpp_2m). */
lundi_tensor *lundi__sig_denoised(const lundi__sig *g, lundi_tensor *model_out, lundi_tensor *x, double sigma, int vp);

#endif
