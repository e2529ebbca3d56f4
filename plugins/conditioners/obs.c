/* obs: the observation history of an action policy (Diffusion Policy's global condition).
 * encode maps f32 [B, obs_horizon, obs_dim] to cond.vector f32 [B, obs_horizon * obs_dim],
 * each feature min-max normalised to [-1, 1] (lundi/minmax.h) with the limits fitted on the
 * demonstrations (lundi_minmax_fit_text), given as the obs_min / obs_max parameters so they
 * are saved with the model's parameters. No null condition: policies use no guidance. */
#include "builtins.h"
#include "lundi/minmax.h"

#include <stdlib.h>
#include <string.h>

typedef struct obs {
  int dim, horizon;
  float *min, *max; /* [dim] each, one allocation */
} obs;

static const lundi_param_spec specs[] = {
    {"obs_dim", LUNDI_PARAM_INT, "5", 1, 4096, NULL, "features per observation (Push-T: 5)"},
    {"obs_horizon", LUNDI_PARAM_INT, "2", 1, 64, NULL, "observations per condition (To)"},
    {"obs_min", LUNDI_PARAM_STRING, "", 0, 0, NULL, "per-feature minima, obs_dim comma-separated numbers"},
    {"obs_max", LUNDI_PARAM_STRING, "", 0, 0, NULL, "per-feature maxima, obs_dim comma-separated numbers"},
};

static void destroy(void *self) {
  obs *o = self;
  if (o) free(o->min);
  free(o);
}

static int create(void *user, const lundi_params *p, void **self) {
  (void)user;
  obs *o = calloc(1, sizeof *o);
  if (!o) return lundi_set_error(LUNDI_ENOMEM, "obs: out of memory");
  o->dim = (int)lundi_params_int(p, "obs_dim");
  o->horizon = (int)lundi_params_int(p, "obs_horizon");
  const char *lo = lundi_params_string(p, "obs_min"), *hi = lundi_params_string(p, "obs_max");
  int rc = 0;
  if (!*lo != !*hi) rc = lundi_set_error(LUNDI_EINVAL, "obs: obs_min and obs_max go together; got only %s", *lo ? "obs_min" : "obs_max");
  if (!rc && *lo) {
    o->min = malloc(sizeof(float) * 2 * (size_t)o->dim);
    o->max = o->min + o->dim;
    rc = !o->min ? lundi_set_error(LUNDI_ENOMEM, "obs: out of memory") : lundi_minmax_parse(lo, o->min, o->dim, "obs: obs_min");
    if (!rc) rc = lundi_minmax_parse(hi, o->max, o->dim, "obs: obs_max");
    for (int j = 0; !rc && j < o->dim; j++)
      if (o->min[j] > o->max[j])
        rc = lundi_set_error(LUNDI_EINVAL, "obs: feature %d has obs_min %g > obs_max %g", j, (double)o->min[j],
                             (double)o->max[j]);
  }
  if (rc) {
    destroy(o);
    return rc;
  }
  *self = o;
  return 0;
}

static int encode(void *self, lundi_tensor *input, lundi_cond *out) {
  obs *o = self;
  char s[96];
  if (!o->min)
    return lundi_set_error(LUNDI_ESTATE, "obs: encode needs the normaliser's limits: set obs_min and obs_max "
                                         "(lundi_minmax_fit_text fits them on a demonstration file)");
  if (lundi_tensor_dtype(input) != LUNDI_F32 || lundi_ndim(input) != 3 || lundi_dim(input, 1) != o->horizon ||
      lundi_dim(input, 2) != o->dim)
    return lundi_set_error(LUNDI_ESHAPE, "obs: encode needs f32 [B, %d, %d] (B, obs_horizon, obs_dim), got %s",
                           o->horizon, o->dim, lundi_describe(input, s, sizeof s));
  lundi_tensor *n = lundi_minmax_apply(input, o->min, o->max, o->dim, 0, "obs");
  lundi_tensor *v = n ? lundi_reshape(n, 2, (int64_t[]){lundi_dim(input, 0), (int64_t)o->horizon * o->dim}) : NULL;
  lundi_release(n);
  if (!v) return lundi_last_error_code();
  lundi_release(out->vector);
  out->vector = v;
  return 0;
}

static int null_cond(void *self, int n, lundi_cond *out) {
  (void)self, (void)n, (void)out;
  return lundi_set_error(LUNDI_EUNSUPPORTED, "obs: no null condition (action policies sample without guidance)");
}

static const lundi_conditioner_api api = {.encode = encode, .null_cond = null_cond};

int lundi_builtin_obs(lundi_registry *r) {
  lundi_plugin_desc d = {
      .abi_version = LUNDI_ABI_VERSION,
      .kind = LUNDI_CONDITIONER,
      .name = "obs",
      .version = "1.0.0",
      .description = "observation history, min-max normalised to [-1, 1], as a global condition vector",
      .params = specs,
      .n_params = (int)(sizeof specs / sizeof *specs),
      .create = create,
      .destroy = destroy,
      .api = &api,
  };
  return lundi_register(r, &d, NULL);
}
