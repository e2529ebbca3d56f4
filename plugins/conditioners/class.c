/* class: class-label conditioning. Labels are ids in [0, num_classes); the null class
 * (unconditional, for classifier-free guidance) is num_classes itself, which is what a
 * denoiser built with num_classes classes reserves as its extra embedding row. */
#include "builtins.h"
#include "lundi/device.h"

#include <math.h>
#include <stdlib.h>

typedef struct klass {
  int num_classes;
  double drop_prob;
} klass;

static const lundi_param_spec specs[] = {
    {"num_classes", LUNDI_PARAM_INT, "10", 1, 1000000, NULL, "number of classes; id num_classes is the null class"},
    {"cond_drop_prob", LUNDI_PARAM_FLOAT, "0.1", 0, 1, NULL,
     "training: chance that a label is replaced by the null class (for guidance)"},
};

static int create(void *user, const lundi_params *p, void **self) {
  (void)user;
  klass *k = calloc(1, sizeof *k);
  if (!k) return lundi_set_error(LUNDI_ENOMEM, "class: out of memory");
  k->num_classes = (int)lundi_params_int(p, "num_classes");
  k->drop_prob = lundi_params_float(p, "cond_drop_prob");
  *self = k;
  return 0;
}

static void destroy(void *self) { free(self); }

/* i32 [n] labels from host ints. */
static int set_labels(lundi_cond *out, const int32_t *ids, int64_t n) {
  lundi_tensor *t = lundi_from_i32(1, (int64_t[]){n}, ids);
  if (!t) return lundi_last_error_code();
  lundi_release(out->labels);
  out->labels = t;
  return 0;
}

static int encode(void *self, lundi_tensor *input, lundi_cond *out) {
  klass *k = self;
  char s[96];
  lundi_dtype dt = lundi_tensor_dtype(input);
  if (lundi_ndim(input) != 1 || (dt != LUNDI_I32 && dt != LUNDI_F32))
    return lundi_set_error(LUNDI_EINVAL, "encode: class ids must be a 1-D i32 or f32 tensor [N], got %s",
                           lundi_describe(input, s, sizeof s));
  int64_t n = lundi_numel(input);
  float *f = malloc(sizeof(float) * (size_t)(n ? n : 1));
  int32_t *ids = malloc(sizeof(int32_t) * (size_t)(n ? n : 1));
  int rc = !f || !ids ? lundi_set_error(LUNDI_ENOMEM, "encode: out of memory") : lundi_read_f32(input, f, n);
  for (int64_t i = 0; !rc && i < n; i++) {
    if (!(f[i] >= 0 && f[i] < k->num_classes && f[i] == floorf(f[i])))
      rc = lundi_set_error(LUNDI_EINVAL, "encode: class id %g at index %lld is not an integer in [0, %d)", (double)f[i],
                           (long long)i, k->num_classes);
    else
      ids[i] = (int32_t)f[i];
  }
  if (!rc) rc = set_labels(out, ids, n);
  free(f);
  free(ids);
  return rc;
}

static int null_cond(void *self, int n, lundi_cond *out) {
  klass *k = self;
  if (n < 1) return lundi_set_error(LUNDI_EINVAL, "null_cond: batch size must be positive, got %d", n);
  int32_t *ids = malloc(sizeof(int32_t) * (size_t)n);
  if (!ids) return lundi_set_error(LUNDI_ENOMEM, "null_cond: out of memory");
  for (int i = 0; i < n; i++) ids[i] = k->num_classes;
  int rc = set_labels(out, ids, n);
  free(ids);
  return rc;
}

/* Draws one uniform per row from rng (always, so the stream advances the same way whatever
 * the labels) and replaces the rows that fall under cond_drop_prob by the null class. */
static int drop(void *self, lundi_cond *c, lundi_rng *rng) {
  klass *k = self;
  if (!c || !c->labels || lundi_ndim(c->labels) != 1)
    return lundi_set_error(LUNDI_EINVAL, "drop: needs a condition with 1-D labels");
  if (!rng) return lundi_set_error(LUNDI_EINVAL, "drop: needs an rng, got NULL");
  int64_t n = lundi_dim(c->labels, 0);
  /* Drawn where models live (the same numbers anywhere), so a GPU step runs no CPU kernel. */
  lundi_tensor *u = lundi_rand_on(rng, 1, (int64_t[]){n}, lundi_default_device());
  if (!u) return lundi_last_error_code();
  float *uf = malloc(sizeof(float) * (size_t)(n ? n : 1)), *lf = malloc(sizeof(float) * (size_t)(n ? n : 1));
  int32_t *ids = malloc(sizeof(int32_t) * (size_t)(n ? n : 1));
  int rc = !uf || !lf || !ids ? lundi_set_error(LUNDI_ENOMEM, "drop: out of memory") : lundi_read_f32(u, uf, n);
  if (!rc) rc = lundi_read_f32(c->labels, lf, n);
  if (!rc) {
    for (int64_t i = 0; i < n; i++) ids[i] = uf[i] < k->drop_prob ? k->num_classes : (int32_t)lf[i];
    rc = set_labels(c, ids, n); /* a fresh tensor: the caller's labels may be shared */
  }
  lundi_release(u);
  free(uf);
  free(lf);
  free(ids);
  return rc;
}

static const lundi_conditioner_api api = {
    .encode = encode,
    .null_cond = null_cond,
    .drop = drop,
};

int lundi_builtin_class(lundi_registry *r) {
  lundi_plugin_desc d = {
      .abi_version = LUNDI_ABI_VERSION,
      .kind = LUNDI_CONDITIONER,
      .name = "class",
      .version = "1.0.0",
      .description = "class labels (i32 ids) with a null class for classifier-free guidance",
      .params = specs,
      .n_params = (int)(sizeof specs / sizeof *specs),
      .create = create,
      .destroy = destroy,
      .api = &api,
  };
  return lundi_register(r, &d, NULL);
}
