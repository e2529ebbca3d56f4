/* masked: the masking process of masked-diffusion language models (LLaDA, MDLM). Time is
 * continuous, t in [0, 1]; at t a token is replaced by mask_id with probability
 * p_mask(t) = (1 - eps) t + eps (linear) or (1 - eps)(1 - cos(pi t / 2)) + eps (cosine).
 * add_noise masks token j where noise_j < p_mask(t): noise is uniform in [0, 1), and a noise
 * of 1 or more never masks (how a script keeps a prompt, LLaDA's SFT). The target is x0.
 * Sampling on its own (step): each still-masked token is revealed with probability
 * (p(t_i) - p(t_i+1)) / p(t_i), its value drawn from softmax(logits) without the mask id;
 * at the last step every token left is revealed.
 * WIP (not yet registered): the loss (CE on masked tokens / p_mask) needs the scheduler API's
 * loss function (ABI 3). Token work is done on the host: sequences are short and the
 * denoiser dominates. */
#include "builtins.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

typedef struct masked {
  int32_t mask_id;
  double eps;
  int cosine;
  int n; /* inference steps */
} masked;

static const lundi_param_spec specs[] = {
    {"mask_id", LUNDI_PARAM_INT, "256", 0, 2147483647.0, NULL, "the mask token's id (the bytes tokenizer's MASK: 256)"},
    {"eps", LUNDI_PARAM_FLOAT, "1e-3", 0, 0.5, NULL, "smallest masking probability (at t = 0)"},
    {"schedule", LUNDI_PARAM_CHOICE, "linear", 0, 0, "linear|cosine", "p_mask(t): linear or cosine in t"},
    {"normalize", LUNDI_PARAM_CHOICE, "tokens", 0, 0, "tokens|answer",
     "loss: over the batch's tokens (pre-training) or per answer length (SFT)"},
};

static double p_mask(const masked *m, double t) {
  t = t < 0 ? 0 : t > 1 ? 1 : t;
  double u = m->cosine ? 1 - cos(M_PI * t / 2) : t;
  return (1 - m->eps) * u + m->eps;
}

static int create(void *user, const lundi_params *p, void **self) {
  (void)user;
  masked *m = calloc(1, sizeof *m);
  if (!m) return lundi_set_error(LUNDI_ENOMEM, "masked: out of memory");
  m->mask_id = (int32_t)lundi_params_int(p, "mask_id");
  m->eps = lundi_params_float(p, "eps");
  const char *s = lundi_params_string(p, "schedule");
  m->cosine = s && !strcmp(s, "cosine");
  *self = m;
  return 0;
}

static void destroy(void *self) { free(self); }

static int num_train_timesteps(void *self) {
  (void)self;
  return 1; /* continuous time */
}

/* The values of t as floats on the host (malloc'd), or NULL with the error set. */
static float *host_values(lundi_tensor *t, int64_t n, const char *what) {
  if (lundi_numel(t) != n) {
    lundi_set_error(LUNDI_EINVAL, "masked: %s has %lld values, expected %lld", what, (long long)lundi_numel(t),
                    (long long)n);
    return NULL;
  }
  float *v = malloc(sizeof *v * (size_t)(n ? n : 1));
  if (!v) {
    lundi_set_error(LUNDI_ENOMEM, "masked: out of memory");
    return NULL;
  }
  if (lundi_read_f32(t, v, n)) {
    free(v);
    return NULL;
  }
  return v;
}

static lundi_tensor *add_noise(void *self, lundi_tensor *x0, lundi_tensor *noise, lundi_tensor *t) {
  masked *m = self;
  if (lundi_ndim(x0) != 2) {
    lundi_set_error(LUNDI_EINVAL, "masked: x0 must be token ids [N, L], got %d dims", lundi_ndim(x0));
    return NULL;
  }
  int64_t N = lundi_dim(x0, 0), L = lundi_dim(x0, 1), n = N * L;
  float *x = host_values(x0, n, "x0"), *u = x ? host_values(noise, n, "noise") : NULL;
  float *tv = u ? host_values(t, N, "t") : NULL;
  int32_t *out = tv ? malloc(sizeof *out * (size_t)(n ? n : 1)) : NULL;
  lundi_tensor *r = NULL;
  if (out) {
    for (int64_t b = 0; b < N; b++) {
      double p = p_mask(m, tv[b]);
      for (int64_t j = 0; j < L; j++) out[b * L + j] = u[b * L + j] < p ? m->mask_id : (int32_t)x[b * L + j];
    }
    lundi_tensor *h = lundi_from_i32(2, (int64_t[]){N, L}, out);
    r = h ? lundi_to_device(h, lundi_tensor_device(x0)) : NULL;
    lundi_release(h);
  } else if (tv) {
    lundi_set_error(LUNDI_ENOMEM, "masked: out of memory");
  }
  free(x);
  free(u);
  free(tv);
  free(out);
  return r;
}

static lundi_tensor *target(void *self, lundi_tensor *x0, lundi_tensor *noise, lundi_tensor *t) {
  (void)self, (void)noise, (void)t;
  return lundi_clone(x0);
}

static int set_timesteps(void *self, int n) {
  ((masked *)self)->n = n;
  return 0;
}

static int num_steps(void *self) { return ((masked *)self)->n; }

static double timestep(void *self, int i) {
  masked *m = self;
  return m->n > 0 ? 1.0 - (double)i / m->n : NAN;
}

static lundi_tensor *step(void *self, lundi_tensor *logits, int i, lundi_tensor *x, lundi_rng *rng) {
  masked *m = self;
  if (!rng) {
    lundi_set_error(LUNDI_EINVAL, "masked: step needs an rng");
    return NULL;
  }
  if (lundi_ndim(x) != 2 || lundi_ndim(logits) != 3 || lundi_dim(logits, 0) != lundi_dim(x, 0) ||
      lundi_dim(logits, 1) != lundi_dim(x, 1)) {
    lundi_set_error(LUNDI_EINVAL, "masked: step takes logits [N, L, V] for tokens x [N, L]");
    return NULL;
  }
  int64_t N = lundi_dim(x, 0), L = lundi_dim(x, 1), V = lundi_dim(logits, 2), n = N * L;
  double pt = p_mask(m, timestep(m, i)), ps = i + 1 >= m->n ? 0 : p_mask(m, timestep(m, i + 1));
  double reveal = i + 1 >= m->n ? 1 : (pt - ps) / pt;
  float *xv = host_values(x, n, "x"), *lg = xv ? host_values(logits, n * V, "logits") : NULL;
  lundi_tensor *ut = lg ? lundi_rand(rng, 1, (int64_t[]){2 * n}) : NULL;
  float *u = ut ? host_values(ut, 2 * n, "draws") : NULL;
  int32_t *out = u ? malloc(sizeof *out * (size_t)(n ? n : 1)) : NULL;
  lundi_tensor *r = NULL;
  if (out) {
    for (int64_t k = 0; k < n; k++) {
      out[k] = (int32_t)xv[k];
      if (out[k] != m->mask_id || u[2 * k] >= reveal) continue;
      const float *row = lg + k * V;
      double mx = -INFINITY, sum = 0;
      for (int64_t v = 0; v < V; v++)
        if (v != m->mask_id && row[v] > mx) mx = row[v];
      for (int64_t v = 0; v < V; v++)
        if (v != m->mask_id) sum += exp(row[v] - mx);
      double target_mass = u[2 * k + 1] * sum, acc = 0;
      int64_t pick = V - 1 == m->mask_id ? V - 2 : V - 1;
      for (int64_t v = 0; v < V; v++) {
        if (v == m->mask_id) continue;
        acc += exp(row[v] - mx);
        if (acc > target_mass) {
          pick = v;
          break;
        }
      }
      out[k] = (int32_t)pick;
    }
    lundi_tensor *h = lundi_from_i32(2, (int64_t[]){N, L}, out);
    r = h ? lundi_to_device(h, lundi_tensor_device(x)) : NULL;
    lundi_release(h);
  }
  lundi_release(ut);
  free(xv);
  free(lg);
  free(u);
  free(out);
  return r;
}

static const lundi_scheduler_api api = {
    .num_train_timesteps = num_train_timesteps,
    .add_noise = add_noise,
    .target = target,
    .set_timesteps = set_timesteps,
    .num_steps = num_steps,
    .timestep = timestep,
    .step = step,
};

int lundi_builtin_masked(lundi_registry *r) {
  lundi_plugin_desc d = {
      .abi_version = LUNDI_ABI_VERSION,
      .kind = LUNDI_SCHEDULER,
      .name = "masked",
      .version = "0.1.0",
      .description = "masking process of masked-diffusion language models (LLaDA): t in [0, 1], tokens masked "
                     "with p_mask(t)",
      .params = specs,
      .n_params = (int)(sizeof specs / sizeof *specs),
      .create = create,
      .destroy = destroy,
      .api = &api,
  };
  return lundi_register(r, &d, NULL);
}
