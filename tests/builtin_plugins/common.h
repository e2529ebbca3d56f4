/* Helpers shared by the built-in plugin tests. */
#ifndef LUNDI_TEST_BUILTIN_COMMON_H
#define LUNDI_TEST_BUILTIN_COMMON_H

#include "harness.h"
#include "lundi/plugin.h"

/* A registry with every built-in plugin (and the test's, when given). */
lundi_registry *bt_registry(void);
/* An instance of a registered plugin with "key", "value" pairs (NULL-terminated); NULL and
 * the error set when a setter or create fails. */
lundi_instance *bt_make(lundi_registry *r, lundi_plugin_kind k, const char *name, ...);
/* alphas_cumprod of the default linear schedule (1e-4 .. 0.02), T = 1000, double. */
double bt_ab_linear(int t);
/* Reads a tensor into a malloc'd float array (t_read) and frees later. */
lundi_tensor *bt_tensor(int ndim, const int64_t *shape, const float *v);

#endif
