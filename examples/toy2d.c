/* The tiny training demo: a DDPM on 2-D points (eight Gaussians on a ring), with an MLP
 * noise predictor.
 * It trains on the simplified noise-prediction loss, samples with the ancestral DDPM
 * update (posterior mean and variance), scores the samples against the data, and reports
 * resident memory along the way (it should stay flat).
 *
 * Usage: toy2d [--steps=N] [--seed=S] [--threads=T] [--checkpoint=FILE] */
#include "lundi/lundi.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#define T_STEPS 200
#define HIDDEN 256
#define MODES 8
#define RADIUS 1.6f
#define MODE_STD 0.1f
#define TEMB 32

static double now_s(void) {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return (double)ts.tv_sec + 1e-9 * (double)ts.tv_nsec;
}

static double rss_mib(void) {
  long pages = 0, rss = 0;
  FILE *f = fopen("/proc/self/statm", "r");
  if (f) {
    if (fscanf(f, "%ld %ld", &pages, &rss) != 2) rss = 0;
    fclose(f);
  }
  return (double)rss * (double)sysconf(_SC_PAGESIZE) / (1024.0 * 1024.0);
}

/* Eight Gaussians on a ring, drawn with the project's own generator. */
static void ring(lundi_rng *rng, int n, float *xy) {
  int64_t s[1] = {2 * n};
  lundi_tensor *u = lundi_rand(rng, 1, s), *e = lundi_randn(rng, 1, s);
  float *pu = lundi_data(u), *pe = lundi_data(e);
  for (int i = 0; i < n; i++) {
    int k = (int)(pu[2 * i] * MODES) % MODES;
    float th = 2.0f * 3.14159265f * (float)k / MODES;
    xy[2 * i] = RADIUS * cosf(th) + MODE_STD * pe[2 * i];
    xy[2 * i + 1] = RADIUS * sinf(th) + MODE_STD * pe[2 * i + 1];
  }
  lundi_release(u);
  lundi_release(e);
}

/* Fraction of points within 3 std of some mode, and how many modes got at least 2% of them. */
static void mode_score(const float *xy, int n, double *near, int *covered) {
  int hits[MODES] = {0}, close = 0;
  for (int i = 0; i < n; i++)
    for (int k = 0; k < MODES; k++) {
      float th = 2.0f * 3.14159265f * (float)k / MODES;
      float dx = xy[2 * i] - RADIUS * cosf(th), dy = xy[2 * i + 1] - RADIUS * sinf(th);
      if (dx * dx + dy * dy < 9 * MODE_STD * MODE_STD) {
        hits[k]++;
        close++;
        break;
      }
    }
  *near = (double)close / n;
  *covered = 0;
  for (int k = 0; k < MODES; k++) *covered += hits[k] >= n / 50;
}

typedef struct model {
  lundi_module *root, *l1, *l2, *l3;
} model;

static int model_init(model *m, lundi_rng *rng) {
  m->root = lundi_module_new("toy_mlp");
  m->l1 = lundi_linear_new(2 + TEMB, HIDDEN, 1, rng);
  m->l2 = lundi_linear_new(HIDDEN, HIDDEN, 1, rng);
  m->l3 = lundi_linear_new(HIDDEN, 2, 1, rng);
  if (!m->root || !m->l1 || !m->l2 || !m->l3) return -1;
  lundi_module_add_child(m->root, "fc1", m->l1);
  lundi_module_add_child(m->root, "fc2", m->l2);
  lundi_module_add_child(m->root, "fc3", m->l3);
  return 0;
}

/* eps_theta(x_t, t): [x, sinusoid(t)] -> MLP. */
static lundi_tensor *predict(model *m, lundi_tensor *x, lundi_tensor *t) {
  lundi_tensor *te = lundi_timestep_embedding(t, TEMB, 1000.0f);
  lundi_tensor *in[2] = {x, te};
  lundi_tensor *h = te ? lundi_concat(2, in, 1) : NULL, *a, *b;
  lundi_release(te);
  if (!h) return NULL;
  a = lundi_linear_forward(m->l1, h), lundi_release(h);
  b = a ? lundi_silu(a) : NULL, lundi_release(a);
  a = b ? lundi_linear_forward(m->l2, b) : NULL, lundi_release(b);
  b = a ? lundi_silu(a) : NULL, lundi_release(a);
  a = b ? lundi_linear_forward(m->l3, b) : NULL, lundi_release(b);
  return a;
}

static void ascii_plot(const float *xy, int n) {
  enum { W = 56, H = 24 };
  int grid[H][W] = {{0}};
  for (int i = 0; i < n; i++) {
      int cx = (int)((xy[2 * i] + 2.2f) / 4.4f * W), cy = (int)((2.2f - xy[2 * i + 1]) / 4.4f * H);
    if (cx >= 0 && cx < W && cy >= 0 && cy < H) grid[cy][cx]++;
  }
  const char *shade = " .:-=+*#%@";
  for (int y = 0; y < H; y++) {
    printf("  |");
    for (int x = 0; x < W; x++) putchar(shade[grid[y][x] > 9 ? 9 : grid[y][x]]);
    printf("|\n");
  }
}

#define TRY(expr)                                                                                  \
  do {                                                                                             \
    if (!(expr)) {                                                                                 \
      fprintf(stderr, "toy2d: %s failed: %s\n", #expr, lundi_last_error());                       \
      return 1;                                                                                    \
    }                                                                                              \
  } while (0)

int main(int argc, char **argv) {
  long steps = 4000, seed = 0, threads = 0;
  const char *ckpt = NULL;
  for (int i = 1; i < argc; i++) {
    if (!strncmp(argv[i], "--steps=", 8)) steps = atol(argv[i] + 8);
    else if (!strncmp(argv[i], "--seed=", 7)) seed = atol(argv[i] + 7);
    else if (!strncmp(argv[i], "--threads=", 10)) threads = atol(argv[i] + 10);
    else if (!strncmp(argv[i], "--checkpoint=", 13)) ckpt = argv[i] + 13;
    else {
      fprintf(stderr, "toy2d: unknown option '%s'\nusage: toy2d [--steps=N] [--seed=S] [--threads=T] [--checkpoint=FILE]\n",
              argv[i]);
      return 2;
    }
  }
  if (steps < 1) {
    fprintf(stderr, "toy2d: --steps must be at least 1\n");
    return 2;
  }
  lundi_set_threads((int)threads);
  lundi_rng rng = lundi_rng_make((uint64_t)seed);

  /* noise schedule: linear betas; alpha_bar in closed form */
  double beta[T_STEPS], abar[T_STEPS], prod = 1;
  for (int t = 0; t < T_STEPS; t++) {
    beta[t] = 1e-4 + (0.06 - 1e-4) * t / (T_STEPS - 1);
    prod *= 1 - beta[t];
    abar[t] = prod;
  }
  model m;
  TRY(model_init(&m, &rng) == 0);
  lundi_param_list params = {0};
  lundi_module_parameters(m.root, &params);
  for (int i = 0; i < params.n; i++) lundi_set_requires_grad(params.tensors[i], 1);
  lundi_adamw_config oc = lundi_adamw_defaults();
  oc.weight_decay = 0;
  lundi_adamw *opt = lundi_adamw_new(&params, oc);
  lundi_lr_schedule sched = {LUNDI_LR_COSINE, 2e-3f, 1e-4f, steps / 20, steps};
  TRY(opt);
  printf("toy2d: DDPM on 8 Gaussians on a ring, MLP %lld parameters, T=%d (alpha_bar_T=%.4f), %ld steps, %d threads\n",
         (long long)lundi_param_list_numel(&params), T_STEPS, abar[T_STEPS - 1], steps, lundi_get_threads());

  enum { B = 256 };
  float x0[2 * B], tv[B], sa[B], sb[B];
  int64_t xs[2] = {B, 2}, bs[2] = {B, 1}, ts1[1] = {B};
  double loss_avg = 0, rss_first = 0, rss_last = 0, t0 = now_s();
  for (long step = 1; step <= steps; step++) {
    /* x_t = sqrt(abar) x0 + sqrt(1 - abar) eps for random t (forward process, closed form) */
    ring(&rng, B, x0);
    lundi_tensor *ti = lundi_randint(&rng, 1, ts1, 0, T_STEPS);
    int32_t *tp = lundi_data(ti);
    for (int i = 0; i < B; i++) {
      tv[i] = (float)tp[i];
      sa[i] = (float)sqrt(abar[tp[i]]);
      sb[i] = (float)sqrt(1 - abar[tp[i]]);
    }
    lundi_tensor *x = lundi_from_f32(2, xs, x0), *eps = lundi_randn(&rng, 2, xs);
    lundi_tensor *a = lundi_from_f32(2, bs, sa), *b = lundi_from_f32(2, bs, sb), *t = lundi_from_f32(1, ts1, tv);
    lundi_tensor *ax = lundi_mul(x, a), *be = lundi_mul(eps, b), *xt = lundi_add(ax, be);
    lundi_tensor *pred = predict(&m, xt, t);
    lundi_tensor *loss = pred ? lundi_mse_loss(pred, eps) : NULL;
    TRY(loss);
    float lv;
    lundi_item(loss, &lv);
    TRY(lundi_backward(loss, NULL) == 0);
    float gnorm;
    lundi_clip_grad_norm(&params, 1.0f, &gnorm);
    lundi_adamw_set_lr(opt, lundi_lr_at(&sched, step));
    TRY(lundi_adamw_step(opt) == 0);
    lundi_module_zero_grad(m.root);
    lundi_tensor *all[] = {ti, x, eps, a, b, t, ax, be, xt, pred, loss};
    for (size_t k = 0; k < sizeof all / sizeof *all; k++) lundi_release(all[k]);
    loss_avg = step == 1 ? lv : 0.98 * loss_avg + 0.02 * lv;
    if (step == 100 || (steps < 100 && step == 1)) rss_first = rss_mib();
    if (step % (steps >= 10 ? steps / 10 : 1) == 0 || step == steps)
      printf("  step %5ld  loss %.4f  lr %.2e  grad-norm %.3f  rss %.1f MiB\n", step, loss_avg,
             lundi_lr_at(&sched, step), gnorm, rss_mib());
  }
  rss_last = rss_mib();
  double train_s = now_s() - t0;

  /* ancestral sampling: x_{t-1} = mean(x_t, eps_theta) + sqrt(beta_tilde_t) z */
  enum { NS = 1000 };
  int64_t ss[2] = {NS, 2}, st[1] = {NS};
  lundi_tensor *x = lundi_randn(&rng, 2, ss);
  TRY(x);
  lundi_no_grad_enter();
  float tb[NS];
  for (int t = T_STEPS - 1; t >= 0; t--) {
    for (int i = 0; i < NS; i++) tb[i] = (float)t;
    lundi_tensor *tt = lundi_from_f32(1, st, tb), *e = predict(&m, x, tt);
    TRY(e);
    double ab_prev = t > 0 ? abar[t - 1] : 1.0;
    double c1 = 1 / sqrt(1 - beta[t]), c2 = beta[t] / sqrt(1 - abar[t]);
    double var = t > 0 ? (1 - ab_prev) / (1 - abar[t]) * beta[t] : 0;
    lundi_tensor *ce = lundi_mul_scalar(e, (float)c2), *d = lundi_sub(x, ce), *mean = lundi_mul_scalar(d, (float)c1);
    lundi_tensor *next = mean;
    if (var > 0) {
      lundi_tensor *z = lundi_randn(&rng, 2, ss), *sz = lundi_mul_scalar(z, (float)sqrt(var));
      next = lundi_add(mean, sz);
      lundi_release(z), lundi_release(sz), lundi_release(mean);
    }
    lundi_release(tt), lundi_release(e), lundi_release(ce), lundi_release(d), lundi_release(x);
    x = next;
    TRY(x);
  }
  lundi_no_grad_exit();
  float *samples = lundi_data(x), fresh[2 * NS];
  lundi_tensor *nz = lundi_randn(&rng, 2, ss);
  ring(&rng, NS, fresh);
  double near_model, near_data, near_noise;
  int cov_model, cov_data, cov_noise;
  mode_score(samples, NS, &near_model, &cov_model);
  mode_score(fresh, NS, &near_data, &cov_data);
  mode_score(lundi_data(nz), NS, &near_noise, &cov_noise);
  printf("\n%d samples from the trained model (data: 8 modes at radius %.1f, std %.1f):\n", NS, RADIUS, MODE_STD);
  ascii_plot(samples, NS);
  printf("\nwithin 3 std of a mode: model %.0f%% (%d/8 modes covered), real data %.0f%% (%d/8), "
         "gaussian noise %.0f%% (%d/8)\n",
         100 * near_model, cov_model, 100 * near_data, cov_data, 100 * near_noise, cov_noise);
  printf("training: %.1f s; resident memory %.1f MiB at step %d, %.1f MiB at step %ld\n", train_s, rss_first,
         steps >= 100 ? 100 : 1, rss_last, steps);
  int rc = 0;
  if (ckpt) {
    if (lundi_module_save(m.root, ckpt)) {
      fprintf(stderr, "toy2d: %s\n", lundi_last_error());
      rc = 1;
    } else {
      printf("checkpoint written to %s\n", ckpt);
    }
  }
  lundi_release(x), lundi_release(nz);
  lundi_adamw_free(opt);
  lundi_param_list_free(&params);
  lundi_module_free(m.root);
  return rc;
}
