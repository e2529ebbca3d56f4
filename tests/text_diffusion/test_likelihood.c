/* Likelihoods on models small enough to enumerate: the masked bound computed exactly over
 * every mask subset, the model's true likelihood (the mean over unmasking orders of the
 * product of conditionals), ELBO >= NLL, the Monte-Carlo estimate converging to the exact
 * bound; and a causal model's exact NLL against a hand sum. */
#include "common.h"
#include "lundi/likelihood.h"

#include <stdlib.h>

enum { MASK = 3, V = 3, L = 4, S0 = 1, A = L - S0, NSEQ = 27 };

/* Any fixed function of the row (the mask symbol included) is a function of the visible
 * tokens: the logits of a tiny masked model. */
static void enum_model(const int32_t *x, int64_t len, int64_t nv, float *out) {
  uint64_t code = 0;
  for (int64_t j = 0; j < len; j++) code = code * 5 + (uint64_t)x[j];
  for (int64_t j = 0; j < len; j++)
    for (int64_t v = 0; v < nv; v++) out[j * nv + v] = (float)(2 * td_hash(code, (uint64_t)j, (uint64_t)v));
}

/* p(x_j | x with the columns in mask set m masked), straight from enum_model. */
static double cond(const int32_t *x, unsigned m, int j) {
  int32_t row[L];
  float lg[L * V];
  for (int k = 0; k < L; k++) row[k] = (m >> k) & 1 ? MASK : x[k];
  enum_model(row, L, V, lg);
  double s = 0;
  for (int v = 0; v < V; v++) s += exp(lg[j * V + v]);
  return exp(lg[j * V + x[j]]) / s;
}

static double choose(int n, int k) {
  double c = 1;
  for (int i = 0; i < k; i++) c = c * (n - i) / (i + 1);
  return c;
}

/* The bound: E over l ~ U{1..A} and subsets S of size l of (A / l) sum_{j in S} -log p. */
static double exact_elbo(const int32_t *x) {
  double e = 0;
  for (unsigned m = 1; m < (1u << A); m++) {
    int l = __builtin_popcount(m);
    double s = 0;
    for (int k = 0; k < A; k++)
      if ((m >> k) & 1) s -= log(cond(x, m << S0, S0 + k));
    e += (1.0 / A) / choose(A, l) * ((double)A / l) * s;
  }
  return e;
}

/* p(x) = mean over the A! unmasking orders of the product of conditionals; *mean_nll gets
 * the mean over orders of -log of that product (which the bound equals). */
static double exact_p(const int32_t *x, double *mean_nll) {
  int n = 0;
  double p = 0, nll = 0;
  static const int orders[6][A] = {{0, 1, 2}, {0, 2, 1}, {1, 0, 2}, {1, 2, 0}, {2, 0, 1}, {2, 1, 0}};
  for (int o = 0; o < 6; o++, n++) {
    unsigned m = ((1u << A) - 1) << S0; /* all answer columns masked */
    double prod = 1;
    for (int k = 0; k < A; k++) {
      int j = S0 + orders[o][k];
      prod *= cond(x, m, j);
      m &= ~(1u << j);
    }
    p += prod;
    nll -= log(prod);
  }
  *mean_nll = nll / n;
  return p / n;
}

static void all_sequences(int32_t *xs) {
  for (int s = 0; s < NSEQ; s++) {
    xs[s * L] = 2; /* the given first token */
    for (int k = 0, c = s; k < A; k++, c /= 3) xs[s * L + S0 + k] = c % 3;
  }
}

static void test_exact_enumeration(void) {
  int32_t xs[NSEQ * L];
  all_sequences(xs);
  double total = 0;
  for (int s = 0; s < NSEQ; s++) {
    double order_nll, p = exact_p(xs + s * L, &order_nll), e = exact_elbo(xs + s * L);
    total += p;
    CHECK(e >= -log(p) - 1e-12);
    CHECK(e > -log(p) + 1e-6); /* strict for a model whose orders disagree */
    CHECK_NEAR(e, order_nll, 1e-9);
  }
  CHECK_NEAR(total, 1, 1e-9);
}

typedef struct env {
  lundi_registry *r;
  lundi_instance *den, *sched;
} env;

static env setup(void) {
  env e = {td_registry(), NULL, NULL};
  CHECK(td_register(e.r, "enum_model", enum_model) == 0);
  e.den = td_make(e.r, LUNDI_DENOISER, "enum_model", "vocab", "3", NULL);
  e.sched = td_make(e.r, LUNDI_SCHEDULER, "masked", "mask_id", "3", NULL);
  CHECK(e.den && e.sched);
  return e;
}

static void teardown(env *e) {
  lundi_instance_free(e->den);
  lundi_instance_free(e->sched);
  lundi_registry_free(e->r);
}

/* The MC estimate of every sequence at once: within 4 standard errors of the exact bound,
 * and the error and the standard error shrink with n_mc. */
static void test_mc_converges(void) {
  env e = setup();
  int32_t xs[NSEQ * L];
  all_sequences(xs);
  lundi_tensor *tok = td_tokens(NSEQ, L, xs);
  int32_t plen[NSEQ];
  for (int s = 0; s < NSEQ; s++) plen[s] = s % 2; /* 0 and 1 both score columns 1..3 */
  const int nmc[2] = {12, 1200};
  double err[2] = {0, 0}, se_mean[2] = {0, 0};
  for (int k = 0; k < 2; k++) {
    double nll[NSEQ], se[NSEQ];
    lundi_rng rng = lundi_rng_make(100 + k);
    CHECK(lundi_masked_elbo(e.den, e.sched, tok, k ? plen : NULL, nmc[k], k ? 0 : 5, &rng, nll, se) == 0);
    for (int s = 0; s < NSEQ; s++) {
      double want = exact_elbo(xs + s * L);
      CHECK(fabs(nll[s] - want) <= 4 * se[s] + 1e-9);
      err[k] += fabs(nll[s] - want) / NSEQ;
      se_mean[k] += se[s] / NSEQ;
    }
  }
  if (getenv("TD_VERBOSE")) fprintf(stderr, "err %g %g se %g %g\n", err[0], err[1], se_mean[0], se_mean[1]);
  CHECK(err[1] < err[0] / 3);
  CHECK(se_mean[1] < se_mean[0] / 5 && se_mean[1] > se_mean[0] / 20); /* about 1 / sqrt(100) */
  teardown(&e);
  lundi_release(tok);
}

/* A prompt of two: only columns 2..3 are scored (A = 2), given columns 0..1. */
static void test_mc_prompt(void) {
  env e = setup();
  int32_t x[L] = {2, 0, 1, 2};
  lundi_tensor *tok = td_tokens(1, L, x);
  int32_t plen = 2;
  double nll, se;
  lundi_rng rng = lundi_rng_make(7);
  CHECK(lundi_masked_elbo(e.den, e.sched, tok, &plen, 2000, 64, &rng, &nll, &se) == 0);
  double want = 0;
  for (unsigned m = 1; m < 4; m++) {
    int l = __builtin_popcount(m);
    double s = 0;
    for (int k = 0; k < 2; k++)
      if ((m >> k) & 1) s -= log(cond(x, m << 2, 2 + k));
    want += 0.5 / choose(2, l) * (2.0 / l) * s;
  }
  CHECK(fabs(nll - want) <= 4 * se + 1e-9);
  teardown(&e);
  lundi_release(tok);
}

static void test_elbo_errors(void) {
  env e = setup();
  int32_t x[L] = {2, 0, 1, 2};
  lundi_tensor *tok = td_tokens(1, L, x);
  double nll, se;
  lundi_rng rng = lundi_rng_make(7);
  int32_t plen = L;
  CHECK_ERR(lundi_masked_elbo(e.den, e.sched, tok, &plen, 4, 0, &rng, &nll, &se), "prompt_len 4 leaves no token");
  CHECK_ERR(lundi_masked_elbo(e.den, e.sched, tok, NULL, 0, 0, &rng, &nll, &se), "n_mc = 0 must be at least 1");
  lundi_instance *ddpm = td_make(e.r, LUNDI_SCHEDULER, "ddpm", NULL);
  CHECK_ERR(lundi_masked_elbo(e.den, ddpm, tok, NULL, 4, 0, &rng, &nll, &se), "is not a masking scheduler");
  lundi_tensor *f = lundi_zeros(2, (int64_t[]){1, L});
  CHECK_ERR(lundi_masked_elbo(e.den, e.sched, f, NULL, 4, 0, &rng, &nll, &se), "tokens must be i32 token ids");
  CHECK(lundi_masked_elbo(e.den, e.sched, tok, NULL, 1, 0, &rng, &nll, &se) == 0 && isnan(se));
  lundi_release(f);
  lundi_instance_free(ddpm);
  teardown(&e);
  lundi_release(tok);
}

/* ---- the causal twin ---- */
enum { CV = 4, CL = 5, CN = 3 };

/* Logits at column j from x_0..x_j only. */
static void causal_model(const int32_t *x, int64_t len, int64_t nv, float *out) {
  uint64_t code = 0;
  for (int64_t j = 0; j < len; j++) {
    code = code * 7 + (uint64_t)x[j] + 1;
    for (int64_t v = 0; v < nv; v++) out[j * nv + v] = (float)(3 * td_hash(code, (uint64_t)j, (uint64_t)v + 11));
  }
}

static void test_ar_nll_hand(void) {
  lundi_registry *r = td_registry();
  CHECK(td_register(r, "causal_model", causal_model) == 0);
  lundi_instance *den = td_make(r, LUNDI_DENOISER, "causal_model", "vocab", "4", NULL);
  const int32_t x[CN * CL] = {0, 1, 2, 3, 0, 3, 3, 1, 0, 2, 1, 1, 1, 1, 3};
  const int32_t plen[CN] = {0, 2, 4};
  lundi_tensor *tok = td_tokens(CN, CL, x);
  double nll[CN];
  CHECK(lundi_ar_nll(den, tok, plen, nll) == 0);
  for (int n = 0; n < CN; n++) {
    float lg[CL * CV];
    causal_model(x + n * CL, CL, CV, lg);
    double want = 0;
    for (int j = plen[n] > 1 ? plen[n] : 1; j < CL; j++) {
      const float *row = lg + (j - 1) * CV;
      double s = 0;
      for (int v = 0; v < CV; v++) s += exp(row[v]);
      want -= row[x[n * CL + j]] - log(s);
    }
    CHECK_NEAR(nll[n], want, 1e-9 * (1 + fabs(want)));
  }
  int32_t bad = 9;
  lundi_tensor *tb = td_tokens(1, 2, (int32_t[]){0, bad});
  CHECK_ERR(lundi_ar_nll(den, tb, NULL, nll), "token 9 at row 0, column 1 is not among the denoiser's 4 classes");
  lundi_release(tb);
  lundi_release(tok);
  lundi_instance_free(den);
  lundi_registry_free(r);
}

static const test_case TESTS[] = {
    {"exact_enumeration", test_exact_enumeration},
    {"mc_converges", test_mc_converges},
    {"mc_prompt", test_mc_prompt},
    {"elbo_errors", test_elbo_errors},
    {"ar_nll_hand", test_ar_nll_hand},
};
TEST_MAIN(TESTS)
