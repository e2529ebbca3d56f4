/* Thread count of the CPU backend: OpenMP's and OpenBLAS's together. */
#include "cpu/threads.h"
#include "lundi/cpu.h"

#include <cblas.h>
#include <omp.h>

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
