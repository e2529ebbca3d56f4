/* The transformer denoiser on the CPU: shapes and parameter names, initialisation, input and
 * config errors, causality, gradients against finite differences, dropout, the plugin, and a
 * small overfit with AdamW. */
#include "common.h"
#include "fd_check.h"
#include "lundi/plugin.h"

#include <time.h>

/* ---- structure ---- */

static void param_count(void) {
  lundi_transformer_config c = lundi_transformer_defaults();
  /* V 260, D 128, F 352 (8/3 * 128 = 341 -> 352), 4 layers:
   * 260*128 + 4*(4*128^2 + 3*128*352 + 2*128) + 128 + 260*128 */
  CHECK(lundi_transformer_d_ff(&c) == 352);
  lundi_transformer *tf = lundi_transformer_new(&c);
  CHECK(tf && lundi_module_numel(lundi_transformer_module(tf)) == 870528);
  CHECK(lundi_transformer_param_count(&c) == 870528);
  lundi_transformer_free(tf);
  c.d_model = 256, c.n_layers = 6;
  CHECK(lundi_transformer_d_ff(&c) == 704);
  c.tie_embeddings = 1, c.d_ff = 100, c.vocab_size = 50, c.n_heads = 8;
  tf = lundi_transformer_new(&c);
  int64_t want = 50 * 256 + 6 * (4 * 256 * 256 + 3 * 256 * 100 + 2 * 256) + 256;
  CHECK(tf && lundi_module_numel(lundi_transformer_module(tf)) == want);
  CHECK(lundi_transformer_param_count(&c) == want);
  lundi_transformer_free(tf);
  CHECK(lundi_live_tensors() == 0);
}

static void param_names(void) {
  static const char *const want[] = {
      "head.weight",
      "layers.0.attn.wk.weight",
      "layers.0.attn.wo.weight",
      "layers.0.attn.wq.weight",
      "layers.0.attn.wv.weight",
      "layers.0.attn_norm.weight",
      "layers.0.ffn.w1.weight",
      "layers.0.ffn.w2.weight",
      "layers.0.ffn.w3.weight",
      "layers.0.ffn_norm.weight",
      "layers.1.attn.wk.weight",
      "layers.1.attn.wo.weight",
      "layers.1.attn.wq.weight",
      "layers.1.attn.wv.weight",
      "layers.1.attn_norm.weight",
      "layers.1.ffn.w1.weight",
      "layers.1.ffn.w2.weight",
      "layers.1.ffn.w3.weight",
      "layers.1.ffn_norm.weight",
      "norm.weight",
      "tok_emb.weight",
  };
  lundi_transformer_config c = tt_tiny(0);
  lundi_transformer *tf = lundi_transformer_new(&c);
  lundi_param_list p = {0};
  CHECK(tf && !tt_params(tf, &p));
  int n = (int)(sizeof want / sizeof *want);
  CHECK(p.n == n);
  for (int i = 0; i < n && i < p.n; i++) {
    if (strcmp(p.names[i], want[i])) fprintf(stderr, "param %d: got %s, want %s\n", i, p.names[i], want[i]);
    CHECK(!strcmp(p.names[i], want[i]));
  }
  /* shapes follow the [out, in] Linear convention */
  lundi_tensor *w1 = lundi_param_list_find(&p, "layers.1.ffn.w1.weight");
  lundi_tensor *w2 = lundi_param_list_find(&p, "layers.1.ffn.w2.weight");
  CHECK(w1 && lundi_dim(w1, 0) == 12 && lundi_dim(w1, 1) == 8);
  CHECK(w2 && lundi_dim(w2, 0) == 8 && lundi_dim(w2, 1) == 12);
  lundi_tensor *e = lundi_param_list_find(&p, "tok_emb.weight"), *h = lundi_param_list_find(&p, "head.weight");
  CHECK(e && lundi_dim(e, 0) == 7 && lundi_dim(e, 1) == 8 && h && lundi_dim(h, 0) == 7 && lundi_dim(h, 1) == 8);
  lundi_param_list_free(&p);
  lundi_transformer_free(tf);
  /* tied: no head.weight, the head is the embedding */
  c.tie_embeddings = 1;
  tf = lundi_transformer_new(&c);
  CHECK(tf && !tt_params(tf, &p));
  CHECK(p.n == n - 1 && !lundi_param_list_find(&p, "head.weight"));
  lundi_param_list_free(&p);
  lundi_transformer_free(tf);
  CHECK(lundi_live_tensors() == 0);
}

/* Max |a - b| over two models' parameters of the same names (-1 when they differ in names). */
static double weights_diff(lundi_transformer *a, lundi_transformer *b) {
  lundi_param_list pa = {0}, pb = {0};
  double d = -1;
  if (!tt_params(a, &pa) && !tt_params(b, &pb) && pa.n == pb.n) {
    d = 0;
    for (int i = 0; i < pa.n; i++) {
      if (strcmp(pa.names[i], pb.names[i])) return -1;
      d = fmax(d, t_max_abs_diff(pa.tensors[i], pb.tensors[i]));
    }
  }
  lundi_param_list_free(&pa);
  lundi_param_list_free(&pb);
  return d;
}

static void seed_weights(void) {
  lundi_transformer_config c = lundi_transformer_defaults();
  c.d_model = 32, c.n_layers = 2, c.seed = 5;
  lundi_transformer *a = lundi_transformer_new(&c), *b = lundi_transformer_new(&c);
  c.seed = 6;
  lundi_transformer *other = lundi_transformer_new(&c);
  CHECK(a && b && other);
  CHECK(weights_diff(a, b) == 0);
  CHECK(weights_diff(a, other) > 0.01);
  /* init: weights ~ N(0, 0.02), the residual outputs (wo, w2) ~ N(0, 0.02 / sqrt(4)), norms 1 */
  lundi_module *m = lundi_transformer_module(a);
  struct {
    const char *name;
    double mean, std;
  } want[] = {{"tok_emb.weight", 0, 0.02},        {"layers.0.attn.wq.weight", 0, 0.02},
              {"layers.1.ffn.w3.weight", 0, 0.02}, {"layers.1.attn.wo.weight", 0, 0.01},
              {"layers.0.ffn.w2.weight", 0, 0.01}, {"head.weight", 0, 0.02},
              {"norm.weight", 1, 0},               {"layers.1.ffn_norm.weight", 1, 0}};
  for (size_t i = 0; i < sizeof want / sizeof *want; i++) {
    lundi_tensor *t = lundi_module_param(m, want[i].name);
    CHECK(t != NULL);
    if (!t) continue;
    int64_t n = lundi_numel(t);
    float *v = t_read(t);
    double s = 0, s2 = 0;
    for (int64_t k = 0; k < n; k++) s += v[k], s2 += (double)v[k] * v[k];
    double mean = s / n, sd = sqrt(fmax(0, s2 / n - mean * mean));
    if (fabs(sd - want[i].std) > 0.1 * want[i].std + 1e-7 || fabs(mean - want[i].mean) > 0.1 * want[i].std + 1e-7)
      fprintf(stderr, "%s: mean %g std %g, want %g %g\n", want[i].name, mean, sd, want[i].mean, want[i].std);
    CHECK_NEAR(sd, want[i].std, 0.1 * want[i].std + 1e-7);
    CHECK_NEAR(mean, want[i].mean, 0.1 * want[i].std + 1e-7);
    free(v);
  }
  lundi_transformer_free(a);
  lundi_transformer_free(b);
  lundi_transformer_free(other);
  CHECK(lundi_live_tensors() == 0);
}

/* ---- errors ---- */

static void input_errors(void) {
  lundi_transformer_config c = tt_tiny(0);
  lundi_transformer *tf = lundi_transformer_new(&c);
  CHECK(tf != NULL);
  int32_t ids[2][4] = {{1, 2, 3, 4}, {0, 6, 7, 5}};
  lundi_tensor *x = lundi_from_i32(2, (int64_t[]){2, 4}, &ids[0][0]);
  CHECK_ERR(lundi_transformer_forward(tf, x, NULL), "token id 7 at [1, 2] is outside the vocabulary [0, 7)");
  lundi_release(x);
  ids[1][2] = -3;
  x = lundi_from_i32(2, (int64_t[]){2, 4}, &ids[0][0]);
  CHECK_ERR(lundi_transformer_forward(tf, x, NULL), "token id -3 at [1, 2]");
  lundi_release(x);
  ids[1][2] = 1;
  x = lundi_from_i32(2, (int64_t[]){2, 4}, &ids[0][0]);
  lundi_tensor *y = lundi_transformer_forward(tf, x, NULL);
  CHECK(y && lundi_ndim(y) == 3 && lundi_dim(y, 0) == 2 && lundi_dim(y, 1) == 4 && lundi_dim(y, 2) == 7);
  lundi_release(y);
  /* a strided view of ids: positions are the view's */
  lundi_tensor *col = lundi_slice(x, 1, 1, 4, 2); /* columns 1 and 3 */
  y = col ? lundi_transformer_forward(tf, col, NULL) : NULL;
  CHECK(y && lundi_dim(y, 1) == 2);
  lundi_release(y);
  lundi_release(col);
  lundi_tensor *f = lundi_to_dtype(x, LUNDI_F32);
  CHECK_ERR(lundi_transformer_forward(tf, f, NULL), "token ids must be i32, got f32");
  lundi_release(f);
  lundi_tensor *flat = lundi_reshape(x, 1, (int64_t[]){8});
  CHECK_ERR(lundi_transformer_forward(tf, flat, NULL), "token ids [8] must be [N, L]");
  lundi_release(flat);
  lundi_release(x);
  lundi_rng rng = lundi_rng_make(1);
  x = tt_ids(&rng, 1, 17, 7);
  CHECK_ERR(lundi_transformer_forward(tf, x, NULL), "sequence length 17 (token ids [1,17]) exceeds max_len 16");
  lundi_release(x);
  CHECK_ERR(lundi_transformer_forward(tf, NULL, NULL), "token ids are NULL");
  lundi_transformer_free(tf);
  CHECK(lundi_live_tensors() == 0);
}

static void config_errors(void) {
  lundi_transformer_config c = lundi_transformer_defaults();
  c.n_heads = 3;
  CHECK_ERR(lundi_transformer_new(&c), "d_model 128 must split into n_heads 3 heads of an even size");
  c.n_heads = 128; /* head size 1: RoPE needs pairs */
  CHECK_ERR(lundi_transformer_new(&c), "n_heads 128");
  c = lundi_transformer_defaults(), c.dropout = 1;
  CHECK_ERR(lundi_transformer_new(&c), "dropout 1 must be in [0, 1)");
  c = lundi_transformer_defaults(), c.n_layers = 0;
  CHECK_ERR(lundi_transformer_new(&c), "n_layers 0 must be >= 1");
  c = lundi_transformer_defaults(), c.vocab_size = 0;
  CHECK_ERR(lundi_transformer_new(&c), "vocab_size 0");
  c = lundi_transformer_defaults(), c.max_len = 0;
  CHECK_ERR(lundi_transformer_new(&c), "max_len 0");
  CHECK(lundi_live_tensors() == 0);
}

/* ---- causality ---- */

/* Largest |change| of the logits at positions [from, to) when token j of row 0 changes. */
static void position_changes(lundi_transformer *tf, int j, double *before_j, double *from_j) {
  lundi_rng rng = lundi_rng_make(3);
  lundi_tensor *a = tt_ids(&rng, 2, 10, 7);
  int32_t *p = lundi_data(a);
  int32_t ids[20];
  memcpy(ids, p, sizeof ids);
  ids[j] = (ids[j] + 3) % 7;
  lundi_tensor *b = lundi_from_i32(2, (int64_t[]){2, 10}, ids);
  lundi_tensor *ya = lundi_transformer_forward(tf, a, NULL), *yb = lundi_transformer_forward(tf, b, NULL);
  CHECK(ya && yb);
  *before_j = *from_j = 0;
  if (ya && yb) {
    float *va = t_read(ya), *vb = t_read(yb);
    for (int l = 0; l < 10; l++)
      for (int v = 0; v < 7; v++) {
        double d = fabs(va[l * 7 + v] - vb[l * 7 + v]);
        if (l < j) *before_j = fmax(*before_j, d);
        else *from_j = fmax(*from_j, d);
      }
    /* row 1 did not change at all */
    for (int k = 70; k < 140; k++) CHECK(va[k] == vb[k]);
    free(va);
    free(vb);
  }
  lundi_release(a), lundi_release(b), lundi_release(ya), lundi_release(yb);
}

static void causality(void) {
  for (int causal = 0; causal < 2; causal++) {
    lundi_transformer_config c = tt_tiny(causal);
    lundi_transformer *tf = tt_model(&c, 2);
    CHECK(tf != NULL);
    for (int j = 1; tf && j < 10; j += 4) {
      double before, from;
      position_changes(tf, j, &before, &from);
      CHECK(from > 1e-3);
      if (causal) {
        if (before != 0) fprintf(stderr, "causal: token %d moved an earlier logit by %g\n", j, before);
        CHECK(before == 0);
      } else {
        CHECK(before > 1e-3);
      }
    }
    lundi_transformer_free(tf);
  }
  CHECK(lundi_live_tensors() == 0);
}

/* ---- gradients ---- */

typedef struct gc_ctx {
  lundi_transformer *tf;
  lundi_tensor *ids;
} gc_ctx;

static lundi_tensor *gc_forward(lundi_tensor **in, void *ctx) {
  (void)in; /* the parameters, perturbed in place by fd_check */
  gc_ctx *g = ctx;
  return lundi_transformer_forward(g->tf, g->ids, NULL);
}

/* Every parameter's gradient against finite differences; each must also be far from zero,
 * so a parameter the forward forgot (or whose gradient is lost) cannot pass. */
static void grad_case(int causal, int tied) {
  lundi_transformer_config c = tt_tiny(causal);
  c.tie_embeddings = tied;
  lundi_transformer *tf = tt_model(&c, 9);
  lundi_param_list p = {0};
  CHECK(tf && !tt_params(tf, &p));
  lundi_rng rng = lundi_rng_make(4);
  gc_ctx g = {tf, tt_ids(&rng, 2, 5, 7)};
  char name[64];
  snprintf(name, sizeof name, "transformer causal=%d tied=%d", causal, tied);
  double worst = fd_check(name, gc_forward, p.n, p.tensors, p.names, &g, 2e-2, 1e-2, 1e-3);
  fprintf(stderr, "%s: worst |analytic - numeric| / tolerance %.3f\n", name, worst);
  CHECK(worst >= 0 && worst <= 1);
  for (int i = 0; i < p.n; i++) {
    lundi_tensor *gr = lundi_grad(p.tensors[i]);
    double mx = 0;
    float *v = gr ? t_read(gr) : NULL;
    for (int64_t k = 0; v && k < lundi_numel(gr); k++) mx = fmax(mx, fabs(v[k]));
    free(v);
    if (!(mx > 0.05)) fprintf(stderr, "%s: %s has max |grad| %g\n", name, p.names[i], mx);
    CHECK(mx > 0.05);
  }
  lundi_release(g.ids);
  lundi_param_list_free(&p);
  lundi_transformer_free(tf);
  CHECK(lundi_live_tensors() == 0);
}

static void grad_bidirectional(void) { grad_case(0, 0); }
static void grad_causal(void) { grad_case(1, 0); }
static void grad_tied(void) { grad_case(0, 1); }

/* ---- dropout ---- */

static void dropout(void) {
  lundi_transformer_config c = tt_tiny(0);
  c.dropout = 0.3f;
  lundi_transformer *tf = lundi_transformer_new(&c);
  c.dropout = 0;
  lundi_transformer *plain = lundi_transformer_new(&c);
  CHECK(tf && plain);
  lundi_rng rng = lundi_rng_make(1), r1 = lundi_rng_make(50), r2 = lundi_rng_make(50), r3 = lundi_rng_make(51);
  lundi_tensor *x = tt_ids(&rng, 2, 6, 7);
  CHECK_ERR(lundi_transformer_forward(tf, x, NULL), "dropout 0.3 while training needs an rng");
  lundi_tensor *a = lundi_transformer_forward(tf, x, &r1), *b = lundi_transformer_forward(tf, x, &r2);
  lundi_tensor *d = lundi_transformer_forward(tf, x, &r3), *ref = lundi_transformer_forward(plain, x, NULL);
  CHECK(a && b && d && ref);
  CHECK(t_max_abs_diff(a, b) == 0);  /* the same rng state: the same masks */
  CHECK(r1.offset == r2.offset && r1.offset > 50);
  CHECK(t_max_abs_diff(a, d) > 1e-3);  /* another stream: other masks */
  CHECK(t_max_abs_diff(a, ref) > 1e-3); /* dropout did something */
  /* eval mode: no dropout, no rng needed, the plain model's logits */
  lundi_module_set_training(lundi_transformer_module(tf), 0);
  lundi_tensor *e = lundi_transformer_forward(tf, x, NULL);
  CHECK(e && t_max_abs_diff(e, ref) == 0);
  lundi_release(x), lundi_release(a), lundi_release(b), lundi_release(d), lundi_release(ref), lundi_release(e);
  lundi_transformer_free(tf);
  lundi_transformer_free(plain);
  CHECK(lundi_live_tensors() == 0);
}

/* ---- the plugin ---- */

static lundi_instance *make_plugin(lundi_registry *r, const char *const *kv) {
  const lundi_plugin *pl = lundi_registry_find(r, LUNDI_DENOISER, "transformer");
  lundi_params *p = pl ? lundi_plugin_params(pl) : NULL;
  int ok = p != NULL;
  for (int i = 0; ok && kv[i]; i += 2) ok = !lundi_params_set(p, kv[i], kv[i + 1]);
  lundi_instance *inst = ok ? lundi_instance_new(pl, p) : NULL;
  lundi_params_free(p);
  return inst;
}

static void plugin(void) {
  lundi_set_default_device(lundi_cpu()); /* where create() places the model; auto may pick a GPU */
  lundi_registry *r = lundi_registry_new();
  CHECK(r && !lundi_registry_load_builtins(r));
  const char *const kv[] = {"vocab_size", "7",  "d_model", "8", "n_heads", "2",    "d_ff",        "12",
                            "n_layers",   "2",  "max_len", "16", "seed",   "11",   "init_std",   "0.3",
                            "causal",     "true", NULL};
  lundi_instance *inst = make_plugin(r, kv);
  CHECK(inst != NULL);
  lundi_transformer_config c = tt_tiny(1);
  lundi_transformer *ref = lundi_transformer_new(&c); /* the same config, built directly */
  lundi_rng rng = lundi_rng_make(2);
  lundi_tensor *x = tt_ids(&rng, 3, 9, 7), *t = lundi_full(1, (int64_t[]){3}, 0.5f);
  lundi_tensor *t2 = lundi_full(1, (int64_t[]){3}, 0.9f);
  lundi_tensor *y = inst ? lundi_denoiser_forward(inst, x, t, NULL, &rng) : NULL;
  lundi_cond cond = {.labels = lundi_from_i32(1, (int64_t[]){3}, (int32_t[]){1, 2, 3})};
  lundi_tensor *y2 = inst ? lundi_denoiser_forward(inst, x, t2, &cond, &rng) : NULL; /* t, cond: no effect */
  lundi_tensor *want = lundi_transformer_forward(ref, x, NULL);
  CHECK(y && y2 && want && lundi_dim(y, 0) == 3 && lundi_dim(y, 1) == 9 && lundi_dim(y, 2) == 7);
  CHECK(t_max_abs_diff(y, want) == 0 && t_max_abs_diff(y2, want) == 0);
  lundi_module *m = inst ? lundi_denoiser_module(inst) : NULL;
  CHECK(m && lundi_module_numel(m) == lundi_transformer_param_count(&c));
  /* errors come back through the wrapper, prefixed with the plugin's name */
  lundi_tensor *f = lundi_to_dtype(x, LUNDI_F32);
  CHECK_ERR(lundi_denoiser_forward(inst, f, t, NULL, &rng), "token ids must be i32");
  const char *const bad[] = {"n_heads", "3", NULL};
  CHECK_ERR(make_plugin(r, bad), "n_heads 3");
  lundi_cond_clear(&cond);
  lundi_release(f), lundi_release(x), lundi_release(t), lundi_release(t2), lundi_release(y), lundi_release(y2);
  lundi_release(want);
  lundi_transformer_free(ref);
  lundi_instance_free(inst);
  lundi_registry_free(r);
  CHECK(lundi_live_tensors() == 0);
}

/* ---- overfit: AdamW memorises random targets for a fixed batch ---- */

static double seconds(void) {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return ts.tv_sec + ts.tv_nsec * 1e-9;
}

static void overfit_case(int causal) {
  lundi_transformer_config c = lundi_transformer_defaults();
  c.vocab_size = 16, c.d_model = 32, c.n_heads = 2, c.n_layers = 2, c.max_len = 32, c.causal = causal, c.seed = 3;
  lundi_transformer *tf = lundi_transformer_new(&c);
  lundi_param_list p = {0};
  CHECK(tf && !tt_params(tf, &p));
  lundi_rng rng = lundi_rng_make(8);
  lundi_tensor *x = tt_ids(&rng, 8, 12, 16), *target = tt_ids(&rng, 8, 12, 16);
  /* row r starts with token r, so no two rows share a prefix: every target is learnable
   * causally too */
  int32_t *xv = lundi_data(x);
  for (int r = 0; r < 8; r++) xv[r * 12] = r;
  lundi_adamw_config oc = lundi_adamw_defaults();
  oc.lr = 1e-2f;
  lundi_adamw *opt = lundi_adamw_new(&p, oc);
  CHECK(opt != NULL);
  double t0 = seconds(), first = 0, last = 0;
  for (int step = 0; opt && step < 300; step++) {
    lundi_tensor *y = lundi_transformer_forward(tf, x, NULL);
    lundi_tensor *loss = y ? lundi_cross_entropy(y, target, NULL, -100, 0) : NULL;
    float v = NAN;
    int ok = loss && !lundi_item(loss, &v) && !lundi_backward(loss, NULL) && !lundi_adamw_step(opt);
    lundi_module_zero_grad(lundi_transformer_module(tf));
    lundi_release(y), lundi_release(loss);
    CHECK(ok);
    if (!ok) break;
    if (step == 0) first = v;
    last = v;
  }
  fprintf(stderr, "overfit causal=%d: loss %.4f -> %.5f in %.2f s\n", causal, first, last, seconds() - t0);
  CHECK(first > 2.0);       /* about log 16 = 2.77 at the start */
  CHECK(last < first / 50); /* memorised */
  lundi_adamw_free(opt);
  lundi_release(x), lundi_release(target);
  lundi_param_list_free(&p);
  lundi_transformer_free(tf);
  CHECK(lundi_live_tensors() == 0);
}

static void overfit(void) { overfit_case(0); }
static void overfit_causal(void) { overfit_case(1); }

static const test_case cases[] = {
    {"param_count", param_count},
    {"param_names", param_names},
    {"seed_weights", seed_weights},
    {"input_errors", input_errors},
    {"config_errors", config_errors},
    {"causality", causality},
    {"grad_bidirectional", grad_bidirectional},
    {"grad_causal", grad_causal},
    {"grad_tied", grad_tied},
    {"dropout", dropout},
    {"plugin", plugin},
    {"overfit", overfit},
    {"overfit_causal", overfit_causal},
};
TEST_MAIN(cases)
