/* Modules and built-in layers: names, counts, init bounds, forward values against naive
 * double-precision references, gradients through Linear and MHA, timestep embedding. */
#include "gradcheck.h"

static lundi_rng rng = {4242, 0};

static lundi_tensor *rnd(int nd, const int64_t *s, float scale, int rg) { return t_randn(&rng, nd, s, scale, rg); }

static int shape_is(lundi_tensor *t, int nd, int64_t a, int64_t b, int64_t c, int64_t d) {
  int64_t want[4] = {a, b, c, d};
  if (!t || lundi_ndim(t) != nd) return 0;
  for (int i = 0; i < nd; i++)
    if (lundi_dim(t, i) != want[i]) return 0;
  return 1;
}

/* Max |a - b| between a tensor and a double reference. */
static double diff_ref(lundi_tensor *t, const double *ref, int64_t n) {
  if (!t || lundi_numel(t) != n) return INFINITY;
  float *v = t_read(t);
  double m = 0;
  for (int64_t i = 0; i < n; i++) {
    double d = fabs(v[i] - ref[i]);
    m = d > m || isnan(d) ? (isnan(d) ? INFINITY : d) : m;
  }
  free(v);
  return m;
}

static void check_names(lundi_module *m, int n, const char *const *names) {
  lundi_param_list l = {0};
  CHECK(lundi_module_parameters(m, &l) == 0);
  CHECK(l.n == n);
  for (int i = 0; i < n && i < l.n; i++) {
    if (strcmp(l.names[i], names[i])) fprintf(stderr, "param %d: got '%s', want '%s'\n", i, l.names[i], names[i]);
    CHECK(!strcmp(l.names[i], names[i]));
    CHECK(lundi_requires_grad(l.tensors[i]));
  }
  lundi_param_list_free(&l);
}

/* All values inside [-bound, bound] and not all equal (a real draw). */
static void check_uniform(lundi_tensor *t, double bound) {
  float *v = t_read(t);
  int64_t n = lundi_numel(t);
  double lo = INFINITY, hi = -INFINITY;
  for (int64_t i = 0; i < n; i++) {
    lo = fmin(lo, v[i]);
    hi = fmax(hi, v[i]);
  }
  CHECK(lo >= -bound && hi <= bound);
  CHECK(n < 8 || hi - lo > bound * 0.5);
  free(v);
}

/* ---- module container ---- */

static void test_module_tree(void) {
  lundi_module *root = lundi_module_new("Net");
  int64_t s2[2] = {2, 3}, s1[1] = {4};
  lundi_tensor *a = lundi_zeros(2, s2), *b = lundi_zeros(1, s1);
  CHECK(lundi_module_add_param(root, "scale", a) == 0);
  lundi_module *blk = lundi_module_new("Block");
  CHECK(lundi_module_add_child(blk, "proj", lundi_linear_new(3, 4, 1, &rng)) == 0);
  CHECK(lundi_module_add_param(blk, "gain", b) == 0);
  CHECK(lundi_module_add_child(root, "blocks0", blk) == 0);
  CHECK(lundi_module_add_child(root, "head", lundi_linear_new(4, 2, 0, &rng)) == 0);
  /* own params first, then children depth first in insertion order */
  const char *names[] = {"scale", "blocks0.gain", "blocks0.proj.weight", "blocks0.proj.bias", "head.weight"};
  lundi_param_list l = {0};
  CHECK(lundi_module_parameters(root, &l) == 0);
  CHECK(l.n == 5);
  for (int i = 0; i < 5 && i < l.n; i++) CHECK(!strcmp(l.names[i], names[i]));
  CHECK(lundi_param_list_numel(&l) == 6 + 4 + 12 + 4 + 8);
  CHECK(lundi_module_numel(root) == 34);
  CHECK(lundi_param_list_find(&l, "head.weight") == lundi_module_param(root, "head.weight"));
  lundi_param_list_free(&l);
  CHECK(l.n == 0 && l.tensors == NULL);
  CHECK(lundi_module_param(root, "blocks0.proj.bias") != NULL);
  CHECK(lundi_module_param(root, "blocks0.proj") == NULL);
  CHECK(lundi_module_param(root, "blocks.proj.bias") == NULL);
  CHECK(lundi_module_param(root, "scale") == a);
  CHECK(lundi_module_child(root, "blocks0.proj") != NULL);
  CHECK(!strcmp(lundi_module_type(lundi_module_child(root, "blocks0.proj")), "Linear"));
  CHECK(lundi_module_child(root, "blocks0.gain") == NULL);
  /* names are single segments and unique within a module */
  CHECK_ERR(lundi_module_add_param(root, "scale", b), "already has a member named 'scale'");
  CHECK_ERR(lundi_module_add_param(root, "a.b", b), "contain no '.'");
  CHECK_ERR(lundi_module_add_child(root, "head", lundi_module_new("X")), "already has a member named 'head'");
  CHECK_ERR(lundi_module_add_child(root, "", lundi_module_new("X")), "non-empty");
  /* training flag is recursive; zero_grad drops every gradient */
  lundi_module_set_training(root, 0);
  CHECK(!lundi_module_training(root) && !lundi_module_training(lundi_module_child(root, "blocks0.proj")));
  lundi_module_set_training(root, 1);
  CHECK(lundi_module_training(lundi_module_child(root, "head")));
  int64_t xs[2] = {2, 3};
  lundi_tensor *x = rnd(2, xs, 1, 0);
  lundi_tensor *y = lundi_linear_forward(lundi_module_child(root, "blocks0.proj"), x);
  lundi_tensor *sum = y ? lundi_sum(y, 0, NULL, 0) : NULL;
  CHECK(sum && lundi_backward(sum, NULL) == 0);
  CHECK(lundi_grad(lundi_module_param(root, "blocks0.proj.weight")) != NULL);
  lundi_module_zero_grad(root);
  CHECK(lundi_grad(lundi_module_param(root, "blocks0.proj.weight")) == NULL);
  CHECK_ERR(lundi_conv2d_forward(lundi_module_child(root, "head"), x), "module is a Linear, not a Conv2d");
  lundi_release(x);
  lundi_release(y);
  lundi_release(sum);
  lundi_release(a);
  lundi_release(b);
  lundi_module_free(root);
  lundi_module_free(NULL);
}

/* ---- Linear ---- */

static void linear_ref(const float *x, const float *w, const float *b, int64_t rows, int64_t in, int64_t out, double *y) {
  for (int64_t r = 0; r < rows; r++)
    for (int64_t o = 0; o < out; o++) {
      double s = b ? b[o] : 0;
      for (int64_t i = 0; i < in; i++) s += (double)x[r * in + i] * w[o * in + i];
      y[r * out + o] = s;
    }
}

static void test_linear(void) {
  lundi_module *m = lundi_linear_new(7, 5, 1, &rng);
  const char *names[] = {"weight", "bias"};
  check_names(m, 2, names);
  lundi_tensor *w = lundi_module_param(m, "weight"), *b = lundi_module_param(m, "bias");
  CHECK(shape_is(w, 2, 5, 7, 0, 0) && shape_is(b, 1, 5, 0, 0, 0));
  check_uniform(w, 1 / sqrt(7.0));
  check_uniform(b, 1 / sqrt(7.0));
  CHECK(lundi_module_numel(m) == 40);
  int64_t xs[3] = {2, 3, 7};
  lundi_tensor *x = rnd(3, xs, 1, 0);
  lundi_tensor *y = lundi_linear_forward(m, x);
  CHECK(shape_is(y, 3, 2, 3, 5, 0));
  float *xv = t_read(x), *wv = t_read(w), *bv = t_read(b);
  double ref[30];
  linear_ref(xv, wv, bv, 6, 7, 5, ref);
  CHECK(diff_ref(y, ref, 30) < 1e-5);
  lundi_module *nb = lundi_linear_new(7, 5, 0, &rng);
  const char *nbn[] = {"weight"};
  check_names(nb, 1, nbn);
  lundi_tensor *y2 = lundi_linear_forward(nb, x);
  float *w2 = t_read(lundi_module_param(nb, "weight"));
  linear_ref(xv, w2, NULL, 6, 7, 5, ref);
  CHECK(diff_ref(y2, ref, 30) < 1e-5);
  int64_t bad[2] = {3, 6};
  lundi_tensor *xb = rnd(2, bad, 1, 0);
  CHECK_ERR(lundi_linear_forward(m, xb), "linear: input [3,6] does not fit weight [5,7]");
  CHECK_ERR(lundi_linear_new(0, 3, 1, &rng), "linear_new: in=0");
  CHECK_ERR(lundi_linear_new(3, 3, 1, NULL), "rng is NULL");
  free(xv); free(wv); free(bv); free(w2);
  lundi_release(x); lundi_release(y); lundi_release(y2); lundi_release(xb);
  lundi_module_free(m);
  lundi_module_free(nb);
}

/* in[0] is a transposed leaf [in, N]; in[1] a leaf [N, 2*in] read at every other column;
 * in[2], in[3] are the module's weight and bias (perturbed through the module). */
static lundi_tensor *f_linear(lundi_tensor **in, void *ctx) {
  lundi_tensor *xt = lundi_transpose(in[0], 0, 1);
  lundi_tensor *xs = lundi_slice(in[1], 1, 0, lundi_dim(in[1], 1), 2);
  lundi_tensor *x = lundi_add(xt, xs);
  lundi_tensor *y = lundi_linear_forward(ctx, x);
  lundi_release(xt); lundi_release(xs); lundi_release(x);
  return y;
}

static void test_linear_grad(void) {
  for (int trial = 0; trial < 3; trial++) {
    int in = 2 + trial * 2, out = 3 + trial, n = 2 + trial;
    lundi_module *m = lundi_linear_new(in, out, 1, &rng);
    int64_t s0[2] = {in, n}, s1[2] = {n, 2 * in};
    lundi_tensor *x[4] = {rnd(2, s0, 1, 1), rnd(2, s1, 1, 1), lundi_module_param(m, "weight"), lundi_module_param(m, "bias")};
    gradcheck("linear_module", f_linear, 4, x, m, NULL);
    lundi_release(x[0]); lundi_release(x[1]);
    lundi_module_free(m);
  }
}

/* ---- Conv ---- */

static void test_conv(void) {
  lundi_conv_params p = {.stride = {2, 2}, .padding = {1, 1}};
  lundi_module *c = lundi_conv2d_new(3, 4, 3, &p, 1, &rng);
  const char *names[] = {"weight", "bias"};
  check_names(c, 2, names);
  lundi_tensor *w = lundi_module_param(c, "weight"), *b = lundi_module_param(c, "bias");
  CHECK(shape_is(w, 4, 4, 3, 3, 3) && shape_is(b, 1, 4, 0, 0, 0));
  check_uniform(w, 1 / sqrt(27.0));
  check_uniform(b, 1 / sqrt(27.0));
  int64_t xs[4] = {2, 3, 7, 6};
  lundi_tensor *x = rnd(4, xs, 1, 0);
  lundi_tensor *y = lundi_conv2d_forward(c, x);
  CHECK(shape_is(y, 4, 2, 4, 4, 3));
  float *xv = t_read(x), *wv = t_read(w), *bv = t_read(b);
  double ref[2 * 4 * 4 * 3];
  for (int n = 0; n < 2; n++)
    for (int co = 0; co < 4; co++)
      for (int oh = 0; oh < 4; oh++)
        for (int ow = 0; ow < 3; ow++) {
          double s = bv[co];
          for (int ci = 0; ci < 3; ci++)
            for (int kh = 0; kh < 3; kh++)
              for (int kw = 0; kw < 3; kw++) {
                int ih = oh * 2 - 1 + kh, iw = ow * 2 - 1 + kw;
                if (ih < 0 || ih >= 7 || iw < 0 || iw >= 6) continue;
                s += (double)xv[((n * 3 + ci) * 7 + ih) * 6 + iw] * wv[((co * 3 + ci) * 3 + kh) * 3 + kw];
              }
          ref[((n * 4 + co) * 4 + oh) * 3 + ow] = s;
        }
  CHECK(diff_ref(y, ref, 96) < 1e-4);
  free(xv); free(wv); free(bv);
  lundi_release(x); lundi_release(y);
  lundi_module_free(c);

  lundi_conv_params p1 = {.padding = {2, 0}, .groups = 2};
  lundi_module *c1 = lundi_conv1d_new(4, 6, 5, &p1, 0, &rng);
  const char *n1[] = {"weight"};
  check_names(c1, 1, n1);
  CHECK(shape_is(lundi_module_param(c1, "weight"), 3, 6, 2, 5, 0));
  check_uniform(lundi_module_param(c1, "weight"), 1 / sqrt(10.0));
  int64_t x1s[3] = {3, 4, 9};
  lundi_tensor *x1 = rnd(3, x1s, 1, 0);
  lundi_tensor *y1 = lundi_conv1d_forward(c1, x1);
  CHECK(shape_is(y1, 3, 3, 6, 9, 0));
  CHECK_ERR(lundi_conv1d_new(4, 6, 3, &(lundi_conv_params){.groups = 3}, 1, &rng), "groups=3 must divide cin=4");
  lundi_release(x1); lundi_release(y1);
  lundi_module_free(c1);
}

/* ---- norms ---- */

/* Normalises groups of `len` consecutive values (stride 1) of x in place, in double. */
static void norm_ref(const float *x, int64_t groups, int64_t len, double eps, int rms, double *y) {
  for (int64_t g = 0; g < groups; g++) {
    const float *v = x + g * len;
    double mean = 0, var = 0;
    for (int64_t i = 0; i < len; i++) mean += v[i];
    mean /= len;
    for (int64_t i = 0; i < len; i++) var += rms ? (double)v[i] * v[i] : (v[i] - mean) * (v[i] - mean);
    var /= len;
    for (int64_t i = 0; i < len; i++) y[g * len + i] = (v[i] - (rms ? 0 : mean)) / sqrt(var + eps);
  }
}

static void test_norms(void) {
  lundi_module *gn = lundi_group_norm_new(2, 6, 1e-5f);
  const char *wb[] = {"weight", "bias"}, *w1[] = {"weight"};
  check_names(gn, 2, wb);
  float *gw = t_read(lundi_module_param(gn, "weight")), *gb = t_read(lundi_module_param(gn, "bias"));
  CHECK(gw[0] == 1 && gw[5] == 1 && gb[0] == 0 && gb[5] == 0);
  int64_t xs[4] = {2, 6, 3, 2};
  lundi_tensor *x = rnd(4, xs, 2, 0);
  lundi_tensor *y = lundi_group_norm_forward(gn, x);
  CHECK(shape_is(y, 4, 2, 6, 3, 2));
  float *xv = t_read(x);
  double ref[72];
  norm_ref(xv, 4, 18, 1e-5, 0, ref); /* group = 3 channels x 6 pixels, contiguous */
  CHECK(diff_ref(y, ref, 72) < 1e-4);
  CHECK_ERR(lundi_group_norm_new(4, 6, 1e-5f), "groups=4 must be positive and divide channels=6");

  lundi_module *ln = lundi_layer_norm_new(6, 1e-5f, 1), *ln0 = lundi_layer_norm_new(6, 1e-5f, 0);
  check_names(ln, 2, wb);
  check_names(ln0, 0, NULL);
  int64_t ls[3] = {2, 6, 6};
  lundi_tensor *lx = lundi_reshape(x, 3, ls), *ly = lundi_layer_norm_forward(ln, lx), *ly0 = lundi_layer_norm_forward(ln0, lx);
  norm_ref(xv, 12, 6, 1e-5, 0, ref);
  CHECK(shape_is(ly, 3, 2, 6, 6, 0));
  CHECK(diff_ref(ly, ref, 72) < 1e-4 && diff_ref(ly0, ref, 72) < 1e-4);

  lundi_module *rn = lundi_rms_norm_new(6, 1e-6f);
  check_names(rn, 1, w1);
  lundi_tensor *ry = lundi_rms_norm_forward(rn, lx);
  norm_ref(xv, 12, 6, 1e-6, 1, ref);
  CHECK(shape_is(ry, 3, 2, 6, 6, 0));
  CHECK(diff_ref(ry, ref, 72) < 1e-4);
  CHECK_ERR(lundi_rms_norm_new(0, 1e-6f), "size 0 must be positive");
  free(gw); free(gb); free(xv);
  lundi_release(x); lundi_release(y); lundi_release(lx); lundi_release(ly); lundi_release(ly0); lundi_release(ry);
  lundi_module_free(gn); lundi_module_free(ln); lundi_module_free(ln0); lundi_module_free(rn);
}

/* ---- Embedding ---- */

static void test_embedding(void) {
  lundi_module *e = lundi_embedding_new(11, 4, &rng);
  const char *names[] = {"weight"};
  check_names(e, 1, names);
  lundi_tensor *w = lundi_module_param(e, "weight");
  CHECK(shape_is(w, 2, 11, 4, 0, 0));
  float *wv = t_read(w);
  double mean = 0, var = 0;
  for (int i = 0; i < 44; i++) mean += wv[i] / 44.0;
  for (int i = 0; i < 44; i++) var += (wv[i] - mean) * (wv[i] - mean) / 44.0;
  CHECK(fabs(mean) < 0.5 && var > 0.4 && var < 2.0); /* N(0, 1), loosely */
  int32_t ids[6] = {0, 10, 3, 3, 7, 1};
  int64_t is[2] = {2, 3};
  lundi_tensor *idx = lundi_from_i32(2, is, ids);
  lundi_tensor *y = lundi_embedding_forward(e, idx);
  CHECK(shape_is(y, 3, 2, 3, 4, 0));
  double ref[24];
  for (int i = 0; i < 6; i++)
    for (int d = 0; d < 4; d++) ref[i * 4 + d] = wv[ids[i] * 4 + d];
  CHECK(diff_ref(y, ref, 24) == 0);
  free(wv);
  lundi_release(idx); lundi_release(y);
  lundi_module_free(e);
}

/* ---- multi-head attention ---- */

/* use_mask: 1 = additive [L, S] mask, 2 = per-batch key padding [B, 1, S] (-inf). */
typedef struct mha_case {
  int B, L, S, D, Dk, H, causal, use_mask;
} mha_case;

/* Independent reference: projections, per-head softmax attention and output projection
 * with plain loops in double. mask is [L, S] (added) or NULL. */
static void mha_ref(lundi_module *m, const mha_case *c, const float *x, const float *ctx, const float *mask, double *y) {
  const char *pn[4] = {"q_proj", "k_proj", "v_proj", "out_proj"};
  float *w[4], *b[4];
  for (int k = 0; k < 4; k++) {
    char n[32];
    snprintf(n, sizeof n, "%s.weight", pn[k]);
    w[k] = t_read(lundi_module_param(m, n));
    snprintf(n, sizeof n, "%s.bias", pn[k]);
    b[k] = t_read(lundi_module_param(m, n));
  }
  int B = c->B, L = c->L, S = c->S, D = c->D, Dk = c->Dk, H = c->H, hd = D / H;
  double *q = calloc((size_t)B * L * D, sizeof *q), *k = calloc((size_t)B * S * D, sizeof *k);
  double *v = calloc((size_t)B * S * D, sizeof *v), *o = calloc((size_t)B * L * D, sizeof *o), *p = calloc((size_t)S, sizeof *p);
  for (int r = 0; r < B * L; r++)
    for (int j = 0; j < D; j++) {
      double s = b[0][j];
      for (int i = 0; i < D; i++) s += (double)x[r * D + i] * w[0][j * D + i];
      q[r * D + j] = s;
    }
  for (int r = 0; r < B * S; r++)
    for (int j = 0; j < D; j++) {
      double sk = b[1][j], sv = b[2][j];
      for (int i = 0; i < Dk; i++) {
        sk += (double)ctx[r * Dk + i] * w[1][j * Dk + i];
        sv += (double)ctx[r * Dk + i] * w[2][j * Dk + i];
      }
      k[r * D + j] = sk;
      v[r * D + j] = sv;
    }
  for (int bb = 0; bb < B; bb++)
    for (int h = 0; h < H; h++)
      for (int l = 0; l < L; l++) {
        double mx = -INFINITY, z = 0;
        for (int s = 0; s < S; s++) {
          double dot = 0;
          for (int d = 0; d < hd; d++) dot += q[(bb * L + l) * D + h * hd + d] * k[(bb * S + s) * D + h * hd + d];
          dot /= sqrt((double)hd);
          if (mask) dot += c->use_mask == 1 ? mask[l * S + s] : mask[bb * S + s];
          if (c->causal && s > l + (S - L)) dot = -INFINITY;
          p[s] = dot;
          mx = fmax(mx, dot);
        }
        for (int s = 0; s < S; s++) z += (p[s] = exp(p[s] - mx));
        for (int d = 0; d < hd; d++) {
          double acc = 0;
          for (int s = 0; s < S; s++) acc += p[s] / z * v[(bb * S + s) * D + h * hd + d];
          o[(bb * L + l) * D + h * hd + d] = acc;
        }
      }
  for (int r = 0; r < B * L; r++)
    for (int j = 0; j < D; j++) {
      double s = b[3][j];
      for (int i = 0; i < D; i++) s += o[r * D + i] * w[3][j * D + i];
      y[r * D + j] = s;
    }
  for (int kk = 0; kk < 4; kk++) {
    free(w[kk]);
    free(b[kk]);
  }
  free(q); free(k); free(v); free(o); free(p);
}

static void run_mha(const mha_case *c) {
  int cross = c->Dk != c->D || c->S != c->L;
  lundi_module *m = lundi_mha_new(c->D, c->H, cross ? c->Dk : 0, 1, &rng);
  const char *names[] = {"q_proj.weight", "q_proj.bias", "k_proj.weight", "k_proj.bias",
                         "v_proj.weight", "v_proj.bias", "out_proj.weight", "out_proj.bias"};
  check_names(m, 8, names);
  CHECK(shape_is(lundi_module_param(m, "k_proj.weight"), 2, c->D, c->Dk, 0, 0));
  CHECK(lundi_module_numel(m) == 2 * (c->D * c->D + c->D) + 2 * (c->D * c->Dk + c->D));
  int64_t xs[3] = {c->B, c->L, c->D}, cs[3] = {c->B, c->S, c->Dk}, ms[2] = {c->L, c->S};
  lundi_tensor *x = rnd(3, xs, 1, 0), *ctx = cross ? rnd(3, cs, 1, 0) : lundi_retain(x);
  lundi_tensor *mask = c->use_mask == 1 ? rnd(2, ms, 1, 0) : NULL;
  if (c->use_mask == 2) { /* batch b masks out its last b keys */
    int64_t ps[3] = {c->B, 1, c->S};
    mask = lundi_zeros(3, ps);
    float *mp = t_read(mask);
    for (int b = 0; b < c->B; b++)
      for (int s = c->S - b; s < c->S; s++) mp[b * c->S + s] = -INFINITY;
    lundi_write_f32(mask, mp, (int64_t)c->B * c->S);
    free(mp);
  }
  lundi_tensor *y = lundi_mha_forward(m, x, cross ? ctx : NULL, mask, c->causal);
  CHECK(shape_is(y, 3, c->B, c->L, c->D, 0));
  float *xv = t_read(x), *cv = t_read(ctx), *mv = mask ? t_read(mask) : NULL;
  double *ref = calloc((size_t)c->B * c->L * c->D, sizeof *ref);
  mha_ref(m, c, xv, cv, mv, ref);
  CHECK(diff_ref(y, ref, (int64_t)c->B * c->L * c->D) < 1e-4);
  free(xv); free(cv); free(mv); free(ref);
  lundi_release(x); lundi_release(ctx); lundi_release(mask); lundi_release(y);
  lundi_module_free(m);
}

static void test_mha_self(void) {
  mha_case a = {.B = 2, .L = 5, .S = 5, .D = 8, .Dk = 8, .H = 2};
  run_mha(&a);
  mha_case causal = {.B = 1, .L = 6, .S = 6, .D = 12, .Dk = 12, .H = 3, .causal = 1};
  run_mha(&causal);
  mha_case one_head = {.B = 3, .L = 2, .S = 2, .D = 4, .Dk = 4, .H = 1};
  run_mha(&one_head);
}

static void test_mha_cross(void) {
  mha_case a = {.B = 2, .L = 4, .S = 7, .D = 8, .Dk = 6, .H = 4};
  run_mha(&a);
  mha_case masked = {.B = 2, .L = 3, .S = 5, .D = 6, .Dk = 10, .H = 2, .use_mask = 1};
  run_mha(&masked);
  mha_case padded = {.B = 3, .L = 2, .S = 6, .D = 8, .Dk = 5, .H = 2, .use_mask = 2};
  run_mha(&padded);
  /* shape errors name the shapes */
  lundi_module *m = lundi_mha_new(8, 2, 6, 1, &rng);
  int64_t xs[3] = {2, 4, 8}, bad[3] = {2, 7, 5}, wrongb[3] = {3, 7, 6}, x2[2] = {4, 8};
  lundi_tensor *x = rnd(3, xs, 1, 0), *c1 = rnd(3, bad, 1, 0), *c2 = rnd(3, wrongb, 1, 0), *xx = rnd(2, x2, 1, 0);
  CHECK_ERR(lundi_mha_forward(m, x, c1, NULL, 0), "mha_forward: context [2,7,5] must be [2, S, 6] for x [2,4,8]");
  CHECK_ERR(lundi_mha_forward(m, x, c2, NULL, 0), "context [3,7,6]");
  CHECK_ERR(lundi_mha_forward(m, xx, c2, NULL, 0), "mha_forward: x [4,8] must be [B, L, 8]");
  CHECK_ERR(lundi_mha_forward(m, x, NULL, NULL, 0), "expects a context of width 6");
  CHECK_ERR(lundi_mha_new(10, 3, 0, 1, &rng), "dim=10 must be a positive multiple of heads=3");
  lundi_release(x); lundi_release(c1); lundi_release(c2); lundi_release(xx);
  lundi_module_free(m);
}

/* in[0] = x, in[1] = context stored transposed [B, Dk, S] (a strided view), the rest are
 * module parameters. */
static lundi_tensor *f_mha(lundi_tensor **in, void *ctx) {
  lundi_tensor *c = lundi_transpose(in[1], 1, 2);
  lundi_tensor *y = lundi_mha_forward(ctx, in[0], c, NULL, 0);
  lundi_release(c);
  return y;
}

static lundi_tensor *f_mha_self(lundi_tensor **in, void *ctx) { return lundi_mha_forward(ctx, in[0], NULL, NULL, 1); }

static void test_mha_grad(void) {
  lundi_module *m = lundi_mha_new(6, 2, 4, 1, &rng);
  int64_t xs[3] = {2, 3, 6}, cs[3] = {2, 4, 5};
  lundi_tensor *in[7] = {rnd(3, xs, 1, 1), rnd(3, cs, 1, 1), lundi_module_param(m, "q_proj.weight"),
                         lundi_module_param(m, "k_proj.weight"), lundi_module_param(m, "v_proj.bias"),
                         lundi_module_param(m, "out_proj.weight"), lundi_module_param(m, "q_proj.bias")};
  gradcheck("mha_cross", f_mha, 7, in, m, NULL);
  lundi_release(in[0]); lundi_release(in[1]);
  lundi_module_free(m);

  lundi_module *s = lundi_mha_new(4, 2, 0, 0, &rng);
  int64_t ss[3] = {1, 4, 4};
  lundi_tensor *sin[3] = {rnd(3, ss, 1, 1), lundi_module_param(s, "k_proj.weight"), lundi_module_param(s, "v_proj.weight")};
  gradcheck("mha_self_causal", f_mha_self, 3, sin, s, NULL);
  lundi_release(sin[0]);
  lundi_module_free(s);
}

/* ---- timestep embedding ---- */

static void test_timestep(void) {
  float tv[4] = {0, 1, 17.5f, 999};
  int64_t n = 4;
  lundi_tensor *t = lundi_from_f32(1, &n, tv);
  for (int dim = 7; dim <= 8; dim++) {
    lundi_tensor *e = lundi_timestep_embedding(t, dim, 10000);
    CHECK(shape_is(e, 2, 4, dim, 0, 0));
    double ref[32];
    int half = dim / 2;
    for (int r = 0; r < 4; r++) {
      for (int i = 0; i < half; i++) {
        double f = exp(-log(10000.0) * i / half);
        ref[r * dim + i] = cos(tv[r] * f);
        ref[r * dim + half + i] = sin(tv[r] * f);
      }
      if (dim % 2) ref[r * dim + dim - 1] = 0;
    }
    CHECK(diff_ref(e, ref, 4 * dim) < 1e-6);
    lundi_release(e);
  }
  int32_t iv[2] = {3, 500};
  int64_t two = 2;
  lundi_tensor *ti = lundi_from_i32(1, &two, iv), *ei = lundi_timestep_embedding(ti, 4, 100);
  float *ev = ei ? t_read(ei) : NULL;
  CHECK(ev && fabs(ev[4 + 1] - cos(500 * 0.1)) < 1e-6 && fabs(ev[3] - sin(3 * 0.1)) < 1e-6);
  int64_t s2[2] = {2, 2};
  lundi_tensor *t2 = lundi_zeros(2, s2);
  CHECK_ERR(lundi_timestep_embedding(t2, 8, 10000), "timestep_embedding: t [2,2] must be 1-D");
  CHECK_ERR(lundi_timestep_embedding(t, 0, 10000), "dim=0");
  free(ev);
  lundi_release(t); lundi_release(ti); lundi_release(ei); lundi_release(t2);
}

static const test_case tests[] = {
    {"module_tree", test_module_tree},
    {"linear", test_linear},
    {"linear_grad", test_linear_grad},
    {"conv", test_conv},
    {"norms", test_norms},
    {"embedding", test_embedding},
    {"mha_self", test_mha_self},
    {"mha_cross", test_mha_cross},
    {"mha_grad", test_mha_grad},
    {"timestep", test_timestep},
};
TEST_MAIN(tests)
