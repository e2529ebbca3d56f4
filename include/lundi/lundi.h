/* lundi: a C runtime for diffusion models.
 *
 * Conventions shared by every public header:
 *  - Functions that build something return a new reference (or NULL on error);
 *    the caller owns it and gives it back with the matching *_release/_free.
 *  - Functions that do something return 0 (LUNDI_OK) or a negative lundi_status.
 *  - On any error, lundi_last_error() holds a message naming the op and the cause.
 *    The message is per thread and stays until the next error.
 *  - The library never calls exit() or abort().
 */
#ifndef LUNDI_LUNDI_H
#define LUNDI_LUNDI_H

#include "lundi/tensor.h"
#include "lundi/ops.h"
#include "lundi/nn.h"
#include "lundi/device.h"

#define LUNDI_VERSION_MAJOR 0
#define LUNDI_VERSION_MINOR 1
#define LUNDI_VERSION_PATCH 0
#define LUNDI_VERSION_STRING "0.1.0"

#include <stdio.h>

#ifdef __cplusplus
extern "C" {
#endif

const char *lundi_version(void);

/* Per-kernel wall time (not thread-safe; for benchmarks). Enabling resets the counters. */
void lundi_profile_enable(int on);
void lundi_profile_report(FILE *out);
/* Kernels run so far on the host CPU backend (host != 0) or on device backends (host == 0),
 * e.g. to check that a training step ran wholly on the GPU. */
int64_t lundi_kernel_calls(int host);
/* An op a device backend lacks is an error naming it, unless CPU fallback is on (this call,
 * or LUNDI_CPU_FALLBACK=1): then it runs on the CPU on copies of its operands, and the
 * results are copied back. Off by default: a silent fallback would hide slow paths. */
void lundi_set_cpu_fallback(int on);
int lundi_cpu_fallback(void);

/* Threads used by CPU kernels (OpenMP) and OpenBLAS. n <= 0 means "all cores". */
int lundi_set_threads(int n);
int lundi_get_threads(void);

/* Large host blocks are cached for reuse (bounded at 2 GiB); this gives them back. */
void lundi_release_cached_memory(void);

#ifdef __cplusplus
}
#endif
#endif
