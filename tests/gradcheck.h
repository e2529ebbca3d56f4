/* Central finite-difference check of every input's gradient.
 * L = sum(out * R) with a fixed random R accumulated in double; each input element is
 * perturbed by +-h and the numeric dL/dx compared to the tape's gradient. */
#ifndef LUNDI_GRADCHECK_H
#define LUNDI_GRADCHECK_H

#include "harness.h"

typedef lundi_tensor *(*gc_fn)(lundi_tensor **in, void *ctx);

typedef struct gc_opts {
  double h;    /* default 1e-2 */
  double rtol; /* default 2e-2 */
  double atol; /* default 2e-3 */
} gc_opts;

/* in[0..n) are leaves with requires_grad set. Returns 0 when every gradient matches. */
int gradcheck(const char *name, gc_fn f, int n, lundi_tensor **in, void *ctx, const gc_opts *opts);

#endif
