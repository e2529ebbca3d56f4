/* Library-wide settings: version and thread count. */
#include "core/internal.h"

#include <cblas.h>
#include <omp.h>

const char *lundi_version(void) { return LUNDI_VERSION_STRING; }

static int n_threads; /* 0 until set: use OpenMP's default */

int lundi_set_threads(int n) {
  if (n <= 0) n = omp_get_num_procs();
  n_threads = n;
  omp_set_num_threads(n);
  openblas_set_num_threads(n);
  return 0;
}

int lundi_get_threads(void) { return lundi__threads(); }

int lundi__threads(void) { return n_threads > 0 ? n_threads : omp_get_max_threads(); }

int lundi_device_sync(lundi_device *dev) {
  if (!dev) return lundi__err(LUNDI_EINVAL, "device_sync: device is NULL");
  return dev->backend->sync(dev);
}
