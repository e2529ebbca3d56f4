/* flow_euler: a rectified-flow (flow-matching) scheduler as an out-of-tree C plugin.
 *
 * Build it outside lundi's tree against an installed lundi:
 *
 *   cc -shared -fPIC -O2 $(pkg-config --cflags lundi) flow_euler.c -o flow_euler.so \
 *      $(pkg-config --libs lundi)
 *
 * then load it with `lundi --plugin ./flow_euler.so ...` or put it in a directory listed in
 * LUNDI_PLUGIN_PATH. It uses only lundi's public headers.
 *
 * The model: with s = t / num_train_timesteps in [0, 1],
 *   x_s = (1 - s) x0 + s noise        (a straight line from data to noise)
 *   v   = noise - x0                   (the denoiser's regression target, dx/ds)
 * Sampling integrates dx/ds = v from s = 1 to s = 0 with Euler steps:
 *   x_next = x + (s_next - s) v.
 * shift warps the inference grid towards the noisy end, as in SD3:
 *   s' = shift s / (1 + (shift - 1) s)   (shift 1 is the identity; 0 and 1 stay fixed).
 * timestep_spacing: "linspace" spaces the grid evenly from s = 1 (pure noise) to 0;
 * "trailing" starts at the last trained timestep, s = (T - 1) / T, instead of 1.
 * Training timesteps are not shifted.
 */
#include "lundi/lundi.h"
#include "lundi/plugin.h"

#include <math.h>
#include <stdlib.h>

typedef struct flow {
  int T;        /* num_train_timesteps */
  double shift;
  int trailing;
  int n;        /* inference steps; 0 before set_timesteps */
  double *s;    /* n + 1 grid points, s[0] (noisiest) .. s[n] = 0 */
} flow;

static int flow_create(void *user, const lundi_params *p, void **self) {
  (void)user;
  flow *f = calloc(1, sizeof *f);
  if (!f) return lundi_set_error(LUNDI_ENOMEM, "out of memory");
  f->T = (int)lundi_params_int(p, "num_train_timesteps");
  f->shift = lundi_params_float(p, "shift");
  const char *sp = lundi_params_string(p, "timestep_spacing");
  f->trailing = sp && sp[0] == 't';
  *self = f;
  return 0;
}

static void flow_destroy(void *self) {
  flow *f = self;
  if (!f) return;
  free(f->s);
  free(f);
}

static int flow_num_train(void *self) { return ((flow *)self)->T; }

/* t f32 [N] in [0, T] -> s = t / T shaped [N, 1, ..., 1] to broadcast against x [N, ...]. */
static lundi_tensor *sigma_of(flow *f, const char *fn, lundi_tensor *x0, lundi_tensor *noise, lundi_tensor *t) {
  char a[160], b[160];
  int nd = lundi_ndim(x0);
  if (nd < 1 || lundi_ndim(noise) != nd) {
    lundi_set_error(LUNDI_ESHAPE, "%s: x0 %s and noise %s must have the same shape [N, ...]", fn,
                    lundi_describe(x0, a, sizeof a), lundi_describe(noise, b, sizeof b));
    return NULL;
  }
  for (int i = 0; i < nd; i++)
    if (lundi_dim(x0, i) != lundi_dim(noise, i)) {
      lundi_set_error(LUNDI_ESHAPE, "%s: x0 %s and noise %s must have the same shape", fn,
                      lundi_describe(x0, a, sizeof a), lundi_describe(noise, b, sizeof b));
      return NULL;
    }
  int64_t n = lundi_dim(x0, 0);
  if (lundi_ndim(t) != 1 || lundi_dim(t, 0) != n || lundi_tensor_dtype(t) != LUNDI_F32) {
    lundi_set_error(LUNDI_ESHAPE, "%s: t must be f32 [%lld] (one timestep per sample), got %s", fn, (long long)n,
                    lundi_describe(t, a, sizeof a));
    return NULL;
  }
  float *tv = malloc(sizeof(float) * (size_t)(n > 0 ? n : 1));
  if (!tv) {
    lundi_set_error(LUNDI_ENOMEM, "%s: out of memory", fn);
    return NULL;
  }
  int bad = lundi_read_f32(t, tv, n) ? -2 : -1;
  for (int64_t i = 0; bad == -1 && i < n; i++)
    if (!(tv[i] >= 0 && tv[i] <= f->T)) bad = (int)i;
  float bad_v = bad >= 0 ? tv[bad] : 0;
  free(tv);
  if (bad == -2) return NULL;
  if (bad >= 0) {
    lundi_set_error(LUNDI_EINVAL, "%s: t[%d] = %g is outside [0, %d]", fn, bad, bad_v, f->T);
    return NULL;
  }
  int64_t shape[LUNDI_MAX_DIMS];
  shape[0] = n;
  for (int i = 1; i < nd; i++) shape[i] = 1;
  lundi_tensor *tr = lundi_reshape(t, nd, shape);
  lundi_tensor *s = tr ? lundi_mul_scalar(tr, (float)(1.0 / f->T)) : NULL;
  lundi_release(tr);
  return s;
}

/* x_s = x0 + s (noise - x0) */
static lundi_tensor *flow_add_noise(void *self, lundi_tensor *x0, lundi_tensor *noise, lundi_tensor *t) {
  lundi_tensor *s = sigma_of(self, "add_noise", x0, noise, t);
  if (!s) return NULL;
  lundi_tensor *v = lundi_sub(noise, x0);
  lundi_tensor *sv = v ? lundi_mul(s, v) : NULL;
  lundi_tensor *out = sv ? lundi_add(x0, sv) : NULL;
  lundi_release(s);
  lundi_release(v);
  lundi_release(sv);
  return out;
}

static lundi_tensor *flow_target(void *self, lundi_tensor *x0, lundi_tensor *noise, lundi_tensor *t) {
  lundi_tensor *s = sigma_of(self, "target", x0, noise, t); /* validates the arguments */
  if (!s) return NULL;
  lundi_release(s);
  return lundi_sub(noise, x0);
}

static int flow_set_timesteps(void *self, int n) {
  flow *f = self;
  if (n < 1) return lundi_set_error(LUNDI_EINVAL, "set_timesteps: needs at least 1 step, got %d", n);
  double *s = malloc(sizeof(double) * (size_t)(n + 1));
  if (!s) return lundi_set_error(LUNDI_ENOMEM, "set_timesteps: out of memory for %d steps", n);
  double top = f->trailing ? (double)(f->T - 1) / f->T : 1.0;
  for (int i = 0; i <= n; i++) {
    double u = top * (1.0 - (double)i / n);
    s[i] = f->shift * u / (1.0 + (f->shift - 1.0) * u);
  }
  free(f->s);
  f->s = s;
  f->n = n;
  return 0;
}

static int flow_num_steps(void *self) { return ((flow *)self)->n; }

static int check_step(flow *f, const char *fn, int i) {
  if (f->n == 0) return lundi_set_error(LUNDI_ESTATE, "%s: call set_timesteps first", fn);
  if (i < 0 || i >= f->n) return lundi_set_error(LUNDI_EINVAL, "%s: step %d is outside [0, %d)", fn, i, f->n);
  return 0;
}

/* The denoiser sees t = s * T, the same scale as training. */
static double flow_timestep(void *self, int i) {
  flow *f = self;
  if (check_step(f, "timestep", i)) return NAN;
  return f->s[i] * f->T;
}

static int same_shape(const char *fn, lundi_tensor *a, lundi_tensor *b) {
  char s1[160], s2[160];
  int ok = lundi_ndim(a) == lundi_ndim(b);
  for (int i = 0; ok && i < lundi_ndim(a); i++) ok = lundi_dim(a, i) == lundi_dim(b, i);
  if (!ok)
    return lundi_set_error(LUNDI_ESHAPE, "%s: model output %s does not match x %s", fn,
                           lundi_describe(a, s1, sizeof s1), lundi_describe(b, s2, sizeof s2));
  return 0;
}

/* Euler: x_next = x + (s_{i+1} - s_i) v. */
static lundi_tensor *flow_step(void *self, lundi_tensor *v, int i, lundi_tensor *x, lundi_rng *rng) {
  (void)rng; /* deterministic */
  flow *f = self;
  if (check_step(f, "step", i) || same_shape("step", v, x)) return NULL;
  lundi_tensor *dv = lundi_mul_scalar(v, (float)(f->s[i + 1] - f->s[i]));
  lundi_tensor *out = dv ? lundi_add(x, dv) : NULL;
  lundi_release(dv);
  return out;
}

/* x0 = x - s v (exact on the straight path). */
static lundi_tensor *flow_predict_x0(void *self, lundi_tensor *v, int i, lundi_tensor *x) {
  flow *f = self;
  if (check_step(f, "predict_x0", i) || same_shape("predict_x0", v, x)) return NULL;
  lundi_tensor *sv = lundi_mul_scalar(v, (float)f->s[i]);
  lundi_tensor *out = sv ? lundi_sub(x, sv) : NULL;
  lundi_release(sv);
  return out;
}

static const lundi_scheduler_api flow_api = {
    .num_train_timesteps = flow_num_train,
    .add_noise = flow_add_noise,
    .target = flow_target,
    .set_timesteps = flow_set_timesteps,
    .num_steps = flow_num_steps,
    .timestep = flow_timestep,
    .step = flow_step,
    .predict_x0 = flow_predict_x0,
    /* init_noise_sigma (1) and scale_model_input (identity) keep their defaults. */
};

static const lundi_param_spec flow_params[] = {
    {"num_train_timesteps", LUNDI_PARAM_INT, "1000", 1, 100000, NULL, "timesteps the denoiser is trained on; s = t / this"},
    {"shift", LUNDI_PARAM_FLOAT, "1.0", 0.1, 100, NULL, "SD3-style time shift of the inference grid (1 = none)"},
    {"timestep_spacing", LUNDI_PARAM_CHOICE, "linspace", 0, 0, "linspace|trailing",
     "inference grid starts at s = 1 (linspace) or at the last trained timestep (trailing)"},
};

static int flow_init(lundi_registry *r) {
  lundi_plugin_desc d = {
      .abi_version = LUNDI_ABI_VERSION,
      .kind = LUNDI_SCHEDULER,
      .name = "flow_euler",
      .version = "1.0.0",
      .description = "rectified flow: x_s = (1-s) x0 + s noise, v target, Euler sampling",
      .params = flow_params,
      .n_params = (int)(sizeof flow_params / sizeof flow_params[0]),
      .create = flow_create,
      .destroy = flow_destroy,
      .api = &flow_api,
  };
  return lundi_register(r, &d, NULL);
}

LUNDI_PLUGIN_ENTRY(flow_init)
