/* The calls the Lua binding (runtime/lua/lenv.c) makes beyond lundi/env.h's basics: a render
 * as an image tensor, the observation of the current state, and Chipmunk's debug banner kept
 * off stdout (runtime/sim/space.c). Each case runs in its own process: the banner is printed
 * (and swallowed) only by the first space of a process. */
#include <fcntl.h>
#include <pthread.h>
#include <sys/stat.h>
#include <unistd.h>

#include "harness.h"
#include "lundi/env.h"
#include "lundi/image.h"

/* ---- the render as a tensor ---- */

static void render_tensor(void) {
  enum { W = 40, H = 24 };
  static uint8_t rgb[W * H * 3];
  lundi_env *e = lundi_env_new("pusht");
  CHECK_ERR(lundi_env_render_tensor(e, W, H), "has not been reset");
  CHECK(lundi_env_reset(e, 5, NULL) == 0);
  CHECK(lundi_env_render(e, rgb, W, H) == 0);
  lundi_tensor *t = lundi_env_render_tensor(e, W, H);
  CHECK(t && lundi_ndim(t) == 3 && lundi_dim(t, 0) == 3 && lundi_dim(t, 1) == H && lundi_dim(t, 2) == W);
  CHECK(t && lundi_tensor_dtype(t) == LUNDI_F32);
  if (t) {
    const float *v = lundi_data(t);
    int same = 1, in01 = 1;
    for (int c = 0; c < 3; c++)
      for (int i = 0; i < W * H; i++) {
        float x = v[c * W * H + i];
        same &= x * 255.0f == (float)rgb[i * 3 + c]; /* planar, byte / 255 */
        in01 &= x >= 0 && x <= 1;
      }
    CHECK(same && in01);
    /* what save_image reads with range {0, 1}: the very bytes */
    lundi_image im = {0};
    CHECK(lundi_image_from_tensor(t, 0, 1, &im) == 0);
    CHECK(im.width == W && im.height == H && im.channels == 3 && memcmp(im.pixels, rgb, sizeof rgb) == 0);
    lundi_image_free(&im);
  }
  lundi_release(t);
  CHECK_ERR(lundi_env_render_tensor(e, 4, 8), "size 4x8 is outside 8x8 .. 4096x4096");
  CHECK_ERR(lundi_env_render_tensor(NULL, 8, 8), "no environment");
  lundi_env_free(e);
}

/* ---- the current observation ---- */

static void observe(void) {
  lundi_env *e = lundi_env_new("pusht");
  float a[20], b[20];
  CHECK_ERR(lundi_env_observe(e, a), "env_observe: pusht has not been reset");
  CHECK(lundi_env_reset(e, 2, a) == 0);
  CHECK(lundi_env_observe(e, b) == 0 && memcmp(a, b, sizeof a) == 0);
  float act[2] = {200, 300};
  CHECK(lundi_env_step(e, act, a, NULL, NULL) == 0);
  CHECK(lundi_env_observe(e, b) == 0 && memcmp(a, b, sizeof a) == 0);
  double s[5] = {100, 120, 256, 256, 0.5};
  CHECK(lundi_pusht_set_state(e, s) == 0);
  CHECK(lundi_env_observe(e, b) == 0 && b[18] == 100 && b[19] == 120); /* the agent, placed */
  CHECK_ERR(lundi_env_observe(e, NULL), "no obs buffer");
  CHECK_ERR(lundi_env_observe(NULL, b), "no environment");
  lundi_env_free(e);
  e = lundi_env_new("two_way");
  CHECK(lundi_env_reset(e, 0, NULL) == 0 && lundi_two_way_set_agent(e, -0.5, 0.5) == 0);
  CHECK(lundi_env_observe(e, b) == 0 && b[0] == -0.5f && b[1] == 0.5f);
  lundi_env_free(e);
}

/* ---- Chipmunk's banner ---- */

/* Points fd 1 at a fresh file; stop_capture puts it back and returns what was written. */
static int cap_saved = -1;
static char cap_path[] = "/tmp/lundi_sim_stdout_XXXXXX";
static void start_capture(void) {
  fflush(stdout);
  int fd = mkstemp(cap_path);
  CHECK(fd >= 0);
  cap_saved = dup(STDOUT_FILENO);
  CHECK(dup2(fd, STDOUT_FILENO) == STDOUT_FILENO);
  close(fd);
}
static char *stop_capture(void) {
  fflush(stdout);
  dup2(cap_saved, STDOUT_FILENO);
  close(cap_saved);
  uint8_t *d = NULL;
  size_t n = 0;
  CHECK(lundi_file_read_all(cap_path, &d, &n) == 0);
  unlink(cap_path);
  char *s = calloc(1, n + 1);
  if (d && s) memcpy(s, d, n);
  free(d);
  return s;
}

/* The first Push-T of the process prints nothing; what the program wrote before (still in
 * stdout's buffer) and after goes to stdout as it should, in order. */
static void quiet_banner(void) {
  start_capture();
  printf("before|");
  lundi_env *e = lundi_env_new("pusht"), *e2 = lundi_env_new("pusht");
  CHECK(e && e2);
  CHECK(lundi_env_reset(e, 0, NULL) == 0);
  printf("after\n");
  char *out = stop_capture();
  CHECK(out && strcmp(out, "before|after\n") == 0);
  if (out && strcmp(out, "before|after\n") != 0) fprintf(stderr, "stdout got: \"%s\"\n", out);
  free(out);
  lundi_env_free(e), lundi_env_free(e2);
}

static void *make_envs(void *arg) {
  (void)arg;
  for (int i = 0; i < 4; i++) lundi_env_free(lundi_env_new("pusht"));
  return NULL;
}

/* Four threads making their first spaces at once: still nothing on stdout. */
static void quiet_banner_threads(void) {
  start_capture();
  pthread_t th[4];
  for (int i = 0; i < 4; i++) CHECK(pthread_create(&th[i], NULL, make_envs, NULL) == 0);
  for (int i = 0; i < 4; i++) pthread_join(th[i], NULL);
  char *out = stop_capture();
  CHECK(out && out[0] == 0);
  free(out);
}

/* With fd 1 closed there is nothing to point away, and an env is made as usual. */
static void quiet_banner_closed_stdout(void) {
  fflush(stdout);
  int saved = dup(STDOUT_FILENO);
  close(STDOUT_FILENO);
  lundi_env *e = lundi_env_new("pusht");
  int closed = fcntl(STDOUT_FILENO, F_GETFD) == -1; /* the detour left fd 1 as it was */
  dup2(saved, STDOUT_FILENO);
  close(saved);
  CHECK(e != NULL && closed);
  lundi_env_free(e);
}

static const test_case TESTS[] = {
    {"render_tensor", render_tensor},
    {"observe", observe},
    {"quiet_banner", quiet_banner},
    {"quiet_banner_threads", quiet_banner_threads},
    {"quiet_banner_closed_stdout", quiet_banner_closed_stdout},
};
TEST_MAIN(TESTS)
