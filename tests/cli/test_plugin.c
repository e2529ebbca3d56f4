/* A minimal sampler plugin for the cli tests: one parameter of each type. */
#include "lundi/plugin.h"

static lundi_tensor *sample(void *self, const lundi_pipeline_parts *parts,
                            const lundi_sample_request *req) {
  (void)self, (void)parts, (void)req;
  lundi_set_error(LUNDI_EUNSUPPORTED, "cli_test: sampling is not implemented");
  return NULL;
}

static int create(void *user, const lundi_params *params, void **self) {
  (void)user, (void)params;
  *self = NULL;
  return 0;
}

static void destroy(void *self) { (void)self; }

static const lundi_sampler_api api = {sample};

static const lundi_param_spec params[] = {
  {"steps", LUNDI_PARAM_INT, "50", 1, 1000, NULL, "number of sampling steps"},
  {"guidance_scale", LUNDI_PARAM_FLOAT, "7.5", 0, 0, NULL, "classifier-free guidance weight"},
  {"clip", LUNDI_PARAM_BOOL, "false", 0, 0, NULL, "clip the result to [-1, 1]"},
  {"tag", LUNDI_PARAM_STRING, "", 0, 0, NULL, NULL},
  {"mode", LUNDI_PARAM_CHOICE, "fast", 0, 0, "fast|exact", "speed or accuracy"},
};

static int init(lundi_registry *r) {
  lundi_plugin_desc d = {
    .abi_version = LUNDI_ABI_VERSION, .kind = LUNDI_SAMPLER, .name = "cli_test",
    .version = "1.2.3", .description = "a sampler for the cli tests",
    .params = params, .n_params = (int)(sizeof params / sizeof *params),
    .create = create, .destroy = destroy, .api = &api,
  };
  return lundi_register(r, &d, NULL);
}

LUNDI_PLUGIN_ENTRY(init)
