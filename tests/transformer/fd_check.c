#include "fd_check.h"

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

double fd_check(const char *what, gc_fn f, int n, lundi_tensor **in, char **names, void *ctx, double h, double rtol,
                double atol) {
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
  for (int k = 0; k < n; k++) {
    lundi_tensor *g = lundi_grad(in[k]);
    int64_t m = lundi_numel(in[k]);
    float *ga = g ? t_read(g) : calloc((size_t)m + 1, sizeof(float)), *x = lundi_data(in[k]);
    for (int64_t i = 0; i < m; i++) {
      float x0 = x[i];
      double l[4];
      const double steps[4] = {h, -h, 2 * h, -2 * h};
      for (int s = 0; s < 4; s++) {
        x[i] = (float)(x0 + steps[s]);
        l[s] = loss_at(f, in, ctx, R, nr);
      }
      x[i] = x0;
      double num = (8 * (l[0] - l[1]) - (l[2] - l[3])) / (12 * h);
      double ratio = fabs(num - ga[i]) / (atol + rtol * fabs(num));
      if (!(ratio <= 1) && printed++ < 5)
        fprintf(stderr, "[%s] %s[%lld]: analytic %.6g numeric %.6g\n", what, names[k], (long long)i, ga[i], num);
      worst = isnan(ratio) || ratio > worst ? (isnan(ratio) ? INFINITY : ratio) : worst;
    }
    free(ga);
  }
  free(R);
  return worst;
}
