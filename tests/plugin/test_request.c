/* lundi_sample_request_check(): the one check of a sample request (runtime/plugin/request.c),
 * run by lundi_sampler_sample() for every sampler. */
#include "harness.h"
#include "lundi/plugin.h"

static lundi_rng g_rng;

static lundi_sample_request good(void) {
  g_rng = lundi_rng_make(1);
  return (lundi_sample_request){.batch = 2, .ndim = 2, .shape = {3, 4}, .rng = &g_rng};
}

static void test_accepts(void) {
  lundi_sample_request r = good();
  CHECK(lundi_sample_request_check(&r) == 0);
  r.strength = 1;
  CHECK(lundi_sample_request_check(&r) == 0);
  r.strength = 0.25;
  lundi_tensor *init = lundi_zeros(3, (int64_t[]){2, 3, 4});
  r.init = init;
  CHECK(lundi_sample_request_check(&r) == 0);
  const char *prompts[] = {"a", "b"};
  r.prompts = prompts;
  CHECK(lundi_sample_request_check(&r) == 0);
  lundi_release(init);
}

static void test_refuses(void) {
  lundi_sample_request r = good();
  CHECK_ERR(lundi_sample_request_check(NULL), "the sample request is NULL");
  r.rng = NULL;
  CHECK_ERR(lundi_sample_request_check(&r), "the sample request needs an rng");
  r = good();
  r.batch = 0;
  CHECK_ERR(lundi_sample_request_check(&r), "batch (0) must be positive");
  r = good();
  r.ndim = 0;
  CHECK_ERR(lundi_sample_request_check(&r), "have 1..5 dims (got 0)");
  r.ndim = LUNDI_MAX_DIMS;
  CHECK_ERR(lundi_sample_request_check(&r), "(got 6)");
  r = good();
  r.shape[1] = 0;
  CHECK_ERR(lundi_sample_request_check(&r), "shape[1] = 0 must be positive");
  r = good();
  lundi_tensor *bad = lundi_zeros(3, (int64_t[]){2, 4, 3});
  r.init = bad;
  CHECK_ERR(lundi_sample_request_check(&r), "init [2,4,3] must be [batch, shape...]");
  CHECK(lundi_last_error_code() == LUNDI_ESHAPE);
  lundi_release(bad);
  r = good();
  r.strength = 1.5;
  CHECK_ERR(lundi_sample_request_check(&r), "the request's strength = 1.5 must be in (0, 1]");
  r.strength = NAN;
  CHECK_ERR(lundi_sample_request_check(&r), "strength = nan must be in (0, 1]");
  r.strength = -0.5;
  CHECK_ERR(lundi_sample_request_check(&r), "strength = -0.5");
  r = good();
  const char *prompts[] = {"a", NULL};
  r.prompts = prompts;
  CHECK_ERR(lundi_sample_request_check(&r), "prompts[1] is NULL");
}

/* lundi_sample_request_sizes: a script's sizes, clamped and checked before the shape is read. */
static void test_sizes(void) {
  lundi_sample_request r = {0};
  double s = 0.5, zero = 0;
  CHECK(lundi_sample_request_sizes(&r, 3, 2, &s, 3) == 0);
  CHECK(r.batch == 3 && r.ndim == 2 && r.strength == 0.5);
  CHECK(lundi_sample_request_sizes(&r, (int64_t)1 << 40, 1, NULL, -1) == 0);
  CHECK(r.batch == 0x7fffffff);
  CHECK(lundi_sample_request_sizes(&r, -5, 1, NULL, -1) == 0);
  CHECK(r.batch == -1); /* refused later by lundi_sample_request_check */
  CHECK_ERR(lundi_sample_request_sizes(&r, 1, LUNDI_MAX_DIMS, NULL, -1), "shape must have 1 to 5 entries, got 6");
  CHECK_ERR(lundi_sample_request_sizes(&r, 1, 1, &zero, -1), "strength must be in (0, 1], got 0");
  CHECK_ERR(lundi_sample_request_sizes(&r, 2, 1, NULL, 3), "prompts has 3 entries but batch is 2");
}

static const test_case TESTS[] = {{"request_accepts", test_accepts},
                                  {"request_refuses", test_refuses},
                                  {"request_sizes", test_sizes}};
TEST_MAIN(TESTS)
