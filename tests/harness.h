/* Minimal test harness: a file defines TESTS as a table of {name, fn}; main runs the case
 * named on the command line (or all). A case fails when any CHECK fails. */
#ifndef LUNDI_TEST_HARNESS_H
#define LUNDI_TEST_HARNESS_H

#include "lundi/lundi.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

extern int t_failures;

#define CHECK(cond)                                                                                \
  do {                                                                                             \
    if (!(cond)) {                                                                                 \
      t_failures++;                                                                                \
      fprintf(stderr, "%s:%d: CHECK failed: %s (last error: %s)\n", __FILE__, __LINE__, #cond,      \
              lundi_last_error());                                                                 \
    }                                                                                              \
  } while (0)

#define CHECK_NEAR(a, b, tol)                                                                      \
  do {                                                                                             \
    double a_ = (a), b_ = (b);                                                                     \
    if (!(fabs(a_ - b_) <= (tol))) {                                                               \
      t_failures++;                                                                                \
      fprintf(stderr, "%s:%d: CHECK_NEAR failed: %s = %.9g vs %s = %.9g (tol %g)\n", __FILE__,     \
              __LINE__, #a, a_, #b, b_, (double)(tol));                                            \
    }                                                                                              \
  } while (0)

/* Asserts that a call failed and the message mentions `needle`. */
#define CHECK_ERR(expr, needle)                                                                    \
  do {                                                                                             \
    lundi_clear_error();                                                                           \
    int ok_ = (expr) ? 1 : 0;                                                                      \
    (void)ok_;                                                                                     \
    if (!strstr(lundi_last_error(), (needle))) {                                                   \
      t_failures++;                                                                                \
      fprintf(stderr, "%s:%d: expected an error mentioning \"%s\", got \"%s\"\n", __FILE__,        \
              __LINE__, needle, lundi_last_error());                                               \
    }                                                                                              \
  } while (0)

typedef struct test_case {
  const char *name;
  void (*fn)(void);
} test_case;

int test_main(int argc, char **argv, const test_case *cases, int n);

#define TEST_MAIN(table)                                                                           \
  int main(int argc, char **argv) { return test_main(argc, argv, table, (int)(sizeof table / sizeof *table)); }

/* Helpers */
lundi_tensor *t_randn(lundi_rng *rng, int ndim, const int64_t *shape, float scale, int requires_grad);
float *t_read(lundi_tensor *t); /* malloc'd logical-order copy */
double t_max_abs_diff(lundi_tensor *a, lundi_tensor *b);
/* Random size in [lo, hi] from a per-file LCG state, so each run exercises a few shapes;
 * LUNDI_TEST_SEED reseeds every state once (for shape sweeps). */
int64_t t_rand_dim(uint64_t *state, int lo, int hi);

#endif
