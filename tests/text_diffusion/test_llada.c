/* The llada sampler: the commit schedule seen through the callback (counts per step, blocks,
 * no re-masking), its parameter errors, and oracles whose answer it must reproduce. */
#include "common.h"

#include <stdlib.h>

enum { MASK = 5, VOCAB = 6, LP = 3 };

/* The answer to a prompt (columns 0..2): token (x0 + x1 + x2 + j) mod 5 at column j. */
static int32_t answer_at(const int32_t *x, int64_t j) { return (int32_t)((x[0] + x[1] + x[2] + j) % 5); }

static int prompt_visible(const int32_t *x) { return x[0] != MASK && x[1] != MASK && x[2] != MASK; }

/* Knows the answer when it sees the prompt; the mask id's logit is the largest and must
 * never be chosen. Without the prompt (cfg's second half) it prefers token j mod 5. */
static void oracle(const int32_t *x, int64_t L, int64_t V, float *out) {
  for (int64_t j = 0; j < L; j++) {
    float *o = out + j * V;
    for (int64_t v = 0; v < V; v++) o[v] = 0;
    o[MASK] = 50;
    if (prompt_visible(x)) o[answer_at(x, j)] = 8;
    else o[j % 5] = 4;
  }
}

/* Gives the answer only under guidance. A decoy D(j) that ignores the prompt is slightly
 * ahead of the answer with the prompt (20 vs 19) and alone without it (20). LLaDA's
 * u + (s + 1)(c - u) at s = 0.5 gives the answer 28.5 and the decoy 20; u + s (c - u) would
 * give 9.5 and 20. Where the answer is the decoy, both halves agree. */
static int32_t decoy_at(int64_t j) { return (int32_t)((2 * j + 1) % 5); }

static void cfg_oracle(const int32_t *x, int64_t L, int64_t V, float *out) {
  for (int64_t j = 0; j < L; j++) {
    float *o = out + j * V;
    for (int64_t v = 0; v < V; v++) o[v] = 0;
    o[MASK] = 50;
    if (prompt_visible(x)) o[answer_at(x, j)] = 19;
    o[decoy_at(j)] = 20;
  }
}

/* Arbitrary logits of the whole row: confidences that differ from position to position. */
static void hashy(const int32_t *x, int64_t L, int64_t V, float *out) {
  uint64_t code = 1;
  for (int64_t j = 0; j < L; j++) code = code * 7 + (uint64_t)x[j];
  for (int64_t j = 0; j < L; j++)
    for (int64_t v = 0; v < V; v++) out[j * V + v] = (float)(3 * td_hash(code, (uint64_t)j, (uint64_t)v));
}

static lundi_registry *registry(void) {
  lundi_registry *r = td_registry();
  if (r && (td_register(r, "oracle", oracle) || td_register(r, "cfg_oracle", cfg_oracle) ||
            td_register(r, "hashy", hashy)))
    fprintf(stderr, "register: %s\n", lundi_last_error());
  return r;
}

typedef struct parts {
  lundi_registry *r;
  lundi_instance *sched, *den, *samp;
} parts;

static parts make(const char *den, const char *const *sampler_kv) {
  parts p = {registry(), NULL, NULL, NULL};
  p.sched = td_make(p.r, LUNDI_SCHEDULER, "masked", "mask_id", "5", NULL);
  p.den = td_make(p.r, LUNDI_DENOISER, den, "vocab", "6", NULL);
  const lundi_plugin *pl = lundi_registry_find(p.r, LUNDI_SAMPLER, "llada");
  lundi_params *ps = lundi_plugin_params(pl);
  for (int k = 0; sampler_kv && sampler_kv[k]; k += 2) CHECK(lundi_params_set(ps, sampler_kv[k], sampler_kv[k + 1]) == 0);
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

/* ---- the schedule, watched step by step ---- */
enum { SB = 2, SL = 14, SG0 = 2, SBL = 4, SSTEPS = 6 };
/* init: prompt columns 0..1; row 0 keeps columns 5 and 11, row 1 keeps 9 (infilling) */
static const int32_t sched_init[SB * SL] = {1, 2, 5, 5, 5, 3, 5, 5, 5, 5, 5, 4, 5, 5,
                                            0, 4, 5, 5, 5, 5, 5, 5, 5, 1, 5, 5, 5, 5};
/* committed per row and step: masked count per block split over its 2 steps, remainder first */
static const int sched_want[SB][SSTEPS] = {{2, 1, 2, 2, 2, 1}, {2, 2, 2, 1, 2, 2}};

typedef struct watch {
  int32_t prev[SB * SL];
  int steps, bad, stop_at, greedy; /* greedy: low_confidence at temperature 0 */
  float t0[SB];
} watch;

/* hashy's prediction at column j of row x (argmax without the mask id) and its softmax
 * probability without the mask id: what low_confidence ranks by. */
static double confidence(const int32_t *x, int j, int32_t *pred) {
  float lg[SL * VOCAB];
  hashy(x, SL, VOCAB, lg);
  const float *o = lg + j * VOCAB;
  int best = 0;
  double s = 0;
  for (int v = 0; v < MASK; v++) {
    if (o[v] > o[best]) best = v;
    s += exp(o[v]);
  }
  *pred = best;
  return exp(o[best]) / s;
}

/* The tokens committed at this step are the block's most confident predictions. */
static void check_greedy(watch *w, const int32_t *cur, int64_t lo, int64_t hi) {
  for (int b = 0; b < SB; b++) {
    const int32_t *before = w->prev + b * SL;
    double lowest_taken = 2, highest_left = -1;
    for (int64_t j = lo; j < hi; j++) {
      if (before[j] != MASK) continue;
      int32_t pred;
      double c = confidence(before, (int)j, &pred);
      if (cur[b * SL + j] != MASK) {
        if (cur[b * SL + j] != pred) w->bad++;
        lowest_taken = c < lowest_taken ? c : lowest_taken;
      } else {
        highest_left = c > highest_left ? c : highest_left;
      }
    }
    if (highest_left > lowest_taken) w->bad++;
  }
}

static int on_step(void *ud, int i, int n, double t, lundi_tensor *x, lundi_tensor *x0) {
  watch *w = ud;
  CHECK(n == SSTEPS && i == w->steps);
  CHECK_NEAR(t, 1 - (double)i / n, 1e-12);
  if (i == 0) memcpy(w->t0, td_last_t, sizeof w->t0);
  int32_t *cur = td_read_tokens(x), *pred = x0 ? td_read_tokens(x0) : NULL;
  CHECK(pred != NULL);
  int64_t lo = SG0 + (i / 2) * SBL, hi = lo + SBL;
  for (int b = 0; b < SB; b++) {
    int committed = 0;
    for (int j = 0; j < SL; j++) {
      int k = b * SL + j;
      if (w->prev[k] != MASK) {
        if (cur[k] != w->prev[k]) w->bad++; /* never re-masked, never changed */
      } else if (cur[k] != MASK) {
        committed++;
        if (j < lo || j >= hi) w->bad++; /* a commit outside the current block */
        if (pred && pred[k] != cur[k]) w->bad++;
        if (cur[k] < 0 || cur[k] >= MASK) w->bad++;
      }
      if (pred && cur[k] != MASK && pred[k] != cur[k]) w->bad++;
    }
    CHECK(committed == sched_want[b][i]);
  }
  if (w->greedy) check_greedy(w, cur, lo, hi);
  memcpy(w->prev, cur, sizeof w->prev);
  free(cur);
  free(pred);
  w->steps++;
  return w->stop_at == i ? 1 : 0;
}

static void schedule_case(const char *remasking, const char *temperature) {
  const char *kv[] = {"steps", "6", "block_length", "4", "remasking", remasking, "temperature", temperature, NULL};
  parts p = make("hashy", kv);
  lundi_rng rng = lundi_rng_make(4);
  watch w = {.stop_at = -1, .greedy = !strcmp(remasking, "low_confidence") && !strcmp(temperature, "0")};
  memcpy(w.prev, sched_init, sizeof w.prev);
  lundi_tensor *init = td_tokens(SB, SL, sched_init);
  lundi_sample_request req = {.batch = SB, .ndim = 1, .shape = {SL}, .init = init, .rng = &rng, .callback = on_step,
                              .callback_ud = &w};
  td_calls = 0;
  lundi_tensor *y = run(&p, &req);
  CHECK(y != NULL);
  CHECK(w.steps == SSTEPS && w.bad == 0 && td_calls == SSTEPS);
  /* the denoiser's t: the fraction of the generation region still masked (10/12 and 11/12) */
  CHECK_NEAR(w.t0[0], 10.0 / 12, 1e-6);
  CHECK_NEAR(w.t0[1], 11.0 / 12, 1e-6);
  int32_t *v = y ? td_read_tokens(y) : NULL;
  for (int k = 0; v && k < SB * SL; k++) {
    CHECK(v[k] != MASK);
    if (sched_init[k] != MASK) CHECK(v[k] == sched_init[k]);
  }
  free(v);
  lundi_release(y);
  /* the callback's 1 stops early: the current x, masks and all */
  watch w2 = {.stop_at = 2};
  memcpy(w2.prev, sched_init, sizeof w2.prev);
  req.callback_ud = &w2;
  td_calls = 0;
  y = run(&p, &req);
  CHECK(y && w2.steps == 3 && td_calls == 3);
  v = y ? td_read_tokens(y) : NULL;
  int masks = 0;
  for (int k = 0; v && k < SB * SL; k++) masks += v[k] == MASK;
  CHECK(masks == 5 + 5); /* 12 - 1 - 6 committed in row 0, 12 - 1 - 6 in row 1 */
  free(v);
  lundi_release(y);
  lundi_release(init);
  unmake(&p);
}

static void test_schedule_low_confidence(void) { schedule_case("low_confidence", "0"); }
static void test_schedule_random(void) { schedule_case("random", "1"); }

/* ---- oracles ---- */
enum { OB = 3, OL = 11 };
static const int32_t prompts[OB * LP] = {0, 1, 2, 4, 4, 3, 2, 0, 1};

static void oracle_case(const char *den, const char *remasking, const char *block, const char *steps,
                        const char *temperature, const char *cfg) {
  const char *kv[] = {"steps", steps, "block_length", block, "remasking", remasking, "temperature", temperature,
                      "cfg_scale", cfg, NULL};
  parts p = make(den, kv);
  lundi_rng rng = lundi_rng_make(9);
  lundi_tensor *prompt = td_tokens(OB, LP, prompts);
  lundi_sample_request req = {.batch = OB, .ndim = 1, .shape = {OL}, .cond_input = prompt, .rng = &rng};
  td_rows = 0;
  td_calls = 0;
  lundi_tensor *y = run(&p, &req);
  CHECK(y != NULL);
  if (!y) fprintf(stderr, "%s\n", lundi_last_error());
  CHECK(td_calls == atoi(steps));
  CHECK(td_rows == (atof(cfg) > 0 ? 2 : 1) * OB * td_calls);
  int32_t *v = y ? td_read_tokens(y) : NULL;
  int wrong = 0;
  for (int b = 0; v && b < OB; b++)
    for (int j = 0; j < OL; j++) {
      int32_t want = j < LP ? prompts[b * LP + j] : answer_at(prompts + b * LP, j);
      wrong += v[b * OL + j] != want;
    }
  if (wrong) fprintf(stderr, "%s %s block %s steps %s T %s cfg %s: %d wrong\n", den, remasking, block, steps,
                     temperature, cfg, wrong);
  CHECK(v && wrong == 0);
  free(v);
  lundi_release(y);
  lundi_release(prompt);
  unmake(&p);
}

static void test_oracle(void) {
  const char *rm[] = {"low_confidence", "random"};
  for (int a = 0; a < 2; a++) {
    oracle_case("oracle", rm[a], "0", "8", "0", "0");   /* one block, a token per step */
    oracle_case("oracle", rm[a], "0", "3", "0", "0");   /* 3, 3, 2 tokens per step */
    oracle_case("oracle", rm[a], "4", "4", "0", "0");   /* two blocks */
    oracle_case("oracle", rm[a], "2", "8", "0.5", "0"); /* four blocks, Gumbel-max */
    oracle_case("oracle", rm[a], "4", "8", "1", "1");   /* cfg with an oracle that ignores it */
    oracle_case("cfg_oracle", rm[a], "0", "8", "0", "0.5");
    oracle_case("cfg_oracle", rm[a], "4", "4", "0.3", "0.5");
  }
}

/* Without guidance the cfg oracle's decoy wins: the test above is not passing by accident. */
static void test_cfg_needed(void) {
  const char *kv[] = {"steps", "8", "block_length", "0", NULL};
  parts p = make("cfg_oracle", kv);
  lundi_rng rng = lundi_rng_make(9);
  lundi_tensor *prompt = td_tokens(OB, LP, prompts);
  lundi_sample_request req = {.batch = OB, .ndim = 1, .shape = {OL}, .cond_input = prompt, .rng = &rng};
  lundi_tensor *y = run(&p, &req);
  int32_t *v = y ? td_read_tokens(y) : NULL;
  for (int b = 0; v && b < OB; b++)
    for (int j = LP; j < OL; j++) CHECK(v[b * OL + j] == decoy_at(j));
  free(v);
  lundi_release(y);
  lundi_release(prompt);
  unmake(&p);
}

static void test_param_errors(void) {
  lundi_rng rng = lundi_rng_make(1);
  lundi_tensor *prompt = td_tokens(OB, LP, prompts);
  lundi_sample_request req = {.batch = OB, .ndim = 1, .shape = {OL}, .cond_input = prompt, .rng = &rng};
  const char *kv1[] = {"steps", "8", "block_length", "3", NULL};
  parts p = make("oracle", kv1);
  CHECK_ERR(run(&p, &req), "gen_length 8 (the generation region, columns 3..10 of 11) is not a multiple of "
                           "block_length 3");
  unmake(&p);
  const char *kv2[] = {"steps", "3", "block_length", "4", NULL};
  p = make("oracle", kv2);
  CHECK_ERR(run(&p, &req), "steps 3 is not a multiple of the number of blocks 2 (gen_length 8 / block_length 4)");
  /* rows whose generation region starts at different columns */
  int32_t init_v[2 * 4] = {1, 5, 5, 5, 1, 2, 5, 5};
  lundi_tensor *init = td_tokens(2, 4, init_v);
  lundi_sample_request ri = {.batch = 2, .ndim = 1, .shape = {4}, .init = init, .rng = &rng};
  CHECK_ERR(run(&p, &ri), "row 0's first masked column (mask id 5) is 1, row 1's is 2");
  int32_t full_v[2 * 4] = {1, 2, 3, 4, 1, 2, 3, 4};
  lundi_tensor *full = td_tokens(2, 4, full_v);
  ri.init = full;
  CHECK_ERR(run(&p, &ri), "nothing to generate");
  lundi_sample_request r2 = req;
  r2.ndim = 2;
  r2.shape[1] = 2;
  CHECK_ERR(run(&p, &r2), "the request's shape must be {L}");
  r2 = req;
  r2.shape[0] = LP;
  CHECK_ERR(run(&p, &r2), "must be [batch = 3, Lp] with Lp < L = 3");
  const char *texts[OB] = {"a", "b", "c"};
  r2 = req;
  r2.prompts = texts;
  CHECK_ERR(run(&p, &r2), "text prompts are not taken");
  /* a scheduler that does not mask */
  lundi_instance *ddpm = td_make(p.r, LUNDI_SCHEDULER, "ddpm", NULL);
  lundi_pipeline_parts pp = {ddpm, p.den, NULL};
  CHECK_ERR(lundi_sampler_sample(p.samp, &pp, &req), "scheduler 'ddpm' is not a masking scheduler");
  lundi_instance *cls = td_make(p.r, LUNDI_CONDITIONER, "class", NULL);
  pp = (lundi_pipeline_parts){p.sched, p.den, cls};
  CHECK_ERR(lundi_sampler_sample(p.samp, &pp, &req), "leave the pipeline's conditioner 'class' out");
  lundi_instance_free(cls);
  lundi_instance_free(ddpm);
  lundi_release(init);
  lundi_release(full);
  lundi_release(prompt);
  unmake(&p);
}

static const test_case TESTS[] = {
    {"schedule_low_confidence", test_schedule_low_confidence},
    {"schedule_random", test_schedule_random},
    {"oracle", test_oracle},
    {"cfg_needed", test_cfg_needed},
    {"param_errors", test_param_errors},
};
TEST_MAIN(TESTS)
