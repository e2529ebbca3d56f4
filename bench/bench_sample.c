/* Sampling speed of the MNIST pipeline (issue 6): images per second for DDIM (eta 0) at
 * batch 100, through the same plugins the demo uses (ddim scheduler, unet2d denoiser, class
 * conditioner, image sampler), for each model and guidance scale. With guidance != 1 the
 * sampler evaluates the model on [cond; null] at once, so one step costs a batch of 200.
 * The weights are the fresh initialisation: the speed does not depend on their values.
 *
 * Usage: bench_sample [batch=100] [steps=50] [model ...]
 *   model: a unet2d preset, optionally with base_channels, e.g. mnist-tiny, mnist-tiny:24,
 *   mnist-unet (default: mnist-tiny mnist-unet).
 * Then, for each Vulkan device, one conv2d on it: the U-Net needs convolution and group
 * normalisation there; while those kernels are missing the line says "not available" with
 * the op's error. */
#include "lundi/device.h"
#include "lundi/lundi.h"
#include "lundi/plugin.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

static double now(void) {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return ts.tv_sec + ts.tv_nsec * 1e-9;
}

/* An instance of a built-in plugin with "key", "value" pairs (NULL-terminated). */
static lundi_instance *make(lundi_registry *r, lundi_plugin_kind k, const char *name, const char *const *kv) {
  const lundi_plugin *p = lundi_registry_find(r, k, name);
  lundi_params *ps = p ? lundi_plugin_params(p) : NULL;
  int rc = ps ? 0 : -1;
  for (int i = 0; !rc && kv && kv[i]; i += 2) rc = lundi_params_set(ps, kv[i], kv[i + 1]);
  lundi_instance *inst = rc ? NULL : lundi_instance_new(p, ps);
  lundi_params_free(ps);
  return inst;
}

/* Seconds for one batch of samples, or a negative number on failure (error set). */
static double time_sample(lundi_registry *r, lundi_instance *den, lundi_instance *cond, int batch, int steps,
                          const char *guidance) {
  char steps_s[16];
  snprintf(steps_s, sizeof steps_s, "%d", steps);
  lundi_instance *sched = make(r, LUNDI_SCHEDULER, "ddim", NULL);
  lundi_instance *sampler =
      make(r, LUNDI_SAMPLER, "image", (const char *const[]){"num_inference_steps", steps_s, "guidance_scale", guidance, NULL});
  int32_t *labels = malloc(sizeof(int32_t) * (size_t)batch);
  for (int i = 0; labels && i < batch; i++) labels[i] = i * 10 / batch; /* rows of classes, as in the demo grid */
  lundi_tensor *y = labels ? lundi_from_i32(1, (int64_t[]){batch}, labels) : NULL;
  double dt = -1;
  if (sched && sampler && y) {
    lundi_rng rng = lundi_rng_make(0);
    lundi_pipeline_parts parts = {sched, den, cond};
    lundi_sample_request req = {.batch = batch, .ndim = 3, .shape = {1, 28, 28}, .cond_input = y, .rng = &rng};
    double t0 = now();
    lundi_tensor *x = lundi_sampler_sample(sampler, &parts, &req);
    if (x) dt = now() - t0;
    lundi_release(x);
  }
  lundi_release(y);
  free(labels);
  lundi_instance_free(sched);
  lundi_instance_free(sampler);
  return dt;
}

int main(int argc, char **argv) {
  int batch = argc > 1 ? atoi(argv[1]) : 100, steps = argc > 2 ? atoi(argv[2]) : 50;
  const char *defaults[] = {"mnist-tiny", "mnist-unet"};
  const char *const *models = argc > 3 ? (const char *const *)argv + 3 : defaults;
  int n_models = argc > 3 ? argc - 3 : 2;
  if (batch < 1 || steps < 1) {
    fprintf(stderr, "usage: bench_sample [batch=100] [steps=50] [model ...]\n");
    return 2;
  }
  lundi_registry *r = lundi_registry_new();
  if (!r || lundi_registry_load_builtins(r)) {
    fprintf(stderr, "bench_sample: %s\n", lundi_last_error());
    return 1;
  }
  lundi_instance *cond = make(r, LUNDI_CONDITIONER, "class", NULL);
  printf("DDIM (eta 0), %d steps, batch %d, 28x28, cpu with %d threads\n", steps, batch, lundi_get_threads());
  printf("%-18s %10s %9s %10s %10s\n", "model", "params", "guidance", "seconds", "images/s");
  int failed = !cond;
  for (int m = 0; m < n_models && !failed; m++) {
    char preset[64], base[16] = "-1";
    snprintf(preset, sizeof preset, "%s", models[m]);
    char *colon = strchr(preset, ':');
    if (colon) {
      *colon = 0;
      snprintf(base, sizeof base, "%s", colon + 1);
    }
    lundi_instance *den =
        make(r, LUNDI_DENOISER, "unet2d", (const char *const[]){"preset", preset, "base_channels", base, NULL});
    if (!den) {
      failed = 1;
      break;
    }
    long long params = (long long)lundi_module_numel(lundi_denoiser_module(den));
    const char *guidance[] = {"1", "3"};
    for (int g = 0; g < 2 && !failed; g++) {
      double dt = time_sample(r, den, cond, batch, steps, guidance[g]);
      if (dt < 0) failed = 1;
      else printf("%-18s %10lld %9s %10.2f %10.2f\n", models[m], params, guidance[g], dt, batch / dt);
      fflush(stdout);
    }
    lundi_instance_free(den);
  }
  if (failed) {
    fprintf(stderr, "bench_sample: %s\n", lundi_last_error());
    lundi_instance_free(cond);
    lundi_registry_free(r);
    return 1;
  }

  /* Vulkan: the U-Net's first op is a 3x3 convolution. */
  int n_vk = lundi_device_count();
  if (n_vk == 0) printf("vulkan: no device (%s)\n", lundi_vulkan_unavailable_reason());
  for (int i = 0; i < n_vk; i++) {
    lundi_device *vk = lundi_vulkan_device(i);
    if (!vk) {
      printf("vulkan:%d: %s\n", i, lundi_last_error());
      continue;
    }
    lundi_rng rng = lundi_rng_make(0);
    lundi_tensor *xc = lundi_randn(&rng, 4, (int64_t[]){2, 1, 28, 28}), *wc = lundi_randn(&rng, 4, (int64_t[]){16, 1, 3, 3});
    lundi_tensor *x = xc ? lundi_to_device(xc, vk) : NULL, *w = wc ? lundi_to_device(wc, vk) : NULL;
    lundi_conv_params cp = {.stride = {1, 1}, .padding = {1, 1}, .dilation = {1, 1}, .groups = 1};
    lundi_tensor *y = x && w ? lundi_conv2d(x, w, NULL, &cp) : NULL;
    if (y) printf("vulkan:%d: conv2d runs; the whole U-Net on Vulkan is not benchmarked here yet\n", i);
    else printf("vulkan:%d: not available (%s)\n", i, lundi_last_error());
    lundi_release(y), lundi_release(x), lundi_release(w), lundi_release(xc), lundi_release(wc);
  }
  lundi_clear_error();
  lundi_instance_free(cond);
  lundi_registry_free(r);
  return 0;
}
