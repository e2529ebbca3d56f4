#include "gradcheck.h"

static double loss_of(gc_fn f, lundi_tensor **in, void *ctx, const float *R, int64_t nr, int *ok) {
  lundi_no_grad_enter();
  lundi_tensor *y = f(in, ctx);
  lundi_no_grad_exit();
  if (!y || lundi_numel(y) != nr) {
    *ok = 0;
    lundi_release(y);
    return 0;
  }
  float *v = t_read(y);
  double s = 0;
  for (int64_t i = 0; i < nr; i++) s += (double)v[i] * R[i];
  free(v);
  lundi_release(y);
  return s;
}

int gradcheck(const char *name, gc_fn f, int n, lundi_tensor **in, void *ctx, const gc_opts *o) {
  double h = o && o->h > 0 ? o->h : 1e-2, rtol = o && o->rtol > 0 ? o->rtol : 2e-2,
         atol = o && o->atol > 0 ? o->atol : 2e-3;
  int bad = 0;
  for (int k = 0; k < n; k++) lundi_zero_grad(in[k]);
  lundi_tensor *y = f(in, ctx);
  if (!y) {
    fprintf(stderr, "[%s] forward failed: %s\n", name, lundi_last_error());
    t_failures++;
    return 1;
  }
  int64_t nr = lundi_numel(y);
  lundi_rng rng = lundi_rng_make(777);
  lundi_tensor *Rt = lundi_randn(&rng, lundi_ndim(y), lundi_shape(y));
  float *R = t_read(Rt);
  /* analytic: backward of sum(y * R) seeds grad R */
  if (lundi_backward(y, Rt)) {
    fprintf(stderr, "[%s] backward failed: %s\n", name, lundi_last_error());
    t_failures++;
    bad = 1;
  }
  lundi_release(y);
  lundi_release(Rt);
  for (int k = 0; k < n && !bad; k++) {
    lundi_tensor *g = lundi_grad(in[k]);
    int64_t m = lundi_numel(in[k]);
    float *ga = g ? t_read(g) : calloc((size_t)m + 1, sizeof(float));
    float *x = lundi_data(in[k]);
    int worst = 0;
    for (int64_t i = 0; i < m; i++) {
      float x0 = x[i];
      int ok = 1;
      x[i] = (float)(x0 + h);
      double lp = loss_of(f, in, ctx, R, nr, &ok);
      x[i] = (float)(x0 - h);
      double lm = loss_of(f, in, ctx, R, nr, &ok);
      x[i] = x0;
      double num = (lp - lm) / (2 * h);
      double err = fabs(num - ga[i]);
      if (!ok || !(err <= atol + rtol * fabs(num))) {
        if (worst++ < 5)
          fprintf(stderr, "[%s] input %d elem %lld: analytic %.6g numeric %.6g\n", name, k, (long long)i,
                  ga[i], num);
        bad = 1;
      }
    }
    free(ga);
  }
  free(R);
  if (bad) t_failures++;
  return bad;
}
