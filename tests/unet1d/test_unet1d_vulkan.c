/* unet1d on Vulkan against the CPU: the same weights, sample and condition give the same
 * output, loss and gradients (of every parameter, the sample and the condition), and the
 * plugin places its model on the default device and moves a host condition there. Cases exit
 * 77 (skip) without a Vulkan device. */
#include "common.h"
#include "lundi/plugin.h"
#include "vulkan_pair.h"

/* Float rounding of sums ordered differently on each side (convs of a few hundred terms,
 * GroupNorm statistics); a wrong kernel or a missed term gives >= 1e-2. */
#define TOL 1e-4

typedef struct side {
  lundi_unet1d *u;
  lundi_tensor *x, *g, *y, *loss;
  lundi_param_list p;
} side;

static side run_side(const lundi_unet1d_config *cfg, lundi_device *dev, lundi_tensor *x, lundi_tensor *g,
                     lundi_tensor *t, lundi_tensor *target) {
  side s = {0};
  s.u = u1_model(cfg, 21);
  CHECK(s.u && !lundi_module_to(lundi_unet1d_module(s.u), dev) && !u1_params(s.u, &s.p));
  if (!s.u) return s;
  /* the sample and the condition as leaves on dev, to compare their gradients too */
  s.x = lundi_to_device(x, dev);
  s.g = g ? lundi_to_device(g, dev) : NULL;
  lundi_tensor *td = lundi_to_device(t, dev), *tg = lundi_to_device(target, dev);
  CHECK(s.x && !lundi_set_requires_grad(s.x, 1) && (!g || (s.g && !lundi_set_requires_grad(s.g, 1))));
  s.y = lundi_unet1d_forward(s.u, s.x, td, s.g);
  s.loss = s.y && tg ? lundi_mse_loss(s.y, tg) : NULL;
  CHECK(s.loss && !lundi_backward(s.loss, NULL));
  CHECK(s.y && lundi_tensor_device(s.y) == dev);
  lundi_release(td), lundi_release(tg);
  return s;
}

static void side_free(side *s) {
  lundi_release(s->x), lundi_release(s->g), lundi_release(s->y), lundi_release(s->loss);
  lundi_param_list_free(&s->p);
  lundi_unet1d_free(s->u);
}

static int check_grad(const char *name, lundi_tensor *a, lundi_tensor *b) {
  lundi_tensor *ga = a ? lundi_grad(a) : NULL, *gb = b ? lundi_grad(b) : NULL;
  double e = u1_rel_diff(ga, gb);
  if (!(e <= TOL)) fprintf(stderr, "  grad %s differs by %.2e\n", name, e);
  return e <= TOL;
}

static void compare_case(const lundi_unet1d_config *c, int T) {
  lundi_device *dev = need_device();
  lundi_rng rng = lundi_rng_make(6);
  lundi_tensor *x = lundi_randn(&rng, 3, (int64_t[]){3, T, c->action_dim});
  lundi_tensor *g = c->global_cond_dim ? lundi_randn(&rng, 2, (int64_t[]){3, c->global_cond_dim}) : NULL;
  lundi_tensor *target = lundi_randn(&rng, 3, (int64_t[]){3, T, c->action_dim});
  lundi_tensor *t = lundi_from_f32(1, (int64_t[]){3}, (float[]){0, 42, 99});
  side h = run_side(c, lundi_cpu(), x, g, t, target), d = run_side(c, dev, x, g, t, target);
  double dy = u1_rel_diff(h.y, d.y), dl = u1_rel_diff(h.loss, d.loss);
  fprintf(stderr, "output %.2e, loss %.2e\n", dy, dl);
  CHECK(dy <= TOL && dl <= TOL);
  CHECK(check_grad("x", h.x, d.x));
  if (g) CHECK(check_grad("global_cond", h.g, d.g));
  CHECK(h.p.n == d.p.n && h.p.n > 0);
  int bad = 0;
  for (int i = 0; i < h.p.n && i < d.p.n; i++) {
    CHECK(!strcmp(h.p.names[i], d.p.names[i]));
    lundi_tensor *gd = lundi_grad(d.p.tensors[i]);
    CHECK(gd && lundi_tensor_device(gd) == dev);
    bad += !check_grad(h.p.names[i], h.p.tensors[i], d.p.tensors[i]);
  }
  CHECK(bad == 0);
  side_free(&h), side_free(&d);
  lundi_release(x), lundi_release(g), lundi_release(target), lundi_release(t);
  CHECK(lundi_live_tensors() == 0);
}

/* three levels of wider channels than the gradient checks: 2 downsamples, 2 upsamples */
static void vs_cpu(void) {
  lundi_unet1d_config c = lundi_unet1d_defaults();
  c.action_dim = 2, c.global_cond_dim = 10, c.step_embed_dim = 16;
  c.n_levels = 3, c.down_dims[0] = 16, c.down_dims[1] = 32, c.down_dims[2] = 64;
  compare_case(&c, 16);
}

static void vs_cpu_bias_only(void) {
  lundi_unet1d_config c = u1_tiny();
  c.cond_predict_scale = 0, c.global_cond_dim = 0, c.kernel_size = 5;
  compare_case(&c, 8);
}

/* create() places the model on the default device; a host cond.vector is moved there. */
static void plugin_on_device(void) {
  lundi_device *dev = need_device();
  lundi_set_default_device(dev);
  lundi_registry *r = lundi_registry_new();
  CHECK(r && !lundi_registry_load_builtins(r));
  const lundi_plugin *pl = r ? lundi_registry_find(r, LUNDI_DENOISER, "unet1d") : NULL;
  lundi_params *p = pl ? lundi_plugin_params(pl) : NULL;
  CHECK(p && !lundi_params_set(p, "global_cond_dim", "4") && !lundi_params_set(p, "down_dims", "16,32") &&
        !lundi_params_set(p, "seed", "3"));
  lundi_instance *inst = p ? lundi_instance_new(pl, p) : NULL;
  CHECK(inst && lundi_module_device(lundi_denoiser_module(inst)) == dev);
  lundi_set_default_device(lundi_cpu());
  lundi_unet1d_config c = lundi_unet1d_defaults();
  c.global_cond_dim = 4, c.down_dims[0] = 16, c.down_dims[1] = 32;
  lundi_rng wr = lundi_rng_make(3);
  lundi_unet1d *ref = lundi_unet1d_new(&c, &wr);
  lundi_rng rng = lundi_rng_make(2);
  lundi_tensor *x = lundi_randn(&rng, 3, (int64_t[]){2, 16, 2}), *t = lundi_from_f32(1, (int64_t[]){2}, (float[]){1, 80});
  lundi_tensor *xd = lundi_to_device(x, dev), *td = lundi_to_device(t, dev);
  lundi_cond cond = {0};
  cond.vector = lundi_randn(&rng, 2, (int64_t[]){2, 4});
  lundi_tensor *y = inst ? lundi_denoiser_forward(inst, xd, td, &cond, &rng) : NULL;
  lundi_tensor *want = ref ? lundi_unet1d_forward(ref, x, t, cond.vector) : NULL;
  CHECK(y && lundi_tensor_device(y) == dev);
  double e = u1_rel_diff(want, y);
  fprintf(stderr, "plugin on device vs CPU model: %.2e\n", e);
  CHECK(e <= TOL);
  lundi_release(x), lundi_release(t), lundi_release(xd), lundi_release(td), lundi_release(y), lundi_release(want);
  lundi_cond_clear(&cond);
  lundi_unet1d_free(ref);
  lundi_instance_free(inst);
  lundi_params_free(p);
  lundi_registry_free(r);
  CHECK(lundi_live_tensors() == 0);
}

static const test_case cases[] = {
    {"vs_cpu", vs_cpu},
    {"vs_cpu_bias_only", vs_cpu_bias_only},
    {"plugin_on_device", plugin_on_device},
};
TEST_MAIN(cases)
