/* The simulated environments (lundi/env.h, runtime/sim): Push-T's physics, coverage,
 * controller and walls, the two-way task, renders, GIFs and errors. */
#include <gif_lib.h>
#include <stdint.h>
#include <unistd.h>

#include "harness.h"
#include "lundi/env.h"
#include "lundi/file.h"

/* A uniform in [0, 1) from a per-test LCG (the test's own, independent of the runtime). */
static double lcg01(uint64_t *s) {
  *s = *s * 6364136223846793005ull + 1442695040888963407ull;
  return (double)(*s >> 11) * (1.0 / 9007199254740992.0);
}

static int run_pusht(uint64_t seed, int n, float *obs_all) {
  lundi_env *e = lundi_env_new("pusht");
  if (!e) return -1;
  int d = lundi_env_obs_dim(e);
  int rc = lundi_env_reset(e, seed, obs_all);
  for (int i = 0; i < n && rc == 0; i++) {
    float a[2] = {256 + 150 * cosf(0.2f * (float)i), 256 + 150 * sinf(0.2f * (float)i)};
    double r;
    int done;
    rc = lundi_env_step(e, a, obs_all + (size_t)(i + 1) * (size_t)d, &r, &done);
  }
  lundi_env_free(e);
  return rc;
}

static void pusht_deterministic(void) {
  enum { N = 60, D = 20 };
  static float a[(N + 1) * D], b[(N + 1) * D], c[(N + 1) * D];
  CHECK(run_pusht(7, N, a) == 0);
  CHECK(run_pusht(7, N, b) == 0);
  CHECK(run_pusht(8, N, c) == 0);
  CHECK(memcmp(a, b, sizeof a) == 0);
  CHECK(memcmp(a, c, D * sizeof *a) != 0); /* different seeds, different starts */
  /* The reset ranges: agent in [50, 450), the centre of gravity keypoint near the block. */
  for (uint64_t s = 0; s < 50; s++) {
    float o[D];
    lundi_env *e = lundi_env_new("pusht");
    CHECK(lundi_env_reset(e, s, o) == 0);
    double st[5];
    CHECK(lundi_pusht_get_state(e, st) == 0);
    CHECK(st[0] >= 49 && st[0] <= 451 && st[1] >= 49 && st[1] <= 451);
    CHECK(st[2] >= 99 && st[2] <= 401 && st[3] >= 99 && st[3] <= 401);
    CHECK(o[18] == (float)st[0] && o[19] == (float)st[1]);
    lundi_env_free(e);
  }
  /* The block moved in the scripted run (the agent sweeps the middle of the world). */
  float moved = 0;
  for (int k = 0; k < 18; k++) moved = fmaxf(moved, fabsf(a[N * D + k] - a[k]));
  CHECK(moved > 1);
}

/* The test's own point-in-T: the documented local layout, bar [-60, 60] x [0, 30], stem
 * [-15, 15] x [30, 120]. */
static int in_t(double px, double py, double x, double y, double ang) {
  double dx = px - x, dy = py - y, c = cos(ang), s = sin(ang);
  double lx = c * dx + s * dy, ly = -s * dx + c * dy;
  return (fabs(lx) <= 60 && ly >= 0 && ly <= 30) || (fabs(lx) <= 15 && ly > 30 && ly <= 120);
}

static void pusht_coverage(void) {
  double g[3];
  lundi_pusht_goal(g);
  CHECK_NEAR(g[0], 256, 0);
  CHECK_NEAR(g[2], M_PI / 4, 1e-15);
  CHECK_NEAR(lundi_pusht_coverage_at(256, 256, M_PI / 4), 1.0, 1e-12);
  CHECK_NEAR(lundi_pusht_coverage_at(100, 420, 0), 0.0, 0);
  CHECK_NEAR(lundi_pusht_coverage_at(400, 100, 2.0), 0.0, 0);
  /* Slid 15 px along the goal's own x axis: the bar keeps 105 x 30, the stem 15 x 90 of
   * their overlaps, (3150 + 1350) / 6300. */
  double c4 = cos(M_PI / 4) * 15;
  CHECK_NEAR(lundi_pusht_coverage_at(256 + c4, 256 + c4, M_PI / 4), 4500.0 / 6300.0, 1e-12);
  /* Monte Carlo at random poses near the goal: 400k points in the 260 x 260 box around the
   * goal (about 37k in the goal T) give a standard error under 0.003; tolerance 0.015. */
  uint64_t st = 12345;
  for (int k = 0; k < 10; k++) {
    double x = 256 + (lcg01(&st) - 0.5) * 80, y = 256 + (lcg01(&st) - 0.5) * 80;
    double ang = M_PI / 4 + (lcg01(&st) - 0.5) * 1.5;
    long in_goal = 0, in_both = 0;
    for (int i = 0; i < 400000; i++) {
      double px = 126 + 260 * lcg01(&st), py = 126 + 260 * lcg01(&st);
      if (!in_t(px, py, g[0], g[1], g[2])) continue;
      in_goal++;
      in_both += in_t(px, py, x, y, ang);
    }
    double mc = (double)in_both / (double)in_goal, exact = lundi_pusht_coverage_at(x, y, ang);
    CHECK_NEAR(exact, mc, 0.015);
  }
  /* Through the env: a block set at the goal covers it and the step reports success. */
  lundi_env *e = lundi_env_new("pusht");
  double s[5] = {60, 60, 256, 256, M_PI / 4};
  CHECK(lundi_pusht_set_state(e, s) == 0);
  CHECK_NEAR(lundi_pusht_coverage(e), 1.0, 1e-6);
  float a[2] = {60, 60}, obs[20];
  double r = 0;
  int done = 0;
  CHECK(lundi_env_step(e, a, obs, &r, &done) == 0);
  CHECK_NEAR(r, 1.0, 0);
  CHECK(done == 1 && lundi_env_success(e) == 1);
  /* The keypoints follow the documented layout: keypoint 0 is the bar's corner (-60, 0). */
  CHECK_NEAR(obs[0], 256 + cos(M_PI / 4) * -60, 1e-3);
  CHECK_NEAR(obs[1], 256 + sin(M_PI / 4) * -60, 1e-3);
  lundi_env_free(e);
}

static void pusht_pd_converges(void) {
  lundi_env *e = lundi_env_new("pusht");
  double s[5] = {100, 100, 400, 150, 0};
  CHECK(lundi_pusht_set_state(e, s) == 0);
  float a[2] = {200, 400};
  double st[5];
  int reached = -1;
  for (int i = 0; i < 30; i++) {
    CHECK(lundi_env_step(e, a, NULL, NULL, NULL) == 0);
    CHECK(lundi_pusht_get_state(e, st) == 0);
    if (reached < 0 && hypot(st[0] - 200, st[1] - 400) < 0.5) reached = i + 1;
  }
  CHECK(reached > 0 && reached <= 15);
  CHECK_NEAR(st[0], 200, 1e-3);
  CHECK_NEAR(st[1], 400, 1e-3);
  CHECK_NEAR(st[2], 400, 1e-9); /* the block was not touched */
  lundi_env_free(e);
}

static double block_extent(const double st[5], int axis, int want_max) {
  static const double v[8][2] = {{-60, 0}, {60, 0}, {60, 30}, {-60, 30}, {-15, 30}, {-15, 120}, {15, 120}, {15, 30}};
  double c = cos(st[4]), s = sin(st[4]), m = want_max ? -1e9 : 1e9;
  for (int i = 0; i < 8; i++) {
    double w = axis == 0 ? st[2] + c * v[i][0] - s * v[i][1] : st[3] + s * v[i][0] + c * v[i][1];
    m = want_max ? fmax(m, w) : fmin(m, w);
  }
  return m;
}

static void pusht_walls(void) {
  lundi_env *e = lundi_env_new("pusht");
  /* The agent, commanded far outside, stays in the world [0, 512]^2. */
  double s[5] = {256, 256, 120, 380, 0};
  CHECK(lundi_pusht_set_state(e, s) == 0);
  float out[2] = {1000, -300};
  double st[5];
  for (int i = 0; i < 20; i++) CHECK(lundi_env_step(e, out, NULL, NULL, NULL) == 0);
  CHECK(lundi_pusht_get_state(e, st) == 0);
  CHECK(st[0] >= 0 && st[0] <= 512 && st[1] >= 0 && st[1] <= 512);
  CHECK_NEAR(st[0], 512, 1);
  CHECK_NEAR(st[1], 0, 1);
  /* The block, pushed up into the top wall (inner edge y = 7) by the stem and driven along
   * it. The agent is kinematic (infinite mass): a target 2 px past the contact (y = 140;
   * contact at 142) or a sideways drive keeps the block within 2 px of the wall's inner
   * edge; a target 12 px (y = 130) or 42 px (y = 100) past it presses it in by under 4 px:
   * the block never reaches the wall's outer edge (y = 3) or goes through. Every vertex stays inside the side and bottom walls. */
  const float path[][2] = {{256, 150}, {256, 140}, {200, 140}, {300, 135}, {256, 130}, {256, 100}};
  const double floor_y[] = {5, 5, 5, 5, 3, 3};
  for (int trial = 0; trial < 6; trial++) {
    double s2[5] = {256, 240, 256, 40, 0};
    CHECK(lundi_pusht_set_state(e, s2) == 0);
    double top = 1e9;
    for (int i = 0; i < 40; i++) {
      const float *a = path[trial < 4 ? (trial + i / 8) % 4 : trial];
      CHECK(lundi_env_step(e, a, NULL, NULL, NULL) == 0);
      CHECK(lundi_pusht_get_state(e, st) == 0);
      top = fmin(top, block_extent(st, 1, 0));
      CHECK(block_extent(st, 0, 0) >= 5 && block_extent(st, 0, 1) <= 506);
      CHECK(block_extent(st, 1, 1) <= 506);
    }
    CHECK(top >= floor_y[trial]);
    CHECK(top < 12); /* it did reach the wall */
  }
  lundi_env_free(e);
}

/* Steps toward each waypoint in turn until the episode is done or the steps run out. */
static void drive(lundi_env *e, const float (*wp)[2], int n, int *done) {
  float obs[2];
  lundi_env_step(e, wp[0], obs, NULL, done);
  for (int k = 0, i = 0; i < 49 && !*done; i++) {
    if (hypot(obs[0] - wp[k][0], obs[1] - wp[k][1]) < 1e-6 && k < n - 1) k++;
    CHECK(lundi_env_step(e, wp[k], obs, NULL, done) == 0);
  }
}

static void two_way_sides(void) {
  lundi_env *e = lundi_env_new("two_way");
  CHECK(lundi_env_obs_dim(e) == 2 && lundi_env_action_dim(e) == 2);
  const float left[3][2] = {{-0.5f, -0.7f}, {-0.5f, 0.7f}, {0, 0.7f}};
  const float right[3][2] = {{0.5f, -0.7f}, {0.5f, 0.7f}, {0, 0.7f}};
  for (int side = 0; side < 2; side++) {
    CHECK(lundi_env_reset(e, 3, NULL) == 0);
    CHECK(lundi_two_way_side_of(e) == LUNDI_TWO_WAY_NONE);
    int done = 0;
    drive(e, side ? right : left, 3, &done);
    CHECK(done == 1 && lundi_env_success(e) == 1);
    CHECK(lundi_env_steps(e) < lundi_env_max_steps(e));
    CHECK(lundi_two_way_side_of(e) == (side ? LUNDI_TWO_WAY_RIGHT : LUNDI_TWO_WAY_LEFT));
    CHECK(lundi_two_way_hits(e) == 0);
  }
  /* Seeded starts differ and repeat. */
  float a[2], b[2], c[2];
  lundi_env_reset(e, 1, a), lundi_env_reset(e, 1, b), lundi_env_reset(e, 2, c);
  CHECK(a[0] == b[0] && a[1] == b[1] && (a[0] != c[0] || a[1] != c[1]));
  CHECK(fabsf(a[0]) <= 0.05f && fabsf(a[1] + 0.7f) <= 0.05f);
  lundi_env_free(e);
}

static void two_way_obstacle(void) {
  lundi_env *e = lundi_env_new("two_way");
  CHECK(lundi_env_reset(e, 0, NULL) == 0);
  CHECK(lundi_two_way_set_agent(e, 0.1, -0.7) == 0);
  float up[2] = {0.1f, 0.7f}, obs[2];
  double r = -1;
  int done = 0, n = 0;
  while (!done) {
    CHECK(lundi_env_step(e, up, obs, &r, &done) == 0);
    CHECK(!(fabsf(obs[0]) < 0.3f && fabsf(obs[1]) < 0.15f)); /* never inside */
    n++;
  }
  CHECK(n == lundi_env_max_steps(e)); /* never reached the goal */
  CHECK_NEAR(obs[1], -0.15, 1e-6);    /* stopped at the obstacle's bottom edge */
  CHECK_NEAR(obs[0], 0.1, 1e-6);
  CHECK(r == 0 && lundi_env_success(e) == 0);
  CHECK(lundi_two_way_hits(e) > 40);
  CHECK(lundi_two_way_side_of(e) == LUNDI_TWO_WAY_NONE);
  /* A diagonal move that would cut the corner stops at the edge it meets first. */
  CHECK(lundi_two_way_set_agent(e, -0.35, -0.2) == 0);
  float diag[2] = {-0.25f, -0.1f};
  CHECK(lundi_env_step(e, diag, obs, NULL, NULL) == 0);
  CHECK(!(fabsf(obs[0]) < 0.3f && fabsf(obs[1]) < 0.15f));
  CHECK(lundi_two_way_hits(e) == 1);
  CHECK_ERR(lundi_two_way_set_agent(e, 0, 0), "inside the obstacle");
  CHECK_ERR(lundi_two_way_set_agent(e, 2, 0), "outside the world");
  lundi_env_free(e);
}

static int px_is(const uint8_t *rgb, int w, int x, int y, int r, int g, int b) {
  const uint8_t *p = rgb + 3 * ((size_t)y * (size_t)w + (size_t)x);
  if (p[0] == r && p[1] == g && p[2] == b) return 1;
  fprintf(stderr, "pixel (%d, %d) is %d %d %d, expected %d %d %d\n", x, y, p[0], p[1], p[2], r, g, b);
  return 0;
}

static void render_colours(void) {
  static uint8_t img[512 * 512 * 3], small[96 * 96 * 3];
  lundi_env *e = lundi_env_new("pusht");
  double s[5] = {100, 100, 120, 380, 0};
  CHECK(lundi_pusht_set_state(e, s) == 0);
  CHECK(lundi_env_render(e, img, 512, 512) == 0);
  CHECK(px_is(img, 512, 100, 100, 65, 105, 225));  /* agent: RoyalBlue */
  CHECK(px_is(img, 512, 120, 395, 119, 136, 153)); /* block's bar: LightSlateGray */
  CHECK(px_is(img, 512, 120, 470, 119, 136, 153)); /* block's stem */
  /* goal stem centre, local (0, 75) turned by pi/4: (256 - 53.0, 256 + 53.0) */
  CHECK(px_is(img, 512, 203, 309, 144, 238, 144)); /* goal: LightGreen */
  CHECK(px_is(img, 512, 5, 256, 211, 211, 211));   /* left wall: LightGray */
  CHECK(px_is(img, 512, 256, 505, 211, 211, 211)); /* bottom wall */
  CHECK(px_is(img, 512, 450, 100, 255, 255, 255)); /* floor */
  CHECK(px_is(img, 512, 1, 1, 255, 255, 255));     /* outside the walls */
  CHECK(lundi_env_render(e, small, 96, 96) == 0);
  CHECK(px_is(small, 96, 18, 18, 65, 105, 225));
  lundi_env_free(e);
  e = lundi_env_new("two_way");
  CHECK(lundi_env_reset(e, 0, NULL) == 0);
  CHECK(lundi_two_way_set_agent(e, -0.5, -0.5) == 0);
  CHECK(lundi_env_render(e, small, 96, 96) == 0);
  CHECK(px_is(small, 96, 24, 72, 65, 105, 225));   /* agent (-0.5, -0.5), y up */
  CHECK(px_is(small, 96, 48, 48, 128, 128, 128));  /* obstacle */
  CHECK(px_is(small, 96, 48, 14, 144, 238, 144));  /* goal (0, 0.7) */
  CHECK(px_is(small, 96, 90, 90, 255, 255, 255));
  lundi_env_free(e);
}

static void gif_episode(void) {
  enum { W = 64, H = 64, N = 5 };
  static uint8_t frames[N * W * H * 3];
  lundi_env *e = lundi_env_new("pusht");
  CHECK(lundi_env_reset(e, 1, NULL) == 0);
  for (int i = 0; i < N; i++) {
    float a[2] = {256, 256};
    if (i) CHECK(lundi_env_step(e, a, NULL, NULL, NULL) == 0);
    CHECK(lundi_env_render(e, frames + (size_t)i * W * H * 3, W, H) == 0);
  }
  lundi_env_free(e);
  char path[] = "/tmp/lundi_sim_gif_XXXXXX";
  CHECK(mkdtemp(path) != NULL);
  char file[256];
  snprintf(file, sizeof file, "%s/episode.gif", path);
  CHECK(lundi_gif_write(file, frames, N, W, H, 10) == 0);
  uint8_t *data = NULL;
  size_t n = 0;
  CHECK(lundi_file_read_all(file, &data, &n) == 0);
  CHECK(n > 6 && memcmp(data, "GIF89a", 6) == 0);
  free(data);
  /* Read back with giflib: N frames, and the palette keeps the exact colours. */
  int err = 0;
  GifFileType *g = DGifOpenFileName(file, &err);
  CHECK(g != NULL);
  if (g) {
    CHECK(DGifSlurp(g) == GIF_OK);
    CHECK(g->ImageCount == N && g->SWidth == W && g->SHeight == H);
    int ok = 1;
    for (int k = 0; k < N && ok; k++)
      for (int i = 0; i < W * H && ok; i++) {
        GifColorType c = g->SColorMap->Colors[g->SavedImages[k].RasterBits[i]];
        const uint8_t *p = frames + ((size_t)k * W * H + (size_t)i) * 3;
        ok = c.Red == p[0] && c.Green == p[1] && c.Blue == p[2];
      }
    CHECK(ok);
    DGifCloseFile(g, &err);
  }
  /* Many colours: the cube, still a GIF. */
  static uint8_t noise[32 * 32 * 3];
  for (size_t i = 0; i < sizeof noise; i++) noise[i] = (uint8_t)(i * 37 + i / 7);
  CHECK(lundi_gif_write(file, noise, 1, 32, 32, 0) == 0);
  unlink(file);
  rmdir(path);
}

static void errors(void) {
  CHECK_ERR(lundi_env_new("nope"), "pusht, two_way");
  CHECK_ERR(lundi_env_new("nope"), "unknown environment \"nope\"");
  CHECK(lundi_env_new("nope") == NULL);
  CHECK_ERR(lundi_env_new(NULL), "no name");
  CHECK(lundi_env_obs_dim(NULL) == LUNDI_EINVAL);
  CHECK_ERR(lundi_env_reset(NULL, 0, NULL), "no environment");
  lundi_env_free(NULL);
  lundi_env *e = lundi_env_new("pusht");
  CHECK(e != NULL && strcmp(lundi_env_name(e), "pusht") == 0);
  CHECK(lundi_env_obs_dim(e) == 20 && lundi_env_action_dim(e) == 2 && lundi_env_max_steps(e) == 300);
  float a[2] = {1, 2}, obs[20];
  uint8_t px[8 * 8 * 3];
  CHECK_ERR(lundi_env_step(e, a, obs, NULL, NULL), "has not been reset");
  CHECK(lundi_env_step(e, a, obs, NULL, NULL) == LUNDI_ESTATE);
  CHECK_ERR(lundi_env_render(e, px, 8, 8), "has not been reset");
  CHECK_ERR(lundi_pusht_coverage(e), "has not been reset");
  CHECK(lundi_env_reset(e, 0, obs) == 0);
  CHECK_ERR(lundi_env_step(e, NULL, obs, NULL, NULL), "no action");
  float bad[2] = {NAN, 0};
  CHECK_ERR(lundi_env_step(e, bad, obs, NULL, NULL), "not a finite number");
  CHECK_ERR(lundi_env_render(e, NULL, 8, 8), "no pixel buffer");
  CHECK_ERR(lundi_env_render(e, px, 4, 8), "outside 8x8");
  CHECK_ERR(lundi_two_way_side_of(e), "needs a two_way environment, got pusht");
  CHECK_ERR(lundi_pusht_get_state(e, NULL), "no state buffer");
  double s[5] = {1, 2, 3, 4, INFINITY};
  CHECK_ERR(lundi_pusht_set_state(e, s), "state[4] is not finite");
  /* Done episodes refuse further steps until a reset. */
  double goal[5] = {60, 60, 256, 256, M_PI / 4};
  CHECK(lundi_pusht_set_state(e, goal) == 0);
  int done = 0;
  CHECK(lundi_env_step(e, a, obs, NULL, &done) == 0 && done == 1);
  CHECK_ERR(lundi_env_step(e, a, obs, NULL, &done), "episode is done");
  CHECK(lundi_env_reset(e, 0, obs) == 0);
  CHECK(lundi_env_step(e, a, obs, NULL, &done) == 0);
  lundi_env_free(e);
  e = lundi_env_new("two_way");
  CHECK_ERR(lundi_pusht_coverage(e), "needs a pusht environment, got two_way");
  CHECK_ERR(lundi_two_way_side_of(NULL), "no environment");
  lundi_env_free(e);
  uint8_t f[3 * 4] = {0};
  CHECK_ERR(lundi_gif_write(NULL, f, 1, 2, 2, 0), "no path");
  CHECK_ERR(lundi_gif_write("/tmp/x.gif", NULL, 1, 2, 2, 0), "no frames");
  CHECK_ERR(lundi_gif_write("/tmp/x.gif", f, 0, 2, 2, 0), "at least one frame");
  CHECK_ERR(lundi_gif_write("/nonexistent-dir/x.gif", f, 1, 2, 2, 0), "/nonexistent-dir/x.gif");
  CHECK(lundi_gif_write("/nonexistent-dir/x.gif", f, 1, 2, 2, 0) == LUNDI_EIO);
}

static const test_case TESTS[] = {
    {"pusht_deterministic", pusht_deterministic},
    {"pusht_coverage", pusht_coverage},
    {"pusht_pd_converges", pusht_pd_converges},
    {"pusht_walls", pusht_walls},
    {"two_way_sides", two_way_sides},
    {"two_way_obstacle", two_way_obstacle},
    {"render_colours", render_colours},
    {"gif_episode", gif_episode},
    {"errors", errors},
};
TEST_MAIN(TESTS)
