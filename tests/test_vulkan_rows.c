/* Vulkan row-wise kernels against the CPU kernels: softmax / log-softmax (forward and
 * backward) and the layer, RMS, group and group + SiLU norms (forward and backward). Each
 * runs on contiguous views inside sentinel-filled storages (vulkan_pair.h), with odd sizes
 * that do not divide the workgroup, NaN / inf inputs and all -inf softmax rows. Tolerances
 * are per element, derived from the operations each side performs (u = 2^-24):
 * - a sum of n terms in any order is within (n - 1) u sum|terms| of the exact sum, so the
 *   two sides' sums differ by at most 2 (n + 2) u sum|terms|;
 * - exp: the CPU's Cephes exp is within 1 ulp, shaders/mathf.glsl's within 3: 8u relative
 *   between them; log 2 + 1 ulp; Vulkan's division 2.5 ulp and sqrt about 3 ulp.
 * Cases exit 77 (skip) without a Vulkan device. */
#include "vulkan_pair.h"

#define U ((double)U_F32)

/* ---- softmax ---- */

typedef struct sm_case {
  int64_t O, D, I;
} sm_case;

static const sm_case sms[] = {{1, 1, 1}, {3, 7, 1},   {2, 300, 1}, {2, 1000, 1}, {4, 2, 5},
                              {2, 5, 3}, {3, 17, 65}, {1, 513, 2}, {9, 3, 1},    {2, 0, 3}};

/* Sets row (o, j) of a contiguous [O, D, I] host view to v. */
static void set_row(float *x, const sm_case *s, int64_t o, int64_t j, float v) {
  for (int64_t d = 0; d < s->D; d++) x[(o * s->D + d) * s->I + j] = v;
}

static void softmax_fwd_case(lundi_device *dev, const sm_case *s, int kind, int log_out) {
  int64_t n = s->O * s->D * s->I;
  pair x = pair_contig(dev, LUNDI_F32, 1, &n, 3, 5, kind),
       y = pair_contig(dev, LUNDI_F32, 1, &n, 2, 7, -1);
  if (n && s->O > 1) { /* an all -inf row, and a row holding one -inf */
    set_row(pair_host(&x), s, 1, s->I - 1, -INFINITY);
    pair_host(&x)[0] = -INFINITY;
    pair_sync(&x);
  }
  lundi_kcall c = {.id = log_out ? LUNDI_K_LOG_SOFTMAX_FWD : LUNDI_K_SOFTMAX_FWD,
                   .i = {s->O, s->D, s->I}};
  char what[96];
  snprintf(what, sizeof what, "%s [%lld, %lld, %lld] kind %d", log_out ? "log_softmax" : "softmax",
           (long long)s->O, (long long)s->D, (long long)s->I, kind);
  if (!run_both(c, &x, 1, &y, 1)) {
    /* softmax: e_i (8u apart) / S (2 (D + 6) u apart) times 1/S (u and 5u): relative
     * (2 D + 32) u, plus an absolute FLT_MIN for results the device flushes to zero.
     * log_softmax: (x - max) is exact on both sides; log S is 2 (D + 6) u + 5u |log S|
     * apart; the final subtraction rounds on each side. */
    double *bound = calloc((size_t)y.total, sizeof *bound);
    const float *xv = pair_host(&x), *yv = pair_host(&y);
    for (int64_t o = 0; o < s->O; o++)
      for (int64_t j = 0; j < s->I; j++) {
        float m = -INFINITY;
        for (int64_t d = 0; d < s->D; d++)
          m = xv[(o * s->D + d) * s->I + j] > m ? xv[(o * s->D + d) * s->I + j] : m;
        if (m == -INFINITY) m = 0;
        for (int64_t d = 0; d < s->D; d++) {
          int64_t e = (o * s->D + d) * s->I + j;
          double b;
          if (log_out) {
            double ls = ((double)xv[e] - m) - yv[e];
            b = 2 * (s->D + 6) * U + 5 * U * fabs(ls) + 2 * U * fabs(yv[e]);
          } else {
            b = (2.0 * s->D + 32) * U * fabs(yv[e]) + FLT_MIN;
          }
          bound[y.h->offset + e] = b;
        }
      }
    compare_f32(what, &y, (tol){0, 0, bound});
    free(bound);
  }
  pair_free(&x);
  pair_free(&y);
}

static void softmax_bwd_case(lundi_device *dev, const sm_case *s, int kind, int log_out) {
  int64_t n = s->O * s->D * s->I;
  pair y = pair_contig(dev, LUNDI_F32, 1, &n, 1, 4, kind),
       g = pair_contig(dev, LUNDI_F32, 1, &n, 6, 2, V_MIXED);
  pair dx = pair_contig(dev, LUNDI_F32, 1, &n, 4, 3, -1);
  pair in[2] = {y, g};
  lundi_kcall c = {.id = log_out ? LUNDI_K_LOG_SOFTMAX_BWD : LUNDI_K_SOFTMAX_BWD,
                   .i = {s->O, s->D, s->I}};
  char what[96];
  snprintf(what, sizeof what, "%s backward [%lld, %lld, %lld] kind %d",
           log_out ? "log_softmax" : "softmax", (long long)s->O, (long long)s->D, (long long)s->I,
           kind);
  if (!run_both(c, in, 2, &dx, 1)) {
    /* a = sum g y (softmax) or sum g (log_softmax): 2 (D + 2) u sum|terms| apart; then
     * softmax dx = y (g - a): |y| da + 2u (|y| |g - a|) on each side; log_softmax
     * dx = g - exp(y) a: exp(y) (da + 8u |a|) + 2u (|g| + exp(y) |a|) on each side. */
    double *bound = calloc((size_t)dx.total, sizeof *bound);
    const float *yv = pair_host(&y), *gv = pair_host(&g);
    for (int64_t o = 0; o < s->O; o++)
      for (int64_t j = 0; j < s->I; j++) {
        double a = 0, aa = 0;
        for (int64_t d = 0; d < s->D; d++) {
          int64_t e = (o * s->D + d) * s->I + j;
          double t = log_out ? gv[e] : (double)gv[e] * yv[e];
          a += t;
          aa += fabs(t);
        }
        double da = 2 * (s->D + 2) * U * aa;
        for (int64_t d = 0; d < s->D; d++) {
          int64_t e = (o * s->D + d) * s->I + j;
          double b;
          if (log_out) {
            double ey = yv[e] > 0 ? 1 : exp(yv[e]);
            b = ey * (da + 8 * U * fabs(a)) + 4 * U * (fabs(gv[e]) + ey * fabs(a));
          } else {
            b = fabs(yv[e]) * (da + 4 * U * (fabs(gv[e]) + fabs(a)));
          }
          bound[dx.h->offset + e] = b;
        }
      }
    compare_f32(what, &dx, (tol){0, 0, bound});
    free(bound);
  }
  pair_free(&y);
  pair_free(&g);
  pair_free(&dx);
}

static void softmax_vs_cpu(void) {
  lundi_device *dev = need_device();
  for (size_t k = 0; k < sizeof sms / sizeof *sms; k++)
    for (int log_out = 0; log_out < 2; log_out++) {
      softmax_fwd_case(dev, &sms[k], V_MIXED, log_out);
      softmax_fwd_case(dev, &sms[k], V_SPECIAL, log_out);
    }
  CHECK(lundi_live_tensors() == 0);
}

static void softmax_bwd_vs_cpu(void) {
  lundi_device *dev = need_device();
  for (size_t k = 0; k < sizeof sms / sizeof *sms; k++)
    for (int log_out = 0; log_out < 2; log_out++) {
      softmax_bwd_case(dev, &sms[k], V_MIXED, log_out);
      softmax_bwd_case(dev, &sms[k], V_SPECIAL, log_out);
    }
  CHECK(lundi_live_tensors() == 0);
}

/* ---- norms ---- */

enum { LN, RMS, GN, GNS };
static const char *norm_names[] = {"layer_norm", "rms_norm", "group_norm", "group_norm_silu"};

/* A norm in the common form of runtime/vulkan/kernels_rows.c: rows of M contiguous elements;
 * element i of row r uses channel (r % groups) * Cg + i / HW; channel c sums n < N, h < HW. */
typedef struct ngeom {
  int64_t rows, M, HW, Cg, groups, C, N;
} ngeom;

static int64_t chan(const ngeom *g, int64_t r, int64_t i) {
  return (r % g->groups) * g->Cg + i / g->HW;
}

static double sigm(double z) {
  return 1 / (1 + exp(-z));
}

typedef struct norm_io {
  pair x, gamma, beta, y, mean, rstd;
} norm_io;

static void norm_case(lundi_device *dev, int op, const int64_t *ext, int has_gamma, int has_beta,
                      int kind, float shift) {
  ngeom g;
  int64_t i[4] = {ext[0], ext[1], ext[2], ext[3]};
  if (op == LN || op == RMS)
    g = (ngeom){ext[0], ext[1], 1, ext[1] ? ext[1] : 1, 1, ext[1], ext[0]};
  else
    g = (ngeom){ext[0] * ext[3], ext[1] / ext[3] * ext[2], ext[2], ext[1] / ext[3], ext[3], ext[1],
                ext[0]};
  int centered = op != RMS, silu = op == GNS;
  if (op == RMS) has_beta = 0;
  int64_t n = g.rows * g.M;
  double eps = 1e-5;
  norm_io io = {0};
  io.x = pair_contig(dev, LUNDI_F32, 1, &n, 5, 3, kind);
  if (shift != 0) { /* |mean| >> std: the shifted sums must not cancel */
    float *xv = pair_host(&io.x);
    for (int64_t k = 0; k < n; k++) xv[k] += shift;
    pair_sync(&io.x);
  }
  if (has_gamma) io.gamma = pair_contig(dev, LUNDI_F32, 1, &g.C, 1, 2, V_MIXED);
  if (has_beta) io.beta = pair_contig(dev, LUNDI_F32, 1, &g.C, 2, 1, V_MIXED);
  io.y = pair_contig(dev, LUNDI_F32, 1, &n, 2, 4, -1);
  io.mean = pair_contig(dev, LUNDI_F32, 1, &g.rows, 1, 3, -1);
  io.rstd = pair_contig(dev, LUNDI_F32, 1, &g.rows, 3, 1, -1);
  char what[160];
  snprintf(what, sizeof what, "%s %lld %lld %lld %lld gamma %d beta %d kind %d shift %g",
           norm_names[op], (long long)i[0], (long long)i[1], (long long)i[2], (long long)i[3],
           has_gamma, has_beta, kind, shift);
  static const int fwd_ids[] = {LUNDI_K_LAYER_NORM_FWD, LUNDI_K_RMS_NORM_FWD,
                                LUNDI_K_GROUP_NORM_FWD, LUNDI_K_GROUP_NORM_SILU_FWD};
  lundi_kcall c = {.id = fwd_ids[op], .f = {eps}, .i = {i[0], i[1], i[2], i[3]}};
  pair fin[3] = {io.x, io.gamma, io.beta}, fout[3] = {io.y, io.mean, io.rstd};
  if (op == RMS) fout[1] = io.rstd;
  int fwd_ok = !run_both(c, fin, op == RMS ? 2 : 3, fout, op == RMS ? 2 : 3);
  const float *xv = pair_host(&io.x), *gm = has_gamma ? pair_host(&io.gamma) : NULL;
  const float *bt = has_beta ? pair_host(&io.beta) : NULL;
  const float *mv = pair_host(&io.mean), *rv = pair_host(&io.rstd);
  if (fwd_ok) {
    /* Per row, in double: A1 = sum|x - k|, A2 = sum (x - k)^2 with k the row's first element
     * (0 for RMS), var the exact biased variance. mean: the shifted sum (M u A1 / M per
     * side) and one rounding; var: s2 / M and mu^2 within (3 M + 6) u A2 / M per side, so
     * rstd relatively within rho = (3 M + 6) u A2 / M / (var + eps) + 16u (sqrt and divide).
     * y: z = (x - mean) rstd gamma + beta within dz = rstd |gamma| (dmean + |x - mean| (rho +
     * 4u)) + 2u |z|; SiLU adds its slope (< 1.1) and 8u |z| for the sigmoid. */
    double *yb = calloc((size_t)io.y.total, sizeof *yb),
           *mb = calloc((size_t)io.mean.total, sizeof *mb);
    double *rb = calloc((size_t)io.rstd.total, sizeof *rb);
    for (int64_t r = 0; r < g.rows; r++) {
      const float *xr = xv + r * g.M;
      double k = centered && g.M ? xr[0] : 0, a1 = 0, a2 = 0, s = 0, m2 = 0;
      for (int64_t e = 0; e < g.M; e++) {
        a1 += fabs(xr[e] - k);
        a2 += (xr[e] - k) * (xr[e] - k);
        s += xr[e];
      }
      double M = g.M ? (double)g.M : 1, mu = centered ? s / M : 0;
      for (int64_t e = 0; e < g.M; e++) m2 += (xr[e] - mu) * (xr[e] - mu);
      double var = m2 / M;
      double dmean = 2 * ((M + 2) * U * a1 / M + 2 * U * fabs(mu));
      double rho = 2 * ((3 * M + 6) * U * a2 / M / (var + eps) + 16 * U);
      double rs = 1 / sqrt(var + eps);
      mb[io.mean.h->offset + r] = dmean;
      rb[io.rstd.h->offset + r] = rho * rs;
      for (int64_t e = 0; e < g.M; e++) {
        int64_t ch = chan(&g, r, e);
        double ga = gm ? gm[ch] : 1, d = xr[e] - mu, z = d * rs * ga + (bt ? bt[ch] : 0);
        double dz = rs * fabs(ga) * (dmean + fabs(d) * (rho + 4 * U)) + 2 * U * fabs(z);
        yb[io.y.h->offset + r * g.M + e] = silu ? 1.1 * dz + 8 * U * fabs(z) : dz;
      }
    }
    compare_f32(what, &io.y, (tol){0, 0, yb});
    if (centered) compare_f32(what, &io.mean, (tol){0, 0, mb});
    compare_f32(what, &io.rstd, (tol){0, 0, rb});
    free(yb);
    free(mb);
    free(rb);
  }
  /* Backward from the CPU's saved statistics (identical inputs on both sides). */
  pair_sync(&io.mean);
  pair_sync(&io.rstd);
  for (int outs = 0; outs < 2 && fwd_ok; outs++) { /* all outputs, then dx only */
    pair go = pair_contig(dev, LUNDI_F32, 1, &n, 1, 1, V_MIXED);
    pair dx = pair_contig(dev, LUNDI_F32, 1, &n, 2, 2, -1);
    pair dg = outs == 0 && has_gamma ? pair_contig(dev, LUNDI_F32, 1, &g.C, 1, 2, -1) : (pair){0};
    pair db = outs == 0 && has_beta ? pair_contig(dev, LUNDI_F32, 1, &g.C, 3, 1, -1) : (pair){0};
    static const int bwd_ids[] = {LUNDI_K_LAYER_NORM_BWD, LUNDI_K_RMS_NORM_BWD,
                                  LUNDI_K_GROUP_NORM_BWD, LUNDI_K_GROUP_NORM_SILU_BWD};
    lundi_kcall b = {.id = bwd_ids[op], .i = {i[0], i[1], i[2], i[3]}};
    pair bin[6] = {io.x, go, io.mean, io.rstd, io.gamma, io.beta}, bout[3] = {dx, dg, db};
    int nin = op == GNS ? 6 : 5;
    if (op == RMS) {
      bin[2] = io.rstd;
      bin[3] = io.gamma;
      nin = 4;
    }
    if (!run_both(b, bin, nin, bout, op == RMS ? 2 : 3)) {
      /* With d = x - mean, gg = gout (or dz for SiLU, which the sigmoid puts 16u |g| (1 + |z|)
       * apart), SA = sum gamma gg, SB = sum gamma gg d:
       * dx = rstd gamma gg - rstd^3 d SB / M - rstd SA / M; each sum 2 (M + 2) u sum|terms|
       * apart, each of the three terms rounds a few times (4u). dgamma, dbeta: sums over
       * N * HW of gg d rstd and gg, 2 (T + 2) u sum|terms| apart. */
      const float *gv = pair_host(&go);
      double *xb = calloc((size_t)dx.total, sizeof *xb);
      double *pgb = calloc((size_t)(dg.total + 1), sizeof *pgb),
             *pbb = calloc((size_t)(db.total + 1), sizeof *pbb);
      double *ggs = malloc(sizeof(double) * (size_t)(n + 1)),
             *dgg = malloc(sizeof(double) * (size_t)(n + 1));
      for (int64_t r = 0; r < g.rows; r++) {
        double mu = centered ? mv[r] : 0, rs = rv[r], sa = 0, sb = 0, aa = 0, ab = 0, ea = 0,
               eb = 0;
        for (int64_t e = 0; e < g.M; e++) {
          int64_t ch = chan(&g, r, e), k = r * g.M + e;
          double ga = gm ? gm[ch] : 1, d = xv[k] - mu, gg = gv[k], dg_ = 0;
          if (silu) {
            double z = d * rs * ga + (bt ? bt[ch] : 0), sg = sigm(z);
            gg = gv[k] * sg * (1 + z * (1 - sg));
            dg_ = 16 * U * fabs(gv[k]) * (1 + fabs(z));
          }
          ggs[k] = gg;
          dgg[k] = dg_;
          sa += ga * gg;
          sb += ga * gg * d;
          aa += fabs(ga * gg);
          ab += fabs(ga * gg * d);
          ea += fabs(ga) * dg_;
          eb += fabs(ga * d) * dg_;
        }
        double M = (double)g.M;
        double dsa = 2 * (M + 2) * U * aa + ea, dsb = 2 * (M + 2) * U * ab + eb;
        for (int64_t e = 0; e < g.M; e++) {
          int64_t ch = chan(&g, r, e), k = r * g.M + e;
          double ga = gm ? gm[ch] : 1, d = fabs(xv[k] - mu);
          double t1 = rs * fabs(ga * ggs[k]), t2 = rs * rs * rs * d * fabs(sb) / M,
                 t3 = centered ? rs * fabs(sa) / M : 0;
          xb[dx.h->offset + k] = rs * fabs(ga) * dgg[k] + rs * rs * rs * d * dsb / M +
                                 (centered ? rs * dsa / M : 0) + 4 * U * (t1 + t2 + t3);
        }
      }
      for (int64_t ch = 0; ch < g.C && outs == 0; ch++) {
        double ag = 0, ab = 0, eg = 0, eb = 0, T = (double)(g.N * g.HW);
        for (int64_t nn = 0; nn < g.N; nn++)
          for (int64_t h = 0; h < g.HW; h++) {
            int64_t k = (nn * g.C + ch) * g.HW + h, r = nn * g.groups + ch / g.Cg;
            double dr = (xv[k] - (centered ? mv[r] : 0)) * rv[r];
            ag += fabs(ggs[k] * dr);
            ab += fabs(ggs[k]);
            eg += fabs(dr) * dgg[k];
            eb += dgg[k];
          }
        if (dg.h) pgb[dg.h->offset + ch] = 2 * (T + 3) * U * ag + eg;
        if (db.h) pbb[db.h->offset + ch] = 2 * (T + 2) * U * ab + eb;
      }
      char bw[200];
      snprintf(bw, sizeof bw, "%s backward%s", what, outs ? " (dx only)" : "");
      compare_f32(bw, &dx, (tol){0, 0, xb});
      if (dg.h) compare_f32(bw, &dg, (tol){0, 0, pgb});
      if (db.h) compare_f32(bw, &db, (tol){0, 0, pbb});
      free(xb);
      free(pgb);
      free(pbb);
      free(ggs);
      free(dgg);
    }
    pair_free(&go);
    pair_free(&dx);
    pair_free(&dg);
    pair_free(&db);
  }
  pair_free(&io.x);
  pair_free(&io.gamma);
  pair_free(&io.beta);
  pair_free(&io.y);
  pair_free(&io.mean);
  pair_free(&io.rstd);
}

static const int64_t row_shapes[][4] = {{1, 1},   {3, 7}, {5, 300}, {2, 1000},
                                        {17, 33}, {3, 0}, {1, 257}};
static const int64_t group_shapes[][4] = {{1, 4, 1, 1},   {2, 6, 5, 3},     {3, 8, 49, 2},
                                          {2, 32, 17, 8}, {1, 12, 100, 12}, {2, 3, 300, 1}};

static void rows_norm(int op) {
  lundi_device *dev = need_device();
  for (size_t k = 0; k < sizeof row_shapes / sizeof *row_shapes; k++)
    for (int v = 0; v < 4; v++) {
      norm_case(dev, op, row_shapes[k], v & 1, v & 2, V_MIXED, 0);
      if (v == 3) {
        norm_case(dev, op, row_shapes[k], 1, 1, V_MIXED, 100);
        norm_case(dev, op, row_shapes[k], 1, 1, V_SPECIAL, 0);
      }
    }
  CHECK(lundi_live_tensors() == 0);
}

static void group_norm_op(int op) {
  lundi_device *dev = need_device();
  for (size_t k = 0; k < sizeof group_shapes / sizeof *group_shapes; k++)
    for (int v = 0; v < 4; v++) {
      norm_case(dev, op, group_shapes[k], v & 1, v & 2, V_MIXED, 0);
      if (v == 3) {
        norm_case(dev, op, group_shapes[k], 1, 1, V_MIXED, -50);
        norm_case(dev, op, group_shapes[k], 1, 1, V_SPECIAL, 0);
      }
    }
  CHECK(lundi_live_tensors() == 0);
}

static void layer_norm_vs_cpu(void) {
  rows_norm(LN);
}
static void rms_norm_vs_cpu(void) {
  rows_norm(RMS);
}
static void group_norm_vs_cpu(void) {
  group_norm_op(GN);
}
static void group_norm_silu_vs_cpu(void) {
  group_norm_op(GNS);
}

/* The public ops on device tensors with autograd: softmax over a middle dim (a strided
 * input made contiguous by the front-end), layer norm and group norm + SiLU, forward and
 * gradients against the CPU. Loose absolute bounds: the kernels are checked tightly above;
 * this checks the front-ends' use of them. */
static void public_ops(void) {
  lundi_device *dev = need_device();
  lundi_rng rng = lundi_rng_make(11);
  int64_t sh[4] = {2, 6, 5, 7}, g6[1] = {6}, g7[1] = {7}, e6[2] = {2, 6};
  lundi_tensor *hx = t_randn(&rng, 4, sh, 1.5f, 0), *hg = t_randn(&rng, 1, g6, 1.0f, 0),
               *hb = t_randn(&rng, 1, g6, 1.0f, 0);
  lundi_tensor *hl = t_randn(&rng, 1, g7, 1.0f, 0), *he = t_randn(&rng, 2, e6, 1.0f, 0);
  lundi_tensor *h[5] = {hx, hg, hb, hl, he}, *dv[5], *res[2][5];
  for (int k = 0; k < 5; k++) dv[k] = lundi_to_device(h[k], dev);
  for (int side = 0; side < 2; side++) {
    lundi_tensor **t = side ? dv : h, *leaf[5];
    for (int k = 0; k < 5; k++) {
      leaf[k] = lundi_clone(t[k]);
      lundi_set_requires_grad(leaf[k], 1);
    }
    lundi_tensor *tr = lundi_transpose(leaf[0], 1, 3);
    lundi_tensor *a = lundi_softmax(tr, 2), *b = lundi_log_softmax(leaf[0], 1);
    lundi_tensor *c = lundi_group_norm_silu(leaf[0], 3, leaf[1], leaf[2], 1e-5f);
    lundi_tensor *d = lundi_layer_norm(leaf[0], leaf[3], NULL, 1e-5f);
    /* the time-embedding form: on Vulkan the add and the norm run as two ops */
    lundi_tensor *c2 = lundi_add_group_norm_silu(leaf[0], leaf[4], 3, leaf[1], leaf[2], 1e-5f);
    lundi_tensor *bb = lundi_mul(b, b), *cc0 = lundi_mul(c, c), *dd = lundi_mul(d, leaf[0]);
    lundi_tensor *c2c = lundi_mul(c2, leaf[0]), *cc = lundi_add(cc0, c2c);
    lundi_tensor *sa = lundi_sum(a, 0, NULL, 0), *sb = lundi_sum(bb, 0, NULL, 0);
    lundi_tensor *sc = lundi_sum(cc, 0, NULL, 0), *sd = lundi_sum(dd, 0, NULL, 0);
    lundi_tensor *s1 = lundi_add(sa, sb), *s2 = lundi_add(sc, sd), *s = lundi_add(s1, s2);
    CHECK(s && lundi_backward(s, NULL) == 0);
    for (int k = 0; k < 5; k++) res[side][k] = lundi_retain(lundi_grad(leaf[k]));
    lundi_tensor *all[] = {tr, a, b, c, d, c2, bb, cc0, dd, c2c, cc, sa, sb, sc, sd, s1, s2, s};
    for (size_t k = 0; k < sizeof all / sizeof *all; k++) lundi_release(all[k]);
    for (int k = 0; k < 5; k++) lundi_release(leaf[k]);
  }
  for (int k = 0; k < 5; k++) {
    CHECK(res[0][k] && res[1][k] && t_max_abs_diff(res[0][k], res[1][k]) < 1e-3);
    lundi_release(res[0][k]);
    lundi_release(res[1][k]);
    lundi_release(h[k]);
    lundi_release(dv[k]);
  }
}

static const test_case cases[] = {
    {"softmax_vs_cpu", softmax_vs_cpu},
    {"softmax_bwd_vs_cpu", softmax_bwd_vs_cpu},
    {"layer_norm_vs_cpu", layer_norm_vs_cpu},
    {"rms_norm_vs_cpu", rms_norm_vs_cpu},
    {"group_norm_vs_cpu", group_norm_vs_cpu},
    {"group_norm_silu_vs_cpu", group_norm_silu_vs_cpu},
    {"public_ops", public_ops},
};
TEST_MAIN(cases)
