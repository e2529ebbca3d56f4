/* The min-max normaliser (lundi/minmax.h) against hand values and the obs conditioner. */
#include "harness.h"
#include "lundi/minmax.h"
#include "lundi/plugin.h"

static const float LO[3] = {0, -2, 3}, HI[3] = {10, 2, 3}; /* feature 2 is degenerate */

static void test_hand_values(void) {
  float x[6] = {5, 1, 3, 10, -2, 4}, want[6] = {0, 0.5f, 0, 1, -1, 1};
  lundi_tensor *t = lundi_from_f32(2, (int64_t[]){2, 3}, x);
  lundi_tensor *y = lundi_minmax_apply(t, LO, HI, 3, 0, "x");
  float got[6] = {0};
  CHECK(y && lundi_read_f32(y, got, 6) == 0);
  for (int i = 0; i < 6; i++) CHECK_NEAR(got[i], want[i], 1e-6);
  lundi_release(t);
  lundi_release(y);
}

static void test_degenerate(void) {
  float s[3], o[3];
  CHECK(lundi_minmax_coeffs(LO, HI, 3, s, o) == 0);
  CHECK(s[2] == 1.0f && o[2] == -3.0f); /* shift to 0, no scale */
  const float lo[1] = {1.0f}, hi[1] = {1.00005f}; /* range below 1e-4: degenerate too */
  CHECK(lundi_minmax_coeffs(lo, hi, 1, s, o) == 0);
  CHECK(s[0] == 1.0f && o[0] == -1.0f);
  CHECK(lundi_minmax_coeffs(LO, HI, 3, s, o) == 0 && s[0] == 0.2f);
}

static void test_round_trip(void) {
  float x[12];
  for (int i = 0; i < 12; i++) x[i] = (float)(i * 1.37 - 4);
  lundi_tensor *t = lundi_from_f32(3, (int64_t[]){2, 2, 3}, x);
  lundi_tensor *y = lundi_minmax_apply(t, LO, HI, 3, 0, "x");
  lundi_tensor *z = y ? lundi_minmax_apply(y, LO, HI, 3, 1, "x") : NULL;
  float got[12] = {0};
  CHECK(z && lundi_read_f32(z, got, 12) == 0);
  for (int i = 0; i < 12; i++) CHECK_NEAR(got[i], x[i], 1e-5);
  char a[128], b[128];
  float back[3];
  CHECK(lundi_minmax_format(HI, 3, a, sizeof a) == 0 && lundi_minmax_parse(a, back, 3, "max") == 0);
  CHECK(memcmp(back, HI, sizeof back) == 0);
  CHECK_ERR(lundi_minmax_format(HI, 3, b, 3), "do not fit");
  lundi_release(t);
  lundi_release(y);
  lundi_release(z);
}

static void test_errors(void) {
  lundi_tensor *t = lundi_zeros(2, (int64_t[]){2, 4});
  CHECK_ERR(lundi_minmax_apply(t, LO, HI, 3, 0, "obs"), "obs must be f32 [..., 3]");
  float s[3], o[3];
  CHECK_ERR(lundi_minmax_coeffs(HI, LO, 3, s, o) == 0, "feature 0 has limits [10, 0]");
  float v[3];
  CHECK_ERR(lundi_minmax_parse("1,2", v, 3, "obs_min") == 0, "obs_min: '1,2' must be 3 comma-separated");
  CHECK_ERR(lundi_minmax_parse("1,2,3,4", v, 3, "obs_min") == 0, "entry 2");
  CHECK_ERR(lundi_minmax_parse("1,x,3", v, 3, "obs_min") == 0, "entry 1");
  CHECK_ERR(lundi_minmax_fit_text("/nonexistent/demos.safetensors", "obs", 3, NULL, NULL, 0) == 0, "nonexistent");
  lundi_release(t);
}

static lundi_instance *make(lundi_registry *r, const char *lo, const char *hi) {
  const lundi_plugin *p = lundi_registry_find(r, LUNDI_CONDITIONER, "obs");
  lundi_params *ps = lundi_plugin_params(p);
  lundi_params_set(ps, "obs_dim", "3");
  lundi_params_set(ps, "obs_horizon", "2");
  if (lo) lundi_params_set(ps, "obs_min", lo);
  if (hi) lundi_params_set(ps, "obs_max", hi);
  lundi_instance *c = lundi_instance_new(p, ps);
  lundi_params_free(ps);
  return c;
}

static void test_plugin(void) {
  lundi_registry *r = lundi_registry_new();
  CHECK(lundi_registry_load_builtins(r) == 0);
  lundi_instance *c = make(r, "0,-2,3", "10,2,3");
  CHECK(c != NULL);
  float x[12] = {5, 1, 3, 10, -2, 4, 0, 2, 3, 5, 0, 2}, want[12] = {0, .5f, 0, 1, -1, 1, -1, 1, 0, 0, 0, -1};
  lundi_tensor *t = lundi_from_f32(3, (int64_t[]){2, 2, 3}, x);
  lundi_cond cd = {0};
  CHECK(lundi_conditioner_encode(c, t, &cd) == 0);
  CHECK(cd.vector && lundi_ndim(cd.vector) == 2 && lundi_dim(cd.vector, 0) == 2 && lundi_dim(cd.vector, 1) == 6);
  float got[12] = {0};
  CHECK(cd.vector && lundi_read_f32(cd.vector, got, 12) == 0);
  for (int i = 0; i < 12; i++) CHECK_NEAR(got[i], want[i], 1e-6);
  lundi_cond_clear(&cd);
  lundi_tensor *bad = lundi_zeros(3, (int64_t[]){2, 3, 3});
  CHECK_ERR(lundi_conditioner_encode(c, bad, &cd) == 0, "needs f32 [B, 2, 3] (B, obs_horizon, obs_dim), got f32[2,3,3]");
  lundi_release(bad);
  bad = lundi_zeros(2, (int64_t[]){2, 6});
  CHECK_ERR(lundi_conditioner_encode(c, bad, &cd) == 0, "got f32[2,6]");
  CHECK_ERR(lundi_conditioner_null(c, 2, &cd) == 0, "no null condition");
  lundi_instance_free(c);
  c = make(r, NULL, NULL);
  CHECK_ERR(lundi_conditioner_encode(c, t, &cd) == 0, "set obs_min and obs_max");
  lundi_instance_free(c);
  CHECK_ERR(make(r, "0,0,0", NULL), "got only obs_min");
  CHECK_ERR(make(r, "0,0", "1,1,1"), "obs_min: '0,0' must be 3");
  CHECK_ERR(make(r, "0,5,0", "1,1,1"), "feature 1 has obs_min 5 > obs_max 1");
  lundi_release(bad);
  lundi_release(t);
  lundi_registry_free(r);
}

static const test_case TESTS[] = {{"hand_values", test_hand_values}, {"degenerate", test_degenerate},
                                  {"round_trip", test_round_trip}, {"errors", test_errors}, {"plugin", test_plugin}};
TEST_MAIN(TESTS)
