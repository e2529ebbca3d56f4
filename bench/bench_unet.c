/* mnist-unet benchmark: one AdamW training step and one no-grad forward at batch 64,
 * reported as seconds and effective GFLOP/s against this machine's measured sgemm rate.
 * Usage: bench_unet [batch] [repeats] [preset] [device]   (device: cpu (default), vulkan,
 * vulkan:N). On a Vulkan device the reference is that device's own matmul rate (lundi_matmul,
 * best of square 1024 and 2048), and each timing ends with the device idle. */
#include "lundi/lundi.h"
#include "../plugins/denoisers/unet2d.h"

#include <cblas.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

static double now(void) {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return ts.tv_sec + ts.tv_nsec * 1e-9;
}

static int cmp(const void *a, const void *b) {
  double x = *(const double *)a, y = *(const double *)b;
  return (x > y) - (x < y);
}

static double median(double *v, int n) {
  qsort(v, (size_t)n, sizeof *v, cmp);
  return n % 2 ? v[n / 2] : 0.5 * (v[n / 2 - 1] + v[n / 2]);
}

/* Best-of sgemm rate over square sizes (the reference for "% of sgemm"). */
static double sgemm_peak(void) {
  double best = 0;
  int sizes[3] = {512, 1024, 2048};
  for (int s = 0; s < 3; s++) {
    int n = sizes[s];
    float *a = malloc(sizeof(float) * n * n), *b = malloc(sizeof(float) * n * n), *c = malloc(sizeof(float) * n * n);
    for (int i = 0; i < n * n; i++) a[i] = b[i] = (float)(i % 7) * 0.1f;
    for (int r = 0; r < 4; r++) {
      double t0 = now();
      cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasNoTrans, n, n, n, 1, a, n, b, n, 0, c, n);
      double g = 2.0 * n * n * n / (now() - t0) / 1e9;
      if (r && g > best) best = g;
    }
    free(a), free(b), free(c);
  }
  return best;
}

/* Best matmul GFLOP/s on a device (square sizes, device-resident operands). */
static double device_peak(lundi_device *dev) {
  double best = 0;
  int sizes[2] = {1024, 2048};
  for (int s = 0; s < 2; s++) {
    int64_t n = sizes[s], sh[2] = {n, n};
    lundi_rng rng = lundi_rng_make(1);
    lundi_tensor *ah = lundi_randn(&rng, 2, sh), *a = ah ? lundi_to_device(ah, dev) : NULL;
    for (int r = 0; a && r < 4; r++) {
      double t0 = now();
      lundi_tensor *c = lundi_matmul(a, a);
      if (!c || lundi_device_sync(dev)) break;
      double g = 2.0 * (double)(n * n * n) / (now() - t0) / 1e9;
      if (r && g > best) best = g;
      lundi_release(c);
    }
    lundi_release(a), lundi_release(ah);
  }
  return best;
}

/* t moved to dev (released), or NULL. */
static lundi_tensor *onto(lundi_tensor *t, lundi_device *dev) {
  lundi_tensor *m = t ? lundi_to_device(t, dev) : NULL;
  lundi_release(t);
  return m;
}

#define DIE(msg)                                                                                   \
  do {                                                                                             \
    fprintf(stderr, "bench_unet: %s: %s\n", msg, lundi_last_error());                             \
    return 1;                                                                                      \
  } while (0)

int main(int argc, char **argv) {
  int batch = argc > 1 ? atoi(argv[1]) : 64, reps = argc > 2 ? atoi(argv[2]) : 5;
  const char *preset = argc > 3 ? argv[3] : "mnist-unet";
  lundi_set_threads(0);
  lundi_device *dev = lundi_device_from_name(argc > 4 ? argv[4] : "cpu");
  if (!dev) DIE("device");
  lundi_unet2d_config cfg;
  if (lundi_unet2d_preset(preset, &cfg)) DIE("preset");
  lundi_rng rng = lundi_rng_make(0);
  lundi_unet2d *u = lundi_unet2d_new(&cfg, &rng);
  if (!u || lundi_module_to(lundi_unet2d_module(u), dev)) DIE("model");
  lundi_param_list params = {0};
  lundi_module_parameters(lundi_unet2d_module(u), &params);
  for (int i = 0; i < params.n; i++) lundi_set_requires_grad(params.tensors[i], 1);
  double fwd_flops = lundi_unet2d_flops(&cfg, batch, 28, 28);
  printf("model %s: %lld parameters, %.2f GFLOP per forward at batch %d, on %s, threads %d\n", preset,
         (long long)lundi_param_list_numel(&params), fwd_flops / 1e9, batch, lundi_device_name(dev),
         lundi_get_threads());
  int host = dev == lundi_cpu();
  double peak = host ? sgemm_peak() : device_peak(dev);
  printf("%s=%.1f\n", host ? "sgemm_peak_gflops" : "matmul_peak_gflops", peak);

  int64_t xs[4] = {batch, 1, 28, 28}, ns[1] = {batch};
  lundi_tensor *x = lundi_randn(&rng, 4, xs), *noise = lundi_randn(&rng, 4, xs);
  lundi_tensor *t = lundi_rand(&rng, 1, ns);
  lundi_tensor *labels = lundi_randint(&rng, 1, ns, 0, 11);
  lundi_tensor *tt = lundi_mul_scalar(t, 999.0f);
  x = onto(x, dev), noise = onto(noise, dev), tt = onto(tt, dev), labels = onto(labels, dev);
  lundi_adamw *opt = lundi_adamw_new(&params, lundi_adamw_defaults());
  if (!x || !noise || !tt || !labels || !opt) DIE("inputs");

  double *ts = calloc((size_t)reps, sizeof(double));
  lundi_no_grad_enter();
  for (int r = -1; r < reps; r++) {
    double t0 = now();
    lundi_tensor *y = lundi_unet2d_forward(u, x, tt, labels, NULL, &rng);
    if (!y || lundi_device_sync(dev)) DIE("forward");
    lundi_release(y);
    if (r >= 0) ts[r] = now() - t0;
  }
  lundi_no_grad_exit();
  double fwd = median(ts, reps);
  for (int r = -1; r < reps; r++) {
    double t0 = now();
    lundi_tensor *y = lundi_unet2d_forward(u, x, tt, labels, NULL, &rng);
    lundi_tensor *loss = y ? lundi_mse_loss(y, noise) : NULL;
    if (!loss || lundi_backward(loss, NULL) || lundi_adamw_step(opt) || lundi_device_sync(dev)) DIE("train step");
    lundi_module_zero_grad(lundi_unet2d_module(u));
    lundi_release(y);
    lundi_release(loss);
    if (r >= 0) ts[r] = now() - t0;
  }
  double step = median(ts, reps);
  if (getenv("LUNDI_PROFILE")) { /* `repeats` more forwards and one more step, timed per kernel */
    lundi_profile_enable(1);
    lundi_no_grad_enter();
    for (int r = 0; r < reps; r++) lundi_release(lundi_unet2d_forward(u, x, tt, labels, NULL, &rng));
    lundi_no_grad_exit();
    printf("\n-- per kernel, %d no-grad forward%s (totals) --\n", reps, reps > 1 ? "s" : "");
    lundi_profile_report(stdout);
    lundi_tensor *y;
    lundi_profile_enable(1);
    y = lundi_unet2d_forward(u, x, tt, labels, NULL, &rng);
    lundi_tensor *loss = lundi_mse_loss(y, noise);
    lundi_backward(loss, NULL);
    lundi_adamw_step(opt);
    lundi_module_zero_grad(lundi_unet2d_module(u));
    printf("\n-- per kernel, one training step --\n");
    lundi_profile_report(stdout);
    lundi_profile_enable(0);
    lundi_release(y), lundi_release(loss);
  }
  double fwd_g = fwd_flops / fwd / 1e9, step_g = 3 * fwd_flops / step / 1e9;
  const char *ref = host ? "sgemm" : "matmul";
  printf("forward (no grad)   : %.3f s  %.1f GFLOP/s  %.0f%% of %s\n", fwd, fwd_g, 100 * fwd_g / peak, ref);
  printf("train step (AdamW)  : %.3f s  %.1f GFLOP/s  %.0f%% of %s (3x forward FLOPs)\n", step, step_g,
         100 * step_g / peak, ref);
  free(ts);
  lundi_adamw_free(opt);
  lundi_param_list_free(&params);
  lundi_release(x), lundi_release(noise), lundi_release(t), lundi_release(tt), lundi_release(labels);
  lundi_unet2d_free(u);
  return 0;
}
