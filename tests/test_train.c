/* End-to-end training: a small conv denoiser learns, and its memory stays flat. */
#include "harness.h"
#include "../plugins/denoisers/unet2d.h"

#include <unistd.h>

static double rss_mib(void) {
  long pages = 0, rss = 0;
  FILE *f = fopen("/proc/self/statm", "r");
  if (f) {
    if (fscanf(f, "%ld %ld", &pages, &rss) != 2) rss = 0;
    fclose(f);
  }
  return (double)rss * (double)sysconf(_SC_PAGESIZE) / (1024.0 * 1024.0);
}

/* A tiny U-Net regresses the noise of blurred blobs for a few hundred AdamW steps: the loss
 * must fall, and after warm-up neither live tensors, live storage bytes nor RSS may grow. */
static void test_unet_trains_in_flat_memory(void) {
  lundi_unet2d_config cfg;
  CHECK(lundi_unet2d_preset("mnist-tiny", &cfg) == 0);
  cfg.dropout = 0.1f;
  lundi_rng rng = lundi_rng_make(1);
  lundi_unet2d *u = lundi_unet2d_new(&cfg, &rng);
  CHECK(u != NULL);
  if (!u) return;
  lundi_module_set_training(lundi_unet2d_module(u), 1);
  lundi_param_list params = {0};
  lundi_module_parameters(lundi_unet2d_module(u), &params);
  for (int i = 0; i < params.n; i++) lundi_set_requires_grad(params.tensors[i], 1);
  lundi_adamw_config oc = lundi_adamw_defaults();
  oc.lr = 2e-3f;
  lundi_adamw *opt = lundi_adamw_new(&params, oc);
  lundi_ema *ema = lundi_ema_new(&params, 0.99f);
  int64_t xs[4] = {8, 1, 16, 16}, ns[1] = {8};
  int steps = 300;
  double first_loss = 0, last_loss = 0, rss_warm = 0;
  int64_t live_warm = 0, bytes_warm = 0;
  for (int step = 1; step <= steps; step++) {
    /* x0: a bright square whose corner depends on the label; x_t = 0.6 x0 + 0.8 eps */
    lundi_tensor *x0 = lundi_zeros(4, xs);
    lundi_tensor *labels = lundi_randint(&rng, 1, ns, 0, 10);
    float *px = lundi_data(x0);
    int32_t *pl = lundi_data(labels);
    for (int n = 0; n < 8; n++)
      for (int i = 0; i < 6; i++)
        for (int j = 0; j < 6; j++) px[n * 256 + (pl[n] + i) * 16 + (pl[n] + j)] = 1.0f;
    lundi_tensor *eps = lundi_randn(&rng, 4, xs), *ax = lundi_mul_scalar(x0, 0.6f), *be = lundi_mul_scalar(eps, 0.8f);
    lundi_tensor *xt = lundi_add(ax, be), *t = lundi_full(1, ns, 500.0f);
    lundi_tensor *pred = lundi_unet2d_forward(u, xt, t, labels, NULL, &rng);
    lundi_tensor *loss = pred ? lundi_mse_loss(pred, eps) : NULL;
    CHECK(loss != NULL);
    if (!loss) break;
    float lv = 0, gn = 0;
    lundi_item(loss, &lv);
    CHECK(lundi_backward(loss, NULL) == 0);
    lundi_clip_grad_norm(&params, 1.0f, &gn);
    CHECK(lundi_adamw_step(opt) == 0);
    CHECK(lundi_ema_update(ema, &params) == 0);
    lundi_module_zero_grad(lundi_unet2d_module(u));
    lundi_tensor *all[] = {x0, labels, eps, ax, be, xt, t, pred, loss};
    for (size_t k = 0; k < sizeof all / sizeof *all; k++) lundi_release(all[k]);
    if (step <= 20) first_loss += lv / 20;
    if (step > steps - 20) last_loss += lv / 20;
    if (step == 20) {
      live_warm = lundi_live_tensors();
      bytes_warm = lundi_live_storage_bytes();
      rss_warm = rss_mib();
    }
  }
  printf("loss %.4f -> %.4f; live tensors %lld -> %lld; storage %lld -> %lld bytes; rss %.1f -> %.1f MiB\n",
         first_loss, last_loss, (long long)live_warm, (long long)lundi_live_tensors(), (long long)bytes_warm,
         (long long)lundi_live_storage_bytes(), rss_warm, rss_mib());
  CHECK(last_loss < 0.8 * first_loss);
  CHECK(lundi_live_tensors() == live_warm);
  CHECK(lundi_live_storage_bytes() == bytes_warm);
#ifndef __SANITIZE_ADDRESS__ /* ASan's quarantine holds freed memory, so RSS is not meaningful */
  CHECK(rss_mib() - rss_warm < 8.0);
#endif
  lundi_ema_free(ema);
  lundi_adamw_free(opt);
  lundi_param_list_free(&params);
  lundi_unet2d_free(u);
}

/* The reference model has the size DESIGN.md gives and its FLOP count matches. */
static void test_mnist_unet_shape(void) {
  lundi_unet2d_config cfg;
  CHECK(lundi_unet2d_preset("mnist-unet", &cfg) == 0);
  lundi_rng rng = lundi_rng_make(2);
  lundi_unet2d *u = lundi_unet2d_new(&cfg, &rng);
  CHECK(u != NULL);
  if (!u) return;
  int64_t n = lundi_module_numel(lundi_unet2d_module(u));
  CHECK(n > 3500000 && n < 3700000);
  double gf = lundi_unet2d_flops(&cfg, 64, 28, 28) / 1e9;
  CHECK(gf > 45 && gf < 55);
  int64_t xs[4] = {2, 1, 28, 28}, ns[1] = {2};
  lundi_tensor *x = lundi_randn(&rng, 4, xs), *t = lundi_full(1, ns, 10.0f);
  lundi_tensor *lab = lundi_from_i32(1, ns, (int32_t[]){3, 10}); /* 10 is the null class */
  lundi_no_grad_enter();
  lundi_tensor *y = lundi_unet2d_forward(u, x, t, lab, NULL, &rng);
  lundi_no_grad_exit();
  CHECK(y && lundi_ndim(y) == 4 && lundi_dim(y, 1) == 1 && lundi_dim(y, 2) == 28);
  lundi_tensor *bad = lundi_from_i32(1, ns, (int32_t[]){3, 11});
  CHECK_ERR(lundi_unet2d_forward(u, x, t, bad, NULL, &rng), "11");
  int64_t odd[4] = {2, 1, 27, 28};
  lundi_tensor *xo = lundi_randn(&rng, 4, odd);
  CHECK_ERR(lundi_unet2d_forward(u, xo, t, lab, NULL, &rng), "divisible by 4");
  cfg.groups = 7;
  CHECK_ERR(lundi_unet2d_new(&cfg, &rng), "not a positive multiple of groups=7");
  lundi_tensor *all[] = {x, t, lab, y, bad, xo};
  for (size_t k = 0; k < sizeof all / sizeof *all; k++) lundi_release(all[k]);
  lundi_unet2d_free(u);
}

static const test_case tests[] = {
    {"unet_trains_in_flat_memory", test_unet_trains_in_flat_memory},
    {"mnist_unet_shape", test_mnist_unet_shape},
};
TEST_MAIN(tests)
