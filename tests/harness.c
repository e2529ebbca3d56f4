#include "harness.h"

int t_failures;

int test_main(int argc, char **argv, const test_case *cases, int n) {
  const char *only = argc > 1 ? argv[1] : NULL;
  int ran = 0, failed = 0;
  for (int i = 0; i < n; i++) {
    if (only && strcmp(only, cases[i].name)) continue;
    int before = t_failures;
    lundi_clear_error();
    cases[i].fn();
    ran++;
    int bad = t_failures != before;
    failed += bad;
    printf("%-40s %s\n", cases[i].name, bad ? "FAIL" : "ok");
  }
  if (only && !ran) {
    fprintf(stderr, "no test case named '%s'\n", only);
    return 2;
  }
  return failed ? 1 : 0;
}

lundi_tensor *t_randn(lundi_rng *rng, int ndim, const int64_t *shape, float scale, int requires_grad) {
  lundi_tensor *t = lundi_empty(ndim, shape, LUNDI_F32, NULL);
  if (!t) return NULL;
  lundi_normal_(t, rng, 0, scale);
  if (requires_grad) lundi_set_requires_grad(t, 1);
  return t;
}

float *t_read(lundi_tensor *t) {
  int64_t n = lundi_numel(t);
  float *p = malloc(sizeof(float) * (size_t)(n ? n : 1));
  if (p && lundi_read_f32(t, p, n)) {
    free(p);
    return NULL;
  }
  return p;
}

double t_max_abs_diff(lundi_tensor *a, lundi_tensor *b) {
  if (lundi_numel(a) != lundi_numel(b)) return INFINITY;
  float *x = t_read(a), *y = t_read(b);
  double m = 0;
  for (int64_t i = 0; x && y && i < lundi_numel(a); i++) {
    double d = fabs((double)x[i] - y[i]);
    if (d > m || isnan(d)) m = isnan(d) ? INFINITY : d;
  }
  free(x);
  free(y);
  return m;
}

int64_t t_rand_dim(uint64_t *state, int lo, int hi) {
  static _Thread_local uint64_t *seeded[16];
  static _Thread_local int n_seeded;
  const char *env = getenv("LUNDI_TEST_SEED");
  int known = 0;
  for (int i = 0; i < n_seeded; i++) known |= seeded[i] == state;
  if (env && !known && n_seeded < 16) {
    *state = strtoull(env, NULL, 10);
    seeded[n_seeded++] = state;
  }
  *state = *state * 6364136223846793005ULL + 1442695040888963407ULL;
  return lo + (int64_t)((*state >> 33) % (uint64_t)(hi - lo + 1));
}
