/* See vulkan_pair.h. */
#include "vulkan_pair.h"

#include <sys/wait.h>
#include <unistd.h>

lundi_device *need_device(void) {
  if (lundi_device_count() == 0) {
    printf("skipped: %s\n", lundi_vulkan_unavailable_reason());
    fflush(stdout);
    exit(77);
  }
  lundi_device *d = lundi_vulkan_device(-1);
  CHECK(d != NULL);
  if (!d) exit(1);
  return d;
}

int run_child(const char *case_name, const char *const *env) {
  fflush(stdout);
  fflush(stderr);
  pid_t pid = fork();
  if (pid == 0) {
    for (int i = 0; env[i]; i += 2) setenv(env[i], env[i + 1], 1);
    setenv("LUNDI_TEST_CHILD", "1", 1);
    execl("/proc/self/exe", "lundi-test-child", case_name, (char *)NULL);
    _exit(127);
  }
  int st = 0;
  if (pid < 0 || waitpid(pid, &st, 0) != pid) return -1;
  return WIFEXITED(st) ? WEXITSTATUS(st) : 128 + WTERMSIG(st);
}

static uint64_t lcg_state = 0x9e3779b97f4a7c15ULL;
uint32_t lcg(void) {
  lcg_state = lcg_state * 6364136223846793005ULL + 1442695040888963407ULL;
  return (uint32_t)(lcg_state >> 32);
}
float unif(float lo, float hi) {
  return lo + (hi - lo) * (float)(lcg() >> 8) * (1.0f / 16777216.0f);
}

float value(int kind) {
  uint32_t r = lcg() % 100;
  switch (kind) {
  case V_DYADIC:
    return (float)((int)(lcg() % 17) - 8) / 8.0f; /* k/8, |x| <= 1: sums stay exact */
  case V_POSITIVE:
    return unif(0.01f, 6.0f);
  case V_SPECIAL:
    if (r < 4) return NAN;
    if (r < 6) return INFINITY;
    if (r < 8) return -INFINITY;
    if (r < 10) return 0.0f;
    if (r < 12) return -0.0f;
    /* fall through */
  default:
    return r < 85 ? unif(-4, 4) : unif(-30, 30);
  }
}

pair pair_make(lundi_device *dev, lundi_dtype dt, int nd, const int64_t *shape,
               const int64_t *stride, int64_t off, int64_t total, int kind) {
  pair p = {0};
  p.total = total;
  float *v = malloc(sizeof(float) * (size_t)total);
  for (int64_t i = 0; i < total; i++) v[i] = kind < 0 ? SENTINEL : value(kind);
  lundi_tensor *f = lundi_from_f32(1, &total, v);
  free(v);
  if (dt == LUNDI_I32 && kind >= 0) { /* integers in a range every dtype holds exactly */
    int32_t *iv = malloc(sizeof(int32_t) * (size_t)total);
    for (int64_t i = 0; i < total; i++) iv[i] = (int32_t)(lcg() % 2001) - 1000;
    p.hw = lundi_from_i32(1, &total, iv);
    free(iv);
  } else {
    p.hw = dt == LUNDI_F32 ? lundi_retain(f) : lundi_to_dtype(f, dt);
  }
  lundi_release(f);
  p.dw = p.hw ? lundi_to_device(p.hw, dev) : NULL;
  if (!p.dw) return p;
  p.h = lundi__view(p.hw, nd, shape, stride, off);
  p.d = lundi__view(p.dw, nd, shape, stride, off);
  return p;
}

pair pair_contig(lundi_device *dev, lundi_dtype dt, int nd, const int64_t *shape, int64_t pre,
                 int64_t post, int kind) {
  int64_t st[LUNDI_MAX_DIMS];
  lundi__contig_strides(nd, shape, st);
  int64_t n = lundi__numel(nd, shape);
  return pair_make(dev, dt, nd, shape, st, pre, pre + n + post, kind);
}

void pair_free(pair *p) {
  lundi_release(p->h);
  lundi_release(p->d);
  lundi_release(p->hw);
  lundi_release(p->dw);
  memset(p, 0, sizeof *p);
}

/* Which elements of the whole storage a view covers. */
char *coverage(const lundi_tensor *v, int64_t total) {
  char *m = calloc((size_t)total, 1);
  int64_t n = lundi_numel((lundi_tensor *)v);
  for (int64_t i = 0; i < n; i++) {
    int64_t off = v->offset, r = i;
    for (int k = v->ndim - 1; k >= 0; k--) {
      off += (r % v->shape[k]) * v->stride[k];
      r /= v->shape[k];
    }
    m[off] = 1;
  }
  return m;
}

/* Storage position of logical element j of a view. */
int64_t pos_of(const lundi_tensor *v, int64_t j) {
  int64_t off = v->offset;
  for (int k = v->ndim - 1; k >= 0; k--) {
    off += (j % v->shape[k]) * v->stride[k];
    j /= v->shape[k];
  }
  return off;
}

/* Runs kernel c on both backends: c's tensors are replaced by the host or device side of
 * pairs in[] / out[]. */
int run_both(lundi_kcall c, pair *in, int n_in, pair *out, int n_out) {
  lundi_kcall h = c, d = c;
  h.n_in = d.n_in = n_in;
  h.n_out = d.n_out = n_out;
  for (int k = 0; k < n_in; k++) h.in[k] = in[k].h, d.in[k] = in[k].d;
  for (int k = 0; k < n_out; k++) h.out[k] = out[k].h, d.out[k] = out[k].d;
  int rh = lundi__dispatch(&h);
  int rd = rh ? rh : lundi__dispatch(&d);
  CHECK(rh == 0 && rd == 0);
  return rh || rd;
}

int64_t compare_f32(const char *what, pair *o, tol t) {
  lundi_tensor *back = lundi_to_device(o->dw, lundi_cpu());
  CHECK(back != NULL);
  if (!back) return 1;
  const float *x = lundi_data(o->hw), *y = lundi_data(back);
  char *cov = coverage(o->h, o->total);
  int64_t bad = 0, first = -1;
  double worst = 0;
  for (int64_t i = 0; i < o->total; i++) {
    int ok;
    if (!cov[i])
      ok = !memcmp(&x[i], &y[i], 4);
    else if (isnan(x[i]) || isnan(y[i]))
      ok = isnan(x[i]) && isnan(y[i]);
    else if (isinf(x[i]) || isinf(y[i]))
      ok = x[i] == y[i];
    else {
      /* (signed zeros compare equal: Vulkan does not promise to keep the sign of a zero) */
      double b = t.bound && !isnan(t.bound[i]) ? t.bound[i] : 0;
      double e = fabs((double)x[i] - y[i]), lim = t.rel * fabs(x[i]) + t.abs + b;
      ok = e <= lim;
      if (lim > 0 && e / lim > worst) worst = e / lim;
    }
    if (!ok && first < 0) first = i;
    bad += !ok;
  }
  if (bad)
    fprintf(stderr, "%s: %lld mismatches of %lld; first at %lld (%s): cpu %.9g vulkan %.9g\n", what,
            (long long)bad, (long long)o->total, (long long)first,
            cov[first] ? "inside the view" : "SENTINEL", x[first], y[first]);
  else if (getenv("LUNDI_TEST_VERBOSE"))
    printf("%s: ok, worst error %.3f of the tolerance\n", what, worst);
  free(cov);
  lundi_release(back);
  CHECK(bad == 0);
  return bad;
}

int64_t compare_bits(const char *what, pair *o) {
  lundi_tensor *back = lundi_to_device(o->dw, lundi_cpu());
  CHECK(back != NULL);
  if (!back) return 1;
  size_t es = lundi_dtype_size(lundi_tensor_dtype(o->hw));
  const unsigned char *x = lundi_data(o->hw), *y = lundi_data(back);
  int64_t bad = 0, first = -1;
  for (int64_t i = 0; i < o->total; i++)
    if (memcmp(x + i * es, y + i * es, es)) {
      if (first < 0) first = i;
      bad++;
    }
  if (bad)
    fprintf(stderr, "%s: %lld of %lld elements differ, first at %lld\n", what, (long long)bad,
            (long long)o->total, (long long)first);
  lundi_release(back);
  CHECK(bad == 0);
  return bad;
}

void pair_sync(pair *p) {
  lundi_tensor *dw = lundi_to_device(p->hw, lundi_tensor_device(p->dw));
  CHECK(dw != NULL);
  if (!dw) return;
  lundi_tensor *d = lundi__view(dw, p->h->ndim, p->h->shape, p->h->stride, p->h->offset);
  lundi_release(p->d);
  lundi_release(p->dw);
  p->dw = dw;
  p->d = d;
}

float *pair_host(pair *p) {
  return (float *)lundi_data(p->hw) + p->h->offset;
}
