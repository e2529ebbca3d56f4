/* The experts and the demonstration collection (lundi/expert.h, runtime/sim/expert*.c,
 * demos.c): two-way succeeds on both sides, Push-T's planner improves coverage and solves a
 * seeded episode, episodes are deterministic per seed, and the collected file replays. */
#include <unistd.h>

#include "harness.h"
#include "lundi/expert.h"

/* One episode of env under its expert from seed, at most max_steps steps; actions (if not
 * NULL) get every action. Returns the steps taken, negative on error; *side, *max_cov. */
static int run(lundi_env *e, lundi_expert *x, uint64_t seed, int max_steps, float *actions) {
  float obs[20];
  if (lundi_env_reset(e, seed, obs) || lundi_expert_begin(x, seed)) return -1;
  int n = 0;
  for (int done = 0; !done && n < max_steps; n++) {
    float a[2];
    if (lundi_expert_act(x, a) || lundi_env_step(e, a, obs, NULL, &done)) return -1;
    if (actions) actions[2 * n] = a[0], actions[2 * n + 1] = a[1];
  }
  return n;
}

static void two_way_expert(void) {
  lundi_env *e = lundi_env_new("two_way");
  lundi_expert *x = lundi_expert_new(e);
  CHECK(x && strcmp(lundi_expert_name(x), "two_way_waypoints") == 0);
  int sides[3] = {0};
  for (uint64_t s = 0; s < 12; s++) {
    int n = run(e, x, s, 1000, NULL);
    CHECK(n > 0 && n < lundi_env_max_steps(e));
    CHECK(lundi_env_success(e) == 1);
    CHECK(lundi_two_way_hits(e) == 0);
    int side = lundi_two_way_side_of(e);
    CHECK(side == lundi_expert_mode(x)); /* the side it picked is the side it took */
    if (side >= 0 && side < 3) sides[side]++;
  }
  CHECK(sides[LUNDI_TWO_WAY_LEFT] >= 3 && sides[LUNDI_TWO_WAY_RIGHT] >= 3);
  /* Same seed, same actions. */
  float a[100] = {0}, b[100] = {0}; /* the tail past the episode is compared too */
  CHECK(run(e, x, 5, 50, a) == run(e, x, 5, 50, b) && memcmp(a, b, sizeof a) == 0);
  lundi_expert_free(x);
  lundi_env_free(e);
}

static void pusht_expert(void) {
  lundi_env *e = lundi_env_new("pusht");
  lundi_expert *x = lundi_expert_new(e);
  CHECK(x && strcmp(lundi_expert_name(x), "pusht_cem") == 0);
  /* Doing nothing (holding the agent where it is) leaves the block alone. */
  float obs[20];
  double st[5];
  CHECK(lundi_env_reset(e, 3, obs) == 0 && lundi_pusht_get_state(e, st) == 0);
  double cov0 = lundi_pusht_coverage(e);
  for (int i = 0; i < 30; i++) {
    float hold[2] = {(float)st[0], (float)st[1]};
    CHECK(lundi_env_step(e, hold, obs, NULL, NULL) == 0);
  }
  CHECK_NEAR(lundi_pusht_coverage(e), cov0, 1e-3);
  /* The expert: far better in 14 steps (it needs 15), and the episode ends in success. */
  float a[2 * 300], b[2 * 300];
  CHECK(run(e, x, 3, 14, a) == 14);
  double cov10 = lundi_pusht_coverage(e);
  fprintf(stderr, "pusht seed 3: coverage %.3f at the start, %.3f after 14 expert steps\n", cov0, cov10);
  CHECK(cov10 > cov0 + 0.3);
  int n = run(e, x, 3, 300, a);
  CHECK(n > 0 && lundi_env_success(e) == 1);
  /* Deterministic per seed, whatever ran before on the same env (a reset leaves nothing of
   * the last episode in the physics). */
  CHECK(run(e, x, 3, 300, b) == n && memcmp(a, b, (size_t)n * 2 * sizeof *a) == 0);
  lundi_expert_free(x);
  lundi_env_free(e);
}

/* Replays the file's actions from the episodes' seeds: the same observations, and success. */
static void replay(const char *env_name, const char *path, int episodes, uint64_t seed) {
  lundi_param_list l = {0};
  CHECK(lundi_safetensors_load(path, &l) == 0);
  lundi_tensor *o = lundi_param_list_find(&l, "obs"), *a = lundi_param_list_find(&l, "action"),
               *en = lundi_param_list_find(&l, "episode_ends");
  CHECK(o && a && en && lundi_dim(en, 0) == episodes && lundi_tensor_dtype(en) == LUNDI_I32);
  if (!o || !a || !en) return;
  lundi_env *e = lundi_env_new(env_name);
  int d = lundi_env_obs_dim(e);
  CHECK(lundi_dim(o, 1) == d && lundi_dim(a, 1) == 2 && lundi_dim(a, 0) == lundi_dim(o, 0));
  const float *ov = lundi_data(o), *av = lundi_data(a);
  const int32_t *ends = lundi_data(en);
  CHECK(ends[episodes - 1] == lundi_dim(o, 0));
  int mism = 0;
  for (int ep = 0; ep < episodes; ep++) {
    float obs[20];
    CHECK(lundi_env_reset(e, seed + (uint64_t)ep, obs) == 0);
    int done = 0;
    for (int r = ep ? ends[ep - 1] : 0; r < ends[ep]; r++) {
      CHECK(!done); /* the episode ends exactly at its end */
      mism += memcmp(obs, ov + (size_t)r * (size_t)d, (size_t)d * sizeof *obs) != 0;
      CHECK(lundi_env_step(e, av + 2 * r, obs, NULL, &done) == 0);
    }
    CHECK(done && lundi_env_success(e) == 1);
  }
  CHECK(mism == 0);
  lundi_env_free(e);
  lundi_param_list_free(&l);
}

static void collect(void) {
  char path[64];
  snprintf(path, sizeof path, "/tmp/lundi_demos_%d.safetensors", (int)getpid());
  lundi_demo_stats st;
  CHECK(lundi_demos_collect("two_way", path, 8, 40, &st, NULL, NULL) == 0);
  CHECK(st.episodes == 8 && st.success_rate == 1 && st.score == 1);
  CHECK(st.modes[0] == 0 && st.modes[1] + st.modes[2] == 8 && st.modes[1] > 0 && st.modes[2] > 0);
  replay("two_way", path, 8, 40);
  lundi_safetensors_meta m = {0};
  CHECK(lundi_safetensors_read_meta(path, &m) == 0);
  const char *want[6][2] = {{"env", "two_way"}, {"expert", "two_way_waypoints"}, {"seed", "40"},
                            {"episodes", "8"}, {"success_rate", "1.000000"}, {"score", "1.000000"}};
  CHECK(m.n == 6);
  for (int i = 0; i < 6 && i < m.n; i++) {
    int found = 0;
    for (int j = 0; j < m.n; j++) found |= !strcmp(m.keys[j], want[i][0]) && !strcmp(m.values[j], want[i][1]);
    CHECK(found);
  }
  lundi_safetensors_meta_free(&m);
  CHECK(lundi_demos_collect("pusht", path, 1, 3, &st, NULL, NULL) == 0);
  CHECK(st.success_rate == 1 && st.score == 1 && st.steps > 0);
  replay("pusht", path, 1, 3);
  unlink(path);
}

static void errors(void) {
  CHECK_ERR(lundi_expert_new(NULL), "no environment");
  lundi_env *e = lundi_env_new("two_way");
  lundi_expert *x = lundi_expert_new(e);
  float a[2];
  CHECK_ERR(lundi_expert_act(x, a), "lundi_expert_begin");
  CHECK(lundi_expert_act(x, a) == LUNDI_ESTATE);
  CHECK_ERR(lundi_expert_act(x, NULL), "no action buffer");
  lundi_expert_free(x);
  lundi_env_free(e);
  lundi_demo_stats st;
  CHECK_ERR(lundi_demos_collect("cartpole", "/tmp/x.safetensors", 1, 0, &st, NULL, NULL), "pusht, two_way");
  CHECK_ERR(lundi_demos_collect("two_way", "/tmp/x.safetensors", 0, 0, &st, NULL, NULL), "episodes");
  CHECK_ERR(lundi_demos_collect("two_way", "/nonexistent-dir/d.safetensors", 1, 0, &st, NULL, NULL),
            "/nonexistent-dir/d.safetensors");
}

static const test_case TESTS[] = {
    {"two_way_expert", two_way_expert},
    {"pusht_expert", pusht_expert},
    {"collect", collect},
    {"errors", errors},
};
TEST_MAIN(TESTS)
