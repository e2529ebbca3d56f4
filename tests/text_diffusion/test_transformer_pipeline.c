/* The text pipeline's parts together with the real `transformer`: a training loss with
 * gradients in the model, llada and ar sampling, and both likelihoods; on the CPU and, when
 * there is one, on a Vulkan device (placed there by the denoiser's module). */
#include "common.h"
#include "lundi/device.h"
#include "lundi/likelihood.h"
#include "lundi/vulkan.h"

#include <stdlib.h>

enum { B = 2, L = 8, LP = 3, MASK = 256 };
static const int32_t prompt_v[B * LP] = {259, 65, 66, 259, 67, 68};

static lundi_instance *model(lundi_registry *r, const char *causal) {
  return td_make(r, LUNDI_DENOISER, "transformer", "d_model", "16", "n_layers", "1", "n_heads", "2", "max_len", "16",
                 "causal", causal, "seed", "1", "init_std", "0.3", NULL);
}

/* One sample of sampler `name` (up to two params as pairs) on den; checks the shape, the prompt
 * and that no mask is left; returns the host tokens. */
static int32_t *sample(lundi_registry *r, lundi_instance *sched, lundi_instance *den, const char *name,
                       const char *k1, const char *v1, const char *k2, const char *v2) {
  lundi_instance *s = td_make(r, LUNDI_SAMPLER, name, k1, v1, k2, v2, NULL);
  lundi_rng rng = lundi_rng_make(5);
  lundi_tensor *prompt = td_tokens(B, LP, prompt_v);
  lundi_sample_request req = {.batch = B, .ndim = 1, .shape = {L}, .cond_input = prompt, .rng = &rng};
  lundi_pipeline_parts pp = {sched, den, NULL};
  lundi_tensor *y = s ? lundi_sampler_sample(s, &pp, &req) : NULL;
  CHECK(y && lundi_ndim(y) == 2 && lundi_dim(y, 0) == B && lundi_dim(y, 1) == L);
  lundi_module *m = lundi_denoiser_module(den);
  CHECK(y && lundi_tensor_device(y) == lundi_module_device(m));
  int32_t *v = y ? td_read_tokens(y) : NULL;
  for (int b = 0; v && b < B; b++)
    for (int j = 0; j < L; j++) {
      int32_t tok = v[b * L + j];
      if (j < LP) CHECK(tok == prompt_v[b * LP + j]);
      else CHECK(tok >= 0 && tok < 260 && tok != MASK);
    }
  lundi_release(y);
  lundi_release(prompt);
  lundi_instance_free(s);
  return v;
}

/* nll of the masked bound and of the causal model for two sequences. */
static void likelihoods(lundi_instance *sched, lundi_instance *bi, lundi_instance *causal, double *elbo,
                        double *arnll) {
  int32_t seq[B * L];
  for (int k = 0; k < B * L; k++) seq[k] = 60 + k % 9;
  lundi_tensor *tok = td_tokens(B, L, seq);
  const int32_t plen[B] = {LP, 1};
  double se[B];
  lundi_rng rng = lundi_rng_make(8);
  CHECK(lundi_masked_elbo(bi, sched, tok, plen, 8, 4, &rng, elbo, se) == 0);
  CHECK(lundi_ar_nll(causal, tok, plen, arnll) == 0);
  for (int b = 0; b < B; b++) CHECK(elbo[b] > 0 && isfinite(elbo[b]) && arnll[b] > 0 && isfinite(arnll[b]));
  lundi_release(tok);
}

static void test_cpu_and_vulkan(void) {
  lundi_registry *r = td_registry();
  lundi_instance *sched = td_make(r, LUNDI_SCHEDULER, "masked", NULL), *bi = model(r, "false"), *ca = model(r, "true");
  CHECK(sched && bi && ca);
  /* a training loss: gradients reach the model's parameters */
  int32_t x0v[B * L];
  for (int k = 0; k < B * L; k++) x0v[k] = 97 + k % 5;
  lundi_rng rng = lundi_rng_make(2);
  lundi_tensor *x0 = td_tokens(B, L, x0v), *noise = lundi_rand(&rng, 2, (int64_t[]){B, L});
  lundi_tensor *t = lundi_full(1, (int64_t[]){B}, 0.7f), *xt = lundi_scheduler_add_noise(sched, x0, noise, t);
  lundi_tensor *lg = xt ? lundi_denoiser_forward(bi, xt, t, NULL, &rng) : NULL;
  lundi_tensor *loss = lg ? lundi_scheduler_loss(sched, lg, x0, noise, t) : NULL;
  CHECK(loss && lundi_backward(loss, NULL) == 0);
  lundi_tensor *w = lundi_module_param(lundi_denoiser_module(bi), "tok_emb.weight");
  CHECK(w && lundi_grad(w) != NULL);
  lundi_module_zero_grad(lundi_denoiser_module(bi));
  /* sampling and likelihoods on the CPU */
  free(sample(r, sched, bi, "llada", "steps", "5", "block_length", "0"));
  free(sample(r, sched, ca, "ar", "temperature", "0", NULL, NULL));
  double e_cpu[B], a_cpu[B];
  likelihoods(sched, bi, ca, e_cpu, a_cpu);
  /* the same on a Vulkan device: the tokens follow the model there */
  if (lundi_device_count() > 0) {
    lundi_device *vk = lundi_vulkan_device(0);
    CHECK(vk && !lundi_module_to(lundi_denoiser_module(bi), vk) && !lundi_module_to(lundi_denoiser_module(ca), vk));
    free(sample(r, sched, bi, "llada", "steps", "5", "block_length", "0"));
    free(sample(r, sched, ca, "ar", "temperature", "0", NULL, NULL));
    double e_vk[B], a_vk[B];
    likelihoods(sched, bi, ca, e_vk, a_vk);
    for (int b = 0; b < B; b++) {
      CHECK_NEAR(e_vk[b], e_cpu[b], 1e-3 * e_cpu[b]); /* the same draws, so nearly the same numbers */
      CHECK_NEAR(a_vk[b], a_cpu[b], 1e-4 * a_cpu[b]);
    }
  } else {
    printf("no Vulkan device (%s): the CPU half only\n", lundi_vulkan_unavailable_reason());
  }
  lundi_tensor *all[] = {x0, noise, t, xt, lg, loss};
  for (int k = 0; k < 6; k++) lundi_release(all[k]);
  lundi_instance_free(sched);
  lundi_instance_free(bi);
  lundi_instance_free(ca);
  lundi_registry_free(r);
}

static const test_case TESTS[] = {{"cpu_and_vulkan", test_cpu_and_vulkan}};
TEST_MAIN(TESTS)
