/* Datasets and batches (runtime/data/): one C API for the data of every modality, used by
 * the Lua module (lundi.data.batches) and by C hosts.
 *
 * A dataset is N samples, each made of n_fields tensors: an image and its label, an
 * observation history and an action chunk, a token sequence. Where the samples come from is
 * the dataset's source, a small table of functions (lundi_dataset_source): tensors held in
 * memory (lundi_dataset_from_tensors, lundi_dataset_mnist) are one source; a generated or
 * streamed text or action dataset is another, written against the same two calls:
 *   count(self)                 -> N, the samples of one epoch;
 *   get(self, idx, n, dev, out) -> out[f] = the samples idx[0..n-1] of field f stacked
 *                                  into [n, ...the field's sample shape].
 * A loader (lundi_loader) draws one epoch's order, seeded or sequential, and hands out
 * batches of batch_size samples through get().
 *
 * MNIST (lundi/mnist.h, runtime/data/mnist.c: fetching, the cache file and its split) sits
 * beside the loader; lundi_dataset_mnist wraps one split of it as a dataset. */
#ifndef LUNDI_DATA_H
#define LUNDI_DATA_H

#include <stddef.h>
#include <stdint.h>

#include "lundi/mnist.h"
#include "lundi/tensor.h"

#ifdef __cplusplus
extern "C" {
#endif

/* ---- datasets ---- */

#define LUNDI_DATASET_MAX_FIELDS 8

typedef struct lundi_dataset lundi_dataset;

typedef struct lundi_dataset_source {
  int64_t (*count)(void *self);
  /* Fills out[0..n_fields-1] with new tensors [n, ...] holding the samples idx[0..n-1]
   * (each in [0, count)), in that order, on dev (NULL: where the source keeps its data).
   * Called under lundi_no_grad_enter(). Returns 0, or a negative lundi status with the
   * message set and out[] all NULL. */
  int (*get)(void *self, const int32_t *idx, int64_t n, lundi_device *dev, lundi_tensor **out);
  void (*destroy)(void *self); /* may be NULL */
} lundi_dataset_source;

/* A dataset over src (copied) and self (owned: destroy(self) runs when the last reference
 * goes, and also when this call fails). NULL on error. */
lundi_dataset *lundi_dataset_new(const lundi_dataset_source *src, void *self, int n_fields);
/* Samples in memory: fields[f] is [N, ...], f32 or i32, the same N for every field (retained,
 * not copied as they are: kept as contiguous f32 rows [N, prod(...)] on the field's device;
 * i32 values go through f32, so they must lie within +-2^24). Batches come back with each
 * field's dtype and sample shape; they are gathered on the field's device with
 * lundi_embedding's op, then moved to get()'s dev when that differs. */
lundi_dataset *lundi_dataset_from_tensors(int n_fields, lundi_tensor *const *fields);
/* One MNIST split ("train", "test", "all"; see lundi_mnist_load) as a dataset of two fields:
 * images f32 [N, 1, 28, 28] and labels i32 [N], on the CPU. Does not fetch. */
lundi_dataset *lundi_dataset_mnist(const char *split);

lundi_dataset *lundi_dataset_retain(lundi_dataset *ds); /* returns ds; NULL is fine */
void lundi_dataset_release(lundi_dataset *ds);          /* NULL is fine */
int64_t lundi_dataset_count(lundi_dataset *ds);
int lundi_dataset_fields(const lundi_dataset *ds);
/* The source's get() under no_grad, with idx checked against count first. */
int lundi_dataset_get(lundi_dataset *ds, const int32_t *idx, int64_t n, lundi_device *dev,
                      lundi_tensor **out);

/* Every sample of ds, in order, into out[0..fields-1] (new tensors [N, ...]) on dev (NULL: where
 * the source keeps its data). N is at most 2^31 - 1. ds stays the caller's. */
int lundi_dataset_all(lundi_dataset *ds, lundi_device *dev, lundi_tensor **out);

/* ---- demonstrations (docs/action.md, "Demonstration files") ----
 * A demonstration file (lundi_demos_collect in lundi/expert.h writes one) is safetensors with
 * obs f32 [T, obs_dim], action f32 [T, action_dim] and episode_ends i32 [E]: the exclusive
 * cumulative ends of the episodes, increasing, the last one T.
 *
 * lundi_dataset_demos gives the training windows of Diffusion Policy's SequenceSampler: a
 * window of pred_horizon (Tp) steps starts at every i in [-pad_before, L - Tp + pad_after] of
 * every episode of length L, with pad_before = min(obs_horizon - 1, Tp - 1) and pad_after =
 * min(action_horizon - 1, Tp - 1); steps outside the episode repeat its first or last step.
 * Sample fields: obs f32 [obs_horizon, obs_dim] (the window's first To steps) and action
 * f32 [Tp, action_dim], on the CPU. Needs 1 <= obs_horizon <= Tp and 1 <= action_horizon <= Tp.
 * NULL + an error naming the file when it is missing or malformed. */
lundi_dataset *lundi_dataset_demos(const char *path, int obs_horizon, int action_horizon, int pred_horizon);

typedef struct lundi_demos_info {
  int64_t steps; /* T */
  int episodes, obs_dim, action_dim;
} lundi_demos_info;
/* Reads and checks path (as lundi_dataset_demos does). */
int lundi_demos_info_read(const char *path, lundi_demos_info *info);
/* The per-feature minimum and maximum over all T rows of field "obs" or "action" into
 * min[0..dim-1] and max[0..dim-1] (dim must be the field's width): the limits of the
 * min-max normaliser. */
int lundi_demos_minmax(const char *path, const char *field, float *min, float *max, int dim);

/* ---- the order of an epoch ---- */

/* perm[i] = i, then, when rng is not NULL and n > 1, a Fisher-Yates pass driven by one draw
 * u = lundi_rand(rng, 1, {n}) (f32 in [0, 1)): for i = n-1 down to 1,
 * j = min(i, floor((double)u[i] * (i + 1))), swap perm[i] and perm[j]. Without an rng, or
 * for n <= 1, the rng does not advance. n <= 2^31 - 1. Returns 0 or a negative status. */
int lundi_shuffle_indices(lundi_rng *rng, int32_t *perm, int64_t n);

/* ---- batches ---- */

typedef struct lundi_loader_opts {
  int64_t batch_size;   /* >= 1 */
  lundi_rng *rng;       /* the epoch's order (lundi_shuffle_indices); NULL: 0..N-1 */
  int drop_last;        /* leave out a last batch smaller than batch_size */
  lundi_device *device; /* where batches go; NULL: where the dataset keeps its data */
} lundi_loader_opts;

typedef struct lundi_loader lundi_loader;

/* One epoch over ds (retained): the order is drawn here, so making one loader per epoch with
 * the same rng reshuffles every epoch, and the same seed gives the same batches. */
lundi_loader *lundi_loader_new(lundi_dataset *ds, const lundi_loader_opts *opts);
/* One epoch over tensors in memory: x [N, ...] and y [N, ...] or NULL, as
 * lundi_dataset_from_tensors holds them, with the messages naming x, y and batch_size. */
lundi_loader *lundi_loader_from_tensors(lundi_tensor *x, lundi_tensor *y, const lundi_loader_opts *opts);
/* The next batch into out[0..fields-1] (new references) and its 0-based number into *index
 * (may be NULL). Returns 1 for a batch, 0 at the end of the epoch (out[] untouched), or a
 * negative status. */
int lundi_loader_next(lundi_loader *ld, lundi_tensor **out, int64_t *index);
int64_t lundi_loader_batches(const lundi_loader *ld); /* batches in the epoch */
/* The epoch's order (N indices), borrowed until lundi_loader_free. */
const int32_t *lundi_loader_order(const lundi_loader *ld);
void lundi_loader_free(lundi_loader *ld); /* NULL is fine */

#ifdef __cplusplus
}
#endif

#endif
