/* transformer benchmark: one training step (forward, cross-entropy, backward, AdamW) and one
 * no-grad forward on a random batch of token ids, as seconds and effective GFLOP/s.
 * Usage: bench_transformer [batch] [len] [d_model] [n_layers] [n_heads] [repeats] [device]
 * (defaults 64 34 128 4 4 5 cpu; vocab 260, d_ff by the LLaMA rule). LUNDI_PROFILE=1 adds
 * per-kernel times of `repeats` forwards and of one training step. */
#include "lundi/lundi.h"
#include "../plugins/denoisers/transformer.h"

#include <stdio.h>
#include <stdlib.h>
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

#define DIE(msg)                                                                                   \
  do {                                                                                             \
    fprintf(stderr, "bench_transformer: %s: %s\n", msg, lundi_last_error());                      \
    return 1;                                                                                      \
  } while (0)

/* One training step; 0 on success. */
static int train_step(lundi_transformer *tf, lundi_tensor *x, lundi_tensor *target, lundi_adamw *opt,
                      lundi_device *dev) {
  lundi_tensor *y = lundi_transformer_forward(tf, x, NULL);
  lundi_tensor *loss = y ? lundi_cross_entropy(y, target, NULL, -100, 0) : NULL;
  int rc = !loss || lundi_backward(loss, NULL) || lundi_adamw_step(opt) || lundi_device_sync(dev);
  lundi_module_zero_grad(lundi_transformer_module(tf));
  lundi_release(y);
  lundi_release(loss);
  return rc;
}

int main(int argc, char **argv) {
  int batch = argc > 1 ? atoi(argv[1]) : 64, len = argc > 2 ? atoi(argv[2]) : 34;
  int reps = argc > 6 ? atoi(argv[6]) : 5;
  lundi_transformer_config cfg = lundi_transformer_defaults();
  if (argc > 3) cfg.d_model = atoi(argv[3]);
  if (argc > 4) cfg.n_layers = atoi(argv[4]);
  if (argc > 5) cfg.n_heads = atoi(argv[5]);
  lundi_set_threads(0);
  lundi_device *dev = lundi_device_from_name(argc > 7 ? argv[7] : "cpu");
  if (!dev) DIE("device");
  lundi_transformer *tf = lundi_transformer_new(&cfg);
  if (!tf || lundi_module_to(lundi_transformer_module(tf), dev)) DIE("model");
  lundi_param_list params = {0};
  if (lundi_module_parameters(lundi_transformer_module(tf), &params)) DIE("parameters");
  double flops = lundi_transformer_flops(&cfg, batch, len);
  printf("transformer d_model %d, %d layers, %d heads, d_ff %d, vocab %d: %lld parameters; batch %d x %d tokens, "
         "%.2f GFLOP per forward; on %s, threads %d\n",
         cfg.d_model, cfg.n_layers, cfg.n_heads, lundi_transformer_d_ff(&cfg), cfg.vocab_size,
         (long long)lundi_param_list_numel(&params), batch, len, flops / 1e9, lundi_device_name(dev),
         lundi_get_threads());
  lundi_rng rng = lundi_rng_make(0);
  int64_t xs[2] = {batch, len};
  lundi_tensor *xh = lundi_randint(&rng, 2, xs, 0, cfg.vocab_size), *th = lundi_randint(&rng, 2, xs, 0, cfg.vocab_size);
  lundi_tensor *x = xh ? lundi_to_device(xh, dev) : NULL, *target = th ? lundi_to_device(th, dev) : NULL;
  lundi_adamw *opt = lundi_adamw_new(&params, lundi_adamw_defaults());
  if (!x || !target || !opt) DIE("inputs");
  double *ts = calloc((size_t)reps, sizeof(double));
  lundi_no_grad_enter();
  for (int r = -1; r < reps; r++) {
    double t0 = now();
    lundi_tensor *y = lundi_transformer_forward(tf, x, NULL);
    if (!y || lundi_device_sync(dev)) DIE("forward");
    lundi_release(y);
    if (r >= 0) ts[r] = now() - t0;
  }
  lundi_no_grad_exit();
  double fwd = median(ts, reps);
  for (int r = -1; r < reps; r++) {
    double t0 = now();
    if (train_step(tf, x, target, opt, dev)) DIE("train step");
    if (r >= 0) ts[r] = now() - t0;
  }
  double step = median(ts, reps);
  if (getenv("LUNDI_PROFILE")) {
    lundi_profile_enable(1);
    lundi_no_grad_enter();
    for (int r = 0; r < reps; r++) lundi_release(lundi_transformer_forward(tf, x, NULL));
    lundi_no_grad_exit();
    printf("\n-- per kernel, %d no-grad forward%s (totals) --\n", reps, reps > 1 ? "s" : "");
    lundi_profile_report(stdout);
    lundi_profile_enable(1);
    if (train_step(tf, x, target, opt, dev)) DIE("train step");
    printf("\n-- per kernel, one training step --\n");
    lundi_profile_report(stdout);
    lundi_profile_enable(0);
  }
  printf("forward (no grad)   : %.4f s  %.1f GFLOP/s\n", fwd, flops / fwd / 1e9);
  printf("train step (AdamW)  : %.4f s  %.1f GFLOP/s (3x forward FLOPs)\n", step, 3 * flops / step / 1e9);
  free(ts);
  lundi_adamw_free(opt);
  lundi_param_list_free(&params);
  lundi_release(x), lundi_release(target), lundi_release(xh), lundi_release(th);
  lundi_transformer_free(tf);
  return 0;
}
