/* What the text_diffusion tests share: a registry with the built-ins and the test denoisers,
 * instances from "key", "value" lists, and token helpers. */
#ifndef LUNDI_TEST_TEXT_DIFFUSION_COMMON_H
#define LUNDI_TEST_TEXT_DIFFUSION_COMMON_H

#include "harness.h"
#include "lundi/plugin.h"

/* A test denoiser's logits: for one row of tokens x [L], out [L, V]. */
typedef void (*td_logits_fn)(const int32_t *x, int64_t L, int64_t V, float *out);

/* Registers a denoiser `name` whose forward applies fn row by row (param "vocab": V). */
int td_register(lundi_registry *r, const char *name, td_logits_fn fn);
/* Forward calls made by every test denoiser so far, the rows and the last t seen. */
extern int td_calls;
extern int64_t td_rows;
extern float td_last_t[64];

/* A registry with the built-in plugins. */
lundi_registry *td_registry(void);
/* An instance with "key", "value" pairs (NULL-terminated); NULL with the error set. */
lundi_instance *td_make(lundi_registry *r, lundi_plugin_kind k, const char *name, ...);
/* i32 tensor / host copy of one. */
lundi_tensor *td_tokens(int64_t n, int64_t L, const int32_t *v);
int32_t *td_read_tokens(lundi_tensor *t);
/* A deterministic value in [-1, 1) from a few integers (a hash). */
double td_hash(uint64_t a, uint64_t b, uint64_t c);

#endif
