/* What the token samplers (llada, ar) and the likelihoods share: host copies of token
 * tensors, the scheduler's mask id, one denoiser call on a host token batch read back as
 * logits, and the request's starting tokens. Internal to plugins/. */
#ifndef LUNDI_SAMPLERS_TEXT_COMMON_H
#define LUNDI_SAMPLERS_TEXT_COMMON_H

#include "lundi/plugin.h"

/* A malloc'd row-major host copy of an i32 tensor (what names it in errors); NULL and the
 * error set when t is not i32 or memory runs out. */
int32_t *lundi__tok_read(lundi_tensor *t, const char *what);
/* A tensor of shape from host values, on dev (NULL: the CPU). */
lundi_tensor *lundi__tok_upload(int ndim, const int64_t *shape, const int32_t *v, lundi_device *dev);
lundi_tensor *lundi__f32_upload(int ndim, const int64_t *shape, const float *v, lundi_device *dev);

/* The scheduler's mask id: add_noise(x0, noise = 0, t = 1) must turn every position of a
 * small probe into one i32 constant; any other scheduler is refused ("scheduler 'ddpm' is
 * not a masking scheduler"). who prefixes the message. */
int lundi__mask_id(lundi_instance *sched, const char *who, int32_t *mask);

/* Where the denoiser's parameters live (its module's device), else the default device. */
lundi_device *lundi__denoiser_device(lundi_instance *denoiser);
/* Puts the denoiser's module in training mode `on`; returns the previous mode. */
int lundi__denoiser_train_mode(lundi_instance *denoiser, int on);

/* denoiser(x, t) for host tokens x [n, len] and per-row times t [n] (NULL: zeros), with no
 * condition; the logits [n, len, V] (col < 0), or only those of column col [n, V], read
 * into a malloc'd host array, *V set. A result of another shape is an error naming who. */
float *lundi__denoise_logits(lundi_instance *denoiser, const int32_t *x, int64_t n, int64_t len, const float *t,
                             lundi_device *dev, lundi_rng *rng, const char *who, int64_t col, int64_t *V);

/* The starting tokens of a text request (shape {L}): init as given; else [cond_input |
 * mask x (L - Lp)]; else all masks. *x is malloc'd [batch * L]; *first is the first masked
 * column, which must be the same in every row (-1 when no row has a masked position). */
int lundi__start_tokens(const lundi_sample_request *req, int32_t mask, const char *who, int32_t **x,
                        int64_t *first);

/* n as a malloc count, at least 1 (malloc(0) may give NULL). */
static inline size_t lundi__nz(int64_t n) { return n > 0 ? (size_t)n : 1; }

/* The index of the largest of v[0..n) leaving out index skip (-1: none); the first on ties. */
int64_t lundi__argmax_skip(const float *v, int64_t n, int64_t skip);

#endif
