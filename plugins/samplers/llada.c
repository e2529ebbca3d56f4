/* llada: the sampler of LLaDA (Nie et al. 2025, generate.py), for masked-diffusion language
 * models. The request's shape is {L}; the tokens to generate are the masked positions of
 * init, else those after the prompt (cond_input), else all. The generation region runs from
 * the first masked column (the same in every row) to L and is cut into blocks done left to
 * right (semi-autoregressive); each block gets steps / blocks steps, and at each step the
 * block's masked count, split evenly over its steps (the remainder to the first ones), is
 * committed: the most confident predictions (or random ones) of still-masked positions in
 * the block. A committed token is never masked again. The mask id comes from the scheduler
 * (add_noise at t = 1), which must be a masking one. The denoiser is given, per row, the
 * fraction of the generation region still masked as its t (about the training t's p_mask).
 * Runs under no_grad on host copies of the tokens; the callback sees x and the x0 guess. */
#include "builtins.h"
#include "llada_step.h"
#include "text_common.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

typedef struct llada {
  int steps, block;
  int random;
  double temperature, cfg;
} llada;

static const lundi_param_spec specs[] = {
    {"steps", LUNDI_PARAM_INT, "64", 1, 1000000, NULL, "model evaluations in all, split evenly over the blocks"},
    {"block_length", LUNDI_PARAM_INT, "32", 0, 1000000, NULL,
     "tokens per semi-autoregressive block; 0: the whole generation region is one block"},
    {"remasking", LUNDI_PARAM_CHOICE, "low_confidence", 0, 0, "low_confidence|random",
     "which predictions are committed: the most probable, or random ones"},
    {"temperature", LUNDI_PARAM_FLOAT, "0", 0, 1000, NULL, "0: argmax; else Gumbel-max sampling at this temperature"},
    {"cfg_scale", LUNDI_PARAM_FLOAT, "0", 0, 1000, NULL,
     "unsupervised classifier-free guidance: u + (s + 1)(c - u), u with the prompt masked; 0: off"},
};

static int create(void *user, const lundi_params *p, void **self) {
  (void)user;
  llada *s = calloc(1, sizeof *s);
  if (!s) return lundi_set_error(LUNDI_ENOMEM, "llada: out of memory");
  const char *rm = lundi_params_string(p, "remasking");
  if (!rm) {
    free(s);
    return lundi_last_error_code();
  }
  s->steps = (int)lundi_params_int(p, "steps");
  s->block = (int)lundi_params_int(p, "block_length");
  s->random = !strcmp(rm, "random");
  s->temperature = lundi_params_float(p, "temperature");
  s->cfg = lundi_params_float(p, "cfg_scale");
  *self = s;
  return 0;
}

static void destroy(void *self) { free(self); }

/* What one sample call works on; host arrays. */
typedef struct run {
  const llada *s;
  const lundi_pipeline_parts *parts;
  const lundi_sample_request *req;
  lundi__llada_step st;
  lundi_device *dev;
  int64_t g0, G;            /* the generation region [g0, L) */
  int32_t *x, *x0, *keep;   /* [B, L]; keep: 1 where the start had a token (cfg masks it) */
  double *conf;             /* [B, L] */
  float *logits;            /* [B, L, V] after guidance */
  int64_t *scratch, *k;     /* [L], [B] */
} run;

static void run_free(run *r) {
  free(r->x);
  free(r->x0);
  free(r->keep);
  free(r->conf);
  free(r->logits);
  free(r->scratch);
  free(r->k);
}

/* The logits at the current x: one evaluation, or with cfg_scale one of [x; x without the
 * kept tokens] and u + (s + 1)(c - u). */
static int evaluate(run *r) {
  int64_t B = r->st.B, L = r->st.L, rows = r->s->cfg > 0 ? 2 * B : B;
  int32_t *in = malloc(sizeof *in * lundi__nz(rows * L));
  float *t = malloc(sizeof *t * lundi__nz(rows));
  if (!in || !t) {
    free(in);
    free(t);
    return lundi_set_error(LUNDI_ENOMEM, "llada: out of memory");
  }
  memcpy(in, r->x, sizeof *in * (size_t)(B * L));
  for (int64_t b = 0; b < B; b++) {
    int64_t masked = 0;
    for (int64_t j = r->g0; j < L; j++) masked += r->x[b * L + j] == r->st.mask;
    t[b] = (float)((double)masked / (double)r->G);
    if (rows > B) t[B + b] = t[b];
  }
  for (int64_t k = 0; rows > B && k < B * L; k++) in[B * L + k] = r->keep[k] ? r->st.mask : r->x[k];
  int64_t V = 0;
  float *lg = lundi__denoise_logits(r->parts->denoiser, in, rows, L, t, r->dev, r->req->rng, "llada", -1, &V);
  free(in);
  free(t);
  if (!lg) return lundi_last_error_code();
  if (r->logits && V != r->st.V) {
    free(lg);
    return lundi_set_error(LUNDI_ESHAPE, "llada: the denoiser's vocabulary changed from %lld to %lld logits",
                           (long long)r->st.V, (long long)V);
  }
  r->st.V = V;
  if (rows > B) {
    lundi__llada_guide(lg, lg + B * L * V, B * L * V, r->s->cfg, lg);
    float *half = realloc(lg, sizeof *lg * lundi__nz(B * L * V));
    if (half) lg = half;
  }
  free(r->logits);
  r->logits = lg;
  return 0;
}

/* A host array of n uniform draws from the request's rng (via lundi_rand), or NULL. */
static float *uniforms(lundi_rng *rng, int nd, const int64_t *shape) {
  int64_t n = 1;
  for (int d = 0; d < nd; d++) n *= shape[d];
  lundi_tensor *u = lundi_rand(rng, nd, shape);
  float *v = u ? malloc(sizeof *v * lundi__nz(n)) : NULL;
  if (u && !v) lundi_set_error(LUNDI_ENOMEM, "llada: out of memory for %lld draws", (long long)n);
  if (v && lundi_read_f32(u, v, n)) {
    free(v);
    v = NULL;
  }
  lundi_release(u);
  return v;
}

/* Calls the request's callback with x and x0 after step i of n; 0 go on, 1 stop, < 0 fail. */
static int report(run *r, int i, int n) {
  const lundi_sample_request *req = r->req;
  if (!req->callback) return 0;
  int64_t shape[2] = {r->st.B, r->st.L};
  lundi_tensor *xt = lundi__tok_upload(2, shape, r->x, r->dev), *x0 = xt ? lundi__tok_upload(2, shape, r->x0, r->dev) : NULL;
  int rc = -1;
  if (x0) {
    lundi_clear_error();
    rc = req->callback(req->callback_ud, i, n, 1 - (double)i / n, xt, x0);
    if (rc < 0 && !lundi_last_error()[0])
      lundi_set_error(rc, "llada: the step callback failed at step %d (status %d)", i, rc);
  }
  lundi_release(xt);
  lundi_release(x0);
  return rc;
}

/* One step inside block [lo, hi): evaluate, predict, commit this step's k tokens per row. */
static int one_step(run *r, int64_t lo, int64_t hi) {
  int rc = evaluate(r);
  if (rc) return rc;
  int64_t B = r->st.B, L = r->st.L;
  float *gu = NULL, *cu = NULL;
  if (r->s->temperature > 0 && !(gu = uniforms(r->req->rng, 3, (int64_t[]){B, L, r->st.V}))) return -1;
  if (r->s->random && !(cu = uniforms(r->req->rng, 2, (int64_t[]){B, L}))) {
    free(gu);
    return -1;
  }
  lundi__llada_predict(&r->st, r->logits, gu, cu, r->x, r->x0, r->conf);
  lundi__llada_commit(&r->st, r->x, r->x0, r->conf, lo, hi, r->k, r->scratch);
  free(gu);
  free(cu);
  return 0;
}

/* The checks LLaDA asserts, with the numbers. */
static int check_shape(const llada *s, int64_t g0, int64_t G, int64_t L, int64_t *block, int64_t *nblocks) {
  int64_t bl = s->block ? s->block : G;
  if (G % bl)
    return lundi_set_error(LUNDI_EINVAL, "llada: gen_length %lld (the generation region, columns %lld..%lld of %lld) is "
                           "not a multiple of block_length %lld", (long long)G, (long long)g0, (long long)L - 1,
                           (long long)L, (long long)bl);
  if (s->steps % (G / bl))
    return lundi_set_error(LUNDI_EINVAL, "llada: steps %d is not a multiple of the number of blocks %lld (gen_length "
                           "%lld / block_length %lld)", s->steps, (long long)(G / bl), (long long)G, (long long)bl);
  *block = bl;
  *nblocks = G / bl;
  return 0;
}

static int run_blocks(run *r) {
  const llada *s = r->s;
  int64_t B = r->st.B, L = r->st.L, bl = 0, nb = 0;
  if (check_shape(s, r->g0, r->G, L, &bl, &nb)) return -1;
  int spb = (int)(s->steps / nb), i = 0;
  for (int64_t blk = 0; blk < nb; blk++) {
    int64_t lo = r->g0 + blk * bl, hi = lo + bl;
    int64_t *count = malloc(sizeof *count * lundi__nz(B));
    if (!count) return lundi_set_error(LUNDI_ENOMEM, "llada: out of memory");
    for (int64_t b = 0; b < B; b++) {
      count[b] = 0;
      for (int64_t j = lo; j < hi; j++) count[b] += r->x[b * L + j] == r->st.mask;
    }
    for (int step = 0; step < spb; step++, i++) {
      for (int64_t b = 0; b < B; b++) r->k[b] = count[b] / spb + (step < count[b] % spb);
      int rc = one_step(r, lo, hi);
      if (!rc) rc = report(r, i, s->steps);
      if (rc < 0 || rc == 1) {
        free(count);
        return rc;
      }
    }
    free(count);
  }
  return 0;
}

static lundi_tensor *sample(void *self, const lundi_pipeline_parts *parts, const lundi_sample_request *req) {
  const llada *s = self;
  run r = {.s = s, .parts = parts, .req = req};
  if (parts->conditioner) {
    lundi_set_error(LUNDI_EINVAL, "llada: the prompt is given as tokens (cond_input or init), not through a conditioner; "
                    "leave the pipeline's conditioner '%s' out",
                    lundi_plugin_info(lundi_instance_plugin(parts->conditioner))->name);
    return NULL;
  }
  if (lundi__mask_id(parts->scheduler, "llada", &r.st.mask)) return NULL;
  if (lundi__start_tokens(req, r.st.mask, "llada", &r.x, &r.g0)) return NULL;
  r.st.B = req->batch;
  r.st.L = req->shape[0];
  r.st.temperature = s->temperature;
  r.st.random = s->random;
  lundi_tensor *out = NULL;
  if (r.g0 < 0) {
    lundi_set_error(LUNDI_EINVAL, "llada: nothing to generate: no position holds the mask id %d (init without masks, "
                    "or a prompt as long as the shape)", r.st.mask);
    run_free(&r);
    return NULL;
  }
  int64_t B = r.st.B, L = r.st.L;
  r.G = L - r.g0;
  r.x0 = malloc(sizeof *r.x0 * lundi__nz(B * L));
  r.keep = malloc(sizeof *r.keep * lundi__nz(B * L));
  r.conf = malloc(sizeof *r.conf * lundi__nz(B * L));
  r.scratch = malloc(sizeof *r.scratch * lundi__nz(L));
  r.k = malloc(sizeof *r.k * lundi__nz(B));
  if (!r.x0 || !r.keep || !r.conf || !r.scratch || !r.k) {
    lundi_set_error(LUNDI_ENOMEM, "llada: out of memory");
    run_free(&r);
    return NULL;
  }
  for (int64_t k = 0; k < B * L; k++) r.keep[k] = r.x[k] != r.st.mask, r.x0[k] = r.x[k];
  r.dev = lundi__denoiser_device(parts->denoiser);
  lundi_no_grad_enter();
  int was_training = lundi__denoiser_train_mode(parts->denoiser, 0);
  int rc = run_blocks(&r);
  lundi__denoiser_train_mode(parts->denoiser, was_training);
  lundi_no_grad_exit();
  if (rc >= 0) out = lundi__tok_upload(2, (int64_t[]){B, L}, r.x, r.dev);
  run_free(&r);
  return out;
}

static const lundi_sampler_api api = {.sample = sample};

int lundi_builtin_llada(lundi_registry *r) {
  lundi_plugin_desc d = {
      .abi_version = LUNDI_ABI_VERSION,
      .kind = LUNDI_SAMPLER,
      .name = "llada",
      .version = "1.0.0",
      .description = "LLaDA's masked-diffusion text sampler: semi-autoregressive blocks, low-confidence or random "
                     "remasking, Gumbel-max temperature, unsupervised CFG; tokens i32 [batch, L]",
      .params = specs,
      .n_params = (int)(sizeof specs / sizeof *specs),
      .create = create,
      .destroy = destroy,
      .api = &api,
  };
  return lundi_register(r, &d, NULL);
}
