/* The ar sampler: a causal oracle's sequences reproduced (greedy, with temperature and
 * filters), EOS padding and the early end, top-k / top-p / temperature frequencies, errors. */
#include "common.h"

#include <stdlib.h>

enum { EOS = 5, MASK = 6, VOCAB = 7 };

/* The next token after x_j: x_j + 1, or EOS after a 4; after EOS the model says 0 (the
 * sampler must pad with EOS itself). Reads x_0..x_j only; the mask id's logit is largest. */
static int32_t next_of(int32_t v) { return v == 4 ? EOS : v == EOS ? 0 : v + 1; }

static void causal(const int32_t *x, int64_t L, int64_t V, float *out) {
  for (int64_t j = 0; j < L; j++) {
    float *o = out + j * V;
    for (int64_t v = 0; v < V; v++) o[v] = 0;
    o[MASK] = 50;
    o[next_of(x[j])] = 8;
  }
}

/* Fixed probabilities q = {0.4, 0.3, 0.2, 0.1} for tokens 3, 1, 0, 2, whatever the input. */
static const double fixed_q[4] = {0.2, 0.3, 0.1, 0.4};
static void fixed(const int32_t *x, int64_t L, int64_t V, float *out) {
  (void)x;
  for (int64_t j = 0; j < L; j++) {
    for (int64_t v = 0; v < V; v++) out[j * V + v] = v < 4 ? (float)log(fixed_q[v]) : -1e4f;
    out[j * V + MASK] = 0; /* e^0 = 1 would outweigh every token */
  }
}

typedef struct parts {
  lundi_registry *r;
  lundi_instance *sched, *den, *samp;
} parts;

static parts make(const char *den, const char *const *kv) {
  parts p = {td_registry(), NULL, NULL, NULL};
  CHECK(td_register(p.r, "causal", causal) == 0 && td_register(p.r, "fixed", fixed) == 0);
  p.sched = td_make(p.r, LUNDI_SCHEDULER, "masked", "mask_id", "6", NULL);
  p.den = td_make(p.r, LUNDI_DENOISER, den, "vocab", "7", NULL);
  const lundi_plugin *pl = lundi_registry_find(p.r, LUNDI_SAMPLER, "ar");
  lundi_params *ps = lundi_plugin_params(pl);
  for (int k = 0; kv && kv[k]; k += 2) CHECK(lundi_params_set(ps, kv[k], kv[k + 1]) == 0);
  p.samp = lundi_instance_new(pl, ps);
  lundi_params_free(ps);
  CHECK(p.sched && p.den && p.samp);
  return p;
}

static void unmake(parts *p) {
  lundi_instance_free(p->samp);
  lundi_instance_free(p->den);
  lundi_instance_free(p->sched);
  lundi_registry_free(p->r);
}

static lundi_tensor *run(parts *p, lundi_sample_request *req) {
  lundi_pipeline_parts pp = {p->sched, p->den, NULL};
  return lundi_sampler_sample(p->samp, &pp, req);
}

static int tokens_seen;
static int count_tokens(void *ud, int i, int n, double t, lundi_tensor *x, lundi_tensor *x0) {
  (void)ud, (void)t, (void)x;
  CHECK(x0 == NULL && i == tokens_seen && n == 9);
  tokens_seen++;
  return 0;
}

enum { B = 3, L = 10 };

/* Greedy and sampled runs reproduce the oracle; the init prefix works like cond_input. */
static void oracle_case(const char *const *kv, int use_init) {
  parts p = make("causal", kv);
  lundi_rng rng = lundi_rng_make(2);
  const int32_t first[B] = {0, 2, 3};
  int32_t initv[B * L];
  for (int k = 0; k < B * L; k++) initv[k] = k % L ? MASK : first[k / L];
  lundi_tensor *prompt = td_tokens(B, 1, first), *init = td_tokens(B, L, initv);
  lundi_sample_request req = {.batch = B, .ndim = 1, .shape = {L}, .rng = &rng, .callback = count_tokens};
  if (use_init) req.init = init;
  else req.cond_input = prompt;
  tokens_seen = 0;
  lundi_tensor *y = run(&p, &req);
  CHECK(y != NULL && tokens_seen == L - 1);
  int32_t *v = y ? td_read_tokens(y) : NULL;
  for (int b = 0; v && b < B; b++) {
    int32_t want = first[b];
    for (int j = 0; j < L; j++, want = next_of(want)) CHECK(v[b * L + j] == want);
  }
  free(v);
  lundi_release(y);
  lundi_release(prompt);
  lundi_release(init);
  unmake(&p);
}

static void test_oracle(void) {
  oracle_case(NULL, 0);
  oracle_case(NULL, 1);
  const char *warm[] = {"temperature", "0.5", NULL};
  oracle_case(warm, 0);
  const char *hot_k[] = {"temperature", "100", "top_k", "1", NULL};
  oracle_case(hot_k, 1);
  const char *hot_p[] = {"temperature", "100", "top_p", "0.01", NULL};
  oracle_case(hot_p, 0);
}

/* With eos_id a row that emitted it is padded with it; once every row has, the loop ends. */
static void test_eos(void) {
  const char *kv[] = {"eos_id", "5", NULL};
  parts p = make("causal", kv);
  lundi_rng rng = lundi_rng_make(2);
  const int32_t first[2] = {1, 3};
  lundi_tensor *prompt = td_tokens(2, 1, first);
  lundi_sample_request req = {.batch = 2, .ndim = 1, .shape = {L}, .cond_input = prompt, .rng = &rng};
  td_calls = 0;
  lundi_tensor *y = run(&p, &req);
  int32_t *v = y ? td_read_tokens(y) : NULL;
  const int32_t want[2 * L] = {1, 2, 3, 4, EOS, EOS, EOS, EOS, EOS, EOS, 3, 4, EOS, EOS, EOS, EOS, EOS, EOS, EOS, EOS};
  for (int k = 0; v && k < 2 * L; k++) CHECK(v[k] == want[k]);
  CHECK(td_calls == 4); /* columns 1..4: row 0 ends at 4, row 1 at 2 */
  free(v);
  lundi_release(y);
  lundi_release(prompt);
  unmake(&p);
}

/* Frequencies of the first token from fixed probabilities, under temperature and filters. */
static void freq_case(const char *const *kv, const double *want) {
  parts p = make("fixed", kv);
  lundi_rng rng = lundi_rng_make(17);
  enum { R = 20000 };
  int32_t *first = calloc(R, sizeof *first);
  lundi_tensor *prompt = td_tokens(R, 1, first);
  lundi_sample_request req = {.batch = R, .ndim = 1, .shape = {2}, .cond_input = prompt, .rng = &rng};
  lundi_tensor *y = run(&p, &req);
  int32_t *v = y ? td_read_tokens(y) : NULL;
  int counts[VOCAB] = {0};
  for (int k = 0; v && k < R; k++) counts[v[2 * k + 1]]++;
  for (int t = 0; v && t < VOCAB; t++) {
    double q = t < 4 ? want[t] : 0;
    CHECK_NEAR(counts[t] / (double)R, q, 5 * sqrt(q * (1 - q) / R) + 1e-12);
  }
  free(v);
  free(first);
  lundi_release(y);
  lundi_release(prompt);
  unmake(&p);
}

static void test_filters(void) {
  const char *t1[] = {"temperature", "1", NULL};
  freq_case(t1, fixed_q);
  const char *k2[] = {"temperature", "1", "top_k", "2", NULL}; /* tokens 3 and 1: 0.4, 0.3 */
  freq_case(k2, (double[]){0, 3 / 7.0, 0, 4 / 7.0});
  const char *p5[] = {"temperature", "1", "top_p", "0.75"}; /* 0.4 + 0.3 < 0.75: add 0.2 */
  const char *p5n[] = {p5[0], p5[1], p5[2], p5[3], NULL};
  freq_case(p5n, (double[]){2 / 9.0, 3 / 9.0, 0, 4 / 9.0});
  const char *t2[] = {"temperature", "2", NULL}; /* q^(1/2), normalised */
  double s = 0, w[4];
  for (int k = 0; k < 4; k++) s += sqrt(fixed_q[k]);
  for (int k = 0; k < 4; k++) w[k] = sqrt(fixed_q[k]) / s;
  freq_case(t2, w);
}

static void test_errors(void) {
  parts p = make("causal", NULL);
  lundi_rng rng = lundi_rng_make(2);
  lundi_sample_request req = {.batch = 1, .ndim = 1, .shape = {L}, .rng = &rng};
  CHECK_ERR(run(&p, &req), "needs at least one prompt token (e.g. BOS)");
  int32_t iv[4] = {1, MASK, 2, MASK};
  lundi_tensor *init = td_tokens(1, 4, iv);
  lundi_sample_request ri = {.batch = 1, .ndim = 1, .shape = {4}, .init = init, .rng = &rng};
  CHECK_ERR(run(&p, &ri), "keeps token 2 at column 2 after its first masked column 1");
  lundi_release(init);
  const lundi_plugin *pl = lundi_registry_find(p.r, LUNDI_SAMPLER, "ar");
  lundi_params *ps = lundi_plugin_params(pl);
  CHECK(lundi_params_set(ps, "top_p", "0") == 0);
  CHECK_ERR(lundi_instance_new(pl, ps), "'top_p' must be in (0, 1]");
  lundi_params_free(ps);
  unmake(&p);
}

static const test_case TESTS[] = {
    {"oracle", test_oracle},
    {"eos", test_eos},
    {"filters", test_filters},
    {"errors", test_errors},
};
TEST_MAIN(TESTS)
