/* The masked scheduler: masking frequencies, the loss against a hand computation and finite
 * differences, its own reverse step, and the scheduler loss's default (mse). */
#include "common.h"
#include "gradcheck.h"
#include "lundi/device.h"
#include "lundi/vulkan.h"

#include <stdlib.h>

static double p_lin(double t, double eps) { return (1 - eps) * t + eps; }
static double p_cos(double t, double eps) { return (1 - eps) * (1 - cos(M_PI * t / 2)) + eps; }

/* Rows at t = {0, 0.1, 0.5, 0.9, 1}; the last K columns have noise >= 1. */
static void frequencies(const char *schedule, double (*p_of)(double, double)) {
  lundi_registry *r = td_registry();
  lundi_instance *s = td_make(r, LUNDI_SCHEDULER, "masked", "schedule", schedule, "eps", "0.01", "mask_id", "9", NULL);
  CHECK(s != NULL);
  enum { N = 5, L = 20000, K = 1000 };
  const float tv[N] = {0, 0.1f, 0.5f, 0.9f, 1};
  int32_t *x0v = malloc(sizeof *x0v * N * L);
  for (int k = 0; k < N * L; k++) x0v[k] = 7;
  lundi_rng rng = lundi_rng_make(3);
  lundi_tensor *noise = lundi_rand(&rng, 2, (int64_t[]){N, L});
  float *nv = t_read(noise);
  for (int n = 0; n < N; n++)
    for (int j = L - K; j < L; j++) nv[n * L + j] = 1.0f + (float)(j % 7) * 0.25f;
  lundi_write_f32(noise, nv, N * L);
  lundi_tensor *x0 = td_tokens(N, L, x0v), *t = lundi_from_f32(1, (int64_t[]){N}, tv);
  lundi_tensor *xt = lundi_scheduler_add_noise(s, x0, noise, t);
  CHECK(xt && lundi_tensor_dtype(xt) == LUNDI_I32);
  int32_t *v = xt ? td_read_tokens(xt) : NULL;
  for (int n = 0; v && n < N; n++) {
    int masked = 0, kept_masked = 0, other = 0;
    for (int j = 0; j < L; j++) {
      int32_t a = v[n * L + j];
      if (a != 9 && a != 7) other++;
      if (j < L - K) masked += a == 9;
      else kept_masked += a == 9;
    }
    double p = p_of(tv[n], 0.01), m = L - K, sd = sqrt(p * (1 - p) / m);
    CHECK_NEAR((double)masked / m, p, 5 * sd + 1e-12);
    CHECK(kept_masked == 0); /* noise >= 1 never masks */
    CHECK(other == 0);
  }
  free(v);
  free(nv);
  free(x0v);
  lundi_release(noise);
  lundi_release(x0);
  lundi_release(t);
  lundi_release(xt);
  lundi_instance_free(s);
  lundi_registry_free(r);
}

static void test_mask_frequency_linear(void) { frequencies("linear", p_lin); }
static void test_mask_frequency_cosine(void) { frequencies("cosine", p_cos); }

static void test_add_noise_errors(void) {
  lundi_registry *r = td_registry();
  lundi_instance *s = td_make(r, LUNDI_SCHEDULER, "masked", NULL);
  int32_t xv[6] = {1, 2, 3, 4, 5, 6};
  lundi_tensor *x0 = td_tokens(2, 3, xv), *xf = lundi_zeros(2, (int64_t[]){2, 3});
  lundi_tensor *noise = lundi_zeros(2, (int64_t[]){2, 3}), *bad_noise = lundi_zeros(2, (int64_t[]){2, 4});
  lundi_tensor *t = lundi_full(1, (int64_t[]){2}, 0.5f), *t3 = lundi_full(1, (int64_t[]){3}, 0.5f);
  lundi_tensor *tbig = lundi_full(1, (int64_t[]){2}, 1.5f), *neg = lundi_full(2, (int64_t[]){2, 3}, -0.5f);
  CHECK_ERR(lundi_scheduler_add_noise(s, xf, noise, t), "x0 must be i32 token ids [N, L]");
  CHECK_ERR(lundi_scheduler_add_noise(s, x0, bad_noise, t), "must be f32 of x0's shape");
  CHECK_ERR(lundi_scheduler_add_noise(s, x0, noise, t3), "must be f32 [N]");
  CHECK_ERR(lundi_scheduler_add_noise(s, x0, noise, tbig), "t[0] = 1.5 is outside [0, 1]");
  CHECK_ERR(lundi_scheduler_add_noise(s, x0, neg, t), "noise[0, 0] = -0.5 must be finite and >= 0");
  CHECK_ERR(lundi_scheduler_add_noise(s, x0, noise, tbig), "scheduler 'masked'");
  /* target is x0; the loss refuses logits of the wrong shape */
  lundi_tensor *tg = lundi_scheduler_target(s, x0, noise, t);
  CHECK(tg == x0);
  lundi_release(tg);
  CHECK_ERR(lundi_scheduler_loss(s, noise, x0, noise, t), "must be f32 logits [N, L, V]");
  CHECK(lundi_scheduler_num_train_timesteps(s) == 1);
  lundi_tensor *all[] = {x0, xf, noise, bad_noise, t, t3, tbig, neg};
  for (int k = 0; k < 8; k++) lundi_release(all[k]);
  lundi_instance_free(s);
  lundi_registry_free(r);
}

/* ---- the loss on a tiny case ---- */
enum { LN = 2, LL = 3, LV = 4 };
static const int32_t loss_x0[LN * LL] = {1, 3, 0, 2, 2, 1};
/* row 0 at t = 0.6 (p = 0.6004 with eps 1e-3): columns 0 and 2 masked, 1 kept;
 * row 1 at t = 0.3 (p = 0.3007): column 1 masked, column 0 a prompt (noise 2), 2 kept */
static const float loss_noise[LN * LL] = {0.1f, 0.9f, 0.5f, 2.0f, 0.2f, 0.95f};
static const float loss_t[LN] = {0.6f, 0.3f};

static double ce(const float *row, int32_t y) {
  double mx = -1e300, s = 0;
  for (int v = 0; v < LV; v++) mx = row[v] > mx ? row[v] : mx;
  for (int v = 0; v < LV; v++) s += exp(row[v] - mx);
  return mx + log(s) - row[y];
}

static double hand_loss(const float *lg, int answer) {
  double total = 0;
  for (int n = 0; n < LN; n++) {
    double p = (1 - 1e-3) * loss_t[n] + 1e-3, row = 0, alen = 0;
    for (int j = 0; j < LL; j++) {
      alen += loss_noise[n * LL + j] < 1;
      if (loss_noise[n * LL + j] < p) row += ce(lg + (n * LL + j) * LV, loss_x0[n * LL + j]) / p;
    }
    total += answer ? row / alen : row;
  }
  return answer ? total / LN : total / (LN * LL);
}

typedef struct loss_ctx {
  lundi_instance *s;
  lundi_tensor *x0, *noise, *t;
} loss_ctx;

static lundi_tensor *loss_fn(lundi_tensor **in, void *ctx) {
  loss_ctx *c = ctx;
  return lundi_scheduler_loss(c->s, in[0], c->x0, c->noise, c->t);
}

static void loss_case(const char *normalize) {
  lundi_registry *r = td_registry();
  lundi_instance *s = td_make(r, LUNDI_SCHEDULER, "masked", "normalize", normalize, NULL);
  lundi_rng rng = lundi_rng_make(11);
  lundi_tensor *lg = t_randn(&rng, 3, (int64_t[]){LN, LL, LV}, 1.5f, 1);
  loss_ctx c = {s, td_tokens(LN, LL, loss_x0), lundi_from_f32(2, (int64_t[]){LN, LL}, loss_noise),
                lundi_from_f32(1, (int64_t[]){LN}, loss_t)};
  lundi_tensor *l = lundi_scheduler_loss(s, lg, c.x0, c.noise, c.t);
  float got = NAN;
  CHECK(l && lundi_item(l, &got) == 0);
  float *lv = t_read(lg);
  double want = hand_loss(lv, !strcmp(normalize, "answer"));
  CHECK_NEAR(got, want, 1e-5 * fabs(want) + 1e-6);
  lundi_release(l);
  free(lv);
  gradcheck(normalize, loss_fn, 1, &lg, &c, &(gc_opts){.h = 1e-2, .rtol = 1e-2, .atol = 1e-3});
  lundi_release(lg);
  lundi_release(c.x0);
  lundi_release(c.noise);
  lundi_release(c.t);
  lundi_instance_free(s);
  lundi_registry_free(r);
}

static void test_loss_tokens(void) { loss_case("tokens"); }
static void test_loss_answer(void) { loss_case("answer"); }

/* Without a loss of its own, a scheduler's loss is mse(model_out, target). */
static void test_loss_default_mse(void) {
  lundi_registry *r = td_registry();
  lundi_instance *s = td_make(r, LUNDI_SCHEDULER, "ddpm", NULL);
  lundi_rng rng = lundi_rng_make(5);
  int64_t sh[2] = {2, 6};
  lundi_tensor *out = lundi_randn(&rng, 2, sh), *x0 = lundi_randn(&rng, 2, sh), *noise = lundi_randn(&rng, 2, sh);
  lundi_tensor *t = lundi_from_f32(1, (int64_t[]){2}, (float[]){3, 500});
  lundi_tensor *l = lundi_scheduler_loss(s, out, x0, noise, t), *m = lundi_mse_loss(out, noise);
  float a = NAN, b = NAN;
  CHECK(l && m && !lundi_item(l, &a) && !lundi_item(m, &b));
  CHECK(a == b && a > 0);
  lundi_tensor *wrong = lundi_randn(&rng, 2, (int64_t[]){2, 5});
  CHECK_ERR(lundi_scheduler_loss(s, wrong, x0, noise, t), "scheduler 'ddpm': ");
  CHECK_ERR(lundi_scheduler_loss(s, wrong, x0, noise, t), "mse_loss");
  CHECK_ERR(lundi_scheduler_loss(s, NULL, x0, noise, t), "model_out is NULL");
  lundi_tensor *all[] = {out, x0, noise, t, l, m, wrong};
  for (int k = 0; k < 7; k++) lundi_release(all[k]);
  lundi_instance_free(s);
  lundi_registry_free(r);
}

/* The scheduler's own reverse step: unmasking fractions (p_i - p_i+1) / p_i, values from
 * softmax without the mask id, unmasked tokens kept, nothing masked after the last step. */
static void test_reverse_step(void) {
  lundi_registry *r = td_registry();
  lundi_instance *s = td_make(r, LUNDI_SCHEDULER, "masked", "mask_id", "4", "eps", "0.001", NULL);
  enum { N = 2, L = 8000, V = 5, S = 4 };
  const double q[4] = {0.1, 0.2, 0.3, 0.4};
  float *lv = malloc(sizeof *lv * N * L * V);
  for (int k = 0; k < N * L; k++) {
    for (int v = 0; v < 4; v++) lv[k * V + v] = (float)log(q[v]) + 3;
    lv[k * V + 4] = 100; /* the mask id's logit: never drawn */
  }
  lundi_tensor *lg = lundi_from_f32(3, (int64_t[]){N, L, V}, lv);
  int32_t *xv = malloc(sizeof *xv * N * L);
  for (int k = 0; k < N * L; k++) xv[k] = 4;
  lundi_tensor *x = td_tokens(N, L, xv);
  CHECK(lundi_scheduler_set_timesteps(s, S) == 0 && lundi_scheduler_num_steps(s) == S);
  for (int i = 0; i < S; i++) CHECK_NEAR(lundi_scheduler_timestep(s, i), 1 - (double)i / S, 1e-12);
  lundi_rng rng = lundi_rng_make(21);
  int32_t *prev = td_read_tokens(x);
  int counts[4] = {0};
  for (int i = 0; i < S; i++) {
    lundi_tensor *nx = lundi_scheduler_step(s, lg, i, x, &rng);
    CHECK(nx != NULL);
    if (!nx) break;
    int32_t *cur = td_read_tokens(nx);
    int was = 0, now = 0, changed = 0;
    for (int k = 0; k < N * L; k++) {
      if (prev[k] == 4) {
        was++;
        if (cur[k] != 4) now++, counts[cur[k]]++;
      } else {
        changed += cur[k] != prev[k];
      }
    }
    CHECK(changed == 0);
    double p0 = p_lin(1 - (double)i / S, 1e-3), p1 = p_lin(1 - (double)(i + 1) / S, 1e-3);
    double want = i == S - 1 ? 1 : (p0 - p1) / p0;
    CHECK_NEAR((double)now / was, want, 5 * sqrt(want * (1 - want) / was) + 1e-12);
    free(prev);
    prev = cur;
    lundi_release(x);
    x = nx;
  }
  for (int v = 0; v < 4; v++) CHECK_NEAR(counts[v] / (double)(N * L), q[v], 5 * sqrt(q[v] * (1 - q[v]) / (N * L)));
  lundi_tensor *x0 = lundi_scheduler_predict_x0(s, lg, 0, x);
  CHECK(x0 != NULL);
  lundi_release(x0);
  CHECK_ERR(lundi_scheduler_step(s, lg, S, x, &rng), "step index 4 is outside [0, 4)");
  CHECK_ERR(lundi_scheduler_step(s, lg, 0, x, NULL), "needs an rng");
  free(prev);
  free(xv);
  free(lv);
  lundi_release(lg);
  lundi_release(x);
  lundi_instance_free(s);
  lundi_registry_free(r);
}

/* The loss and its gradient on a Vulkan device match the CPU's (x0, noise and t stay on the
 * host; the weights and targets follow the logits). Skipped without Vulkan. */
static void test_loss_vulkan(void) {
  if (lundi_device_count() < 1) {
    printf("skipped: %s\n", lundi_vulkan_unavailable_reason());
    exit(77);
  }
  lundi_device *vk = lundi_vulkan_device(0);
  CHECK(vk != NULL);
  const char *modes[2] = {"tokens", "answer"};
  for (int m = 0; m < 2 && vk; m++) {
    lundi_registry *r = td_registry();
    lundi_instance *s = td_make(r, LUNDI_SCHEDULER, "masked", "normalize", modes[m], NULL);
    lundi_rng rng = lundi_rng_make(12);
    lundi_tensor *host = t_randn(&rng, 3, (int64_t[]){LN, LL, LV}, 1.5f, 0), *dev = lundi_to_device(host, vk);
    lundi_tensor *lc = lundi_clone(host);
    lundi_set_requires_grad(lc, 1);
    lundi_set_requires_grad(dev, 1);
    lundi_tensor *x0 = td_tokens(LN, LL, loss_x0), *noise = lundi_from_f32(2, (int64_t[]){LN, LL}, loss_noise);
    lundi_tensor *t = lundi_from_f32(1, (int64_t[]){LN}, loss_t);
    lundi_tensor *a = lundi_scheduler_loss(s, lc, x0, noise, t), *b = lundi_scheduler_loss(s, dev, x0, noise, t);
    float va = NAN, vb = NAN;
    CHECK(a && b && !lundi_item(a, &va) && !lundi_item(b, &vb));
    CHECK(b && lundi_tensor_device(b) == vk);
    CHECK_NEAR(va, vb, 1e-5 * fabs(va));
    CHECK(a && b && !lundi_backward(a, NULL) && !lundi_backward(b, NULL));
    CHECK(lundi_grad(lc) && lundi_grad(dev) && t_max_abs_diff(lundi_grad(lc), lundi_grad(dev)) < 1e-6);
    lundi_tensor *all[] = {host, dev, lc, x0, noise, t, a, b};
    for (int k = 0; k < 8; k++) lundi_release(all[k]);
    lundi_instance_free(s);
    lundi_registry_free(r);
  }
}

/* img2img's start: standard normal noise masks like uniform noise at step k's time. */
static void test_noise_to_step(void) {
  lundi_registry *r = td_registry();
  lundi_instance *s = td_make(r, LUNDI_SCHEDULER, "masked", "mask_id", "9", NULL);
  const lundi_scheduler_api *api = lundi_plugin_info(lundi_instance_plugin(s))->api;
  enum { N = 2, L = 10000 };
  int32_t *xv = calloc(N * L, sizeof *xv);
  lundi_rng rng = lundi_rng_make(6);
  lundi_tensor *x0 = td_tokens(N, L, xv), *z = lundi_randn(&rng, 2, (int64_t[]){N, L});
  CHECK(lundi_scheduler_set_timesteps(s, 4) == 0);
  int begin = -1;
  lundi_tensor *x = api->noise_to_step(lundi_instance_self(s), x0, z, 1, &begin);
  CHECK(x && begin == 1);
  int32_t *v = x ? td_read_tokens(x) : NULL;
  int masked = 0;
  for (int k = 0; v && k < N * L; k++) masked += v[k] == 9;
  double p = p_lin(0.75, 1e-3);
  CHECK_NEAR(masked / (double)(N * L), p, 5 * sqrt(p * (1 - p) / (N * L)));
  free(v);
  free(xv);
  lundi_release(x);
  lundi_release(x0);
  lundi_release(z);
  lundi_instance_free(s);
  lundi_registry_free(r);
}

static const test_case TESTS[] = {
    {"noise_to_step", test_noise_to_step},
    {"loss_vulkan", test_loss_vulkan},
    {"mask_frequency_linear", test_mask_frequency_linear},
    {"mask_frequency_cosine", test_mask_frequency_cosine},
    {"add_noise_errors", test_add_noise_errors},
    {"loss_tokens", test_loss_tokens},
    {"loss_answer", test_loss_answer},
    {"loss_default_mse", test_loss_default_mse},
    {"reverse_step", test_reverse_step},
};
TEST_MAIN(TESTS)
