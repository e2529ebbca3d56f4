/* Helpers shared by the built-in plugin tests. */
#ifndef LUNDI_TEST_BUILTIN_COMMON_H
#define LUNDI_TEST_BUILTIN_COMMON_H

#include "harness.h"
#include "lundi/plugin.h"

/* A registry with every built-in plugin (and the test's, when given). */
lundi_registry *bt_registry(void);
/* An instance of a registered plugin with "key", "value" pairs (NULL-terminated); NULL and
 * the error set when a setter or create fails. */
lundi_instance *bt_make(lundi_registry *r, lundi_plugin_kind k, const char *name, ...);
/* alphas_cumprod of the default linear schedule (1e-4 .. 0.02), T = 1000, double. */
double bt_ab_linear(int t);
/* The ideal model output for per-pixel Gaussian data N(m[j % np], s[j % np]^2) (s NULL: a
 * point mass at m), for x_t with one timestep per row: a = alpha_of(t[r]) is that row's
 * alphas_cumprod and, with V = a s^2 + 1 - a,
 *   eps = sqrt(1 - a) (x_t - sqrt(a) m) / V,  x0 = m + sqrt(a) s^2 (x_t - sqrt(a) m) / V,
 *   v = sqrt(a) eps - sqrt(1 - a) x0;  pred 0 eps, 1 x0 ("sample"), 2 v. */
lundi_tensor *bt_gauss_oracle(lundi_tensor *x, lundi_tensor *t, double (*alpha_of)(double t), const double *m,
                              const double *s, int np, int pred);
/* sigma at a fractional timestep t of a table ts[0..T): linear interpolation of sigma, or
 * of log sigma (logint; Karras timesteps), clamped to the ends, as the schedulers map it. */
double bt_sigma_at(const double *ts, int T, double t, int logint);
/* Reads a tensor into a malloc'd float array (t_read) and frees later. */
lundi_tensor *bt_tensor(int ndim, const int64_t *shape, const float *v);

#endif
