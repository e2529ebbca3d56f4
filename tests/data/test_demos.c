/* Demonstration files through the data API (lundi_dataset_demos, lundi_demos_minmax,
 * lundi_demos_info_read; runtime/data/demos.c): the windows against hand-computed ones and
 * against the reference sampler's index rule written out here, min/max, a collected file
 * end to end, and the messages for missing and malformed files. */
#include <stdio.h>
#include <unistd.h>

#include "harness.h"
#include "lundi/data.h"
#include "lundi/expert.h"

static char g_path[128];
static const char *tmp_path(const char *tag) {
  snprintf(g_path, sizeof g_path, "/tmp/lundi_test_demos_%d_%s.safetensors", (int)getpid(), tag);
  return g_path;
}

/* A file with episodes of the given lengths: obs row r = (10 r, 10 r + 1), action row r = r;
 * flip: obs row r = (-10 r, 10 r + 1), so that a column's minimum is not its first row. */
static int write_file_as(const char *path, const int *lens, int ne, int flip) {
  int t = 0;
  int32_t ends[16];
  for (int e = 0; e < ne; e++) t += lens[e], ends[e] = t;
  float obs[2 * 256], act[256];
  for (int r = 0; r < t; r++) obs[2 * r] = (flip ? -10.0f : 10.0f) * r, obs[2 * r + 1] = 10.0f * r + 1, act[r] = (float)r;
  int64_t so[2] = {t, 2}, sa[2] = {t, 1}, se[1] = {ne};
  lundi_tensor *ts[3] = {lundi_from_f32(2, so, obs), lundi_from_f32(2, sa, act), lundi_from_i32(1, se, ends)};
  lundi_param_list l = {0};
  lundi_param_list_push(&l, "obs", ts[0]);
  lundi_param_list_push(&l, "action", ts[1]);
  lundi_param_list_push(&l, "episode_ends", ts[2]);
  int rc = lundi_safetensors_save(path, &l, NULL);
  lundi_param_list_free(&l);
  for (int i = 0; i < 3; i++) lundi_release(ts[i]);
  return rc;
}

static int write_file(const char *path, const int *lens, int ne) { return write_file_as(path, lens, ne, 0); }

/* Every sample of ds: obs [N, To, 2] and action [N, Tp, 1] as host floats (malloc'd). */
static int64_t all(lundi_dataset *ds, float **obs, float **act) {
  lundi_tensor *out[2];
  if (lundi_dataset_all(ds, NULL, out)) return -1;
  *obs = t_read(out[0]), *act = t_read(out[1]);
  int64_t n = lundi_dim(out[0], 0);
  lundi_release(out[0]), lundi_release(out[1]);
  return n;
}

static void windows_by_hand(void) {
  const char *p = tmp_path("hand");
  const int lens[2] = {5, 2};
  CHECK(write_file(p, lens, 2) == 0);
  /* To 2, Ta 3, Tp 4: pad_before 1, pad_after 2. Episode 0 (rows 0..4): starts -1..3;
   * episode 1 (rows 5, 6): starts -1..0. Rows of each window's 4 actions: */
  static const int want[7][4] = {{0, 0, 1, 2}, {0, 1, 2, 3}, {1, 2, 3, 4}, {2, 3, 4, 4},
                                 {3, 4, 4, 4}, {5, 5, 6, 6}, {5, 6, 6, 6}};
  lundi_dataset *ds = lundi_dataset_demos(p, 2, 3, 4);
  CHECK(ds && lundi_dataset_count(ds) == 7 && lundi_dataset_fields(ds) == 2);
  float *o = NULL, *a = NULL;
  CHECK(ds && all(ds, &o, &a) == 7);
  for (int w = 0; w < 7 && o && a; w++)
    for (int k = 0; k < 4; k++) {
      CHECK(a[w * 4 + k] == (float)want[w][k]);
      if (k < 2) CHECK(o[(w * 2 + k) * 2] == 10.0f * want[w][k] && o[(w * 2 + k) * 2 + 1] == 10.0f * want[w][k] + 1);
    }
  free(o), free(a);
  /* Sample shapes, and one window by index. */
  int32_t idx[2] = {6, 0};
  lundi_tensor *out[2];
  CHECK(ds && lundi_dataset_get(ds, idx, 2, NULL, out) == 0);
  if (ds) {
    CHECK(lundi_ndim(out[0]) == 3 && lundi_dim(out[0], 1) == 2 && lundi_dim(out[0], 2) == 2);
    CHECK(lundi_ndim(out[1]) == 3 && lundi_dim(out[1], 1) == 4 && lundi_dim(out[1], 2) == 1);
    float *b = t_read(out[1]);
    CHECK(b[0] == 5 && b[3] == 6 && b[4] == 0 && b[7] == 2);
    free(b);
    lundi_release(out[0]), lundi_release(out[1]);
  }
  lundi_dataset_release(ds);
  lundi_demos_info info;
  CHECK(lundi_demos_info_read(p, &info) == 0);
  CHECK(info.steps == 7 && info.episodes == 2 && info.obs_dim == 2 && info.action_dim == 1);
  unlink(p);
}

/* The reference's create_indices and sample_sequence, written out: the sample's steps
 * [sample_start, sample_end) are the buffer's [buffer_start, buffer_end); before them the
 * first buffered step repeats, after them the last. Returns windows, rows[w][k] the buffer
 * row of step k. */
static int ref_windows(const int *lens, int ne, int seq, int pad_before, int pad_after, int rows[][16]) {
  int n = 0, begin = 0;
  if (pad_before > seq - 1) pad_before = seq - 1;
  if (pad_after > seq - 1) pad_after = seq - 1;
  for (int e = 0; e < ne; e++) {
    int len = lens[e];
    for (int idx = -pad_before; idx <= len - seq + pad_after; idx++, n++) {
      int bs = (idx > 0 ? idx : 0) + begin, be = (idx + seq < len ? idx + seq : len) + begin;
      int ss = bs - (idx + begin), se = seq - ((idx + seq + begin) - be);
      for (int k = 0; k < seq; k++) rows[n][k] = k < ss ? bs : k >= se ? be - 1 : bs + (k - ss);
    }
    begin += len;
  }
  return n;
}

static void windows_match_reference(void) {
  const char *p = tmp_path("ref");
  const int lens[5] = {1, 3, 9, 4, 16};
  CHECK(write_file(p, lens, 5) == 0);
  static int rows[512][16];
  int cases = 0;
  for (int tp = 1; tp <= 8; tp++)
    for (int to = 1; to <= tp; to++)
      for (int ta = 1; ta <= tp; ta++, cases++) {
        int n = ref_windows(lens, 5, tp, to - 1, ta - 1, rows);
        lundi_dataset *ds = lundi_dataset_demos(p, to, ta, tp);
        float *o = NULL, *a = NULL;
        CHECK(ds && all(ds, &o, &a) == n);
        int bad = 0;
        for (int w = 0; w < n && o && a; w++)
          for (int k = 0; k < tp; k++) {
            bad += a[w * tp + k] != (float)rows[w][k];
            if (k < to) bad += o[(w * to + k) * 2] != 10.0f * rows[w][k];
          }
        CHECK(bad == 0);
        free(o), free(a);
        lundi_dataset_release(ds);
      }
  CHECK(cases == 204);
  unlink(p);
}

static void minmax(void) {
  const char *p = tmp_path("minmax");
  const int lens[2] = {5, 2};
  CHECK(write_file_as(p, lens, 2, 1) == 0);
  float mn[2], mx[2];
  CHECK(lundi_demos_minmax(p, "obs", mn, mx, 2) == 0);
  CHECK(mn[0] == -60 && mn[1] == 1 && mx[0] == 0 && mx[1] == 61);
  CHECK(lundi_demos_minmax(p, "action", mn, mx, 1) == 0);
  CHECK(mn[0] == 0 && mx[0] == 6);
  CHECK_ERR(lundi_demos_minmax(p, "action", mn, mx, 2), "width 1, not 2");
  CHECK_ERR(lundi_demos_minmax(p, "reward", mn, mx, 1), "\"obs\" or \"action\"");
  unlink(p);
}

/* Collected by the two-way expert, read back as windows. */
static void collected_round_trip(void) {
  const char *p = tmp_path("collect");
  lundi_demo_stats st;
  CHECK(lundi_demos_collect("two_way", p, 5, 7, &st, NULL, NULL) == 0);
  lundi_param_list l = {0};
  CHECK(lundi_safetensors_load(p, &l) == 0);
  lundi_tensor *en = lundi_param_list_find(&l, "episode_ends"), *ac = lundi_param_list_find(&l, "action"),
               *ob = lundi_param_list_find(&l, "obs");
  CHECK(en && ac && ob && lundi_dim(en, 0) == 5 && lundi_dim(ob, 0) == st.steps);
  if (!en || !ac || !ob) return;
  const int32_t *ends = lundi_data(en);
  int lens[5], expect = 0;
  for (int e = 0; e < 5; e++) lens[e] = ends[e] - (e ? ends[e - 1] : 0), expect += lens[e] - 16 + 7 + 1 + 1;
  lundi_dataset *ds = lundi_dataset_demos(p, 2, 8, 16);
  CHECK(ds && lundi_dataset_count(ds) == expect);
  float *o = NULL, *a = NULL;
  CHECK(ds && all(ds, &o, &a) == expect);
  /* The first window of episode 2 starts one step before it: its first obs and first two
   * actions are the episode's first row. */
  int w2 = (lens[0] - 16 + 9) + (lens[1] - 16 + 9);
  const float *av = lundi_data(ac), *ov = lundi_data(ob);
  int r = ends[1];
  CHECK(o && a && o[(w2 * 2) * 2] == ov[2 * r] && o[(w2 * 2 + 1) * 2] == ov[2 * r]);
  CHECK(o && a && a[(w2 * 16) * 2] == av[2 * r] && a[(w2 * 16 + 1) * 2] == av[2 * r] &&
        a[(w2 * 16 + 2) * 2] == av[2 * (r + 1)]);
  free(o), free(a);
  /* Batches through a loader. */
  lundi_loader_opts lo = {.batch_size = 8};
  lundi_loader *ld = ds ? lundi_loader_new(ds, &lo) : NULL;
  lundi_tensor *b[2];
  CHECK(ld && lundi_loader_next(ld, b, NULL) == 1);
  if (ld) {
    CHECK(lundi_dim(b[0], 0) == 8 && lundi_dim(b[0], 1) == 2 && lundi_dim(b[1], 1) == 16 && lundi_dim(b[1], 2) == 2);
    lundi_release(b[0]), lundi_release(b[1]);
  }
  lundi_loader_free(ld);
  lundi_dataset_release(ds);
  lundi_param_list_free(&l);
  unlink(p);
}

static void errors(void) {
  CHECK_ERR(lundi_dataset_demos("/nonexistent/demos.safetensors", 2, 8, 16), "/nonexistent/demos.safetensors");
  const char *p = tmp_path("corrupt");
  FILE *f = fopen(p, "wb");
  fputs("this is not a safetensors file at all", f);
  fclose(f);
  CHECK_ERR(lundi_dataset_demos(p, 2, 8, 16), p);
  CHECK(lundi_dataset_demos(p, 2, 8, 16) == NULL);
  lundi_demos_info info;
  CHECK_ERR(lundi_demos_info_read(p, &info), p);
  float mn[2], mx[2];
  CHECK_ERR(lundi_demos_minmax(p, "obs", mn, mx, 2), p);
  /* A safetensors file without episode_ends. */
  int64_t s[2] = {3, 2};
  lundi_tensor *t = lundi_zeros(2, s);
  lundi_param_list l = {0};
  lundi_param_list_push(&l, "obs", t);
  lundi_param_list_push(&l, "action", t);
  CHECK(lundi_safetensors_save(p, &l, NULL) == 0);
  CHECK_ERR(lundi_dataset_demos(p, 1, 1, 1), "no tensor 'episode_ends'");
  /* episode_ends that do not end at T. */
  int32_t bad[2] = {1, 2};
  int64_t s2[1] = {2};
  lundi_tensor *e = lundi_from_i32(1, s2, bad);
  lundi_param_list_push(&l, "episode_ends", e);
  CHECK(lundi_safetensors_save(p, &l, NULL) == 0);
  CHECK_ERR(lundi_dataset_demos(p, 1, 1, 1), "episode_ends must increase");
  lundi_param_list_free(&l);
  lundi_release(t), lundi_release(e);
  CHECK_ERR(lundi_dataset_demos(p, 3, 1, 2), "obs_horizon <= pred_horizon");
  CHECK_ERR(lundi_dataset_demos(p, 1, 0, 2), "1 <= action_horizon");
  unlink(p);
}

static const test_case TESTS[] = {
    {"windows_by_hand", windows_by_hand},
    {"windows_match_reference", windows_match_reference},
    {"minmax", minmax},
    {"collected_round_trip", collected_round_trip},
    {"errors", errors},
};
TEST_MAIN(TESTS)
