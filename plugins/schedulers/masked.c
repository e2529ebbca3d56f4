/* masked: the absorbing-state ("masking") process of masked diffusion language models
 * (LLaDA, Nie et al. 2025). Time is continuous, t in [0, 1] (num_train_timesteps is 1: a
 * training script draws t ~ U(0, 1), not integer timesteps): token j of row n is replaced
 * by mask_id when noise[n, j] < p_mask(t_n), so uniform noise masks each token with
 * probability p_mask(t_n), and noise >= 1 keeps a token (an SFT prompt). The loss is the
 * cross-entropy of the model's logits on the masked tokens, each weighted 1 / p_mask(t_n).
 * Sampling (set_timesteps, step) runs the reverse process on its own; the llada sampler
 * only takes the mask id from here. */
#include "builtins.h"
#include "masked.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static const lundi_param_spec specs[] = {
    {"mask_id", LUNDI_PARAM_INT, "256", 0, 2147483647, NULL, "token id of [MASK] (256: the bytes tokenizer's)"},
    {"eps", LUNDI_PARAM_FLOAT, "0.001", 0, 0.999, NULL, "p_mask at t = 0: the masking probability runs from eps to 1"},
    {"schedule", LUNDI_PARAM_CHOICE, "linear", 0, 0, "linear|cosine",
     "p_mask(t): (1 - eps) t + eps, or (1 - eps)(1 - cos(pi t / 2)) + eps"},
    {"normalize", LUNDI_PARAM_CHOICE, "tokens", 0, 0, "tokens|answer",
     "loss: batch sum / (N L) (pre-training), or each row's sum / its answer length, mean over rows (SFT)"},
};

double lundi__masked_p(const lundi__masked *m, double t) {
  double s = m->cosine ? 1 - cos(M_PI * t / 2) : t;
  return (1 - m->eps) * s + m->eps;
}

static int create(void *user, const lundi_params *p, void **self) {
  (void)user;
  lundi__masked *m = calloc(1, sizeof *m);
  if (!m) return lundi_set_error(LUNDI_ENOMEM, "masked: out of memory");
  const char *schedule = lundi_params_string(p, "schedule"), *norm = lundi_params_string(p, "normalize");
  if (!schedule || !norm) {
    free(m);
    return lundi_last_error_code();
  }
  m->mask_id = (int32_t)lundi_params_int(p, "mask_id");
  m->eps = lundi_params_float(p, "eps");
  m->cosine = !strcmp(schedule, "cosine");
  m->per_answer = !strcmp(norm, "answer");
  *self = m;
  return 0;
}

static void destroy(void *self) { free(self); }

void lundi__masked_batch_free(lundi__masked_batch *b) {
  free(b->x0);
  free(b->noise);
  free(b->t);
  memset(b, 0, sizeof *b);
}

int lundi__masked_batch_read(const char *fn, lundi_tensor *x0, lundi_tensor *noise, lundi_tensor *t,
                             lundi__masked_batch *b, int flags) {
  char a[160], c[160];
  memset(b, 0, sizeof *b);
  if (lundi_ndim(x0) != 2 || lundi_tensor_dtype(x0) != LUNDI_I32)
    return lundi_set_error(LUNDI_EINVAL, "%s: x0 must be i32 token ids [N, L], got %s", fn,
                           lundi_describe(x0, a, sizeof a));
  if (lundi_tensor_dtype(noise) != LUNDI_F32 || lundi_ndim(noise) != 2 || lundi_dim(noise, 0) != lundi_dim(x0, 0) ||
      lundi_dim(noise, 1) != lundi_dim(x0, 1))
    return lundi_set_error(LUNDI_ESHAPE, "%s: noise %s must be f32 of x0's shape %s (uniform draws in [0, 1); >= 1 keeps "
                           "a token)", fn, lundi_describe(noise, a, sizeof a), lundi_describe(x0, c, sizeof c));
  if (lundi_tensor_dtype(t) != LUNDI_F32 || lundi_ndim(t) != 1 || lundi_dim(t, 0) != lundi_dim(x0, 0))
    return lundi_set_error(LUNDI_ESHAPE, "%s: t %s must be f32 [N] (one time in [0, 1] per row) for x0 %s", fn,
                           lundi_describe(t, a, sizeof a), lundi_describe(x0, c, sizeof c));
  b->N = lundi_dim(x0, 0);
  b->L = lundi_dim(x0, 1);
  size_t nl = (size_t)(b->N * b->L), n = (size_t)b->N;
  b->noise = malloc(sizeof(float) * (nl ? nl : 1));
  b->t = malloc(sizeof(float) * (n ? n : 1));
  if (!b->noise || !b->t) {
    lundi__masked_batch_free(b);
    return lundi_set_error(LUNDI_ENOMEM, "%s: out of memory", fn);
  }
  int rc = lundi_read_f32(noise, b->noise, (int64_t)nl);
  if (!rc) rc = lundi_read_f32(t, b->t, (int64_t)n);
  for (size_t k = 0; !rc && k < n; k++)
    if (!(b->t[k] >= 0 && b->t[k] <= 1))
      rc = lundi_set_error(LUNDI_EINVAL, "%s: t[%zu] = %g is outside [0, 1] (for masked, t is the fraction of time, "
                           "drawn t ~ U(0, 1))", fn, k, (double)b->t[k]);
  for (size_t k = 0; !rc && !(flags & LUNDI__MB_ANY_NOISE) && k < nl; k++)
    if (!(b->noise[k] >= 0) || isinf(b->noise[k]))
      rc = lundi_set_error(LUNDI_EINVAL, "%s: noise[%zu, %zu] = %g must be finite and >= 0 (uniform in [0, 1); >= 1 "
                           "keeps the token)", fn, k / (size_t)b->L, k % (size_t)b->L, (double)b->noise[k]);
  if (!rc && (flags & LUNDI__MB_X0) && !(b->x0 = lundi__tok_read(x0, fn))) rc = lundi_last_error_code();
  if (rc) lundi__masked_batch_free(b);
  return rc;
}

static lundi_tensor *upload_i32(lundi_tensor *like, const int32_t *v) {
  lundi_tensor *h = lundi_from_i32(lundi_ndim(like), lundi_shape(like), v);
  if (!h || lundi_tensor_device(like) == lundi_tensor_device(h)) return h;
  lundi_tensor *d = lundi_to_device(h, lundi_tensor_device(like));
  lundi_release(h);
  return d;
}

/* x0 with mask_id where keep(noise) < p_mask(t_row); keep is the identity for add_noise and
 * the normal CDF for noise_to_step's standard normal noise. */
static lundi_tensor *mask_where(const lundi__masked *m, const char *fn, lundi_tensor *x0, lundi_tensor *noise,
                                const double *p_row, int normal) {
  int64_t N = lundi_dim(x0, 0), L = lundi_dim(x0, 1);
  float *z = malloc(sizeof *z * lundi__nz(N * L));
  int32_t *v = z ? lundi__tok_read(x0, fn) : NULL;
  lundi_tensor *out = NULL;
  if (!z) lundi_set_error(LUNDI_ENOMEM, "%s: out of memory", fn);
  if (v && !lundi_read_f32(noise, z, N * L)) {
    for (int64_t k = 0; k < N * L; k++) {
      double u = normal ? 0.5 * erfc(-z[k] / sqrt(2.0)) : z[k];
      if (u < 1 && u < p_row[k / L]) v[k] = m->mask_id; /* noise >= 1 keeps the token whatever p */
    }
    out = upload_i32(x0, v);
  }
  free(z);
  free(v);
  return out;
}

static lundi_tensor *add_noise(void *self, lundi_tensor *x0, lundi_tensor *noise, lundi_tensor *t) {
  const lundi__masked *m = self;
  lundi__masked_batch b;
  if (lundi__masked_batch_read("add_noise", x0, noise, t, &b, 0)) return NULL;
  double *p = malloc(sizeof *p * (size_t)(b.N ? b.N : 1));
  lundi_tensor *out = NULL;
  if (p) {
    for (int64_t n = 0; n < b.N; n++) p[n] = lundi__masked_p(m, b.t[n]);
    out = mask_where(m, "add_noise", x0, noise, p, 0);
  } else {
    lundi_set_error(LUNDI_ENOMEM, "add_noise: out of memory");
  }
  free(p);
  lundi__masked_batch_free(&b);
  return out;
}

static lundi_tensor *target(void *self, lundi_tensor *x0, lundi_tensor *noise, lundi_tensor *t) {
  (void)self;
  lundi__masked_batch b;
  if (lundi__masked_batch_read("target", x0, noise, t, &b, 0)) return NULL;
  lundi__masked_batch_free(&b);
  return lundi_retain(x0); /* the tokens to predict */
}

/* Cross-entropy on the masked positions (noise < p_mask(t_n)), each divided by p_mask(t_n);
 * 'tokens': the batch sum / (N L); 'answer': each row's sum / its answer length (positions
 * with noise < 1), then the mean over the N rows (a row without answer adds 0). One weighted
 * lundi_cross_entropy gives sum(w l) / sum(w); times sum(w) / (N L) or / N. */
static lundi_tensor *loss(void *self, lundi_tensor *logits, lundi_tensor *x0, lundi_tensor *noise, lundi_tensor *t) {
  const lundi__masked *m = self;
  char a[160], c[160];
  lundi__masked_batch b;
  if (lundi__masked_batch_read("loss", x0, noise, t, &b, 0)) return NULL;
  lundi_tensor *w = NULL, *x0d = NULL, *ce = NULL, *out = NULL;
  float *wv = NULL;
  if (lundi_tensor_dtype(logits) != LUNDI_F32 || lundi_ndim(logits) != 3 || lundi_dim(logits, 0) != b.N ||
      lundi_dim(logits, 1) != b.L) {
    lundi_set_error(LUNDI_ESHAPE, "loss: the model output %s must be f32 logits [N, L, V] for x0 %s",
                    lundi_describe(logits, a, sizeof a), lundi_describe(x0, c, sizeof c));
    goto done;
  }
  wv = malloc(sizeof *wv * lundi__nz(b.N * b.L));
  if (!wv) {
    lundi_set_error(LUNDI_ENOMEM, "loss: out of memory");
    goto done;
  }
  double wsum = 0;
  for (int64_t n = 0; n < b.N; n++) {
    const float *z = b.noise + n * b.L;
    double p = lundi__masked_p(m, b.t[n]), answer = 0;
    for (int64_t j = 0; j < b.L; j++) answer += z[j] < 1;
    double wn = p > 0 && answer > 0 ? 1 / (p * (m->per_answer ? answer : 1)) : 0;
    for (int64_t j = 0; j < b.L; j++) {
      wv[n * b.L + j] = z[j] < 1 && z[j] < p ? (float)wn : 0.0f;
      wsum += wv[n * b.L + j];
    }
  }
  lundi_device *dev = lundi_tensor_device(logits);
  lundi_tensor *wh = lundi_from_f32(2, (int64_t[]){b.N, b.L}, wv);
  w = wh && lundi_tensor_device(wh) != dev ? lundi_to_device(wh, dev) : lundi_retain(wh);
  lundi_release(wh);
  x0d = lundi_tensor_device(x0) != dev ? lundi_to_device(x0, dev) : lundi_retain(x0);
  if (!w || !x0d || !(ce = lundi_cross_entropy(logits, x0d, w, -100, 0.0f))) goto done;
  out = lundi_mul_scalar(ce, (float)(wsum / (double)(m->per_answer ? b.N : b.N * b.L)));
done:
  free(wv);
  lundi_release(w);
  lundi_release(x0d);
  lundi_release(ce);
  lundi__masked_batch_free(&b);
  return out;
}

static int num_train_timesteps(void *self) { return (void)self, 1; }

static int set_timesteps(void *self, int n) {
  ((lundi__masked *)self)->n = n;
  return 0;
}

static int num_steps(void *self) { return ((lundi__masked *)self)->n; }

static double timestep(void *self, int i) {
  const lundi__masked *m = self;
  if (!m->n) {
    lundi_set_error(LUNDI_ESTATE, "timestep %d: call set_timesteps first", i);
    return NAN;
  }
  if (i >= m->n) {
    lundi_set_error(LUNDI_EINVAL, "step index %d is outside [0, %d)", i, m->n);
    return NAN;
  }
  return 1 - (double)i / m->n;
}

/* img2img: x0 masked as at inference step k's time; noise is standard normal (the image
 * sampler's draw), so its normal CDF is the uniform draw add_noise compares. */
static lundi_tensor *noise_to_step(void *self, lundi_tensor *x0, lundi_tensor *noise, int k, int *begin) {
  const lundi__masked *m = self;
  double t = timestep(self, k);
  if (isnan(t)) return NULL;
  lundi_tensor *tt = lundi_full(1, (int64_t[]){lundi_ndim(x0) ? lundi_dim(x0, 0) : 0}, (float)t);
  lundi__masked_batch b;
  int rc = tt ? lundi__masked_batch_read("noise_to_step", x0, noise, tt, &b, LUNDI__MB_ANY_NOISE) : -1;
  lundi_release(tt);
  if (rc) return NULL;
  lundi__masked_batch_free(&b);
  int64_t N = lundi_dim(x0, 0);
  double *p = malloc(sizeof *p * (size_t)(N ? N : 1));
  if (!p) {
    lundi_set_error(LUNDI_ENOMEM, "noise_to_step: out of memory");
    return NULL;
  }
  for (int64_t n = 0; n < N; n++) p[n] = lundi__masked_p(m, t);
  lundi_tensor *out = mask_where(m, "noise_to_step", x0, noise, p, 1);
  free(p);
  if (out) *begin = k;
  return out;
}

static const lundi_scheduler_api api = {
    .num_train_timesteps = num_train_timesteps,
    .add_noise = add_noise,
    .target = target,
    .set_timesteps = set_timesteps,
    .num_steps = num_steps,
    .timestep = timestep,
    .step = lundi__masked_step,
    .predict_x0 = lundi__masked_predict_x0,
    .noise_to_step = noise_to_step,
    .loss = loss,
};

int lundi_builtin_masked(lundi_registry *r) {
  lundi_plugin_desc d = {
      .abi_version = LUNDI_ABI_VERSION,
      .kind = LUNDI_SCHEDULER,
      .name = "masked",
      .version = "1.0.0",
      .description = "masked (absorbing) diffusion for tokens, LLaDA's: t in [0, 1] (num_train_timesteps 1), "
                     "mask with p_mask(t), cross-entropy / p_mask on the masked tokens",
      .params = specs,
      .n_params = (int)(sizeof specs / sizeof *specs),
      .create = create,
      .destroy = destroy,
      .api = &api,
  };
  return lundi_register(r, &d, NULL);
}
