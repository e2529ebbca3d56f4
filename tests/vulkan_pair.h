/* Helpers shared by the Vulkan-vs-CPU kernel tests (tests/test_vulkan_*.c): a kernel runs
 * through the dispatcher on views placed inside larger sentinel-filled storages, on both
 * backends with the same view geometry and data; the whole storages are then compared, so a
 * write outside the view shows as a changed sentinel. */
#ifndef LUNDI_TEST_VULKAN_PAIR_H
#define LUNDI_TEST_VULKAN_PAIR_H

#include "harness.h"

#include "core/backend.h"
#include "tensor/tensor_internal.h" /* lundi__view: arbitrary strided views for the kernels */

#include <float.h>
#include <stdint.h>

#define SENTINEL 12345.0f
#define U_F32 (FLT_EPSILON / 2) /* unit roundoff */

/* Value kinds for inputs. */
enum { V_MIXED, V_SPECIAL, V_DYADIC, V_POSITIVE };

/* A view of one geometry over a storage of `total` elements, on the CPU and on the device,
 * holding the same bytes. */
typedef struct pair {
  lundi_tensor *hw, *dw; /* whole storages */
  lundi_tensor *h, *d;   /* the views */
  int64_t total;
} pair;

/* Per-element tolerance: |dev - cpu| <= rel * |cpu| + abs + bound[i] (bound may be NULL).
 * NaN must match NaN, infinities must match exactly, uncovered elements keep their bits. */
typedef struct tol {
  double rel, abs;
  const double *bound; /* indexed by whole-storage position */
} tol;

lundi_device *need_device(void);
/* Runs this test binary again as case_name with extra env vars (name, value, ..., NULL) and
 * LUNDI_TEST_CHILD=1; returns its exit status (128 + signal when killed, -1 when it could
 * not start). For what a process reads once: the loader's env, an exit hook. */
int run_child(const char *case_name, const char *const *env);
uint32_t lcg(void);
float unif(float lo, float hi);
float value(int kind);
pair pair_make(lundi_device *dev, lundi_dtype dt, int nd, const int64_t *shape,
               const int64_t *stride, int64_t off, int64_t total, int kind);
pair pair_contig(lundi_device *dev, lundi_dtype dt, int nd, const int64_t *shape, int64_t pre,
                 int64_t post, int kind);
void pair_free(pair *p);
char *coverage(const lundi_tensor *v, int64_t total);
int64_t pos_of(const lundi_tensor *v, int64_t j);
int run_both(lundi_kcall c, pair *in, int n_in, pair *out, int n_out);
int64_t compare_f32(const char *what, pair *o, tol t);
int64_t compare_bits(const char *what, pair *o);
/* Uploads the host storage again (after the test edited it), keeping the view. */
void pair_sync(pair *p);
/* The host view's first element (contiguous views). */
float *pair_host(pair *p);

#endif
