#include "common.h"

#include <math.h>
#include <stdarg.h>
#include <stdlib.h>

lundi_registry *bt_registry(void) {
  lundi_registry *r = lundi_registry_new();
  if (!r || lundi_registry_load_builtins(r)) {
    fprintf(stderr, "cannot load the built-in plugins: %s\n", lundi_last_error());
    lundi_registry_free(r);
    return NULL;
  }
  return r;
}

lundi_instance *bt_make(lundi_registry *r, lundi_plugin_kind k, const char *name, ...) {
  const lundi_plugin *p = lundi_registry_find(r, k, name);
  if (!p) return NULL;
  lundi_params *ps = lundi_plugin_params(p);
  va_list ap;
  va_start(ap, name);
  const char *key;
  int rc = ps ? 0 : -1;
  while (!rc && (key = va_arg(ap, const char *))) rc = lundi_params_set(ps, key, va_arg(ap, const char *));
  va_end(ap);
  lundi_instance *inst = rc ? NULL : lundi_instance_new(p, ps);
  lundi_params_free(ps);
  return inst;
}

double bt_ab_linear(int t) {
  double p = 1;
  for (int i = 0; i <= t; i++) p *= 1 - (1e-4 + (0.02 - 1e-4) * i / 999.0);
  return p;
}

lundi_tensor *bt_tensor(int ndim, const int64_t *shape, const float *v) { return lundi_from_f32(ndim, shape, v); }

lundi_tensor *bt_gauss_oracle(lundi_tensor *x, lundi_tensor *t, double (*alpha_of)(double t), const double *m,
                              const double *s, int np, int pred) {
  int64_t n = lundi_dim(x, 0), d = lundi_numel(x) / n;
  float *xv = t_read(x), *tv = t_read(t), *out = malloc(sizeof(float) * (size_t)(n * d));
  for (int64_t r = 0; r < n; r++) {
    double a = alpha_of(tv[r]);
    for (int64_t j = 0; j < d; j++) {
      double mj = m[j % np], sj = s ? s[j % np] : 0, V = a * sj * sj + 1 - a, dx = xv[r * d + j] - sqrt(a) * mj;
      double eps = sqrt(1 - a) * dx / V, x0 = mj + sqrt(a) * sj * sj * dx / V;
      out[r * d + j] = (float)(pred == 0 ? eps : pred == 1 ? x0 : sqrt(a) * eps - sqrt(1 - a) * x0);
    }
  }
  lundi_tensor *o = lundi_from_f32(lundi_ndim(x), lundi_shape(x), out);
  free(xv);
  free(tv);
  free(out);
  return o;
}

double bt_sigma_at(const double *ts, int T, double t, int logint) {
  if (t <= 0) return ts[0];
  if (t >= T - 1) return ts[T - 1];
  int lo = (int)floor(t);
  double w = t - lo;
  return logint ? exp(log(ts[lo]) + w * (log(ts[lo + 1]) - log(ts[lo]))) : ts[lo] + w * (ts[lo + 1] - ts[lo]);
}
