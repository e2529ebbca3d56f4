/* Logging 1,000,000 metric values (4 keys x 250,000 steps) through lundi_run_log, ended by
 * lundi_run_end, on a fresh store each time; prints each time and the median of 3.
 * usage: bench_store [DIR]   (default: /tmp; the store files are removed afterwards) */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "lundi/lundi.h"
#include "lundi/store.h"

static double now(void) {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return (double)ts.tv_sec + (double)ts.tv_nsec * 1e-9;
}

static void remove_store(const char *p) {
  char b[4200];
  remove(p);
  snprintf(b, sizeof b, "%s-wal", p);
  remove(b);
  snprintf(b, sizeof b, "%s-shm", p);
  remove(b);
}

static int cmp(const void *a, const void *b) {
  double x = *(const double *)a, y = *(const double *)b;
  return (x > y) - (x < y);
}

int main(int argc, char **argv) {
  const char *dir = argc > 1 ? argv[1] : "/tmp";
  static const char *const keys[] = {"loss", "lr", "grad_norm", "val_loss"};
  const int steps = 250000;
  double t[3];
  for (int rep = 0; rep < 3; rep++) {
    char path[4096];
    snprintf(path, sizeof path, "%s/bench_store_%d.db", dir, (int)getpid());
    remove_store(path);
    lundi_store *s = lundi_store_open(path, 0);
    lundi_run *r = s ? lundi_run_begin(s, &(lundi_run_info){.name = "bench", .device = "cpu"}) : NULL;
    if (!r) {
      fprintf(stderr, "bench_store: %s\n", lundi_last_error());
      return 1;
    }
    double t0 = now();
    for (int i = 0; i < steps; i++)
      for (int k = 0; k < 4; k++)
        if (lundi_run_log(r, keys[k], i, 1.0 / (i + k + 1)) != 0) {
          fprintf(stderr, "bench_store: %s\n", lundi_last_error());
          return 1;
        }
    if (lundi_run_end(r, LUNDI_RUN_FINISHED, NULL) != 0) {
      fprintf(stderr, "bench_store: %s\n", lundi_last_error());
      return 1;
    }
    t[rep] = now() - t0;
    lundi_store_close(s);
    remove_store(path);
    printf("run %d: 1,000,000 metric values logged in %.3f s\n", rep + 1, t[rep]);
  }
  qsort(t, 3, sizeof t[0], cmp);
  printf("median: %.3f s (target < 3 s)\n", t[1]);
  return 0;
}
