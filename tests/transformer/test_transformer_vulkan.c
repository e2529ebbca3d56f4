/* The transformer on Vulkan against the CPU: the same weights and ids give the same logits,
 * loss and parameter gradients (bidirectional, causal, with dropout), and the plugin places
 * its model on the default device. Cases exit 77 (skip) without a Vulkan device. */
#include "common.h"
#include "lundi/plugin.h"
#include "vulkan_pair.h"

/* Relative max difference: max |a - b| / max |a|. */
static double rel_diff(lundi_tensor *a, lundi_tensor *b) {
  if (!a || !b || lundi_numel(a) != lundi_numel(b)) return INFINITY;
  float *x = t_read(a), *y = t_read(b);
  double d = 0, m = 0;
  for (int64_t i = 0; i < lundi_numel(a); i++) {
    if (!isfinite(x[i]) || !isfinite(y[i])) d = INFINITY;
    d = fmax(d, fabs((double)x[i] - y[i]));
    m = fmax(m, fabs(x[i]));
  }
  free(x);
  free(y);
  return m > 0 ? d / m : d;
}

/* The tolerance: float rounding of sums of a few hundred terms ordered differently on each
 * side, observed at most ~3e-6 on lavapipe; a wrong kernel or a missed term gives >= 1e-2. */
#define TOL 1e-4

typedef struct side {
  lundi_transformer *tf;
  lundi_tensor *logits, *loss;
  lundi_param_list p;
} side;

/* One training step's forward and backward of a model from cfg on dev, ids given on the host. */
static side run_side(const lundi_transformer_config *cfg, lundi_device *dev, lundi_tensor *ids, lundi_tensor *target,
                     uint64_t dropout_seed) {
  side s = {0};
  s.tf = tt_model(cfg, 21);
  CHECK(s.tf && !lundi_module_to(lundi_transformer_module(s.tf), dev) && !tt_params(s.tf, &s.p));
  if (!s.tf) return s;
  lundi_rng rng = lundi_rng_make(dropout_seed);
  lundi_tensor *tg = lundi_to_device(target, dev);
  s.logits = lundi_transformer_forward(s.tf, ids, &rng);
  s.loss = s.logits && tg ? lundi_cross_entropy(s.logits, tg, NULL, -100, 0) : NULL;
  CHECK(s.loss && !lundi_backward(s.loss, NULL));
  CHECK(s.logits && lundi_tensor_device(s.logits) == dev);
  lundi_release(tg);
  return s;
}

static void side_free(side *s) {
  lundi_release(s->logits);
  lundi_release(s->loss);
  lundi_param_list_free(&s->p);
  lundi_transformer_free(s->tf);
}

static void compare_case(int causal, float dropout) {
  lundi_device *dev = need_device();
  lundi_transformer_config c = lundi_transformer_defaults();
  c.vocab_size = 37, c.d_model = 32, c.n_heads = 4, c.n_layers = 2, c.max_len = 16;
  c.init_std = 0.2f, c.causal = causal, c.dropout = dropout, c.seed = 4;
  lundi_rng rng = lundi_rng_make(6);
  lundi_tensor *ids = tt_ids(&rng, 3, 11, 37), *target = tt_ids(&rng, 3, 11, 37);
  side h = run_side(&c, lundi_cpu(), ids, target, 99), d = run_side(&c, dev, ids, target, 99);
  double dl = rel_diff(h.logits, d.logits), dloss = rel_diff(h.loss, d.loss);
  fprintf(stderr, "causal=%d dropout=%g: logits %.2e, loss %.2e\n", causal, dropout, dl, dloss);
  CHECK(dl <= TOL && dloss <= TOL);
  CHECK(h.p.n == d.p.n && h.p.n == 1 + 2 * 9 + 2);
  for (int i = 0; i < h.p.n && i < d.p.n; i++) {
    CHECK(!strcmp(h.p.names[i], d.p.names[i]));
    lundi_tensor *gh = lundi_grad(h.p.tensors[i]), *gd = lundi_grad(d.p.tensors[i]);
    CHECK(gh && gd && lundi_tensor_device(gd) == dev);
    double e = rel_diff(gh, gd);
    if (!(e <= TOL)) fprintf(stderr, "  grad %s differs by %.2e\n", h.p.names[i], e);
    CHECK(e <= TOL);
  }
  side_free(&h);
  side_free(&d);
  lundi_release(ids), lundi_release(target);
  CHECK(lundi_live_tensors() == 0);
}

static void vs_cpu_bidirectional(void) { compare_case(0, 0); }
static void vs_cpu_causal(void) { compare_case(1, 0); }
/* Philox gives the same masks on both devices, so dropout compares too. */
static void vs_cpu_dropout(void) { compare_case(0, 0.2f); }

/* create() places the model on the default device; ids from the host are moved there. */
static void plugin_on_device(void) {
  lundi_device *dev = need_device();
  lundi_set_default_device(dev);
  lundi_registry *r = lundi_registry_new();
  CHECK(r && !lundi_registry_load_builtins(r));
  const lundi_plugin *pl = lundi_registry_find(r, LUNDI_DENOISER, "transformer");
  lundi_params *p = pl ? lundi_plugin_params(pl) : NULL;
  CHECK(p && !lundi_params_set(p, "d_model", "32") && !lundi_params_set(p, "n_layers", "2") &&
        !lundi_params_set(p, "seed", "7"));
  lundi_instance *inst = p ? lundi_instance_new(pl, p) : NULL;
  CHECK(inst && lundi_module_device(lundi_denoiser_module(inst)) == dev);
  lundi_transformer_config c = lundi_transformer_defaults();
  c.d_model = 32, c.n_layers = 2, c.seed = 7;
  lundi_transformer *ref = lundi_transformer_new(&c);
  lundi_rng rng = lundi_rng_make(2);
  lundi_tensor *x = tt_ids(&rng, 2, 20, 260), *t = lundi_zeros(1, (int64_t[]){2});
  lundi_tensor *y = inst ? lundi_denoiser_forward(inst, x, t, NULL, &rng) : NULL;
  lundi_tensor *want = ref ? lundi_transformer_forward(ref, x, NULL) : NULL;
  CHECK(y && lundi_tensor_device(y) == dev && lundi_dim(y, 2) == 260);
  double e = rel_diff(want, y);
  CHECK(e <= TOL);
  /* a bad id on the device is found too */
  int32_t *xv = lundi_data(x);
  xv[25] = 260;
  lundi_tensor *xd = lundi_to_device(x, dev);
  CHECK_ERR(inst ? lundi_denoiser_forward(inst, xd, t, NULL, &rng) : NULL, "token id 260 at [1, 5]");
  lundi_set_default_device(lundi_cpu());
  lundi_release(x), lundi_release(xd), lundi_release(t), lundi_release(y), lundi_release(want);
  lundi_transformer_free(ref);
  lundi_params_free(p);
  lundi_instance_free(inst);
  lundi_registry_free(r);
  CHECK(lundi_live_tensors() == 0);
}

static const test_case cases[] = {
    {"vs_cpu_bidirectional", vs_cpu_bidirectional},
    {"vs_cpu_causal", vs_cpu_causal},
    {"vs_cpu_dropout", vs_cpu_dropout},
    {"plugin_on_device", plugin_on_device},
};
TEST_MAIN(cases)
