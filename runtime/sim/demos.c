/* lundi_demos_collect (lundi/expert.h): runs an expert for N seeded episodes and writes the
 * demonstration file (docs/action.md, "Demonstration files"): a safetensors file with obs,
 * action and episode_ends, and string metadata. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "core/error.h"
#include "lundi/expert.h"
#include "lundi/nn.h"

typedef struct buf {
  float *obs, *act;
  int64_t n, cap;
  int32_t *ends;
} buf;

static int grow(buf *b, int od, int ad) {
  if (b->n < b->cap) return 0;
  int64_t cap = b->cap ? 2 * b->cap : 1024;
  float *o = realloc(b->obs, (size_t)cap * (size_t)od * sizeof *o);
  if (o) b->obs = o;
  float *a = o ? realloc(b->act, (size_t)cap * (size_t)ad * sizeof *a) : NULL;
  if (!a) return lundi__err(LUNDI_ENOMEM, "demos_collect: out of memory (%lld steps)", (long long)cap);
  b->act = a, b->cap = cap;
  return 0;
}

static double now(void) {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return (double)ts.tv_sec + 1e-9 * (double)ts.tv_nsec;
}

/* One episode from seed into b; *success and *max_reward. */
static int episode(lundi_env *e, lundi_expert *x, uint64_t seed, buf *b, int *success, double *max_r) {
  int od = lundi_env_obs_dim(e), ad = lundi_env_action_dim(e);
  float obs[64];
  int rc = lundi_env_reset(e, seed, obs);
  if (!rc) rc = lundi_expert_begin(x, seed);
  *max_r = 0;
  for (int done = 0; !rc && !done;) {
    if ((rc = grow(b, od, ad))) break;
    float *a = b->act + b->n * ad;
    memcpy(b->obs + b->n * od, obs, (size_t)od * sizeof *obs);
    if ((rc = lundi_expert_act(x, a))) break;
    double r;
    if ((rc = lundi_env_step(e, a, obs, &r, &done))) break;
    if (r > *max_r) *max_r = r;
    b->n++;
  }
  if (!rc) *success = lundi_env_success(e) == 1;
  return rc;
}

static int save(const char *path, const char *env, const char *expert, uint64_t seed, int episodes,
                const buf *b, int od, int ad, const lundi_demo_stats *st) {
  int64_t so[2] = {b->n, od}, sa[2] = {b->n, ad}, se[1] = {episodes};
  lundi_param_list l = {0};
  lundi_tensor *t[3] = {lundi_from_f32(2, so, b->obs), lundi_from_f32(2, sa, b->act), lundi_from_i32(1, se, b->ends)};
  int rc = t[0] && t[1] && t[2] ? 0 : lundi_last_error_code();
  const char *names[3] = {"obs", "action", "episode_ends"};
  for (int i = 0; i < 3 && !rc; i++) rc = lundi_param_list_push(&l, names[i], t[i]);
  char s_seed[32], s_ep[32], s_succ[32], s_score[32];
  snprintf(s_seed, sizeof s_seed, "%llu", (unsigned long long)seed);
  snprintf(s_ep, sizeof s_ep, "%d", episodes);
  snprintf(s_succ, sizeof s_succ, "%.6f", st->success_rate);
  snprintf(s_score, sizeof s_score, "%.6f", st->score);
  const char *keys[6] = {"env", "expert", "seed", "episodes", "success_rate", "score"};
  const char *vals[6] = {env, expert, s_seed, s_ep, s_succ, s_score};
  if (!rc) rc = lundi_safetensors_save_meta(path, &l, keys, vals, 6);
  lundi_param_list_free(&l);
  for (int i = 0; i < 3; i++) lundi_release(t[i]);
  return rc;
}

int lundi_demos_collect(const char *env_name, const char *path, int episodes, uint64_t seed,
                        lundi_demo_stats *stats, lundi_demo_progress progress, void *user) {
  if (!path || !*path) return lundi__err(LUNDI_EINVAL, "demos_collect: no path");
  if (episodes < 1 || episodes > 1000000)
    return lundi__err(LUNDI_EINVAL, "demos_collect: episodes must be in [1, 1000000], got %d", episodes);
  lundi_env *e = lundi_env_new(env_name);
  if (!e) return lundi_last_error_code();
  lundi_expert *x = lundi_expert_new(e);
  if (!x) {
    lundi_env_free(e);
    return lundi_last_error_code();
  }
  int od = lundi_env_obs_dim(e), ad = lundi_env_action_dim(e);
  lundi_demo_stats st = {.episodes = episodes};
  buf b = {0};
  b.ends = malloc((size_t)episodes * sizeof *b.ends);
  int rc = b.ends ? 0 : lundi__err(LUNDI_ENOMEM, "demos_collect: out of memory");
  double t0 = now(), score = 0;
  int wins = 0;
  for (int i = 0; i < episodes && !rc; i++) {
    int ok = 0;
    double mr = 0;
    rc = episode(e, x, seed + (uint64_t)i, &b, &ok, &mr);
    if (rc) break;
    if (b.n > INT32_MAX) {
      rc = lundi__err(LUNDI_EINVAL, "demos_collect: more than 2^31 - 1 steps");
      break;
    }
    b.ends[i] = (int32_t)b.n;
    wins += ok, score += mr;
    if (strcmp(env_name, "two_way") == 0) {
      int side = lundi_two_way_side_of(e);
      if (side >= 0 && side < 3) st.modes[side]++;
    }
    if (progress) progress(i, episodes, user);
  }
  if (!rc) {
    st.steps = b.n;
    st.success_rate = (double)wins / episodes;
    st.score = score / episodes;
    rc = save(path, env_name, lundi_expert_name(x), seed, episodes, &b, od, ad, &st);
    st.seconds = now() - t0;
    if (!rc && stats) *stats = st;
  }
  free(b.obs), free(b.act), free(b.ends);
  lundi_expert_free(x);
  lundi_env_free(e);
  return rc;
}
