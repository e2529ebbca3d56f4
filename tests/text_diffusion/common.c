#include "common.h"

#include <stdarg.h>
#include <stdlib.h>

int td_calls;
int64_t td_rows;
float td_last_t[64];

typedef struct td {
  td_logits_fn fn;
  int64_t V;
} td;

static int td_create(void *user, const lundi_params *p, void **self) {
  td *d = calloc(1, sizeof *d);
  if (!d) return LUNDI_ENOMEM;
  d->fn = (td_logits_fn)user;
  d->V = lundi_params_int(p, "vocab");
  *self = d;
  return 0;
}

static void td_destroy(void *self) { free(self); }

static lundi_tensor *td_forward(void *self, lundi_tensor *x, lundi_tensor *t, const lundi_cond *cond, lundi_rng *rng) {
  (void)cond, (void)rng;
  td *d = self;
  if (lundi_ndim(x) != 2 || lundi_tensor_dtype(x) != LUNDI_I32) {
    lundi_set_error(LUNDI_EINVAL, "td: tokens must be i32 [N, L]");
    return NULL;
  }
  int64_t N = lundi_dim(x, 0), L = lundi_dim(x, 1), V = d->V;
  int32_t *xv = td_read_tokens(x);
  float *out = malloc(sizeof *out * (size_t)(N * L * V)), *tv = t_read(t);
  for (int64_t n = 0; n < N; n++) d->fn(xv + n * L, L, V, out + n * L * V);
  for (int64_t n = 0; n < N && n < 64; n++) td_last_t[n] = tv[n];
  td_calls++;
  td_rows += N;
  lundi_tensor *y = lundi_from_f32(3, (int64_t[]){N, L, V}, out);
  free(xv);
  free(tv);
  free(out);
  return y;
}

static const lundi_denoiser_api td_api = {.forward = td_forward};
static const lundi_param_spec td_specs[] = {{"vocab", LUNDI_PARAM_INT, "4", 1, 100000, NULL, "logits per position"}};

int td_register(lundi_registry *r, const char *name, td_logits_fn fn) {
  lundi_plugin_desc d = {.abi_version = LUNDI_ABI_VERSION, .kind = LUNDI_DENOISER, .name = name, .version = "test",
                         .description = "a test denoiser", .params = td_specs, .n_params = 1, .create = td_create,
                         .destroy = td_destroy, .api = &td_api, .user = (void *)fn};
  return lundi_register(r, &d, "test");
}

lundi_registry *td_registry(void) {
  lundi_registry *r = lundi_registry_new();
  if (!r || lundi_registry_load_builtins(r)) {
    fprintf(stderr, "cannot load the built-in plugins: %s\n", lundi_last_error());
    lundi_registry_free(r);
    return NULL;
  }
  return r;
}

lundi_instance *td_make(lundi_registry *r, lundi_plugin_kind k, const char *name, ...) {
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

lundi_tensor *td_tokens(int64_t n, int64_t L, const int32_t *v) { return lundi_from_i32(2, (int64_t[]){n, L}, v); }

int32_t *td_read_tokens(lundi_tensor *t) {
  int64_t n = lundi_numel(t);
  float *f = t_read(t);
  int32_t *v = malloc(sizeof *v * (size_t)(n ? n : 1));
  for (int64_t k = 0; k < n; k++) v[k] = (int32_t)f[k];
  free(f);
  return v;
}

double td_hash(uint64_t a, uint64_t b, uint64_t c) {
  uint64_t z = a * 0x9E3779B97F4A7C15ull ^ (b + 0x632BE59BD9B4E019ull) * 0xBF58476D1CE4E5B9ull ^ c * 0x94D049BB133111EBull;
  z ^= z >> 31;
  z *= 0xD6E8FEB86659FD93ull;
  z ^= z >> 29;
  return (double)(z >> 11) / (double)(1ull << 52) - 1.0;
}
