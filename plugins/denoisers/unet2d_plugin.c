/* unet2d as a denoiser plugin: a preset ("mnist-unet", "mnist-tiny") plus overrides. Integer
 * and float overrides use -1, and strings "", for "keep the preset's value". */
#include "builtins.h"
#include "lundi/device.h"
#include "unet2d.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static const lundi_param_spec specs[] = {
    {"preset", LUNDI_PARAM_CHOICE, "mnist-unet", 0, 0, "mnist-unet|mnist-tiny",
     "base configuration (both: 1 channel in/out, 10 classes, 28x28-friendly)"},
    {"in_channels", LUNDI_PARAM_INT, "-1", -1, 4096, NULL, "input channels (-1: preset's)"},
    {"out_channels", LUNDI_PARAM_INT, "-1", -1, 4096, NULL, "output channels (-1: preset's)"},
    {"base_channels", LUNDI_PARAM_INT, "-1", -1, 4096, NULL, "channels at level 0 (-1: preset's)"},
    {"channel_mult", LUNDI_PARAM_STRING, "", 0, 0, NULL,
     "per-level channel multipliers, e.g. \"1,2,4\"; the count sets the levels (\"\": preset's)"},
    {"attention_levels", LUNDI_PARAM_STRING, "", 0, 0, NULL,
     "per-level self-attention flags, e.g. \"0,0,1\" (\"\": none; the middle always has attention)"},
    {"layers_per_block", LUNDI_PARAM_INT, "-1", -1, 16, NULL,
     "res blocks per level going down; up uses one more (-1: preset's)"},
    {"heads", LUNDI_PARAM_INT, "-1", -1, 256, NULL, "attention heads (-1: preset's)"},
    {"groups", LUNDI_PARAM_INT, "-1", -1, 1024, NULL, "GroupNorm groups (-1: preset's)"},
    {"dropout", LUNDI_PARAM_FLOAT, "-1", -1, 0.99, NULL, "dropout in res blocks while training (-1: preset's, 0)"},
    {"num_classes", LUNDI_PARAM_INT, "-1", -1, 1000000, NULL,
     "class labels (0: unconditional; -1: preset's, 10); id num_classes is the null class"},
    {"context_dim", LUNDI_PARAM_INT, "-1", -1, 65536, NULL, "cross-attention context width (0: none; -1: preset's, 0)"},
    {"seed", LUNDI_PARAM_INT, "0", 0, 4294967295.0, NULL, "seed of the weight initialisation"},
};

/* Parses "a,b,c" (integers in [lo, hi], at most max) into out; returns the count or an error
 * naming the parameter and the bad item. */
static int parse_list(const char *key, const char *text, int lo, int hi, int max, int *out) {
  int n = 0;
  const char *p = text;
  for (;;) {
    char *end;
    while (*p == ' ') p++;
    long v = strtol(p, &end, 10);
    if (end == p || v < lo || v > hi)
      return lundi_set_error(LUNDI_EINVAL, "%s = \"%s\": item %d must be an integer in [%d, %d] (e.g. \"1,2,4\")", key,
                             text, n + 1, lo, hi);
    if (n == max)
      return lundi_set_error(LUNDI_EINVAL, "%s = \"%s\": at most %d levels", key, text, max);
    out[n++] = (int)v;
    p = end;
    while (*p == ' ') p++;
    if (!*p) return n;
    if (*p++ != ',')
      return lundi_set_error(LUNDI_EINVAL, "%s = \"%s\": expected a comma-separated list of integers", key, text);
  }
}

/* Applies an integer override when it is not -1. */
static void over(const lundi_params *p, const char *key, int *field) {
  int64_t v = lundi_params_int(p, key);
  if (v != -1) *field = (int)v;
}

static int config(const lundi_params *p, lundi_unet2d_config *c) {
  int rc = lundi_unet2d_preset(lundi_params_string(p, "preset"), c);
  if (rc) return rc;
  over(p, "in_channels", &c->in_channels);
  over(p, "out_channels", &c->out_channels);
  over(p, "base_channels", &c->base_channels);
  over(p, "heads", &c->heads);
  over(p, "groups", &c->groups);
  over(p, "num_classes", &c->num_classes);
  over(p, "context_dim", &c->context_dim);
  int down = -1;
  over(p, "layers_per_block", &down);
  if (down != -1) c->res_down = down, c->res_up = down + 1;
  if (lundi_params_float(p, "dropout") != -1) c->dropout = (float)lundi_params_float(p, "dropout");
  const char *mult = lundi_params_string(p, "channel_mult"), *attn = lundi_params_string(p, "attention_levels");
  if (mult && mult[0]) {
    int m[LUNDI_UNET2D_MAX_LEVELS];
    int n = parse_list("channel_mult", mult, 1, 64, LUNDI_UNET2D_MAX_LEVELS, m);
    if (n < 0) return n;
    memset(c->channel_mult, 0, sizeof c->channel_mult);
    memset(c->attn_level, 0, sizeof c->attn_level);
    memcpy(c->channel_mult, m, sizeof(int) * (size_t)n);
    c->n_levels = n;
  }
  if (attn && attn[0]) {
    int a[LUNDI_UNET2D_MAX_LEVELS];
    int n = parse_list("attention_levels", attn, 0, 1, LUNDI_UNET2D_MAX_LEVELS, a);
    if (n < 0) return n;
    if (n != c->n_levels)
      return lundi_set_error(LUNDI_EINVAL, "attention_levels = \"%s\" has %d entries; the model has %d levels", attn, n,
                             c->n_levels);
    memcpy(c->attn_level, a, sizeof(int) * (size_t)n);
  }
  return 0;
}

static int create(void *user, const lundi_params *p, void **self) {
  (void)user;
  lundi_unet2d_config c;
  int rc = config(p, &c);
  if (rc) return rc;
  lundi_rng rng = lundi_rng_make((uint64_t)lundi_params_int(p, "seed"));
  lundi_unet2d *u = lundi_unet2d_new(&c, &rng);
  if (!u) return lundi_last_error_code() ? lundi_last_error_code() : LUNDI_ENOMEM;
  /* Initialised on the CPU (the same weights on every device), then placed. */
  if (lundi_module_to(lundi_unet2d_module(u), lundi_default_device())) {
    lundi_unet2d_free(u);
    return lundi_last_error_code();
  }
  *self = u;
  return 0;
}

static void destroy(void *self) { lundi_unet2d_free(self); }

static lundi_tensor *forward(void *self, lundi_tensor *x, lundi_tensor *t, const lundi_cond *cond, lundi_rng *rng) {
  lundi_unet2d *u = self;
  lundi_tensor *labels = cond ? cond->labels : NULL, *context = cond ? cond->context : NULL;
  if (labels && lundi_tensor_dtype(labels) != LUNDI_I32) {
    lundi_set_error(LUNDI_EINVAL, "forward: labels must be i32, got %s", lundi_dtype_name(lundi_tensor_dtype(labels)));
    return NULL;
  }
  if (cond && (cond->mask || cond->vector)) {
    lundi_set_error(LUNDI_EUNSUPPORTED, "forward: unet2d takes labels and context, not a context mask or a vector");
    return NULL;
  }
  /* Conditioners make labels on the host; the model reads them where its weights are. */
  lundi_device *dev = lundi_module_device(lundi_unet2d_module(u));
  lundi_tensor *lab = labels && dev ? lundi_to_device(labels, dev) : NULL;
  lundi_tensor *ctx = context && dev ? lundi_to_device(context, dev) : NULL;
  lundi_tensor *out = (labels && !lab) || (context && !ctx)
                          ? NULL
                          : lundi_unet2d_forward(u, x, t, lab ? lab : labels, ctx ? ctx : context, rng);
  lundi_release(lab);
  lundi_release(ctx);
  return out;
}

static lundi_module *module(void *self) { return lundi_unet2d_module(self); }

static const lundi_denoiser_api api = {.forward = forward, .module = module};

int lundi_builtin_unet2d(lundi_registry *r) {
  lundi_plugin_desc d = {
      .abi_version = LUNDI_ABI_VERSION,
      .kind = LUNDI_DENOISER,
      .name = "unet2d",
      .version = "1.0.0",
      .description = "image U-Net (ADM layout) with time, class and cross-attention conditioning",
      .params = specs,
      .n_params = (int)(sizeof specs / sizeof *specs),
      .create = create,
      .destroy = destroy,
      .api = &api,
  };
  return lundi_register(r, &d, NULL);
}
