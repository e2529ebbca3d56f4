/* Likelihoods of text models (lundi/likelihood.h): LLaDA's Monte-Carlo bound for a
 * masked-diffusion model and the exact NLL of a causal one. Token work on the host; the
 * log-probabilities in double. */
#include "lundi/likelihood.h"
#include "text_common.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

/* The scored rows: host tokens and each row's first scored column s = max(prompt_len, 1). */
typedef struct scored {
  int64_t N, L;
  int32_t *x;
  int64_t *s;
} scored;

static void scored_free(scored *r) {
  free(r->x);
  free(r->s);
}

static int scored_read(const char *fn, lundi_tensor *tokens, const int32_t *plen, scored *r) {
  char a[160];
  memset(r, 0, sizeof *r);
  if (!tokens || lundi_ndim(tokens) != 2 || lundi_dim(tokens, 0) < 1 || lundi_dim(tokens, 1) < 2)
    return lundi_set_error(LUNDI_ESHAPE, "%s: tokens must be i32 [N >= 1, L >= 2], got %s", fn,
                           tokens ? lundi_describe(tokens, a, sizeof a) : "NULL");
  r->N = lundi_dim(tokens, 0);
  r->L = lundi_dim(tokens, 1);
  if (!(r->x = lundi__tok_read(tokens, "tokens"))) return lundi_last_error_code();
  if (!(r->s = malloc(sizeof *r->s * lundi__nz(r->N)))) {
    scored_free(r);
    return lundi_set_error(LUNDI_ENOMEM, "%s: out of memory", fn);
  }
  for (int64_t n = 0; n < r->N; n++) {
    int64_t p = plen ? plen[n] : 0;
    if (p < 0 || p >= r->L) {
      scored_free(r);
      return lundi_set_error(LUNDI_EINVAL, "%s: row %lld: prompt_len %lld leaves no token to score (L = %lld; scored "
                             "are columns max(prompt_len, 1) .. L - 1)", fn, (long long)n, (long long)p, (long long)r->L);
    }
    r->s[n] = p > 1 ? p : 1;
  }
  return 0;
}

/* -log softmax(row)[v] in double; NaN and the error set when v is not a class of row. */
static double nll_of(const char *fn, const float *row, int64_t V, int32_t v, int64_t n, int64_t j) {
  if (v < 0 || v >= V) {
    lundi_set_error(LUNDI_EINVAL, "%s: token %d at row %lld, column %lld is not among the denoiser's %lld classes", fn, v,
                    (long long)n, (long long)j, (long long)V);
    return NAN;
  }
  double mx = -INFINITY, sum = 0;
  for (int64_t k = 0; k < V; k++) mx = row[k] > mx ? row[k] : mx;
  for (int64_t k = 0; k < V; k++) sum += exp((double)row[k] - mx);
  return mx + log(sum) - (double)row[v];
}

int lundi_ar_nll(lundi_instance *denoiser, lundi_tensor *tokens, const int32_t *prompt_len, double *nll) {
  static const char fn[] = "ar_nll";
  if (!denoiser || !nll) return lundi_set_error(LUNDI_EINVAL, "%s: %s is NULL", fn, !denoiser ? "denoiser" : "nll");
  scored r;
  if (scored_read(fn, tokens, prompt_len, &r)) return lundi_last_error_code();
  lundi_no_grad_enter();
  int was = lundi__denoiser_train_mode(denoiser, 0);
  int64_t V = 0;
  float *lg = lundi__denoise_logits(denoiser, r.x, r.N, r.L, NULL, lundi__denoiser_device(denoiser), NULL, fn, -1, &V);
  lundi__denoiser_train_mode(denoiser, was);
  lundi_no_grad_exit();
  int rc = lg ? 0 : -1;
  for (int64_t n = 0; !rc && n < r.N; n++) {
    double sum = 0;
    for (int64_t j = r.s[n]; !rc && j < r.L; j++) {
      double v = nll_of(fn, lg + (n * r.L + j - 1) * V, V, r.x[n * r.L + j], n, j);
      if (isnan(v)) rc = -1;
      sum += v;
    }
    nll[n] = sum;
  }
  free(lg);
  scored_free(&r);
  return rc ? (lundi_last_error_code() ? lundi_last_error_code() : LUNDI_EINVAL) : 0;
}

/* ---- the masked bound ---- */

typedef struct keyed {
  float key;
  int32_t j;
} keyed;

static int by_key(const void *a, const void *b) {
  const keyed *x = a, *y = b;
  if (x->key != y->key) return x->key < y->key ? -1 : 1;
  return (x->j > y->j) - (x->j < y->j);
}

/* l for draw d of n_mc of a row with A answer tokens and offset o in [0, A): the draws'
 * l are A / n_mc apart, wrapped into 1..A. */
static int64_t draw_l(double o, int64_t d, int n_mc, int64_t A) {
  return 1 + (int64_t)floor(o + (double)d * (double)A / n_mc) % A;
}

typedef struct elbo_run {
  lundi_instance *den;
  lundi_rng *rng;
  lundi_device *dev;
  const scored *r;
  int32_t mask;
  int n_mc;
  const double *offset; /* [N] */
  double *vals;         /* [N, n_mc] */
  keyed *ks;            /* [L] */
} elbo_run;

/* Draws d0 .. d0 + c - 1 of every row through one denoiser call (row dd * N + n). */
static int elbo_chunk(elbo_run *e, int64_t d0, int64_t c) {
  static const char fn[] = "masked_elbo";
  const scored *r = e->r;
  int64_t N = r->N, L = r->L, R = N * c, V = 0;
  int32_t *in = malloc(sizeof *in * lundi__nz(R * L));
  float *t = malloc(sizeof *t * lundi__nz(R)), *keys = NULL, *lg = NULL;
  int64_t *ls = malloc(sizeof *ls * lundi__nz(R));
  lundi_tensor *kt = in && t && ls ? lundi_rand(e->rng, 2, (int64_t[]){R, L}) : NULL;
  int rc = -1;
  if (!in || !t || !ls) lundi_set_error(LUNDI_ENOMEM, "%s: out of memory", fn);
  if (!kt || !(keys = malloc(sizeof *keys * lundi__nz(R * L))) || lundi_read_f32(kt, keys, R * L)) goto done;
  for (int64_t q = 0; q < R; q++) {
    int64_t n = q % N, d = d0 + q / N, s = r->s[n], A = L - s, l = draw_l(e->offset[n], d, e->n_mc, A);
    int32_t *row = in + q * L;
    memcpy(row, r->x + n * L, sizeof *row * (size_t)L);
    for (int64_t j = s; j < L; j++) e->ks[j - s] = (keyed){keys[q * L + j], (int32_t)j};
    qsort(e->ks, (size_t)A, sizeof *e->ks, by_key); /* a uniform random subset: the l smallest keys */
    for (int64_t k = 0; k < l; k++) row[e->ks[k].j] = e->mask;
    ls[q] = l;
    t[q] = (float)((double)l / (double)A);
  }
  if (!(lg = lundi__denoise_logits(e->den, in, R, L, t, e->dev, e->rng, fn, -1, &V))) goto done;
  rc = 0;
  for (int64_t q = 0; !rc && q < R; q++) {
    int64_t n = q % N, A = L - r->s[n];
    double sum = 0;
    for (int64_t j = r->s[n]; j < L; j++) {
      if (in[q * L + j] != e->mask || r->x[n * L + j] == e->mask) continue;
      double v = nll_of(fn, lg + (q * L + j) * V, V, r->x[n * L + j], n, j);
      if (isnan(v)) rc = -1;
      sum += v;
    }
    e->vals[n * e->n_mc + d0 + q / N] = (double)A / (double)ls[q] * sum;
  }
done:
  lundi_release(kt);
  free(in);
  free(t);
  free(keys);
  free(lg);
  free(ls);
  return rc;
}

int lundi_masked_elbo(lundi_instance *denoiser, lundi_instance *scheduler, lundi_tensor *tokens,
                      const int32_t *prompt_len, int n_mc, int mc_batch, lundi_rng *rng, double *nll,
                      double *se) {
  static const char fn[] = "masked_elbo";
  if (!denoiser || !scheduler || !rng || !nll)
    return lundi_set_error(LUNDI_EINVAL, "%s: %s is NULL", fn,
                           !denoiser ? "denoiser" : !scheduler ? "scheduler" : !rng ? "rng" : "nll");
  if (n_mc < 1 || mc_batch < 0)
    return lundi_set_error(LUNDI_EINVAL, "%s: n_mc = %d must be at least 1 and mc_batch = %d at least 0 (0: automatic)",
                           fn, n_mc, mc_batch);
  elbo_run e = {.den = denoiser, .rng = rng, .dev = lundi__denoiser_device(denoiser), .n_mc = n_mc};
  if (lundi__mask_id(scheduler, fn, &e.mask)) return lundi_last_error_code();
  scored r;
  if (scored_read(fn, tokens, prompt_len, &r)) return lundi_last_error_code();
  e.r = &r;
  double *offset = malloc(sizeof *offset * lundi__nz(r.N));
  e.vals = malloc(sizeof *e.vals * lundi__nz(r.N * n_mc));
  e.ks = malloc(sizeof *e.ks * lundi__nz(r.L));
  lundi_tensor *ot = offset && e.vals && e.ks ? lundi_rand(rng, 1, (int64_t[]){r.N}) : NULL;
  float *of = ot ? malloc(sizeof *of * lundi__nz(r.N)) : NULL;
  int rc = -1;
  if (!offset || !e.vals || !e.ks) lundi_set_error(LUNDI_ENOMEM, "%s: out of memory", fn);
  if (of && !lundi_read_f32(ot, of, r.N)) {
    for (int64_t n = 0; n < r.N; n++) offset[n] = of[n] * (double)(r.L - r.s[n]);
    e.offset = offset;
    int64_t chunk = mc_batch ? mc_batch : (256 / r.N > 1 ? 256 / r.N : 1);
    lundi_no_grad_enter();
    int was = lundi__denoiser_train_mode(denoiser, 0);
    rc = 0;
    for (int64_t d0 = 0; !rc && d0 < n_mc; d0 += chunk) rc = elbo_chunk(&e, d0, chunk < n_mc - d0 ? chunk : n_mc - d0);
    lundi__denoiser_train_mode(denoiser, was);
    lundi_no_grad_exit();
  }
  for (int64_t n = 0; !rc && n < r.N; n++) {
    const double *v = e.vals + n * n_mc;
    double mean = 0, ss = 0;
    for (int d = 0; d < n_mc; d++) mean += v[d];
    mean /= n_mc;
    for (int d = 0; d < n_mc; d++) ss += (v[d] - mean) * (v[d] - mean);
    nll[n] = mean;
    if (se) se[n] = n_mc > 1 ? sqrt(ss / (n_mc - 1) / n_mc) : NAN;
  }
  lundi_release(ot);
  free(of);
  free(offset);
  free(e.vals);
  free(e.ks);
  scored_free(&r);
  return rc ? (lundi_last_error_code() ? lundi_last_error_code() : LUNDI_EINVAL) : 0;
}
