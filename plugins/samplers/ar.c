/* ar: left-to-right sampling from a causal language model, the autoregressive twin of the
 * llada sampler, with its request conventions: shape {L}; the prompt is cond_input [B, Lp]
 * or init's unmasked prefix (the same length in every row, followed by masks only), at least
 * one token (BOS, say) so the first prediction has something to condition on. Each new token
 * comes from the logits at the last filled position of denoiser(x[:, :cur]) (no cache: the
 * whole prefix is run again), greedy or with temperature, top-k and top-p; the mask id (from
 * the scheduler, as in llada) is never produced. With eos_id, a row that emitted it is
 * padded with it and the loop ends once every row has. The callback runs per token with x
 * (positions not yet generated hold the mask id) and no x0. */
#include "builtins.h"
#include "text_common.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

typedef struct ar {
  double temperature, top_p;
  int top_k;
  int32_t eos;
} ar;

static const lundi_param_spec specs[] = {
    {"temperature", LUNDI_PARAM_FLOAT, "0", 0, 1000, NULL, "0: greedy (argmax); else sample softmax(logits / T)"},
    {"top_k", LUNDI_PARAM_INT, "0", 0, 100000000, NULL, "sample among the k most likely tokens; 0: all"},
    {"top_p", LUNDI_PARAM_FLOAT, "1", 0, 1, NULL,
     "nucleus: the fewest most likely tokens whose probability reaches p; 1: all"},
    {"eos_id", LUNDI_PARAM_INT, "-1", -1, 2147483647, NULL,
     "end of sequence: a row that emits it is padded with it; -1: none"},
};

static int create(void *user, const lundi_params *p, void **self) {
  (void)user;
  double top_p = lundi_params_float(p, "top_p");
  if (!(top_p > 0))
    return lundi_set_error(LUNDI_EINVAL, "parameter 'top_p' must be in (0, 1] (1 keeps every token); got %g", top_p);
  ar *s = calloc(1, sizeof *s);
  if (!s) return lundi_set_error(LUNDI_ENOMEM, "ar: out of memory");
  s->temperature = lundi_params_float(p, "temperature");
  s->top_p = top_p;
  s->top_k = (int)lundi_params_int(p, "top_k");
  s->eos = (int32_t)lundi_params_int(p, "eos_id");
  *self = s;
  return 0;
}

static void destroy(void *self) { free(self); }

typedef struct cand {
  double p; /* logit / T, then probability */
  int32_t v;
} cand;

static int by_logit(const void *a, const void *b) {
  const cand *x = a, *y = b;
  if (x->p != y->p) return x->p < y->p ? 1 : -1;
  return (x->v > y->v) - (x->v < y->v);
}

/* The token drawn from row (V logits) with u in [0, 1): softmax(row / T) without the mask
 * id, cut to the top_k most likely and then to the top_p nucleus. c: V scratch entries. */
static int32_t draw(const ar *s, const float *row, int64_t V, int32_t mask, double u, cand *c) {
  int64_t n = 0;
  for (int64_t v = 0; v < V; v++)
    if (v != mask) c[n++] = (cand){row[v] / s->temperature, (int32_t)v};
  if (s->top_k > 0 || s->top_p < 1) qsort(c, (size_t)n, sizeof *c, by_logit);
  if (s->top_k > 0 && s->top_k < n) n = s->top_k;
  double mx = -INFINITY, sum = 0;
  for (int64_t k = 0; k < n; k++) mx = c[k].p > mx ? c[k].p : mx;
  for (int64_t k = 0; k < n; k++) sum += c[k].p = exp(c[k].p - mx);
  if (s->top_p < 1) { /* the sorted prefix whose mass reaches top_p */
    double acc = 0;
    int64_t keep = 0;
    while (keep < n && acc < s->top_p * sum) acc += c[keep++].p;
    n = keep ? keep : 1;
    sum = acc > 0 ? acc : c[0].p;
  }
  double target = u * sum, acc = 0;
  for (int64_t k = 0; k < n; k++)
    if ((acc += c[k].p) > target) return c[k].v;
  return c[n - 1].v;
}

/* Checks that every row's prompt is followed by masks only (ar cannot infill). */
static int check_tail(const int32_t *x, int64_t B, int64_t L, int64_t g0, int32_t mask) {
  for (int64_t b = 0; b < B; b++)
    for (int64_t j = g0; j < L; j++)
      if (x[b * L + j] != mask)
        return lundi_set_error(LUNDI_EINVAL, "ar: init row %lld keeps token %d at column %lld after its first masked "
                               "column %lld; ar generates left to right and cannot infill", (long long)b,
                               x[b * L + j], (long long)j, (long long)g0);
  return 0;
}

typedef struct run {
  const ar *s;
  const lundi_pipeline_parts *parts;
  const lundi_sample_request *req;
  lundi_device *dev;
  int64_t B, L, g0;
  int32_t mask, *x, *prefix;
  char *done;
  cand *c;
} run;

/* Token column cur for every row; 0, or a negative status. */
static int next_token(run *r, int64_t cur) {
  int64_t B = r->B, L = r->L, V = 0;
  for (int64_t b = 0; b < B; b++) memcpy(r->prefix + b * cur, r->x + b * L, sizeof *r->x * (size_t)cur);
  float *lg = lundi__denoise_logits(r->parts->denoiser, r->prefix, B, cur, NULL, r->dev, r->req->rng, "ar", cur - 1, &V);
  if (!lg) return -1;
  float *u = NULL;
  if (r->s->temperature > 0) {
    lundi_tensor *ut = lundi_rand(r->req->rng, 1, (int64_t[]){B});
    u = ut ? malloc(sizeof *u * lundi__nz(B)) : NULL;
    int bad = !u || lundi_read_f32(ut, u, B);
    lundi_release(ut);
    if (bad || !(r->c || (r->c = malloc(sizeof *r->c * lundi__nz(V))))) {
      if (!lundi_last_error()[0]) lundi_set_error(LUNDI_ENOMEM, "ar: out of memory");
      free(u);
      free(lg);
      return -1;
    }
  }
  for (int64_t b = 0; b < B; b++) {
    const float *row = lg + b * V;
    int32_t tok = r->done[b] ? r->s->eos
                  : u        ? draw(r->s, row, V, r->mask, u[b], r->c)
                             : (int32_t)lundi__argmax_skip(row, V, r->mask);
    r->x[b * L + cur] = tok;
    if (r->s->eos >= 0 && tok == r->s->eos) r->done[b] = 1;
  }
  free(u);
  free(lg);
  return 0;
}

static int report(run *r, int i, int n) {
  const lundi_sample_request *req = r->req;
  if (!req->callback) return 0;
  lundi_tensor *xt = lundi__tok_upload(2, (int64_t[]){r->B, r->L}, r->x, r->dev);
  if (!xt) return -1;
  lundi_clear_error();
  int rc = req->callback(req->callback_ud, i, n, 1 - (double)i / n, xt, NULL);
  if (rc < 0 && !lundi_last_error()[0]) lundi_set_error(rc, "ar: the step callback failed at token %d (status %d)", i, rc);
  lundi_release(xt);
  return rc;
}

static int generate(run *r) {
  int n = (int)(r->L - r->g0);
  for (int64_t cur = r->g0; cur < r->L; cur++) {
    if (next_token(r, cur)) return -1;
    int rc = report(r, (int)(cur - r->g0), n);
    if (rc < 0 || rc == 1) return rc;
    int all = r->s->eos >= 0;
    for (int64_t b = 0; all && b < r->B; b++) all = r->done[b];
    if (all) { /* every row ended: pad them all */
      for (int64_t b = 0; b < r->B; b++)
        for (int64_t j = cur + 1; j < r->L; j++) r->x[b * r->L + j] = r->s->eos;
      return 0;
    }
  }
  return 0;
}

static lundi_tensor *sample(void *self, const lundi_pipeline_parts *parts, const lundi_sample_request *req) {
  run r = {.s = self, .parts = parts, .req = req};
  if (parts->conditioner) {
    lundi_set_error(LUNDI_EINVAL, "ar: the prompt is given as tokens (cond_input or init), not through a conditioner; "
                    "leave the pipeline's conditioner '%s' out",
                    lundi_plugin_info(lundi_instance_plugin(parts->conditioner))->name);
    return NULL;
  }
  if (lundi__mask_id(parts->scheduler, "ar", &r.mask) || lundi__start_tokens(req, r.mask, "ar", &r.x, &r.g0))
    return NULL;
  r.B = req->batch;
  r.L = req->shape[0];
  lundi_tensor *out = NULL;
  int rc = -1;
  if (r.g0 < 0) {
    lundi_set_error(LUNDI_EINVAL, "ar: nothing to generate: no position holds the mask id %d", r.mask);
  } else if (r.g0 == 0) {
    lundi_set_error(LUNDI_EINVAL, "ar: needs at least one prompt token (e.g. BOS) to predict the first token from; give "
                    "cond_input [batch, Lp >= 1] or an init whose first column is not masked");
  } else if (!check_tail(r.x, r.B, r.L, r.g0, r.mask)) {
    r.done = calloc((size_t)r.B, 1);
    r.prefix = malloc(sizeof *r.prefix * lundi__nz(r.B * r.L));
    if (!r.done || !r.prefix) {
      lundi_set_error(LUNDI_ENOMEM, "ar: out of memory");
    } else {
      r.dev = lundi__denoiser_device(parts->denoiser);
      lundi_no_grad_enter();
      int was_training = lundi__denoiser_train_mode(parts->denoiser, 0);
      rc = generate(&r);
      lundi__denoiser_train_mode(parts->denoiser, was_training);
      lundi_no_grad_exit();
    }
  }
  if (rc >= 0) out = lundi__tok_upload(2, (int64_t[]){r.B, r.L}, r.x, r.dev);
  free(r.x);
  free(r.prefix);
  free(r.done);
  free(r.c);
  return out;
}

static const lundi_sampler_api api = {.sample = sample};

int lundi_builtin_ar(lundi_registry *r) {
  lundi_plugin_desc d = {
      .abi_version = LUNDI_ABI_VERSION,
      .kind = LUNDI_SAMPLER,
      .name = "ar",
      .version = "1.0.0",
      .description = "left-to-right sampling from a causal language model (llada's twin): greedy or temperature, "
                     "top-k, top-p, EOS padding; tokens i32 [batch, L]",
      .params = specs,
      .n_params = (int)(sizeof specs / sizeof *specs),
      .create = create,
      .destroy = destroy,
      .api = &api,
  };
  return lundi_register(r, &d, NULL);
}
