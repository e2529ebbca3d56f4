/* Kernel counts and per-kernel timing, kept by the dispatcher. */
#ifndef LUNDI_PROFILE_H
#define LUNDI_PROFILE_H

#include <stdint.h>
#include <stdio.h>

#ifdef __cplusplus
extern "C" {
#endif

/* Per-kernel wall time (not thread-safe; for benchmarks). Enabling resets the counters. */
void lundi_profile_enable(int on);
void lundi_profile_report(FILE *out);
/* Kernels run so far on the host CPU backend (host != 0) or on device backends (host == 0),
 * e.g. to check that a training step ran wholly on the GPU. */
int64_t lundi_kernel_calls(int host);

#ifdef __cplusplus
}
#endif
#endif
