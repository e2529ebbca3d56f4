/* Settings of the CPU backend: threads and its cache of host blocks. */
#ifndef LUNDI_CPU_H
#define LUNDI_CPU_H

#ifdef __cplusplus
extern "C" {
#endif

/* Threads used by CPU kernels (OpenMP) and OpenBLAS. n <= 0 means "all cores". */
int lundi_set_threads(int n);
int lundi_get_threads(void);

/* Large host blocks are cached for reuse (bounded at 2 GiB); this gives them back. */
void lundi_release_cached_memory(void);

#ifdef __cplusplus
}
#endif
#endif
