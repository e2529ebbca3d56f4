/* Sampling speed of the MNIST pipeline (issue 6): images per second for DDIM (eta 0) at
 * batch 100, through the same plugins the demo uses (ddim scheduler, unet2d denoiser, class
 * conditioner, image sampler), for each model and guidance scale. With guidance != 1 the
 * sampler evaluates the model on [cond; null] at once, so one step costs a batch of 200.
 * The weights are the fresh initialisation: the speed does not depend on their values.
 *
 * Usage: [LUNDI_DEVICE=cpu|vulkan[:N]] bench_sample [batch=100] [steps=50] [model ...]
 *   model: a unet2d preset, optionally with base_channels, e.g. mnist-tiny, mnist-tiny:24,
 *   mnist-unet (default: mnist-tiny mnist-unet).
 * The device is LUNDI_DEVICE's (default cpu): the plugins put the model and the noise there,
 * as they do in `lundi run --device`. The clock stops when the images are back on the host. */
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
    int64_t n = x ? lundi_numel(x) : 0;
    float *host = x ? malloc(sizeof(float) * (size_t)n) : NULL;
    if (host && !lundi_read_f32(x, host, n)) dt = now() - t0;
    free(host);
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
  lundi_device *dev = lundi_device_from_name(lundi_device_env() ? lundi_device_env() : "cpu");
  if (!dev) {
    fprintf(stderr, "bench_sample: %s\n", lundi_last_error());
    lundi_registry_free(r);
    return 1;
  }
  lundi_set_default_device(dev);
  lundi_instance *cond = make(r, LUNDI_CONDITIONER, "class", NULL);
  lundi_device_info info = {.name = "cpu"};
  if (dev != lundi_cpu()) lundi_device_get_info(atoi(lundi_device_name(dev) + 7), &info);
  printf("DDIM (eta 0), %d steps, batch %d, 28x28, on %s (%s), %d CPU threads\n", steps, batch, lundi_device_name(dev),
         info.name, lundi_get_threads());
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

  lundi_clear_error();
  lundi_instance_free(cond);
  lundi_registry_free(r);
  return 0;
}
