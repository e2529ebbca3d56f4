/* ConditionalUnet1D written out in plain loops over host floats, one sample at a time, from
 * the reference's definitions (conditional_unet1d.py, conv1d_components.py,
 * positional_embedding.py) and reading the model's parameters by their state_dict names: the
 * formula check of unet1d's forward. Double accumulation; nothing shared with the ops. */
#include "naive.h"

typedef struct arr {
  int c, t;
  double *v; /* [c][t] */
} arr;

static arr arr_new(int c, int t) { return (arr){c, t, calloc((size_t)c * (size_t)t, sizeof(double))}; }

/* A parameter as floats (malloc'd), or NULL when the model has none of that name. */
static float *param(lundi_module *m, const char *prefix, const char *name) {
  char path[192]; /* a prefix of at most 159 characters, a dot and a name */
  snprintf(path, sizeof path, "%s%s%s", prefix, prefix[0] ? "." : "", name);
  lundi_tensor *p = lundi_module_param(m, path);
  return p ? t_read(p) : NULL;
}

static double mish(double v) { return v * tanh(log1p(exp(v))); }

/* Conv1d(ci -> co, k, stride s, padding p); W [co][ci][k]. */
static arr conv1d(arr in, lundi_module *m, const char *name, int co, int k, int s, int p) {
  float *w = param(m, name, "weight"), *b = param(m, name, "bias");
  int to = (in.t + 2 * p - k) / s + 1;
  arr out = arr_new(co, to);
  for (int o = 0; o < co; o++)
    for (int j = 0; j < to; j++) {
      double acc = b[o];
      for (int i = 0; i < in.c; i++)
        for (int q = 0; q < k; q++) {
          int src = j * s - p + q;
          if (src >= 0 && src < in.t) acc += (double)w[(o * in.c + i) * k + q] * in.v[i * in.t + src];
        }
      out.v[o * to + j] = acc;
    }
  free(w), free(b);
  return out;
}

/* ConvTranspose1d(ci -> co, k 4, stride 2, padding 1); W [ci][co][k]: input t feeds output
 * 2 t - 1 + q. */
static arr conv_transpose1d(arr in, lundi_module *m, const char *name, int co) {
  float *w = param(m, name, "weight"), *b = param(m, name, "bias");
  int to = 2 * in.t;
  arr out = arr_new(co, to);
  for (int o = 0; o < co; o++)
    for (int j = 0; j < to; j++) out.v[o * to + j] = b[o];
  for (int i = 0; i < in.c; i++)
    for (int t = 0; t < in.t; t++)
      for (int o = 0; o < co; o++)
        for (int q = 0; q < 4; q++) {
          int j = 2 * t - 1 + q;
          if (j >= 0 && j < to) out.v[o * to + j] += (double)w[(i * co + o) * 4 + q] * in.v[i * in.t + t];
        }
  free(w), free(b);
  return out;
}

/* GroupNorm (biased variance, eps 1e-5) then Mish, in place. */
static void group_norm_mish(arr x, lundi_module *m, const char *name, int groups) {
  float *gam = param(m, name, "weight"), *bet = param(m, name, "bias");
  int per = x.c / groups;
  for (int g = 0; g < groups; g++) {
    double mean = 0, var = 0, n = (double)per * x.t;
    for (int c = g * per; c < (g + 1) * per; c++)
      for (int t = 0; t < x.t; t++) mean += x.v[c * x.t + t];
    mean /= n;
    for (int c = g * per; c < (g + 1) * per; c++)
      for (int t = 0; t < x.t; t++) var += (x.v[c * x.t + t] - mean) * (x.v[c * x.t + t] - mean);
    var /= n;
    for (int c = g * per; c < (g + 1) * per; c++)
      for (int t = 0; t < x.t; t++)
        x.v[c * x.t + t] = mish((x.v[c * x.t + t] - mean) / sqrt(var + 1e-5) * gam[c] + bet[c]);
  }
  free(gam), free(bet);
}

/* Linear: W [out][in]. */
static void linear(const double *in, int n_in, lundi_module *m, const char *name, int n_out, double *out) {
  float *w = param(m, name, "weight"), *b = param(m, name, "bias");
  for (int o = 0; o < n_out; o++) {
    double acc = b[o];
    for (int i = 0; i < n_in; i++) acc += (double)w[o * n_in + i] * in[i];
    out[o] = acc;
  }
  free(w), free(b);
}

static arr conv_block(arr in, lundi_module *m, const char *prefix, int co, const lundi_unet1d_config *c) {
  char name[160];
  snprintf(name, sizeof name, "%s.block.0", prefix);
  arr h = conv1d(in, m, name, co, c->kernel_size, 1, c->kernel_size / 2);
  snprintf(name, sizeof name, "%s.block.1", prefix);
  group_norm_mish(h, m, name, c->n_groups);
  return h;
}

/* ConditionalResidualBlock1D; frees nothing of in. cond: Mish(global feature) [cond_dim]. */
static arr res(arr in, lundi_module *m, const char *prefix, int co, const double *cond, int cond_dim,
               const lundi_unet1d_config *c) {
  char name[160];
  snprintf(name, sizeof name, "%s.blocks.0", prefix);
  arr h = conv_block(in, m, name, co, c);
  double *e = calloc((size_t)(2 * co), sizeof(double));
  snprintf(name, sizeof name, "%s.cond_encoder.1", prefix);
  linear(cond, cond_dim, m, name, c->cond_predict_scale ? 2 * co : co, e);
  for (int o = 0; o < co; o++)
    for (int t = 0; t < h.t; t++)
      h.v[o * h.t + t] = c->cond_predict_scale ? e[o] * h.v[o * h.t + t] + e[co + o] : h.v[o * h.t + t] + e[o];
  free(e);
  snprintf(name, sizeof name, "%s.blocks.1", prefix);
  arr h2 = conv_block(h, m, name, co, c);
  free(h.v);
  snprintf(name, sizeof name, "%s.residual_conv", prefix);
  float *rw = param(m, name, "weight");
  arr r = rw ? conv1d(in, m, name, co, 1, 1, 0) : in;
  for (int i = 0; i < co * h2.t; i++) h2.v[i] += r.v[i];
  if (rw) free(r.v);
  free(rw);
  return h2;
}

static void replace(arr *h, arr next) {
  free(h->v);
  *h = next;
}

int naive_unet1d(const lundi_unet1d_config *c, lundi_module *m, const float *x, const float *tsteps, const float *g,
                 int B, int T, float *out) {
  const int L = c->n_levels, A = c->action_dim, dsed = c->step_embed_dim, half = dsed / 2;
  const int cond_dim = dsed + c->global_cond_dim;
  char name[160];
  for (int b = 0; b < B; b++) {
    /* the step encoder, then the condition, then the cond encoders' leading Mish */
    double *emb = calloc((size_t)dsed, sizeof(double)), *hid = calloc((size_t)(4 * dsed), sizeof(double));
    double *feat = calloc((size_t)cond_dim, sizeof(double));
    for (int i = 0; i < half; i++) {
      double f = exp(-log(10000.0) / (half - 1) * i);
      emb[i] = sin(tsteps[b] * f), emb[half + i] = cos(tsteps[b] * f);
    }
    linear(emb, dsed, m, "diffusion_step_encoder.1", 4 * dsed, hid);
    for (int i = 0; i < 4 * dsed; i++) hid[i] = mish(hid[i]);
    linear(hid, 4 * dsed, m, "diffusion_step_encoder.3", dsed, feat);
    for (int i = 0; i < c->global_cond_dim; i++) feat[dsed + i] = g[b * c->global_cond_dim + i];
    for (int i = 0; i < cond_dim; i++) feat[i] = mish(feat[i]);
    arr h = arr_new(A, T), skips[LUNDI_UNET1D_MAX_LEVELS];
    for (int a = 0; a < A; a++)
      for (int t = 0; t < T; t++) h.v[a * T + t] = x[(b * T + t) * A + a];
    for (int l = 0; l < L; l++) {
      int co = c->down_dims[l];
      snprintf(name, sizeof name, "down_modules.%d.0", l);
      replace(&h, res(h, m, name, co, feat, cond_dim, c));
      snprintf(name, sizeof name, "down_modules.%d.1", l);
      replace(&h, res(h, m, name, co, feat, cond_dim, c));
      skips[l] = arr_new(h.c, h.t);
      memcpy(skips[l].v, h.v, sizeof(double) * (size_t)(h.c * h.t));
      snprintf(name, sizeof name, "down_modules.%d.2.conv", l);
      if (l + 1 < L) replace(&h, conv1d(h, m, name, co, 3, 2, 1));
    }
    for (int i = 0; i < 2; i++) {
      snprintf(name, sizeof name, "mid_modules.%d", i);
      replace(&h, res(h, m, name, c->down_dims[L - 1], feat, cond_dim, c));
    }
    for (int i = 0; i < L - 1; i++) { /* x first, then the skip: torch.cat((x, h.pop()), dim=1) */
      arr s = skips[L - 1 - i], cat = arr_new(h.c + s.c, h.t);
      memcpy(cat.v, h.v, sizeof(double) * (size_t)(h.c * h.t));
      memcpy(cat.v + h.c * h.t, s.v, sizeof(double) * (size_t)(s.c * s.t));
      replace(&h, cat);
      int co = c->down_dims[L - 2 - i];
      snprintf(name, sizeof name, "up_modules.%d.0", i);
      replace(&h, res(h, m, name, co, feat, cond_dim, c));
      snprintf(name, sizeof name, "up_modules.%d.1", i);
      replace(&h, res(h, m, name, co, feat, cond_dim, c));
      snprintf(name, sizeof name, "up_modules.%d.2.conv", i);
      replace(&h, conv_transpose1d(h, m, name, co));
    }
    replace(&h, conv_block(h, m, "final_conv.0", c->down_dims[0], c));
    replace(&h, conv1d(h, m, "final_conv.1", A, 1, 1, 0));
    for (int a = 0; a < A; a++)
      for (int t = 0; t < T; t++) out[(b * T + t) * A + a] = (float)h.v[a * T + t];
    free(h.v), free(emb), free(hid), free(feat);
    for (int l = 0; l < L; l++) free(skips[l].v);
  }
  return 0;
}
