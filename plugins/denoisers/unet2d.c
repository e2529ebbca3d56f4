/* unet2d: time/class-conditioned U-Net with skip concatenation (Ho et al. 2020, with the
 * ADM layout of Dhariwal & Nichol 2021: a skip after the stem, every res block and every
 * downsample, consumed one per up-path res block). */
#include "unet2d.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define MAX_BLOCKS 64

typedef struct res_block {
  lundi_module *norm1, *conv1, *temb, *norm2, *conv2, *skip; /* borrowed from the tree */
  int cin, cout;
} res_block;

typedef struct attn_block {
  lundi_module *norm, *attn, *norm_x, *xattn;
  int ch;
} attn_block;

/* One step of the U-Net as a flat program, so forward is a loop, not a recursion. */
typedef enum { OP_RES, OP_ATTN, OP_DOWN, OP_UP, OP_PUSH } op_kind;
typedef struct step {
  op_kind kind;
  int index; /* into res[] / attn[] / conv[] */
  int pop;   /* res block consumes a skip first */
} step;

struct lundi_unet2d {
  lundi_unet2d_config cfg;
  lundi_module *root;
  lundi_module *t_lin1, *t_lin2, *class_emb, *conv_in, *norm_out, *conv_out;
  res_block res[MAX_BLOCKS];
  attn_block attn[MAX_BLOCKS];
  lundi_module *resample[MAX_BLOCKS];
  step prog[4 * MAX_BLOCKS];
  int n_res, n_attn, n_resample, n_prog, n_skips;
};

int lundi_unet2d_preset(const char *name, lundi_unet2d_config *c) {
  memset(c, 0, sizeof *c);
  c->in_channels = c->out_channels = 1;
  c->n_levels = 3;
  c->channel_mult[0] = 1, c->channel_mult[1] = 2, c->channel_mult[2] = 4;
  c->res_down = 2, c->res_up = 3;
  c->mid_attention = 1;
  c->heads = 4;
  c->groups = 8;
  c->time_freq_dim = 128;
  c->num_classes = 10;
  if (!strcmp(name, "mnist-unet")) {
    c->base_channels = 32;
    c->time_dim = 128;
    return 0;
  }
  if (!strcmp(name, "mnist-tiny")) {
    c->base_channels = 16;
    c->n_levels = 2;
    c->channel_mult[2] = 0;
    c->res_down = 1, c->res_up = 2;
    c->time_freq_dim = 64;
    c->time_dim = 64;
    return 0;
  }
  return lundi_set_error(LUNDI_EINVAL, "unet2d: unknown preset '%s' (known: mnist-unet, mnist-tiny)", name);
}

/* Adds child under a dotted path ("0.res.1"), creating plain containers on the way, so
 * parameter names read like down.0.res.1.conv1.weight. */
static int add(lundi_module *parent, const char *path, lundi_module *child, lundi_module **slot) {
  if (!child) return -1;
  char seg[64];
  const char *dot;
  while ((dot = strchr(path, '.'))) {
    size_t n = (size_t)(dot - path) < sizeof seg - 1 ? (size_t)(dot - path) : sizeof seg - 1;
    memcpy(seg, path, n);
    seg[n] = 0;
    lundi_module *next = lundi_module_child(parent, seg);
    if (!next) {
      next = lundi_module_new("container");
      if (!next || lundi_module_add_child(parent, seg, next)) {
        lundi_module_free(child);
        return -1;
      }
    }
    parent = next;
    path = dot + 1;
  }
  if (lundi_module_add_child(parent, path, child)) return -1; /* add_child frees on failure */
  *slot = child;
  return 0;
}

static int make_res(lundi_unet2d *u, lundi_module *parent, const char *name, int cin, int cout, lundi_rng *rng) {
  if (u->n_res >= MAX_BLOCKS) return -1;
  res_block *r = &u->res[u->n_res++];
  const lundi_unet2d_config *c = &u->cfg;
  lundi_conv_params p3 = {.padding = {1, 1}};
  lundi_conv_params p1 = {0};
  lundi_module *m;
  if (add(parent, name, lundi_module_new("res_block"), &m)) return -1;
  r->cin = cin, r->cout = cout;
  if (add(m, "norm1", lundi_group_norm_new(c->groups, cin, 1e-5f), &r->norm1) ||
      add(m, "conv1", lundi_conv2d_new(cin, cout, 3, &p3, 1, rng), &r->conv1) ||
      add(m, "temb", lundi_linear_new(c->time_dim, cout, 1, rng), &r->temb) ||
      add(m, "norm2", lundi_group_norm_new(c->groups, cout, 1e-5f), &r->norm2) ||
      add(m, "conv2", lundi_conv2d_new(cout, cout, 3, &p3, 1, rng), &r->conv2))
    return -1;
  r->skip = NULL;
  if (cin != cout && add(m, "skip", lundi_conv2d_new(cin, cout, 1, &p1, 1, rng), &r->skip)) return -1;
  return 0;
}

static int make_attn(lundi_unet2d *u, lundi_module *parent, const char *name, int ch, lundi_rng *rng) {
  if (u->n_attn >= MAX_BLOCKS) return -1;
  attn_block *a = &u->attn[u->n_attn++];
  const lundi_unet2d_config *c = &u->cfg;
  lundi_module *m;
  if (add(parent, name, lundi_module_new("attn_block"), &m)) return -1;
  a->ch = ch;
  if (add(m, "norm", lundi_group_norm_new(c->groups, ch, 1e-5f), &a->norm) ||
      add(m, "attn", lundi_mha_new(ch, c->heads, 0, 1, rng), &a->attn))
    return -1;
  a->norm_x = a->xattn = NULL;
  if (c->context_dim > 0 && (add(m, "norm_x", lundi_group_norm_new(c->groups, ch, 1e-5f), &a->norm_x) ||
                             add(m, "xattn", lundi_mha_new(ch, c->heads, c->context_dim, 1, rng), &a->xattn)))
    return -1;
  return 0;
}

static void emit(lundi_unet2d *u, op_kind k, int index, int pop) {
  u->prog[u->n_prog++] = (step){k, index, pop};
}

static int build(lundi_unet2d *u, lundi_rng *rng) {
  const lundi_unet2d_config *c = &u->cfg;
  lundi_conv_params p3 = {.padding = {1, 1}}, down = {.stride = {2, 2}, .padding = {1, 1}};
  char name[64];
  lundi_module *root = u->root;
  lundi_module *temb = lundi_module_new("time_embedding");
  if (!temb || lundi_module_add_child(root, "time_embedding", temb)) return -1;
  if (add(temb, "linear_1", lundi_linear_new(c->time_freq_dim, c->time_dim, 1, rng), &u->t_lin1) ||
      add(temb, "linear_2", lundi_linear_new(c->time_dim, c->time_dim, 1, rng), &u->t_lin2))
    return -1;
  if (c->num_classes > 0 &&
      add(root, "class_embedding", lundi_embedding_new(c->num_classes + 1, c->time_dim, rng), &u->class_emb))
    return -1;
  int ch = c->base_channels * c->channel_mult[0];
  if (add(root, "conv_in", lundi_conv2d_new(c->in_channels, ch, 3, &p3, 1, rng), &u->conv_in)) return -1;
  int skip_ch[4 * MAX_BLOCKS], ns = 0;
  skip_ch[ns++] = ch;
  emit(u, OP_PUSH, 0, 0);
  lundi_module *downs, *ups, *mid;
  if (add(root, "down", lundi_module_new("down"), &downs) || add(root, "up", lundi_module_new("up"), &ups) ||
      add(root, "mid", lundi_module_new("mid"), &mid))
    return -1;
  for (int l = 0; l < c->n_levels; l++) {
    int out = c->base_channels * c->channel_mult[l];
    for (int b = 0; b < c->res_down; b++) {
      snprintf(name, sizeof name, "%d.res.%d", l, b);
      if (make_res(u, downs, name, ch, out, rng)) return -1;
      emit(u, OP_RES, u->n_res - 1, 0);
      ch = out;
      if (c->attn_level[l]) {
        snprintf(name, sizeof name, "%d.attn.%d", l, b);
        if (make_attn(u, downs, name, ch, rng)) return -1;
        emit(u, OP_ATTN, u->n_attn - 1, 0);
      }
      skip_ch[ns++] = ch;
      emit(u, OP_PUSH, 0, 0);
    }
    if (l + 1 < c->n_levels) {
      snprintf(name, sizeof name, "%d.downsample", l);
      if (add(downs, name, lundi_conv2d_new(ch, ch, 3, &down, 1, rng), &u->resample[u->n_resample])) return -1;
      emit(u, OP_DOWN, u->n_resample++, 0);
      skip_ch[ns++] = ch;
      emit(u, OP_PUSH, 0, 0);
    }
  }
  if (make_res(u, mid, "res.0", ch, ch, rng)) return -1;
  emit(u, OP_RES, u->n_res - 1, 0);
  if (c->mid_attention) {
    if (make_attn(u, mid, "attn", ch, rng)) return -1;
    emit(u, OP_ATTN, u->n_attn - 1, 0);
  }
  if (make_res(u, mid, "res.1", ch, ch, rng)) return -1;
  emit(u, OP_RES, u->n_res - 1, 0);
  for (int l = c->n_levels - 1; l >= 0; l--) {
    int out = c->base_channels * c->channel_mult[l];
    for (int b = 0; b < c->res_up; b++) {
      if (ns == 0) return lundi_set_error(LUNDI_EINVAL, "unet2d: up path has more blocks than skips");
      int sc = skip_ch[--ns];
      snprintf(name, sizeof name, "%d.res.%d", l, b);
      if (make_res(u, ups, name, ch + sc, out, rng)) return -1;
      emit(u, OP_RES, u->n_res - 1, 1);
      ch = out;
      if (c->attn_level[l]) {
        snprintf(name, sizeof name, "%d.attn.%d", l, b);
        if (make_attn(u, ups, name, ch, rng)) return -1;
        emit(u, OP_ATTN, u->n_attn - 1, 0);
      }
    }
    if (l > 0) {
      snprintf(name, sizeof name, "%d.upsample", l);
      if (add(ups, name, lundi_conv2d_new(ch, ch, 3, &p3, 1, rng), &u->resample[u->n_resample])) return -1;
      emit(u, OP_UP, u->n_resample++, 0);
    }
  }
  u->n_skips = ns; /* must be 0: every skip consumed */
  if (add(root, "norm_out", lundi_group_norm_new(c->groups, ch, 1e-5f), &u->norm_out) ||
      add(root, "conv_out", lundi_conv2d_new(ch, c->out_channels, 3, &p3, 1, rng), &u->conv_out))
    return -1;
  return 0;
}

lundi_unet2d *lundi_unet2d_new(const lundi_unet2d_config *cfg, lundi_rng *rng) {
  const lundi_unet2d_config *c = cfg;
  char why[160] = "";
  if (c->n_levels < 1 || c->n_levels > LUNDI_UNET2D_MAX_LEVELS) snprintf(why, sizeof why, "n_levels must be 1..%d, got %d", LUNDI_UNET2D_MAX_LEVELS, c->n_levels);
  for (int l = 0; !why[0] && l < c->n_levels; l++) {
    int ch = c->base_channels * c->channel_mult[l];
    if (ch <= 0 || c->groups <= 0 || ch % c->groups)
      snprintf(why, sizeof why, "level %d has %d channels, not a positive multiple of groups=%d", l, ch, c->groups);
    else if ((c->attn_level[l] || (l == c->n_levels - 1 && c->mid_attention)) && (c->heads <= 0 || ch % c->heads))
      snprintf(why, sizeof why, "level %d has %d channels, not divisible by heads=%d", l, ch, c->heads);
  }
  if (!why[0] && (c->in_channels <= 0 || c->out_channels <= 0 || c->res_down < 1 || c->res_up < 1 ||
                  c->time_freq_dim < 2 || c->time_freq_dim % 2 || c->time_dim <= 0 || c->dropout < 0 ||
                  c->dropout >= 1 || c->num_classes < 0 || c->context_dim < 0))
    snprintf(why, sizeof why, "channels, res blocks, time dims must be positive (freq dim even), dropout in [0,1)");
  if (!why[0] && c->res_up != c->res_down + 1)
    snprintf(why, sizeof why, "res_up (%d) must be res_down + 1 (%d) so every skip is consumed", c->res_up, c->res_down + 1);
  if (!why[0] && (c->n_levels * (c->res_down + c->res_up + 2) + 4 > MAX_BLOCKS))
    snprintf(why, sizeof why, "too many blocks");
  if (why[0]) {
    lundi_set_error(LUNDI_EINVAL, "unet2d: %s", why);
    return NULL;
  }
  lundi_unet2d *u = calloc(1, sizeof *u);
  if (!u) return NULL;
  u->cfg = *c;
  u->root = lundi_module_new("unet2d");
  if (!u->root || build(u, rng)) {
    lundi_unet2d_free(u);
    return NULL;
  }
  return u;
}

void lundi_unet2d_free(lundi_unet2d *u) {
  if (!u) return;
  lundi_module_free(u->root);
  free(u);
}

lundi_module *lundi_unet2d_module(lundi_unet2d *u) { return u->root; }
const lundi_unet2d_config *lundi_unet2d_get_config(const lundi_unet2d *u) { return &u->cfg; }

/* ---- forward ---- */

#define fail_null(...) (lundi_set_error(__VA_ARGS__), (lundi_tensor *)NULL)

/* Replaces *x by f(*x) (releasing the old value); returns -1 when f failed. */
#define STEP(x, expr)                                                                              \
  do {                                                                                             \
    lundi_tensor *next_ = (expr);                                                                  \
    lundi_release(x);                                                                              \
    (x) = next_;                                                                                   \
    if (!(x)) goto fail;                                                                           \
  } while (0)

/* silu(norm(x)) in one fused op, with the GroupNorm module's parameters (groups and eps as
 * given to lundi_group_norm_new in this file). */
static lundi_tensor *norm_silu(const lundi_unet2d *u, const lundi_module *norm, lundi_tensor *x) {
  return lundi_group_norm_silu(x, u->cfg.groups, lundi_module_param(norm, "weight"), lundi_module_param(norm, "bias"),
                               1e-5f);
}

static lundi_tensor *res_forward(lundi_unet2d *u, const res_block *r, lundi_tensor *x, lundi_tensor *temb_act,
                                 lundi_rng *rng) {
  lundi_tensor *h = norm_silu(u, r->norm1, x), *e = NULL, *s = NULL;
  if (!h) return NULL;
  STEP(h, lundi_conv2d_forward(r->conv1, h));
  e = lundi_linear_forward(r->temb, temb_act); /* [N, cout] */
  if (!e) goto fail;
  /* norm2 of h + e, e broadcast over the pixels, without writing h + e */
  STEP(h, lundi_add_group_norm_silu(h, e, u->cfg.groups, lundi_module_param(r->norm2, "weight"),
                                    lundi_module_param(r->norm2, "bias"), 1e-5f));
  if (u->cfg.dropout > 0 && lundi_module_training(u->root)) STEP(h, lundi_dropout(h, u->cfg.dropout, 1, rng));
  STEP(h, lundi_conv2d_forward(r->conv2, h));
  s = r->skip ? lundi_conv2d_forward(r->skip, x) : lundi_retain(x);
  if (!s) goto fail;
  STEP(h, lundi_add(h, s));
  lundi_release(e);
  lundi_release(s);
  return h;
fail:
  lundi_release(h);
  lundi_release(e);
  lundi_release(s);
  return NULL;
}

/* x [N,C,H,W] -> tokens [N,HW,C] -> attention -> back, with a residual. */
static lundi_tensor *attn_forward(const attn_block *a, lundi_tensor *x, lundi_tensor *context) {
  int64_t n = lundi_dim(x, 0), c = lundi_dim(x, 1), hw = lundi_dim(x, 2) * lundi_dim(x, 3);
  int to_tokens[3] = {0, 2, 1};
  lundi_tensor *h = lundi_group_norm_forward(a->norm, x), *out = NULL;
  if (!h) return NULL;
  STEP(h, lundi_reshape(h, 3, (int64_t[]){n, c, hw}));
  STEP(h, lundi_permute(h, to_tokens));
  STEP(h, lundi_mha_forward(a->attn, h, NULL, NULL, 0));
  STEP(h, lundi_permute(h, to_tokens));
  STEP(h, lundi_reshape(h, 4, lundi_shape(x)));
  out = lundi_add(x, h);
  lundi_release(h);
  h = NULL;
  if (!out) goto fail;
  if (a->xattn && context) {
    h = lundi_group_norm_forward(a->norm_x, out);
    if (!h) goto fail;
    STEP(h, lundi_reshape(h, 3, (int64_t[]){n, c, hw}));
    STEP(h, lundi_permute(h, to_tokens));
    STEP(h, lundi_mha_forward(a->xattn, h, context, NULL, 0));
    STEP(h, lundi_permute(h, to_tokens));
    STEP(h, lundi_reshape(h, 4, lundi_shape(x)));
    STEP(out, lundi_add(out, h));
    lundi_release(h);
  }
  return out;
fail:
  lundi_release(h);
  lundi_release(out);
  return NULL;
}

lundi_tensor *lundi_unet2d_forward(lundi_unet2d *u, lundi_tensor *x, lundi_tensor *t, lundi_tensor *labels,
                                   lundi_tensor *context, lundi_rng *rng) {
  const lundi_unet2d_config *c = &u->cfg;
  char s1[96];
  int64_t div = (int64_t)1 << (c->n_levels - 1);
  if (lundi_ndim(x) != 4 || lundi_dim(x, 1) != c->in_channels || lundi_dim(x, 2) % div || lundi_dim(x, 3) % div)
    return fail_null(LUNDI_ESHAPE, "unet2d: input %s must be [N, %d, H, W] with H and W divisible by %lld",
                       lundi_shape_str(lundi_ndim(x), lundi_shape(x), s1, sizeof s1), c->in_channels, (long long)div);
  if (lundi_ndim(t) != 1 || lundi_dim(t, 0) != lundi_dim(x, 0))
    return fail_null(LUNDI_ESHAPE, "unet2d: timesteps %s must be [%lld]",
                       lundi_shape_str(lundi_ndim(t), lundi_shape(t), s1, sizeof s1), (long long)lundi_dim(x, 0));
  if (labels && (!u->class_emb || lundi_ndim(labels) != 1 || lundi_dim(labels, 0) != lundi_dim(x, 0)))
    return fail_null(LUNDI_ESHAPE, "unet2d: labels need num_classes > 0 and shape [%lld]", (long long)lundi_dim(x, 0));
  lundi_tensor *skips[4 * MAX_BLOCKS];
  int ns = 0;
  lundi_tensor *temb = NULL, *h = NULL, *cls = NULL;
  /* time (and class) embedding: sin/cos -> Linear -> SiLU -> Linear (+ class), then SiLU once
   * here because every res block projects SiLU(temb). */
  temb = lundi_timestep_embedding(t, c->time_freq_dim, 10000.0f);
  if (!temb) goto fail;
  STEP(temb, lundi_linear_forward(u->t_lin1, temb));
  STEP(temb, lundi_silu(temb));
  STEP(temb, lundi_linear_forward(u->t_lin2, temb));
  if (labels) {
    cls = lundi_embedding_forward(u->class_emb, labels);
    if (!cls) goto fail;
    STEP(temb, lundi_add(temb, cls));
  }
  STEP(temb, lundi_silu(temb));
  h = lundi_conv2d_forward(u->conv_in, x);
  if (!h) goto fail;
  for (int i = 0; i < u->n_prog; i++) {
    const step *s = &u->prog[i];
    switch (s->kind) {
    case OP_PUSH: skips[ns++] = lundi_retain(h); break;
    case OP_RES:
      if (s->pop) {
        lundi_tensor *skip = skips[--ns];
        lundi_tensor *pair[2] = {h, skip};
        lundi_tensor *cat = lundi_concat(2, pair, 1);
        lundi_release(skip);
        STEP(h, cat);
      }
      STEP(h, res_forward(u, &u->res[s->index], h, temb, rng));
      break;
    case OP_ATTN: STEP(h, attn_forward(&u->attn[s->index], h, context)); break;
    case OP_DOWN: STEP(h, lundi_conv2d_forward(u->resample[s->index], h)); break;
    case OP_UP: { /* nearest 2x then the 3x3 conv, as four 2x2 convs of the small image */
      const lundi_module *m = u->resample[s->index];
      STEP(h, lundi_upsample_conv2d(h, 2, lundi_module_param(m, "weight"), lundi_module_param(m, "bias"), 1));
      break;
    }
    }
  }
  STEP(h, norm_silu(u, u->norm_out, h));
  STEP(h, lundi_conv2d_forward(u->conv_out, h));
  lundi_release(temb);
  lundi_release(cls);
  return h;
fail:
  while (ns > 0) lundi_release(skips[--ns]);
  lundi_release(temb);
  lundi_release(cls);
  lundi_release(h);
  return NULL;
}

/* ---- FLOP count (2 x multiply-adds of convs, linears and attention matmuls) ---- */

static double conv_flops(int n, int cin, int cout, int k, int ho, int wo) {
  return 2.0 * n * cout * ho * wo * (double)cin * k * k;
}

double lundi_unet2d_flops(const lundi_unet2d_config *c, int n, int hh, int ww) {
  double f = 0;
  int h = hh, w = ww;
  int ch = c->base_channels * c->channel_mult[0];
  int skip_ch[4 * MAX_BLOCKS], ns = 0;
  f += 2.0 * n * (c->time_freq_dim * (double)c->time_dim + (double)c->time_dim * c->time_dim);
  f += conv_flops(n, c->in_channels, ch, 3, h, w);
  skip_ch[ns++] = ch;
#define RES(cin, cout)                                                                             \
  do {                                                                                             \
    f += conv_flops(n, cin, cout, 3, h, w) + conv_flops(n, cout, cout, 3, h, w);                   \
    f += 2.0 * n * c->time_dim * (cout);                                                           \
    if ((cin) != (cout)) f += conv_flops(n, cin, cout, 1, h, w);                                   \
  } while (0)
#define ATTN(chn)                                                                                  \
  do {                                                                                             \
    double L = (double)h * w;                                                                      \
    f += 2.0 * n * L * (chn) * (chn) * 4 + 2.0 * 2.0 * n * L * L * (chn);                          \
  } while (0)
  for (int l = 0; l < c->n_levels; l++) {
    int out = c->base_channels * c->channel_mult[l];
    for (int b = 0; b < c->res_down; b++) {
      RES(ch, out);
      ch = out;
      if (c->attn_level[l]) ATTN(ch);
      skip_ch[ns++] = ch;
    }
    if (l + 1 < c->n_levels) {
      h /= 2, w /= 2;
      f += conv_flops(n, ch, ch, 3, h, w);
      skip_ch[ns++] = ch;
    }
  }
  RES(ch, ch);
  if (c->mid_attention) ATTN(ch);
  RES(ch, ch);
  for (int l = c->n_levels - 1; l >= 0; l--) {
    int out = c->base_channels * c->channel_mult[l];
    for (int b = 0; b < c->res_up; b++) {
      int cin = ch + skip_ch[--ns];
      RES(cin, out);
      ch = out;
      if (c->attn_level[l]) ATTN(ch);
    }
    if (l > 0) {
      h *= 2, w *= 2;
      f += conv_flops(n, ch, ch, 3, h, w);
    }
  }
  f += conv_flops(n, ch, c->out_channels, 3, h, w);
#undef RES
#undef ATTN
  return f;
}
