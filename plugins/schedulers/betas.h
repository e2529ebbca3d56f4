/* Noise-schedule arithmetic shared by the ddpm and ddim schedulers, in double precision:
 * beta schedules and the spacing of inference timesteps (diffusers' names and rules).
 * Internal to liblundi. */
#ifndef LUNDI_SCHEDULERS_BETAS_H
#define LUNDI_SCHEDULERS_BETAS_H

#define LUNDI__BETA_SCHEDULES "linear|scaled_linear|squaredcos_cap_v2|sigmoid"
#define LUNDI__SPACINGS "leading|trailing|linspace"

/* betas[T] of a schedule. linear: evenly spaced from beta_start to beta_end; scaled_linear:
 * the square of evenly spaced square roots; squaredcos_cap_v2: Nichol & Dhariwal's cosine
 * alpha-bar (s = 0.008), each beta capped at 0.999; sigmoid: beta_start + (beta_end -
 * beta_start) * sigmoid(linspace(-6, 6)). Every beta must lie in (0, 1). 0 or LUNDI_EINVAL. */
int lundi__betas(const char *schedule, int T, double beta_start, double beta_end, double *betas);

/* ab[i] = prod_{j <= i} (1 - betas[j]). */
void lundi__alphas_cumprod(int T, const double *betas, double *ab);

/* The n inference timesteps, descending, into out[n]:
 *   leading:  k * (T / n) for k = n-1 .. 0 (integer division), plus steps_offset;
 *   trailing: round(T - k * T / n) - 1 for k = 0 .. n-1;
 *   linspace: round(linspace(0, T - 1, n)), reversed (ties to even, like numpy).
 * n must be in [1, T]; a timestep pushed past T - 1 by steps_offset is refused. */
int lundi__spacing(const char *spacing, int T, int n, int steps_offset, int *out);

#endif
