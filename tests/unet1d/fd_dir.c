#include "fd_dir.h"

static double loss_at(gc_fn f, lundi_tensor **in, void *ctx, const float *R, int64_t nr) {
  lundi_no_grad_enter();
  lundi_tensor *y = f(in, ctx);
  lundi_no_grad_exit();
  if (!y || lundi_numel(y) != nr) {
    lundi_release(y);
    return NAN;
  }
  float *v = t_read(y);
  double s = 0;
  for (int64_t i = 0; i < nr; i++) s += (double)v[i] * R[i];
  free(v);
  lundi_release(y);
  return s;
}

/* The five-point derivative of L along v (m elements of x, from x0) at step h. */
static double directional(gc_fn f, lundi_tensor **in, void *ctx, const float *R, int64_t nr, float *x,
                          const float *x0, const double *v, int64_t m, double h) {
  const double steps[4] = {h, -h, 2 * h, -2 * h};
  double l[4];
  for (int s = 0; s < 4; s++) {
    for (int64_t i = 0; i < m; i++) x[i] = (float)(x0[i] + steps[s] * v[i]);
    l[s] = loss_at(f, in, ctx, R, nr);
  }
  for (int64_t i = 0; i < m; i++) x[i] = x0[i];
  return (8 * (l[0] - l[1]) - (l[2] - l[3])) / (12 * h);
}

double fd_dir_check(const char *what, gc_fn f, int n, lundi_tensor **in, char **names, void *ctx, double h,
                    double rtol, double atol, int64_t max_elems, int n_dirs) {
  for (int k = 0; k < n; k++) lundi_zero_grad(in[k]);
  lundi_tensor *y = f(in, ctx);
  if (!y) {
    fprintf(stderr, "[%s] forward failed: %s\n", what, lundi_last_error());
    return -1;
  }
  lundi_rng rng = lundi_rng_make(777);
  lundi_tensor *Rt = lundi_randn(&rng, lundi_ndim(y), lundi_shape(y));
  int64_t nr = lundi_numel(y);
  int bad = lundi_backward(y, Rt);
  lundi_release(y);
  float *R = t_read(Rt);
  lundi_release(Rt);
  if (bad) {
    fprintf(stderr, "[%s] backward failed: %s\n", what, lundi_last_error());
    free(R);
    return -1;
  }
  double worst = 0;
  int printed = 0;
  uint64_t state = 0x9E3779B97F4A7C15ull;
  for (int k = 0; k < n; k++) {
    lundi_tensor *g = lundi_grad(in[k]);
    int64_t m = lundi_numel(in[k]);
    float *ga = g ? t_read(g) : calloc((size_t)m + 1, sizeof(float)), *x = lundi_data(in[k]);
    float *x0 = malloc(sizeof(float) * (size_t)m);
    double *v = calloc((size_t)m, sizeof(double));
    memcpy(x0, x, sizeof(float) * (size_t)m);
    int64_t dirs = m <= max_elems ? m : n_dirs;
    for (int64_t d = 0; d < dirs; d++) {
      double ana = 0, norm = 0;
      if (m <= max_elems) {
        if (d) v[d - 1] = 0;
        v[d] = 1, ana = ga[d];
      } else {
        for (int64_t i = 0; i < m; i++) { /* a Gaussian from two uniforms of an LCG */
          state = state * 6364136223846793005ull + 1442695040888963407ull;
          double u1 = ((state >> 11) + 0.5) / 9007199254740992.0;
          state = state * 6364136223846793005ull + 1442695040888963407ull;
          double u2 = (state >> 11) / 9007199254740992.0;
          v[i] = sqrt(-2 * log(u1)) * cos(6.283185307179586 * u2);
          norm += v[i] * v[i];
        }
        norm = sqrt(norm);
        for (int64_t i = 0; i < m; i++) v[i] /= norm, ana += ga[i] * v[i];
      }
      double num = directional(f, in, ctx, R, nr, x, x0, v, m, h);
      double ratio = fabs(num - ana) / (atol + rtol * fabs(num));
      if (!(ratio <= 1) && printed++ < 5)
        fprintf(stderr, "[%s] %s %s %lld: analytic %.6g numeric %.6g\n", what, names[k],
                m <= max_elems ? "element" : "direction", (long long)d, ana, num);
      worst = isnan(ratio) || ratio > worst ? (isnan(ratio) ? INFINITY : ratio) : worst;
    }
    free(ga), free(x0), free(v);
  }
  free(R);
  return worst;
}
