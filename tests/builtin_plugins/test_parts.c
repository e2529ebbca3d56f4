/* The class conditioner, the unet2d denoiser plugin, the image sampler's guidance, callback
 * and bookkeeping, and the built-in schemas. */
#include "common.h"
#include "denoisers/unet2d.h"

static lundi_registry *R;

/* ---- a denoiser whose output depends on the label: out = label + 0.5 x ---- */
static int g_calls, g_batch[64];
static int32_t g_labels[64][8];
static float g_first_x;
static lundi_module *g_module; /* labeldep's (empty) module, to observe train/eval mode */
static int g_training_seen;

static lundi_tensor *labeldep_forward(void *self, lundi_tensor *x, lundi_tensor *t, const lundi_cond *cond,
                                      lundi_rng *rng) {
  (void)self, (void)t, (void)rng;
  int64_t n = lundi_dim(x, 0), d = lundi_numel(x) / n;
  float *xv = t_read(x), *lv = cond && cond->labels ? t_read(cond->labels) : NULL;
  if (g_calls < 64) {
    g_batch[g_calls] = (int)n;
    for (int64_t i = 0; i < n && i < 8; i++) g_labels[g_calls][i] = lv ? (int32_t)lv[i] : -1;
  }
  if (!g_calls) g_first_x = xv[0];
  g_training_seen |= lundi_module_training(g_module);
  g_calls++;
  for (int64_t r = 0; r < n; r++)
    for (int64_t j = 0; j < d; j++) xv[r * d + j] = (lv ? lv[r] : -1) + 0.5f * xv[r * d + j];
  lundi_tensor *o = lundi_from_f32(lundi_ndim(x), lundi_shape(x), xv);
  free(xv);
  free(lv);
  return o;
}
static int dummy_create(void *user, const lundi_params *p, void **self) {
  (void)user, (void)p;
  *self = &g_calls;
  return 0;
}
static void dummy_destroy(void *self) { (void)self; }
static lundi_module *labeldep_module(void *self) {
  (void)self;
  return g_module;
}
static const lundi_denoiser_api labeldep_api = {.forward = labeldep_forward, .module = labeldep_module};

static void setup(void) {
  R = bt_registry();
  lundi_plugin_desc d = {.abi_version = LUNDI_ABI_VERSION, .kind = LUNDI_DENOISER, .name = "labeldep", .version = "1",
                         .description = "label + 0.5 x", .create = dummy_create, .destroy = dummy_destroy,
                         .api = &labeldep_api};
  if (R && lundi_register(R, &d, "test")) {
    fprintf(stderr, "register labeldep: %s\n", lundi_last_error());
    lundi_registry_free(R);
    R = NULL;
  }
  g_calls = 0;
}

/* ---- class conditioner ---- */

static void class_conditioner(void) {
  lundi_instance *c = bt_make(R, LUNDI_CONDITIONER, "class", NULL);
  CHECK(c);
  lundi_cond out = {0};
  lundi_tensor *ids = lundi_from_i32(1, (int64_t[]){5}, (int32_t[]){0, 3, 9, 2, 7});
  CHECK(lundi_conditioner_encode(c, ids, &out) == 0);
  CHECK(out.labels && lundi_tensor_dtype(out.labels) == LUNDI_I32 && lundi_numel(out.labels) == 5);
  if (out.labels) {
    float *v = t_read(out.labels);
    CHECK(v[0] == 0 && v[1] == 3 && v[2] == 9 && v[3] == 2 && v[4] == 7);
    free(v);
  }
  CHECK(!out.context && !out.mask && !out.vector);
  lundi_cond_clear(&out);
  lundi_release(ids);
  ids = bt_tensor(1, (int64_t[]){2}, (float[]){4, 1});
  CHECK(lundi_conditioner_encode(c, ids, &out) == 0);
  if (out.labels) {
    float *v = t_read(out.labels);
    CHECK(lundi_tensor_dtype(out.labels) == LUNDI_I32 && v[0] == 4 && v[1] == 1);
    free(v);
  }
  lundi_cond_clear(&out);
  lundi_release(ids);
  /* errors name the bad value and its index */
  ids = lundi_from_i32(1, (int64_t[]){3}, (int32_t[]){1, 2, 10});
  CHECK_ERR(lundi_conditioner_encode(c, ids, &out), "class id 10 at index 2 is not an integer in [0, 10)");
  lundi_release(ids);
  ids = bt_tensor(1, (int64_t[]){2}, (float[]){2.5f, 1});
  CHECK_ERR(lundi_conditioner_encode(c, ids, &out), "class id 2.5 at index 0");
  lundi_release(ids);
  ids = lundi_from_i32(1, (int64_t[]){1}, (int32_t[]){-1});
  CHECK_ERR(lundi_conditioner_encode(c, ids, &out), "class id -1 at index 0");
  lundi_release(ids);
  ids = lundi_zeros(2, (int64_t[]){2, 2});
  CHECK_ERR(lundi_conditioner_encode(c, ids, &out), "1-D");
  lundi_release(ids);
  CHECK(!out.labels);
  /* null condition: the extra class */
  CHECK(lundi_conditioner_null(c, 4, &out) == 0);
  if (out.labels) {
    float *v = t_read(out.labels);
    CHECK(lundi_numel(out.labels) == 4 && v[0] == 10 && v[3] == 10);
    free(v);
  }
  lundi_cond_clear(&out);
  CHECK_ERR(lundi_conditioner_null(c, 0, &out), "batch of 0");
  /* drop: rate within 4 standard errors of 0.1, kept rows unchanged, reproducible */
  enum { N = 20000 };
  int32_t *lab = malloc(sizeof(int32_t) * N);
  for (int i = 0; i < N; i++) lab[i] = i % 10;
  lundi_tensor *base = lundi_from_i32(1, (int64_t[]){N}, lab);
  lundi_rng rng = lundi_rng_make(99), rng2 = rng;
  lundi_cond a = {.labels = lundi_retain(base)}, b = {.labels = lundi_retain(base)};
  CHECK(lundi_conditioner_drop(c, &a, &rng) == 0);
  CHECK(lundi_conditioner_drop(c, &b, &rng2) == 0);
  CHECK(rng.offset == (N + 3) / 4);
  float *va = t_read(a.labels), *vb = t_read(b.labels), *vbase = t_read(base);
  int dropped = 0, same = 1, kept_ok = 1;
  for (int i = 0; i < N; i++) {
    dropped += va[i] == 10;
    same &= va[i] == vb[i];
    kept_ok &= va[i] == 10 || va[i] == (float)(i % 10);
  }
  CHECK(same && kept_ok);
  CHECK(vbase[0] == 0 && vbase[N - 1] == (N - 1) % 10); /* the shared input was not written */
  CHECK_NEAR((double)dropped / N, 0.1, 4 * sqrt(0.09 / N));
  free(va);
  free(vb);
  free(vbase);
  lundi_cond_clear(&a);
  lundi_cond_clear(&b);
  CHECK_ERR(lundi_conditioner_drop(c, &a, &rng), "labels");
  lundi_instance_free(c);
  /* probability 0 and 1 */
  for (int k = 0; k < 2; k++) {
    c = bt_make(R, LUNDI_CONDITIONER, "class", "cond_drop_prob", k ? "1" : "0", "num_classes", "3", NULL);
    CHECK(c);
    lundi_tensor *l = lundi_from_i32(1, (int64_t[]){4}, (int32_t[]){0, 1, 2, 1});
    lundi_cond x = {.labels = l};
    CHECK(lundi_conditioner_drop(c, &x, &rng) == 0);
    float *v = t_read(x.labels);
    for (int i = 0; i < 4; i++) CHECK(v[i] == (k ? 3 : (float)(i == 3 ? 1 : i)));
    free(v);
    lundi_cond_clear(&x);
    lundi_instance_free(c);
  }
  free(lab);
  lundi_release(base);
}

/* ---- unet2d plugin ---- */

static void unet2d_plugin(void) {
  lundi_instance *d = bt_make(R, LUNDI_DENOISER, "unet2d", "preset", "mnist-tiny", "seed", "5", NULL);
  CHECK(d);
  if (!d) return;
  lundi_rng rng = lundi_rng_make(3);
  lundi_tensor *x = lundi_randn(&rng, 4, (int64_t[]){2, 1, 28, 28});
  lundi_tensor *t = bt_tensor(1, (int64_t[]){2}, (float[]){10, 500});
  lundi_cond cond = {.labels = lundi_from_i32(1, (int64_t[]){2}, (int32_t[]){3, 10})}; /* 10: the null class */
  lundi_tensor *y = lundi_denoiser_forward(d, x, t, &cond, &rng);
  CHECK(y && lundi_ndim(y) == 4 && lundi_dim(y, 0) == 2 && lundi_dim(y, 1) == 1 && lundi_dim(y, 2) == 28 &&
        lundi_dim(y, 3) == 28);
  lundi_release(y);
  /* the module is the unet's: same size and, for the same seed, the same weights */
  lundi_unet2d_config cfg;
  CHECK(lundi_unet2d_preset("mnist-tiny", &cfg) == 0);
  lundi_rng r5 = lundi_rng_make(5);
  lundi_unet2d *ref = lundi_unet2d_new(&cfg, &r5);
  lundi_module *m = lundi_denoiser_module(d);
  CHECK(m && ref && lundi_module_numel(m) == lundi_module_numel(lundi_unet2d_module(ref)));
  CHECK(m && lundi_module_numel(m) > 10000);
  lundi_param_list pa = {0}, pb = {0};
  if (m && ref && !lundi_module_parameters(m, &pa) && !lundi_module_parameters(lundi_unet2d_module(ref), &pb)) {
    CHECK(pa.n == pb.n);
    double diff = 0;
    for (int i = 0; i < pa.n && i < pb.n; i++) diff = fmax(diff, t_max_abs_diff(pa.tensors[i], pb.tensors[i]));
    CHECK(diff == 0);
  }
  lundi_param_list_free(&pa);
  lundi_param_list_free(&pb);
  lundi_unet2d_free(ref);
  lundi_instance_free(d);
  /* a custom, unconditional model from overrides */
  d = bt_make(R, LUNDI_DENOISER, "unet2d", "preset", "mnist-tiny", "channel_mult", "1, 2", "attention_levels", "0,1",
              "base_channels", "8", "groups", "4", "heads", "2", "num_classes", "0", "in_channels", "2", "out_channels",
              "3", "layers_per_block", "2", NULL);
  CHECK(d);
  lundi_tensor *x2 = lundi_randn(&rng, 4, (int64_t[]){2, 2, 8, 8});
  y = d ? lundi_denoiser_forward(d, x2, t, NULL, &rng) : NULL;
  CHECK(y && lundi_dim(y, 1) == 3 && lundi_dim(y, 2) == 8);
  lundi_release(y);
  /* the same model built by hand: every override landed (sizes and seed-0 weights agree) */
  lundi_unet2d_config hand;
  lundi_unet2d_preset("mnist-tiny", &hand);
  hand.n_levels = 2, hand.channel_mult[0] = 1, hand.channel_mult[1] = 2, hand.attn_level[1] = 1;
  hand.base_channels = 8, hand.groups = 4, hand.heads = 2, hand.num_classes = 0;
  hand.in_channels = 2, hand.out_channels = 3, hand.res_down = 2, hand.res_up = 3;
  lundi_rng r0 = lundi_rng_make(0);
  ref = lundi_unet2d_new(&hand, &r0);
  m = d ? lundi_denoiser_module(d) : NULL;
  CHECK(ref && m && lundi_module_numel(m) == lundi_module_numel(lundi_unet2d_module(ref)));
  if (ref && m && !lundi_module_parameters(m, &pa) && !lundi_module_parameters(lundi_unet2d_module(ref), &pb)) {
    CHECK(pa.n == pb.n);
    for (int i = 0; i < pa.n && i < pb.n; i++) CHECK(!strcmp(pa.names[i], pb.names[i]) && t_max_abs_diff(pa.tensors[i], pb.tensors[i]) == 0);
  }
  lundi_param_list_free(&pa);
  lundi_param_list_free(&pb);
  /* ... and they compute the same function (groups and heads leave no trace in the sizes) */
  lundi_tensor *ya = d ? lundi_denoiser_forward(d, x2, t, NULL, &rng) : NULL;
  lundi_tensor *yb = ref ? lundi_unet2d_forward(ref, x2, t, NULL, NULL, &rng) : NULL;
  CHECK(ya && yb && t_max_abs_diff(ya, yb) == 0);
  lundi_release(ya);
  lundi_release(yb);
  lundi_unet2d_free(ref);
  CHECK_ERR(lundi_denoiser_forward(d, x2, t, &cond, &rng), "num_classes");
  lundi_instance_free(d);
  lundi_release(x2);
  /* bad lists: clear messages */
  CHECK_ERR(bt_make(R, LUNDI_DENOISER, "unet2d", "channel_mult", "1,x,4", NULL),
            "channel_mult = \"1,x,4\": item 2 must be an integer in [1, 64]");
  CHECK_ERR(bt_make(R, LUNDI_DENOISER, "unet2d", "channel_mult", "1;2", NULL), "comma-separated");
  CHECK_ERR(bt_make(R, LUNDI_DENOISER, "unet2d", "channel_mult", "1,2,3,4,5,6", NULL), "at most 5 levels");
  CHECK_ERR(bt_make(R, LUNDI_DENOISER, "unet2d", "attention_levels", "0,1", NULL),
            "has 2 entries; the model has 3 levels");
  CHECK_ERR(bt_make(R, LUNDI_DENOISER, "unet2d", "attention_levels", "0,2,1", NULL), "item 2 must be an integer in [0, 1]");
  CHECK_ERR(bt_make(R, LUNDI_DENOISER, "unet2d", "heads", "3", NULL), "not divisible by heads=3");
  lundi_cond_clear(&cond);
  lundi_release(x);
  lundi_release(t);
}

/* ---- image sampler ---- */

typedef struct cb_state {
  int calls, stop_at, fail_at, set_msg;
  double ts[16];
  float *prev;    /* the sample before the current step (for checking x0_pred) */
  float last[12]; /* x handed over at the last call */
  double guidance;
  const int32_t *labels;
  int x0_bad;
} cb_state;

/* Checks that x0_pred (ddpm, prediction_type sample, no clipping) is the guided output for the
 * sample before this step: u + s (c - u) with c = label + 0.5 x, u = 10 + 0.5 x. */
static int cb(void *ud, int i, int n, double t, lundi_tensor *x, lundi_tensor *x0_pred) {
  cb_state *s = ud;
  (void)n;
  if (i < 16) s->ts[i] = t;
  s->calls++;
  if (x0_pred && s->prev) {
    float *p = t_read(x0_pred);
    for (int j = 0; j < 12; j++) {
      double u = 10 + 0.5 * s->prev[j], c = s->labels[j / 4] + 0.5 * s->prev[j];
      if (fabs(p[j] - (u + s->guidance * (c - u))) > 1e-4 * (1 + fabs(p[j]))) s->x0_bad++;
    }
    free(p);
  } else {
    s->x0_bad++;
  }
  lundi_read_f32(x, s->last, 12);
  if (s->prev) lundi_read_f32(x, s->prev, 12);
  if (i == s->fail_at) {
    if (s->set_msg) lundi_set_error(LUNDI_EINVAL, "boom at %d", i);
    return -3;
  }
  return i == s->stop_at;
}

static void sampler_cfg(void) {
  const int32_t labels[3] = {2, 5, 9};
  for (int guided = 0; guided < 2; guided++) {
    double scale = guided ? 3 : 1;
    lundi_instance *s = bt_make(R, LUNDI_SCHEDULER, "ddpm", "prediction_type", "sample", "clip_sample", "false", NULL);
    lundi_instance *d = bt_make(R, LUNDI_DENOISER, "labeldep", NULL);
    lundi_instance *c = bt_make(R, LUNDI_CONDITIONER, "class", NULL);
    lundi_instance *smp =
        bt_make(R, LUNDI_SAMPLER, "image", "num_inference_steps", "5", "guidance_scale", guided ? "3" : "1", NULL);
    CHECK(s && d && c && smp);
    if (!(s && d && c && smp)) return;
    lundi_tensor *ids = lundi_from_i32(1, (int64_t[]){3}, labels);
    lundi_rng rng = lundi_rng_make(42), copy = rng;
    lundi_tensor *xT = lundi_randn(&copy, 3, (int64_t[]){3, 2, 2});
    float prev[12];
    lundi_read_f32(xT, prev, 12);
    lundi_release(xT);
    cb_state st = {.stop_at = -1, .fail_at = -1, .prev = prev, .guidance = scale, .labels = labels};
    lundi_pipeline_parts parts = {s, d, c};
    lundi_sample_request req = {.batch = 3, .ndim = 2, .shape = {2, 2}, .cond_input = ids, .rng = &rng,
                                .callback = cb, .callback_ud = &st};
    g_calls = 0;
    lundi_tensor *x = lundi_sampler_sample(smp, &parts, &req);
    CHECK(x && st.calls == 5 && st.x0_bad == 0);
    /* batched CFG: one denoiser call per step, [c; null] */
    CHECK(g_calls == 5);
    for (int k = 0; k < g_calls && k < 5; k++) {
      CHECK(g_batch[k] == (guided ? 6 : 3));
      for (int j = 0; j < 3; j++) CHECK(g_labels[k][j] == labels[j]);
      for (int j = 3; guided && j < 6; j++) CHECK(g_labels[k][j] == 10);
    }
    CHECK(st.ts[0] == 800 && st.ts[4] == 0);
    /* the last step (t = 0) returns x0 itself: the guided output for the previous sample */
    if (x) {
      float *v = t_read(x);
      CHECK(lundi_ndim(x) == 3 && lundi_dim(x, 0) == 3 && lundi_dim(x, 2) == 2);
      for (int j = 0; j < 12; j++) CHECK(v[j] == st.last[j]);
      free(v);
    }
    lundi_release(x);
    lundi_release(ids);
    /* conditions must match the batch */
    ids = lundi_from_i32(1, (int64_t[]){2}, labels);
    req.cond_input = ids;
    req.callback = NULL;
    CHECK_ERR(lundi_sampler_sample(smp, &parts, &req), "gave 2 conditions for a batch of 3");
    lundi_release(ids);
    /* guidance needs a conditioner */
    parts.conditioner = NULL;
    req.cond_input = NULL;
    if (guided) CHECK_ERR(lundi_sampler_sample(smp, &parts, &req), "needs a conditioner");
    lundi_instance_free(s);
    lundi_instance_free(d);
    lundi_instance_free(c);
    lundi_instance_free(smp);
  }
}

static void sampler_callback(void) {
  lundi_instance *s = bt_make(R, LUNDI_SCHEDULER, "ddpm", "prediction_type", "sample", "clip_sample", "false", NULL);
  lundi_instance *d = bt_make(R, LUNDI_DENOISER, "labeldep", NULL);
  lundi_instance *smp = bt_make(R, LUNDI_SAMPLER, "image", "num_inference_steps", "10", NULL);
  CHECK(s && d && smp);
  if (!(s && d && smp)) return;
  lundi_rng rng = lundi_rng_make(1);
  int32_t nolabels[3] = {-1, -1, -1}; /* unconditional: labeldep sees no labels */
  cb_state st = {.stop_at = 2, .fail_at = -1, .guidance = 1, .labels = nolabels};
  lundi_tensor *init = bt_tensor(3, (int64_t[]){3, 2, 2}, (float[]){7, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11});
  lundi_pipeline_parts parts = {.scheduler = s, .denoiser = d};
  lundi_sample_request req = {.batch = 3, .ndim = 2, .shape = {2, 2}, .init = init, .rng = &rng, .callback = cb,
                              .callback_ud = &st};
  g_calls = 0;
  g_module = lundi_module_new("labeldep");
  g_training_seen = 0;
  lundi_tensor *x = lundi_sampler_sample(smp, &parts, &req);
  CHECK(x && st.calls == 3 && g_calls == 3); /* stopped early after step 2 */
  CHECK(!g_training_seen && lundi_module_training(g_module)); /* eval mode inside, restored after */
  CHECK(g_first_x == 7);                      /* started from init */
  CHECK(st.ts[0] == 900 && st.ts[2] == 700);
  if (x) {
    float *v = t_read(x);
    for (int j = 0; j < 12; j++) CHECK(v[j] == st.last[j]);
    free(v);
  }
  lundi_release(x);
  /* a failing callback fails the sample, with its message or a generic one */
  st = (cb_state){.stop_at = -1, .fail_at = 1, .set_msg = 1, .guidance = 1, .labels = nolabels};
  CHECK_ERR(lundi_sampler_sample(smp, &parts, &req), "boom at 1");
  st = (cb_state){.stop_at = -1, .fail_at = 0, .guidance = 1, .labels = nolabels};
  CHECK_ERR(lundi_sampler_sample(smp, &parts, &req), "callback failed at step 0");
  /* request checks */
  lundi_tensor *bad = lundi_zeros(3, (int64_t[]){3, 2, 3});
  req.init = bad;
  CHECK_ERR(lundi_sampler_sample(smp, &parts, &req), "init [3,2,3]");
  req.init = NULL;
  req.rng = NULL;
  CHECK_ERR(lundi_sampler_sample(smp, &parts, &req), "needs an rng");
  req.rng = &rng;
  parts.denoiser = NULL;
  CHECK_ERR(lundi_sampler_sample(smp, &parts, &req), "no denoiser");
  lundi_release(bad);
  lundi_release(init);
  CHECK(lundi_grad_enabled()); /* the no_grad scope was left on every path */
  CHECK(lundi_module_training(g_module));
  lundi_module_free(g_module);
  g_module = NULL;
  lundi_instance_free(s);
  lundi_instance_free(d);
  lundi_instance_free(smp);
}

/* ---- schemas: the registry validates every built-in's params ---- */

static void schemas(void) {
  const struct {
    lundi_plugin_kind k;
    const char *name, *key, *bad, *needle;
  } t[] = {
      {LUNDI_SCHEDULER, "ddpm", "beta_schedule", "cosine", "squaredcos_cap_v2"},
      {LUNDI_SCHEDULER, "ddpm", "num_train_timesteps", "0", "num_train_timesteps"},
      {LUNDI_DENOISER, "unet2d", "preset", "big", "mnist-tiny"},
      {LUNDI_CONDITIONER, "class", "cond_drop_prob", "1.5", "cond_drop_prob"},
      {LUNDI_SAMPLER, "image", "num_inference_steps", "0", "num_inference_steps"},
      {LUNDI_SAMPLER, "image", "guidance_scale", "abc", "guidance_scale"},
  };
  for (size_t i = 0; i < sizeof t / sizeof *t; i++) {
    const lundi_plugin *p = lundi_registry_find(R, t[i].k, t[i].name);
    CHECK(p && !strcmp(lundi_plugin_origin(p), "builtin"));
    if (!p) continue;
    lundi_params *ps = lundi_plugin_params(p);
    CHECK_ERR(lundi_params_set(ps, t[i].key, t[i].bad), t[i].needle);
    CHECK_ERR(lundi_params_set(ps, "no_such_param", "1"), "no_such_param");
    lundi_params_free(ps);
  }
  /* unknown keys list the valid ones */
  const lundi_plugin *p = lundi_registry_find(R, LUNDI_SAMPLER, "image");
  lundi_params *ps = p ? lundi_plugin_params(p) : NULL;
  CHECK_ERR(lundi_params_set(ps, "steps", "5"), "num_inference_steps");
  lundi_params_free(ps);
}

static void run(void (*fn)(void)) {
  setup();
  if (!R) {
    t_failures++;
    return;
  }
  int64_t live = lundi_live_tensors();
  fn();
  CHECK(lundi_live_tensors() == live);
  lundi_registry_free(R);
}

#define CASE(f)                                                                                    \
  static void case_##f(void) { run(f); }
CASE(class_conditioner)
CASE(unet2d_plugin)
CASE(sampler_cfg)
CASE(sampler_callback)
CASE(schemas)

static const test_case cases[] = {
    {"class_conditioner", case_class_conditioner}, {"unet2d_plugin", case_unet2d_plugin},
    {"sampler_cfg", case_sampler_cfg},             {"sampler_callback", case_sampler_callback},
    {"schemas", case_schemas},
};
TEST_MAIN(cases)
