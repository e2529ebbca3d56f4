/* The kinds' function tables come from lundi/plugin_api.h; their layout is ABI 3 and must not
 * move. These are the tables as they were written out by hand for ABI 2, plus ABI 3's
 * scheduler loss appended at the end. */
#include "harness.h"
#include "lundi/plugin.h"

#include <stddef.h>

typedef struct abi3_scheduler_api {
  int (*num_train_timesteps)(void *self);
  lundi_tensor *(*add_noise)(void *self, lundi_tensor *x0, lundi_tensor *noise, lundi_tensor *t);
  lundi_tensor *(*target)(void *self, lundi_tensor *x0, lundi_tensor *noise, lundi_tensor *t);
  int (*set_timesteps)(void *self, int num_inference_steps);
  int (*num_steps)(void *self);
  double (*timestep)(void *self, int i);
  double (*init_noise_sigma)(void *self);
  lundi_tensor *(*scale_model_input)(void *self, lundi_tensor *x, int i);
  lundi_tensor *(*step)(void *self, lundi_tensor *model_out, int i, lundi_tensor *x, lundi_rng *rng);
  lundi_tensor *(*predict_x0)(void *self, lundi_tensor *model_out, int i, lundi_tensor *x);
  lundi_tensor *(*noise_to_step)(void *self, lundi_tensor *x0, lundi_tensor *noise, int k, int *begin);
  lundi_tensor *(*loss)(void *self, lundi_tensor *model_out, lundi_tensor *x0, lundi_tensor *noise, lundi_tensor *t);
} abi3_scheduler_api;

typedef struct abi3_denoiser_api {
  lundi_tensor *(*forward)(void *self, lundi_tensor *x, lundi_tensor *t, const lundi_cond *cond, lundi_rng *rng);
  lundi_module *(*module)(void *self);
} abi3_denoiser_api;

typedef struct abi3_conditioner_api {
  int (*encode)(void *self, lundi_tensor *input, lundi_cond *out);
  int (*encode_text)(void *self, const char *const *prompts, int n, lundi_cond *out);
  int (*null_cond)(void *self, int n, lundi_cond *out);
  int (*drop)(void *self, lundi_cond *c, lundi_rng *rng);
  lundi_module *(*module)(void *self);
} abi3_conditioner_api;

typedef struct abi3_sampler_api {
  lundi_tensor *(*sample)(void *self, const lundi_pipeline_parts *parts, const lundi_sample_request *req);
} abi3_sampler_api;

static int g_fields;

#define SAME_FIELD(kind, ret, name, params, args, need, lua, wrap)                                       \
  g_fields++;                                                                                      \
  CHECK(offsetof(lundi_##kind##_api, name) == offsetof(abi3_##kind##_api, name));                  \
  CHECK(__builtin_types_compatible_p(__typeof__(((lundi_##kind##_api *)0)->name),                  \
                                     __typeof__(((abi3_##kind##_api *)0)->name)));
#define SAME_KIND(K, kind, LIST)                                                                   \
  CHECK(sizeof(lundi_##kind##_api) == sizeof(abi3_##kind##_api));                                  \
  LIST(SAME_FIELD, void *self)

static void test_layout(void) {
  CHECK(LUNDI_ABI_VERSION == 3);
  LUNDI_PLUGIN_KINDS(SAME_KIND)
  CHECK(g_fields == 12 + 2 + 5 + 1);
}

static const test_case TESTS[] = {{"api_layout_abi3", test_layout}};
TEST_MAIN(TESTS)
