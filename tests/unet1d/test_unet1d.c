/* The unet1d denoiser (plugins/denoisers/unet1d.c) on the CPU: output shapes for several
 * horizons and levels, the horizon rule, input and config errors, the parameter count and
 * names, the step embedding, gradients against finite differences, a few AdamW steps, and
 * the plugin. */
#include "common.h"
#include "lundi/cpu.h"
#include "lundi/plugin.h"
#include "fd_dir.h"
#include "naive.h"

/* ---- shapes ---- */

/* x [B, T, A] -> [B, T, A], finite, for every T that is a multiple of 2^(levels - 1). */
static void check_shape(const char *dims, int T) {
  lundi_unet1d_config c = u1_tiny();
  CHECK(!lundi_unet1d_parse_dims(dims, &c));
  lundi_unet1d *u = u1_model(&c, 1);
  lundi_rng rng = lundi_rng_make(T);
  lundi_tensor *x = lundi_randn(&rng, 3, (int64_t[]){3, T, 2}), *g = lundi_randn(&rng, 2, (int64_t[]){3, 3});
  lundi_tensor *t = lundi_from_f32(1, (int64_t[]){3}, (float[]){0, 17, 99});
  lundi_tensor *y = u ? lundi_unet1d_forward(u, x, t, g) : NULL;
  CHECK(y && lundi_ndim(y) == 3 && lundi_dim(y, 0) == 3 && lundi_dim(y, 1) == T && lundi_dim(y, 2) == 2);
  if (y) {
    float *v = t_read(y);
    int finite = 1;
    for (int64_t i = 0; i < lundi_numel(y); i++) finite &= isfinite(v[i]) != 0;
    free(v);
    CHECK(finite && lundi_is_contiguous(y));
  }
  if (!y) fprintf(stderr, "down_dims %s, T %d\n", dims, T);
  lundi_release(x), lundi_release(g), lundi_release(t), lundi_release(y);
  lundi_unet1d_free(u);
}

static void shapes(void) {
  const int one[] = {1, 3, 7, 16}, two[] = {2, 8, 10, 16}, three[] = {4, 8, 12, 16, 32};
  for (int i = 0; i < 4; i++) check_shape("8", one[i]);
  for (int i = 0; i < 4; i++) check_shape("4,8", two[i]);
  for (int i = 0; i < 5; i++) check_shape("4,8,8", three[i]);
  CHECK(lundi_live_tensors() == 0);
}

/* T not a multiple of 2^(levels - 1) is refused, naming the rule. */
static void horizon_errors(void) {
  lundi_unet1d_config c = u1_tiny();
  CHECK(!lundi_unet1d_parse_dims("4,8,8", &c));
  CHECK(lundi_unet1d_horizon_multiple(&c) == 4);
  lundi_unet1d *u = u1_model(&c, 1);
  lundi_rng rng = lundi_rng_make(2);
  lundi_tensor *g = lundi_randn(&rng, 2, (int64_t[]){1, 3}), *t = lundi_zeros(1, (int64_t[]){1});
  const int bad[] = {2, 6, 10, 15};
  for (int i = 0; i < 4; i++) {
    lundi_tensor *x = lundi_randn(&rng, 3, (int64_t[]){1, bad[i], 2});
    char want[96];
    snprintf(want, sizeof want, "horizon T = %d must be a multiple of 4", bad[i]);
    CHECK_ERR(u ? lundi_unet1d_forward(u, x, t, g) : NULL, want);
    lundi_release(x);
  }
  lundi_release(g), lundi_release(t);
  lundi_unet1d_free(u);
  CHECK(lundi_live_tensors() == 0);
}

static void input_errors(void) {
  lundi_unet1d_config c = u1_tiny();
  lundi_unet1d *u = u1_model(&c, 1);
  lundi_rng rng = lundi_rng_make(3);
  lundi_tensor *x = lundi_randn(&rng, 3, (int64_t[]){2, 8, 2}), *t = lundi_zeros(1, (int64_t[]){2});
  lundi_tensor *g = lundi_randn(&rng, 2, (int64_t[]){2, 3}), *g4 = lundi_randn(&rng, 2, (int64_t[]){2, 4});
  lundi_tensor *xa = lundi_randn(&rng, 3, (int64_t[]){2, 8, 3}), *x2 = lundi_randn(&rng, 2, (int64_t[]){2, 8});
  lundi_tensor *t3 = lundi_zeros(1, (int64_t[]){3});
  CHECK(u != NULL);
  if (u) {
    CHECK_ERR(lundi_unet1d_forward(u, xa, t, g), "sample [2,8,3] must be [B, T, action_dim = 2]");
    CHECK_ERR(lundi_unet1d_forward(u, x2, t, g), "sample [2,8] must be [B, T, action_dim = 2]");
    CHECK_ERR(lundi_unet1d_forward(u, x, t3, g), "diffusion steps [3] must be [B = 2]");
    CHECK_ERR(lundi_unet1d_forward(u, x, t, NULL), "global_cond_dim = 3 needs a global condition");
    CHECK_ERR(lundi_unet1d_forward(u, x, t, g4), "global condition [2,4] must be [B = 2, global_cond_dim = 3]");
  }
  lundi_unet1d_free(u);
  c.global_cond_dim = 0;
  u = u1_model(&c, 1);
  CHECK_ERR(u ? lundi_unet1d_forward(u, x, t, g) : NULL, "got a global condition, but global_cond_dim = 0");
  lundi_unet1d_free(u);
  lundi_release(x), lundi_release(t), lundi_release(g), lundi_release(g4), lundi_release(xa), lundi_release(x2);
  lundi_release(t3);
  CHECK(lundi_live_tensors() == 0);
}

static void config_errors(void) {
  lundi_rng rng = lundi_rng_make(1);
  lundi_unet1d_config c = u1_tiny();
  c.n_groups = 3;
  CHECK_ERR(lundi_unet1d_new(&c, &rng), "down_dims[0] = 4 is not a positive multiple of n_groups = 3");
  c = u1_tiny(), c.kernel_size = 4;
  CHECK_ERR(lundi_unet1d_new(&c, &rng), "kernel_size must be odd");
  c = u1_tiny(), c.step_embed_dim = 6 + 1;
  CHECK_ERR(lundi_unet1d_new(&c, &rng), "diffusion_step_embed_dim must be even and at least 4, got 7");
  c = u1_tiny(), c.step_embed_dim = 2;
  CHECK_ERR(lundi_unet1d_new(&c, &rng), "at least 4, got 2");
  c = u1_tiny(), c.action_dim = 0;
  CHECK_ERR(lundi_unet1d_new(&c, &rng), "action_dim must be positive");
  c = u1_tiny(), c.n_levels = 0;
  CHECK_ERR(lundi_unet1d_new(&c, &rng), "down_dims must have 1..6 entries, got 0");
  c = u1_tiny();
  CHECK_ERR(lundi_unet1d_parse_dims("64,x", &c), "down_dims = \"64,x\": item 2 must be an integer");
  CHECK_ERR(lundi_unet1d_parse_dims("64;128", &c), "expected a comma-separated list");
  CHECK_ERR(lundi_unet1d_parse_dims("8,8,8,8,8,8,8", &c), "at most 6 levels");
  CHECK_ERR(lundi_unet1d_parse_dims("", &c), "item 1 must be an integer");
  CHECK(c.n_levels == 2 && c.down_dims[1] == 8); /* a refused list leaves cfg as it was */
  CHECK(!lundi_unet1d_parse_dims(" 256, 512 ,1024", &c) && c.n_levels == 3 && c.down_dims[2] == 1024);
  CHECK(lundi_live_tensors() == 0);
}

/* ---- structure ---- */

/* Counted by hand for action_dim A 2, global_cond_dim 40 (Push-T: 20 numbers x 2 steps),
 * down_dims 64,128, kernel 5, dsed 64, FiLM scale: cond_dim C = 64 + 40 = 104.
 *   Conv1dBlock(i, o) = i o 5 + o (conv) + 2 o (GroupNorm)
 *   res(i, o)         = block(i, o) + block(o, o) + (C 2o + 2o) (FiLM) + [i != o] (i o + o)
 *   step encoder  64 256 + 256 + 256 64 + 64                                =   33088
 *   down 0        res(2, 64) + res(64, 64) + Conv1d(64, 64, 3)
 *                 = 35136 + 54784 + 12352                                   =  102272
 *   down 1        res(64, 128) + res(128, 128) = 158848 + 191488            =  350336
 *   mid           2 res(128, 128)                                           =  382976
 *   up 0          res(256, 64) + res(64, 64) + ConvTranspose1d(64, 64, 4)
 *                 = 132672 + 54784 + 16448                                  =  203904
 *   final         block(64, 64) + Conv1d(64, 2, 1) = 20672 + 130            =   20802
 *   total                                                                   = 1093378 */
static int64_t want_block(int64_t i, int64_t o) { return i * o * 5 + o + 2 * o; }
static int64_t want_res(int64_t i, int64_t o) {
  return want_block(i, o) + want_block(o, o) + 104 * 2 * o + 2 * o + (i != o ? i * o + o : 0);
}

static void param_count(void) {
  lundi_unet1d_config c = lundi_unet1d_defaults();
  c.global_cond_dim = 40;
  int64_t want = 33088 + want_res(2, 64) + want_res(64, 64) + (64 * 64 * 3 + 64) + want_res(64, 128) +
                 want_res(128, 128) + 2 * want_res(128, 128) + want_res(256, 64) + want_res(64, 64) +
                 (64 * 64 * 4 + 64) + want_block(64, 64) + (64 * 2 + 2);
  CHECK(want == 1093378);
  lundi_rng rng = lundi_rng_make(0);
  lundi_unet1d *u = lundi_unet1d_new(&c, &rng);
  CHECK(u && lundi_module_numel(lundi_unet1d_module(u)) == want);
  if (u) fprintf(stderr, "parameters: %lld\n", (long long)lundi_module_numel(lundi_unet1d_module(u)));
  lundi_unet1d_free(u);
  /* bias-only FiLM: every cond encoder loses C o + o */
  c.cond_predict_scale = 0;
  u = lundi_unet1d_new(&c, &rng);
  int64_t film = 105 * (64 + 64 + 128 + 128 + 128 + 128 + 64 + 64);
  CHECK(u && lundi_module_numel(lundi_unet1d_module(u)) == want - film);
  lundi_unet1d_free(u);
  CHECK(lundi_live_tensors() == 0);
}

/* The reference's state_dict names, so that its checkpoints map one to one. */
static void param_names(void) {
  static const char *const want[] = {
      "diffusion_step_encoder.1.weight",        "diffusion_step_encoder.3.bias",
      "down_modules.0.0.blocks.0.block.0.weight", "down_modules.0.0.blocks.0.block.1.weight",
      "down_modules.0.0.blocks.1.block.1.bias", "down_modules.0.0.cond_encoder.1.weight",
      "down_modules.0.0.residual_conv.weight",  "down_modules.0.2.conv.weight",
      "down_modules.1.1.cond_encoder.1.bias",   "mid_modules.1.blocks.1.block.0.bias",
      "up_modules.0.0.residual_conv.bias",      "up_modules.0.2.conv.weight",
      "final_conv.0.block.0.weight",            "final_conv.0.block.1.bias",
      "final_conv.1.weight",
  };
  static const char *const absent[] = {"down_modules.1.2.conv.weight", "down_modules.0.1.residual_conv.weight",
                                       "up_modules.1.0.blocks.0.block.0.weight", "mid_modules.0.residual_conv.weight"};
  lundi_unet1d_config c = u1_tiny();
  lundi_unet1d *u = u1_model(&c, 1);
  lundi_module *m = u ? lundi_unet1d_module(u) : NULL;
  for (size_t i = 0; m && i < sizeof want / sizeof *want; i++) {
    if (!lundi_module_param(m, want[i])) fprintf(stderr, "missing %s\n", want[i]);
    CHECK(lundi_module_param(m, want[i]) != NULL);
  }
  for (size_t i = 0; m && i < sizeof absent / sizeof *absent; i++) CHECK(lundi_module_param(m, absent[i]) == NULL);
  /* shapes in PyTorch's layouts: Conv1d [out, in, k], ConvTranspose1d [in, out, k], FiLM [2 out, C] */
  lundi_tensor *w = m ? lundi_module_param(m, "up_modules.0.2.conv.weight") : NULL;
  CHECK(w && lundi_ndim(w) == 3 && lundi_dim(w, 0) == 4 && lundi_dim(w, 1) == 4 && lundi_dim(w, 2) == 4);
  w = m ? lundi_module_param(m, "down_modules.0.0.blocks.0.block.0.weight") : NULL;
  CHECK(w && lundi_dim(w, 0) == 4 && lundi_dim(w, 1) == 2 && lundi_dim(w, 2) == 3);
  w = m ? lundi_module_param(m, "mid_modules.0.cond_encoder.1.weight") : NULL;
  CHECK(w && lundi_dim(w, 0) == 16 && lundi_dim(w, 1) == 4 + 3);
  lundi_unet1d_free(u);
  CHECK(lundi_live_tensors() == 0);
}

/* [sin(t f_i), cos(t f_i)], f_i = 10000^(-i / (half - 1)): at dim 8, f = 1, 10000^(-1/3),
 * 10000^(-2/3), 1e-4. */
static void step_embedding(void) {
  lundi_tensor *t = lundi_from_f32(1, (int64_t[]){2}, (float[]){0, 50});
  lundi_tensor *e = lundi_unet1d_step_embedding(t, 8);
  CHECK(e && lundi_ndim(e) == 2 && lundi_dim(e, 0) == 2 && lundi_dim(e, 1) == 8);
  if (e) {
    float *v = t_read(e);
    for (int i = 0; i < 4; i++) {
      double f = pow(10000.0, -i / 3.0);
      CHECK_NEAR(v[i], 0, 1e-7);
      CHECK_NEAR(v[4 + i], 1, 1e-7);
      CHECK_NEAR(v[8 + i], sin(50 * f), 1e-6);
      CHECK_NEAR(v[12 + i], cos(50 * f), 1e-6);
    }
    CHECK_NEAR(v[8 + 3], sin(50e-4), 1e-7);
    free(v);
  }
  CHECK_ERR(lundi_unet1d_step_embedding(t, 6 - 3), "width 3 must be even and at least 4");
  lundi_release(e), lundi_release(t);
  CHECK(lundi_live_tensors() == 0);
}

/* ---- the forward against the loops of naive.c ---- */

static void naive_case(const lundi_unet1d_config *c, int T) {
  const int B = 2;
  lundi_unet1d *u = u1_model(c, 8);
  lundi_rng rng = lundi_rng_make(13);
  lundi_tensor *x = lundi_randn(&rng, 3, (int64_t[]){B, T, c->action_dim});
  lundi_tensor *g = c->global_cond_dim ? lundi_randn(&rng, 2, (int64_t[]){B, c->global_cond_dim}) : NULL;
  lundi_tensor *t = lundi_from_f32(1, (int64_t[]){B}, (float[]){7, 63});
  lundi_tensor *y = u ? lundi_unet1d_forward(u, x, t, g) : NULL;
  CHECK(y != NULL);
  if (y) {
    float *xv = t_read(x), *gv = g ? t_read(g) : NULL, *tv = t_read(t), *yv = t_read(y);
    float *want = calloc((size_t)lundi_numel(y), sizeof(float));
    naive_unet1d(c, lundi_unet1d_module(u), xv, tv, gv, B, T, want);
    double d = 0, mx = 0;
    for (int64_t i = 0; i < lundi_numel(y); i++) d = fmax(d, fabs((double)yv[i] - want[i])), mx = fmax(mx, fabs(want[i]));
    fprintf(stderr, "levels %d, T %d: max |unet1d - naive| %.2e of max %.3f\n", c->n_levels, T, d, mx);
    CHECK(mx > 0.05 && d <= 1e-5 * (1 + mx));
    free(xv), free(gv), free(tv), free(yv), free(want);
  }
  lundi_release(x), lundi_release(g), lundi_release(t), lundi_release(y);
  lundi_unet1d_free(u);
  CHECK(lundi_live_tensors() == 0);
}

static void matches_naive(void) {
  lundi_unet1d_config c = u1_tiny();
  CHECK(!lundi_unet1d_parse_dims("4,8,16", &c));
  c.kernel_size = 5, c.step_embed_dim = 8;
  naive_case(&c, 8);
  c = u1_tiny();
  c.n_levels = 1, c.cond_predict_scale = 0, c.global_cond_dim = 0;
  naive_case(&c, 5);
}

/* ---- gradients: every parameter, the sample and the condition ---- */

typedef struct grad_ctx {
  lundi_unet1d *u;
  lundi_tensor *t;
  int with_cond;
} grad_ctx;

static lundi_tensor *grad_fn(lundi_tensor **in, void *vctx) {
  grad_ctx *c = vctx;
  return lundi_unet1d_forward(c->u, in[0], c->t, c->with_cond ? in[1] : NULL);
}

static void grad_case(const lundi_unet1d_config *cfg, int T) {
  /* thousands of forwards of a tiny model: threads would only wait for each other */
  lundi_set_threads(1);
  lundi_unet1d *u = u1_model(cfg, 5);
  lundi_param_list p = {0};
  CHECK(u && !u1_params(u, &p));
  lundi_rng rng = lundi_rng_make(9);
  int with_cond = cfg->global_cond_dim > 0;
  lundi_tensor *x = t_randn(&rng, 3, (int64_t[]){2, T, cfg->action_dim}, 1, 1);
  lundi_tensor *g = with_cond ? t_randn(&rng, 2, (int64_t[]){2, cfg->global_cond_dim}, 1, 1) : NULL;
  lundi_tensor *t = lundi_from_f32(1, (int64_t[]){2}, (float[]){3, 71});
  int n = 1 + with_cond + p.n;
  lundi_tensor **in = calloc((size_t)n, sizeof *in);
  char **names = calloc((size_t)n, sizeof *names);
  in[0] = x, names[0] = "x";
  if (with_cond) in[1] = g, names[1] = "global_cond";
  for (int i = 0; i < p.n; i++) in[1 + with_cond + i] = p.tensors[i], names[1 + with_cond + i] = p.names[i];
  grad_ctx ctx = {u, t, with_cond};
  /* tensors of up to 16 elements element by element, larger ones along 3 random directions */
  double worst = u ? fd_dir_check("unet1d", grad_fn, n, in, names, &ctx, 1e-2, 1e-2, 1e-3, 16, 3) : -1;
  fprintf(stderr, "%d inputs, %lld parameters: worst ratio %.3f\n", n, (long long)lundi_param_list_numel(&p), worst);
  CHECK(worst >= 0 && worst <= 1);
  free(in), free(names);
  lundi_param_list_free(&p);
  lundi_release(x), lundi_release(g), lundi_release(t);
  lundi_unet1d_free(u);
  lundi_set_threads(0);
  CHECK(lundi_live_tensors() == 0);
}

/* two levels: down, FiLM scale and bias, skip concat, upsample */
static void grad_tiny(void) {
  lundi_unet1d_config c = u1_tiny();
  grad_case(&c, 4);
}

/* one level (no resampling), bias-only FiLM, no global condition */
static void grad_bias_only(void) {
  lundi_unet1d_config c = u1_tiny();
  c.n_levels = 1, c.cond_predict_scale = 0, c.global_cond_dim = 0, c.action_dim = 3;
  grad_case(&c, 8);
}

/* ---- a few optimiser steps lower the loss on a fixed batch ---- */

static void overfit(void) {
  lundi_set_threads(1); /* small ops: threads would only wait for each other */
  lundi_unet1d_config c = lundi_unet1d_defaults();
  c.action_dim = 2, c.global_cond_dim = 6, c.down_dims[0] = 16, c.down_dims[1] = 32, c.step_embed_dim = 16;
  lundi_rng rng = lundi_rng_make(4);
  lundi_unet1d *u = lundi_unet1d_new(&c, &rng);
  lundi_param_list p = {0};
  CHECK(u && !u1_params(u, &p));
  lundi_tensor *x = lundi_randn(&rng, 3, (int64_t[]){8, 16, 2}), *g = lundi_randn(&rng, 2, (int64_t[]){8, 6});
  lundi_tensor *target = lundi_randn(&rng, 3, (int64_t[]){8, 16, 2});
  lundi_tensor *t = lundi_randint(&rng, 1, (int64_t[]){8}, 0, 100), *tf = t ? lundi_to_dtype(t, LUNDI_F32) : NULL;
  lundi_adamw_config oc = lundi_adamw_defaults();
  oc.lr = 3e-3f;
  lundi_adamw *opt = u ? lundi_adamw_new(&p, oc) : NULL;
  CHECK(opt != NULL);
  float first = NAN, last = NAN;
  for (int step = 0; opt && step < 30; step++) {
    lundi_adamw_zero_grad(opt);
    lundi_tensor *y = lundi_unet1d_forward(u, x, tf, g);
    lundi_tensor *loss = y ? lundi_mse_loss(y, target) : NULL;
    float v = NAN;
    CHECK(loss && !lundi_item(loss, &v) && !lundi_backward(loss, NULL) && !lundi_adamw_step(opt));
    if (step == 0) first = v;
    last = v;
    lundi_release(y), lundi_release(loss);
    if (!loss) break;
  }
  fprintf(stderr, "mse %.4f -> %.4f after 30 AdamW steps\n", first, last);
  CHECK(last < 0.1f * first);
  lundi_adamw_free(opt);
  lundi_param_list_free(&p);
  lundi_release(x), lundi_release(g), lundi_release(target), lundi_release(t), lundi_release(tf);
  lundi_unet1d_free(u);
  lundi_set_threads(0);
  CHECK(lundi_live_tensors() == 0);
}

/* ---- the plugin ---- */

static void plugin(void) {
  lundi_registry *r = lundi_registry_new();
  CHECK(r && !lundi_registry_load_builtins(r));
  const lundi_plugin *pl = r ? lundi_registry_find(r, LUNDI_DENOISER, "unet1d") : NULL;
  lundi_params *p = pl ? lundi_plugin_params(pl) : NULL;
  CHECK(p && !lundi_params_set(p, "action_dim", "2") && !lundi_params_set(p, "global_cond_dim", "3") &&
        !lundi_params_set(p, "down_dims", "4,8") && !lundi_params_set(p, "kernel_size", "3") &&
        !lundi_params_set(p, "n_groups", "2") && !lundi_params_set(p, "diffusion_step_embed_dim", "4") &&
        !lundi_params_set(p, "seed", "12"));
  lundi_instance *inst = p ? lundi_instance_new(pl, p) : NULL;
  CHECK(inst && lundi_denoiser_module(inst));
  /* the same weights as the C API from the same seed */
  lundi_unet1d_config c = u1_tiny();
  lundi_rng wr = lundi_rng_make(12);
  lundi_unet1d *ref = lundi_unet1d_new(&c, &wr);
  CHECK(ref && inst && lundi_module_numel(lundi_denoiser_module(inst)) == lundi_module_numel(lundi_unet1d_module(ref)));
  lundi_rng rng = lundi_rng_make(2);
  lundi_tensor *x = lundi_randn(&rng, 3, (int64_t[]){2, 8, 2}), *t = lundi_from_f32(1, (int64_t[]){2}, (float[]){5, 9});
  lundi_cond cond = {0};
  cond.vector = lundi_randn(&rng, 2, (int64_t[]){2, 3});
  lundi_tensor *y = inst ? lundi_denoiser_forward(inst, x, t, &cond, &rng) : NULL;
  lundi_tensor *want = ref ? lundi_unet1d_forward(ref, x, t, cond.vector) : NULL;
  CHECK(y && want && t_max_abs_diff(y, want) == 0);
  CHECK_ERR(inst ? lundi_denoiser_forward(inst, x, t, NULL, &rng) : NULL, "needs a global condition");
  lundi_cond bad = {0};
  bad.labels = lundi_from_i32(1, (int64_t[]){2}, (int32_t[]){0, 1});
  CHECK_ERR(inst ? lundi_denoiser_forward(inst, x, t, &bad, &rng) : NULL, "not labels or a context");
  lundi_cond_clear(&bad);
  /* a bad parameter is refused at create */
  lundi_params *q = pl ? lundi_plugin_params(pl) : NULL;
  CHECK(q && !lundi_params_set(q, "down_dims", "64,abc"));
  CHECK_ERR(q ? lundi_instance_new(pl, q) : NULL, "item 2 must be an integer");
  CHECK(q && !lundi_params_set(q, "down_dims", "64,128") && !lundi_params_set(q, "n_groups", "5"));
  CHECK_ERR(q ? lundi_instance_new(pl, q) : NULL, "not a positive multiple of n_groups = 5");
  lundi_params_free(q);
  lundi_release(x), lundi_release(t), lundi_release(y), lundi_release(want);
  lundi_cond_clear(&cond);
  lundi_unet1d_free(ref);
  lundi_instance_free(inst);
  lundi_params_free(p);
  lundi_registry_free(r);
  CHECK(lundi_live_tensors() == 0);
}

static const test_case cases[] = {
    {"shapes", shapes},
    {"horizon_errors", horizon_errors},
    {"input_errors", input_errors},
    {"config_errors", config_errors},
    {"param_count", param_count},
    {"param_names", param_names},
    {"step_embedding", step_embedding},
    {"matches_naive", matches_naive},
    {"grad_tiny", grad_tiny},
    {"grad_bias_only", grad_bias_only},
    {"overfit", overfit},
    {"plugin", plugin},
};
TEST_MAIN(cases)
