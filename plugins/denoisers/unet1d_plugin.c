/* unet1d as a denoiser plugin: Diffusion Policy's ConditionalUnet1D. The sample is an action
 * sequence x [B, T, action_dim] (time-major); the global condition, the flattened
 * observation history, comes as cond.vector [B, global_cond_dim] (an `obs` conditioner's
 * output). What the output means (epsilon, sample or v) is the scheduler's prediction_type,
 * as for unet2d: the model only has the sample's shape. */
#include "builtins.h"
#include "lundi/device.h"
#include "unet1d.h"

static const lundi_param_spec specs[] = {
    {"action_dim", LUNDI_PARAM_INT, "2", 1, 4096, NULL, "action channels in and out (the last axis of x [B, T, action_dim])"},
    {"global_cond_dim", LUNDI_PARAM_INT, "0", 0, 1000000, NULL,
     "width of the global condition cond.vector [B, D] (flattened observation history; 0: none)"},
    {"down_dims", LUNDI_PARAM_STRING, "64,128", 0, 0, NULL,
     "channels per level, e.g. \"256,512,1024\" (the reference); T must be a multiple of 2^(levels - 1)"},
    {"kernel_size", LUNDI_PARAM_INT, "5", 1, 63, NULL, "temporal conv kernel (odd)"},
    {"n_groups", LUNDI_PARAM_INT, "8", 1, 1024, NULL, "GroupNorm groups (divides every down_dims entry)"},
    {"diffusion_step_embed_dim", LUNDI_PARAM_INT, "64", 4, 65536, NULL,
     "sinusoidal step embedding width (even; the reference uses 256)"},
    {"cond_predict_scale", LUNDI_PARAM_BOOL, "true", 0, 0, NULL,
     "FiLM predicts a scale and a bias per channel (false: a bias only)"},
    {"seed", LUNDI_PARAM_INT, "0", 0, 4294967295.0, NULL, "seed of the weight initialisation"},
};

static int create(void *user, const lundi_params *p, void **self) {
  (void)user;
  lundi_unet1d_config c = lundi_unet1d_defaults();
  c.action_dim = (int)lundi_params_int(p, "action_dim");
  c.global_cond_dim = (int)lundi_params_int(p, "global_cond_dim");
  c.kernel_size = (int)lundi_params_int(p, "kernel_size");
  c.n_groups = (int)lundi_params_int(p, "n_groups");
  c.step_embed_dim = (int)lundi_params_int(p, "diffusion_step_embed_dim");
  c.cond_predict_scale = lundi_params_bool(p, "cond_predict_scale");
  int rc = lundi_unet1d_parse_dims(lundi_params_string(p, "down_dims"), &c);
  if (rc) return rc;
  lundi_rng rng = lundi_rng_make((uint64_t)lundi_params_int(p, "seed"));
  lundi_unet1d *u = lundi_unet1d_new(&c, &rng);
  if (!u) return lundi_last_error_code() ? lundi_last_error_code() : LUNDI_ENOMEM;
  /* Initialised on the CPU (the same weights on every device), then placed. */
  if (lundi_module_to(lundi_unet1d_module(u), lundi_default_device())) {
    lundi_unet1d_free(u);
    return lundi_last_error_code();
  }
  *self = u;
  return 0;
}

static void destroy(void *self) { lundi_unet1d_free(self); }

static lundi_tensor *forward(void *self, lundi_tensor *x, lundi_tensor *t, const lundi_cond *cond, lundi_rng *rng) {
  (void)rng;
  lundi_unet1d *u = self;
  if (cond && (cond->labels || cond->context || cond->mask)) {
    lundi_set_error(LUNDI_EUNSUPPORTED, "forward: unet1d takes a global condition (cond.vector), not labels or a context");
    return NULL;
  }
  lundi_tensor *g = cond ? cond->vector : NULL;
  if (g && lundi_tensor_dtype(g) != LUNDI_F32) {
    lundi_set_error(LUNDI_EINVAL, "forward: cond.vector must be f32, got %s", lundi_dtype_name(lundi_tensor_dtype(g)));
    return NULL;
  }
  /* Conditioners make the vector on the host; the model reads it where its weights are. */
  lundi_device *dev = lundi_module_device(lundi_unet1d_module(u));
  lundi_tensor *gd = g && dev ? lundi_to_device(g, dev) : NULL;
  lundi_tensor *out = g && !gd ? NULL : lundi_unet1d_forward(u, x, t, gd ? gd : g);
  lundi_release(gd);
  return out;
}

static lundi_module *module(void *self) { return lundi_unet1d_module(self); }

static const lundi_denoiser_api api = {.forward = forward, .module = module};

int lundi_builtin_unet1d(lundi_registry *r) {
  lundi_plugin_desc d = {
      .abi_version = LUNDI_ABI_VERSION,
      .kind = LUNDI_DENOISER,
      .name = "unet1d",
      .version = "1.0.0",
      .description = "action U-Net over time (Diffusion Policy's ConditionalUnet1D): Conv1d res blocks, GroupNorm, "
                     "Mish, FiLM from the step and a global condition",
      .params = specs,
      .n_params = (int)(sizeof specs / sizeof *specs),
      .create = create,
      .destroy = destroy,
      .api = &api,
  };
  return lundi_register(r, &d, NULL);
}
