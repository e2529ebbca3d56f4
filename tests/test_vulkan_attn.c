/* Vulkan attention, cross-entropy and max-backward kernels against the CPU kernels. The
 * kernels run through the dispatcher on views inside sentinel-filled storages (vulkan_pair.h:
 * a write outside a view shows as a changed sentinel), and the public ops (lundi_sdpa,
 * lundi_cross_entropy) run with autograd on both devices.
 *
 * Tolerances are per element, computed here in double from the inputs as the worst-case
 * rounding of the operations each side performs (u = 2^-24), so they scale with the sum of
 * |terms| of every dot product or sum, not with the (possibly cancelling) result:
 * - a sum of n terms in any order is within (n - 1) u sum|terms| of the exact sum, so two
 *   sides differ by at most 2 (n + 2) u sum|terms|;
 * - scores: (D + 2) u (scale sum|q k| + |mask|) + u |s| per side, 0 when the inputs are
 *   dyadic with a power-of-two scale (then both sides form them exactly);
 * - softmax weights p = exp(s - lse): a score error e moves p by 2 max e relative; exp
 *   (1 ulp on the CPU, 3 in shaders/mathf.glsl) with its argument rounded: 4 u (|s - m| + 8)
 *   for both sides, which also covers the online softmax's rescales (their arguments add
 *   up to at most m - s); the row sums (CPU float partials then double; device float with
 *   one rescale per tile of 32 keys): 2 (2 S + 4 tiles + 16) u;
 * - outputs: sum over the terms of |term| times their relative error, plus the final sum's
 *   2 (n + 2) u sum|terms|.
 * Cross-entropy: the CPU sums in double, the device in float with compensated sums, so the
 * bound is the float one of the device side. Max-backward is exact (one add per element).
 * Cases exit 77 (skip) without a Vulkan device. */
#include "vulkan_pair.h"

#define U ((double)U_F32)
#define NINF (-(double)INFINITY)

/* ---- helpers ---- */

/* Overwrites the view's elements (contiguous views) with gen() and uploads them. */
static void pair_set(pair *p, float (*gen)(void)) {
  float *v = pair_host(p);
  int64_t n = lundi_numel(p->h);
  for (int64_t i = 0; i < n; i++) v[i] = gen();
  pair_sync(p);
}

static float g_unit(void) {
  return unif(-1.5f, 1.5f);
}
static float g_wide(void) {
  return unif(-3.0f, 3.0f);
}
static float g_dyadic(void) {
  return value(V_DYADIC);
}
static float g_mask(void) {
  return lcg() % 10 == 0 ? -INFINITY : unif(-2.0f, 2.0f);
}
static float g_mask_dyadic(void) {
  return lcg() % 10 == 0 ? -INFINITY : value(V_DYADIC);
}

/* Compares two tensors of one shape (any devices) element by element with |cpu - dev| <=
 * bound[i] + 2u |cpu| (bound may be NULL); NaN must match NaN, infinities exactly. */
static int64_t compare_t(const char *what, lundi_tensor *cpu, lundi_tensor *dev,
                         const double *bound) {
  CHECK(cpu && dev && lundi_numel(cpu) == lundi_numel(dev));
  if (!cpu || !dev || lundi_numel(cpu) != lundi_numel(dev)) return 1;
  float *x = t_read(cpu), *y = t_read(dev);
  int64_t n = lundi_numel(cpu), bad = 0, first = -1;
  double worst = 0;
  for (int64_t i = 0; x && y && i < n; i++) {
    int ok;
    if (isnan(x[i]) || isnan(y[i]))
      ok = isnan(x[i]) && isnan(y[i]);
    else if (isinf(x[i]) || isinf(y[i]))
      ok = x[i] == y[i];
    else {
      double b = bound && !isnan(bound[i]) ? bound[i] : 0, lim = b + 2 * U * fabs(x[i]);
      double e = fabs((double)x[i] - y[i]);
      ok = e <= lim;
      if (lim > 0 && e / lim > worst) worst = e / lim;
    }
    if (!ok && first < 0) first = i;
    bad += !ok;
  }
  if (bad)
    fprintf(stderr,
            "%s: %lld mismatches of %lld; first at %lld: cpu %.9g vulkan %.9g (bound %.3g)\n", what,
            (long long)bad, (long long)n, (long long)first, x[first], y[first],
            bound ? bound[first] : 0.0);
  else if (getenv("LUNDI_TEST_VERBOSE"))
    printf("%s: ok, worst error %.3f of the tolerance\n", what, worst);
  CHECK(x && y && bad == 0);
  free(x);
  free(y);
  return bad;
}

/* Spreads a logical-order bound of a contiguous view over its whole storage. */
static double *spread(const pair *p, const double *b) {
  double *w = calloc((size_t)p->total, sizeof *w);
  int64_t n = lundi_numel(p->h);
  for (int64_t i = 0; i < n; i++) w[p->h->offset + i] = b[i];
  return w;
}

static void compare_pair(const char *what, pair *p, const double *b) {
  double *w = spread(p, b);
  compare_f32(what, p, (tol){2 * U, 0, w});
  free(w);
}

/* ---- attention: reference bounds ---- */

typedef struct aref {
  int64_t B, L, S, D, Dv;
  int causal, exact; /* exact: dyadic q, k, mask and a power-of-two scale */
  double scale;
  const float *q, *k, *v, *g, *lse; /* contiguous, logical order (g, lse: backward only) */
  const lundi_tensor *mask;         /* host view [batch..., L, S] or NULL */
  const float *mdata;               /* its storage's first element */
} aref;

static double mask_at(const aref *a, int64_t b, int64_t l, int64_t s) {
  return a->mask ? a->mdata[pos_of(a->mask, (b * a->L + l) * a->S + s)] : 0;
}

/* Row (b, l): scores in double as the CPU forms them (-inf where causal blocks) and es[c],
 * one side's rounding bound. */
static void row_scores(const aref *a, int64_t b, int64_t l, double *s, double *es) {
  const float *q = a->q + (b * a->L + l) * a->D;
  for (int64_t c = 0; c < a->S; c++) {
    if (a->causal && c > l + a->S - a->L) {
      s[c] = NINF, es[c] = 0;
      continue;
    }
    const float *k = a->k + (b * a->S + c) * a->D;
    double dot = 0, ab = 0;
    for (int64_t d = 0; d < a->D; d++) {
      dot += (double)q[d] * k[d];
      ab += fabs((double)q[d] * k[d]);
    }
    double m = mask_at(a, b, l, c);
    s[c] = a->scale * dot + m;
    es[c] = a->exact ? 0 : (a->D + 2) * U * a->scale * ab + 2 * U * fabs(m) + U * fabs(s[c]);
  }
}

/* Bounds of o [B, L, Dv] and lse [B, L]; also the reference lse (double) when ref_lse. */
static void fwd_bounds(const aref *a, double *bo, double *blse, double *ref_lse) {
  double *s = malloc(sizeof(double) * (size_t)(a->S + 1)),
         *es = malloc(sizeof(double) * (size_t)(a->S + 1));
  int64_t nt = (a->S + 31) / 32;
  double dl = 2 * (2.0 * a->S + 4.0 * nt + 16) * U;
  for (int64_t b = 0; b < a->B; b++)
    for (int64_t l = 0; l < a->L; l++) {
      int64_t row = b * a->L + l;
      row_scores(a, b, l, s, es);
      double mx = NINF, E = 0, se = 0;
      for (int64_t c = 0; c < a->S; c++)
        if (s[c] > mx) mx = s[c];
      if (mx == NINF) { /* fully masked: exactly 0 (or NaN from a NaN value) on both sides */
        for (int64_t e = 0; e < a->Dv; e++) bo[row * a->Dv + e] = 0;
        blse[row] = 0;
        if (ref_lse) ref_lse[row] = NINF;
        continue;
      }
      for (int64_t c = 0; c < a->S; c++) {
        if (s[c] == NINF) continue;
        se += exp(s[c] - mx);
        if (2 * es[c] > E) E = 2 * es[c];
      }
      double lse = mx + log(se);
      if (ref_lse) ref_lse[row] = lse;
      blse[row] = E + dl + 4 * U * fabs(lse) + 16 * U;
      for (int64_t e = 0; e < a->Dv; e++) {
        double acc = 0, o = 0;
        for (int64_t c = 0; c < a->S; c++) {
          if (s[c] == NINF) continue;
          double p = exp(s[c] - lse), v = a->v[(b * a->S + c) * a->Dv + e];
          acc += p * fabs(v) * (2 * E + 4 * U * (fabs(s[c] - mx) + 8) + dl + 2 * (a->S + 2) * U);
          o += p * v;
        }
        bo[row * a->Dv + e] = acc + 4 * U * fabs(o);
      }
    }
  free(s);
  free(es);
}

/* Bounds of dq [B, L, D], dk [B, S, D], dv [B, S, Dv] and dscores [B, L, S] for gout a->g
 * and the saved a->lse; dlse[row] (or NULL) bounds how far the two sides' lse differ. dsabs
 * (or NULL) receives |dscores|. */
static void bwd_bounds(const aref *a, const double *dlse, double *bdq, double *bdk, double *bdv,
                       double *bds, double *dsabs) {
  int64_t B = a->B, L = a->L, S = a->S, D = a->D, Dv = a->Dv;
  double *s = malloc(sizeof(double) * (size_t)(S + 1)),
         *es = malloc(sizeof(double) * (size_t)(S + 1));
  double *p = malloc(sizeof(double) * (size_t)(S + 1)),
         *rho = malloc(sizeof(double) * (size_t)(S + 1));
  double *dp = malloc(sizeof(double) * (size_t)(S + 1)),
         *F = malloc(sizeof(double) * (size_t)(S + 1));
  double *ds = malloc(sizeof(double) * (size_t)(S + 1)),
         *dds = malloc(sizeof(double) * (size_t)(S + 1));
  memset(bdk, 0, sizeof(double) * (size_t)(B * S * D));
  memset(bdv, 0, sizeof(double) * (size_t)(B * S * Dv));
  for (int64_t b = 0; b < B; b++)
    for (int64_t l = 0; l < L; l++) {
      int64_t row = b * L + l;
      const float *g = a->g + row * Dv, *q = a->q + row * D;
      double lse = a->lse[row], dl = dlse ? dlse[row] : 0;
      row_scores(a, b, l, s, es);
      double delta = 0, dd = 0, pa = 0;
      for (int64_t c = 0; c < S; c++) {
        const float *v = a->v + (b * S + c) * Dv;
        p[c] = lse == NINF || s[c] == NINF ? 0 : exp(s[c] - lse);
        rho[c] = 2 * es[c] + dl + 4 * U * (fabs(s[c] - lse) + 8);
        double x = 0, xa = 0;
        for (int64_t e = 0; e < Dv; e++) {
          x += (double)g[e] * v[e];
          xa += fabs((double)g[e] * v[e]);
        }
        dp[c] = x, F[c] = (Dv + 2) * U * xa;
        if (p[c] == 0) continue;
        delta += p[c] * x;
        dd += p[c] * (fabs(x) * rho[c] + 2 * F[c]);
        pa += p[c] * fabs(x);
      }
      dd += 2 * (S + 2) * U * pa;
      for (int64_t c = 0; c < S; c++) {
        double r = dp[c] - delta;
        ds[c] = p[c] == 0 ? 0 : p[c] * r;
        dds[c] = p[c] == 0 ? 0 : p[c] * (rho[c] * fabs(r) + 2 * F[c] + dd + 4 * U * fabs(r));
        if (bds) bds[row * S + c] = dds[c];
        if (dsabs) dsabs[row * S + c] = fabs(ds[c]);
      }
      for (int64_t d = 0; d < D; d++) {
        double acc = 0;
        for (int64_t c = 0; c < S; c++) {
          double k = fabs((double)a->k[(b * S + c) * D + d]);
          acc += dds[c] * k + 2 * (S + 4) * U * fabs(ds[c]) * k;
        }
        bdq[row * D + d] = a->scale * acc;
      }
      for (int64_t c = 0; c < S; c++) {
        if (p[c] == 0) continue;
        for (int64_t d = 0; d < D; d++)
          bdk[(b * S + c) * D + d] +=
              a->scale * fabs((double)q[d]) * (dds[c] + 2 * (L + 4) * U * fabs(ds[c]));
        for (int64_t e = 0; e < Dv; e++)
          bdv[(b * S + c) * Dv + e] += p[c] * fabs((double)g[e]) * (rho[c] + 2 * (L + 4) * U);
      }
    }
  free(s), free(es), free(p), free(rho), free(dp), free(F), free(ds), free(dds);
}

/* ---- attention through the kernels (sentinels) ---- */

enum {
  M_NONE,
  M_FULL,
  M_HEADS,
  M_KEYPAD
}; /* mask [B1, B2, L, S]: full, broadcast over B2, over L */

typedef struct acase {
  int64_t B1, B2, L, S, D, Dv;
  int causal, mask, exact;
  float scale; /* 0: 1 / sqrt(D) */
} acase;

static const acase acases[] = {
    {1, 1, 1, 1, 1, 1, 0, M_NONE, 0, 0},          {3, 1, 7, 5, 8, 8, 0, M_NONE, 0, 0.3f},
    {2, 1, 5, 9, 16, 7, 1, M_NONE, 0, 0},         {2, 1, 9, 5, 7, 12, 1, M_NONE, 0, 0},
    {2, 2, 49, 49, 32, 32, 0, M_FULL, 0, 0},      {2, 3, 33, 70, 20, 40, 0, M_HEADS, 0, 0},
    {1, 2, 40, 300, 130, 150, 0, M_KEYPAD, 0, 0}, {3, 1, 17, 17, 5, 3, 1, M_FULL, 0, 0},
    {2, 2, 37, 65, 64, 64, 0, M_FULL, 1, 0.125f}, {1, 1, 196, 196, 64, 64, 1, M_NONE, 1, 0.125f},
    {2, 1, 5, 6, 4, 0, 0, M_HEADS, 0, 0},         {1, 3, 3, 100, 200, 20, 0, M_NONE, 0, 0},
    {1, 2, 0, 5, 4, 3, 0, M_NONE, 0, 0}, /* no queries: dk, dv are zeros */
};

typedef struct aio {
  aref a;
  pair q, k, v, m, g, lse_in;
} aio;

static pair make_mask(lundi_device *dev, const acase *t, int kind_dyadic) {
  int64_t L = t->L, S = t->S, shape[4] = {t->B1, t->B2, L, S}, st[4];
  if (t->mask == M_FULL)
    st[0] = t->B2 * L * S, st[1] = L * S, st[2] = S, st[3] = 1;
  else if (t->mask == M_HEADS)
    st[0] = L * S, st[1] = 0, st[2] = S, st[3] = 1;
  else
    st[0] = S, st[1] = 0, st[2] = 0, st[3] = 1;
  int64_t reach = (t->B1 - 1) * st[0] + (t->B2 - 1) * st[1] + (L - 1) * st[2] + (S - 1) * st[3] + 1;
  pair m = pair_make(dev, LUNDI_F32, 4, shape, st, 4, 4 + reach + 3, V_MIXED);
  float *w = lundi_data(m.hw);
  for (int64_t i = 4; i < 4 + reach; i++) w[i] = kind_dyadic ? g_mask_dyadic() : g_mask();
  if (t->mask != M_KEYPAD && L > 1)
    for (int64_t s = 0; s < S; s++)
      w[4 + st[2] + s] = -INFINITY;          /* row 1 of batch 0: fully masked */
  if (t->mask == M_KEYPAD) w[4] = -INFINITY; /* key 0 padded out */
  pair_sync(&m);
  return m;
}

static aio attn_inputs(lundi_device *dev, const acase *t) {
  aio io = {0};
  int64_t B = t->B1 * t->B2, nq = B * t->L * t->D, nk = B * t->S * t->D, nv = B * t->S * t->Dv;
  io.q = pair_contig(dev, LUNDI_F32, 1, &nq, 3, 2, V_MIXED);
  io.k = pair_contig(dev, LUNDI_F32, 1, &nk, 1, 4, V_MIXED);
  io.v = pair_contig(dev, LUNDI_F32, 1, &nv, 2, 1, V_MIXED);
  pair_set(&io.q, t->exact ? g_dyadic : g_unit);
  pair_set(&io.k, t->exact ? g_dyadic : g_unit);
  if (t->mask != M_NONE) io.m = make_mask(dev, t, t->exact);
  io.a = (aref){B,
                t->L,
                t->S,
                t->D,
                t->Dv,
                t->causal,
                t->exact,
                t->scale > 0 ? t->scale : (float)(1.0 / sqrt((double)t->D)),
                pair_host(&io.q),
                pair_host(&io.k),
                pair_host(&io.v),
                NULL,
                NULL,
                io.m.h,
                io.m.h ? lundi_data(io.m.hw) : NULL};
  return io;
}

static void aio_free(aio *io) {
  pair_free(&io->q), pair_free(&io->k), pair_free(&io->v), pair_free(&io->m);
  pair_free(&io->g), pair_free(&io->lse_in);
}

static lundi_kcall attn_call(int id, const aref *a) {
  return (lundi_kcall){.id = id, .i = {a->B, a->L, a->S, a->D, a->Dv, a->causal}, .f = {a->scale}};
}

/* Forward on both sides; checks o and lse (bounds) and the sentinels around them. Leaves
 * the CPU's lse in io->lse_in (for the backward) and, when dev_o is not NULL, malloc'd
 * copies of the device's o and lse in dev_o / dev_lse. */
static int attn_fwd_check(lundi_device *dev, aio *io, const char *what, float **dev_o,
                          float **dev_lse) {
  const aref *a = &io->a;
  int64_t no = a->B * a->L * a->Dv, nl = a->B * a->L;
  pair o = pair_contig(dev, LUNDI_F32, 1, &no, 5, 3, -1),
       lse = pair_contig(dev, LUNDI_F32, 1, &nl, 2, 6, -1);
  pair in[4] = {io->q, io->k, io->v, io->m}, out[2] = {o, lse};
  int rc = run_both(attn_call(LUNDI_K_ATTN_FWD, a), in, 4, out, 2);
  if (!rc) {
    double *bo = calloc((size_t)no + 1, sizeof *bo), *bl = calloc((size_t)nl + 1, sizeof *bl);
    fwd_bounds(a, bo, bl, NULL);
    char w[200];
    snprintf(w, sizeof w, "%s: o", what);
    compare_pair(w, &o, bo);
    snprintf(w, sizeof w, "%s: lse", what);
    compare_pair(w, &lse, bl);
    free(bo);
    free(bl);
    if (dev_o) {
      *dev_o = t_read(o.d);
      *dev_lse = t_read(lse.d);
    }
    pair_free(&io->lse_in);
    io->lse_in = pair_contig(dev, LUNDI_F32, 1, &nl, 1, 1, V_MIXED);
    memcpy(pair_host(&io->lse_in), pair_host(&lse), sizeof(float) * (size_t)nl);
    pair_sync(&io->lse_in);
  }
  pair_free(&o);
  pair_free(&lse);
  return rc;
}

/* Backward on both sides with the CPU's lse; outs: bit 0 dq, 1 dk, 2 dv, 3 dscores. */
static void attn_bwd_check(lundi_device *dev, aio *io, unsigned outs, const char *what) {
  aref *a = &io->a;
  int64_t B = a->B, L = a->L, S = a->S, D = a->D, Dv = a->Dv, ng = B * L * Dv;
  if (!io->g.h) {
    io->g = pair_contig(dev, LUNDI_F32, 1, &ng, 2, 2, V_MIXED);
    pair_set(&io->g, g_wide);
  }
  a->g = pair_host(&io->g), a->lse = pair_host(&io->lse_in);
  int64_t n[4] = {B * L * D, B * S * D, B * S * Dv, B * L * S};
  pair out[4] = {{0}};
  for (int j = 0; j < 4; j++)
    if ((outs >> j) & 1) out[j] = pair_contig(dev, LUNDI_F32, 1, &n[j], 1 + j, 4 - j, -1);
  pair in[6] = {io->q, io->k, io->v, io->m, io->g, io->lse_in};
  if (!run_both(attn_call(LUNDI_K_ATTN_BWD, a), in, 6, out, 4)) {
    double *bd[4];
    for (int j = 0; j < 4; j++) bd[j] = calloc((size_t)n[j] + 1, sizeof(double));
    bwd_bounds(a, NULL, bd[0], bd[1], bd[2], bd[3], NULL);
    static const char *names[4] = {"dq", "dk", "dv", "dscores"};
    for (int j = 0; j < 4; j++) {
      if (out[j].h) {
        char w[200];
        snprintf(w, sizeof w, "%s: %s (outputs 0x%x)", what, names[j], outs);
        compare_pair(w, &out[j], bd[j]);
      }
      free(bd[j]);
    }
  }
  for (int j = 0; j < 4; j++) pair_free(&out[j]);
}

static const char *acase_name(const acase *t, char *buf, size_t n) {
  snprintf(buf, n, "attention B %lldx%lld L %lld S %lld D %lld Dv %lld causal %d mask %d%s",
           (long long)t->B1, (long long)t->B2, (long long)t->L, (long long)t->S, (long long)t->D,
           (long long)t->Dv, t->causal, t->mask, t->exact ? " exact" : "");
  return buf;
}

static void attn_fwd_vs_cpu(void) {
  lundi_device *dev = need_device();
  for (size_t i = 0; i < sizeof acases / sizeof *acases; i++) {
    char name[160];
    aio io = attn_inputs(dev, &acases[i]);
    attn_fwd_check(dev, &io, acase_name(&acases[i], name, sizeof name), NULL, NULL);
    aio_free(&io);
  }
  CHECK(lundi_live_tensors() == 0);
}

/* A view of n elements at offset off of base's storage, as a pair of its own. */
static pair pair_sub(const pair *base, int64_t off, int64_t n) {
  int64_t one = 1;
  pair p = {lundi_retain(base->hw), lundi_retain(base->dw), NULL, NULL, base->total};
  p.h = lundi__view(p.hw, 1, &n, &one, off);
  p.d = lundi__view(p.dw, 1, &n, &one, off);
  return p;
}

/* Self-attention with q = k (the same view) and v in one storage: the kernel binds that
 * storage directly instead of packing a copy. */
static void attn_shared_storage(void) {
  lundi_device *dev = need_device();
  acase t = {2, 3, 21, 21, 24, 24, 1, M_HEADS, 0, 0};
  aio io = attn_inputs(dev, &t);
  int64_t n = io.a.B * io.a.L * io.a.D, total = 3 + 2 * n + 2;
  pair all = pair_contig(dev, LUNDI_F32, 1, &total, 0, 0, V_MIXED);
  pair_free(&io.q), pair_free(&io.k), pair_free(&io.v);
  float *w = pair_host(&all);
  for (int64_t i = 0; i < n; i++) w[3 + i] = g_unit();
  pair_sync(&all);
  io.q = pair_sub(&all, 3, n);
  io.k = pair_sub(&all, 3, n);
  io.v = pair_sub(&all, 3 + n, n);
  io.a.q = io.a.k = (const float *)lundi_data(all.hw) + 3;
  io.a.v = (const float *)lundi_data(all.hw) + 3 + n;
  if (!attn_fwd_check(dev, &io, "attention with q = k and v in one storage", NULL, NULL))
    attn_bwd_check(dev, &io, 0xf, "attention with q = k and v in one storage");
  pair_free(&all);
  aio_free(&io);
  CHECK(lundi_live_tensors() == 0);
}

static void attn_bwd_vs_cpu(void) {
  lundi_device *dev = need_device();
  for (size_t i = 0; i < sizeof acases / sizeof *acases; i++) {
    char name[160];
    aio io = attn_inputs(dev, &acases[i]);
    acase_name(&acases[i], name, sizeof name);
    if (!attn_fwd_check(dev, &io, name, NULL, NULL)) {
      attn_bwd_check(dev, &io, 0xf, name);
      /* subsets (the dispatcher needs dq, the op always passes it) */
      if (i % 3 == 0) attn_bwd_check(dev, &io, 0x5, name); /* dq, dv: no dk chunks */
      if (i % 3 == 1) attn_bwd_check(dev, &io, 0x3, name); /* dq, dk: no dscores */
      if (i % 3 == 2) attn_bwd_check(dev, &io, 0x9, name); /* dq, dscores: no keys pass */
    }
    aio_free(&io);
  }
  CHECK(lundi_live_tensors() == 0);
}

/* NaN and inf in the inputs: a NaN value poisons its column in every row of the batch (the
 * CPU's GEMM multiplies it by zero weights too); a NaN in a q row makes every score of the
 * row NaN, which the max ignores, so the row counts as fully masked (0, lse -inf); a NaN in
 * k poisons every row of its batch; +inf in the mask makes a row NaN. */
static void attn_nan(void) {
  lundi_device *dev = need_device();
  acase t = {4, 1, 6, 40, 8, 5, 0, M_FULL, 0, 0};
  for (int causal = 0; causal < 2; causal++) {
    t.causal = causal;
    aio io = attn_inputs(dev, &t);
    const aref *a = &io.a;
    float *q = pair_host(&io.q), *k = pair_host(&io.k), *v = pair_host(&io.v),
          *m = lundi_data(io.m.hw);
    v[(0 * a->S + 2) * a->Dv + 1] = NAN;
    q[(1 * a->L + 3) * a->D + 0] = NAN;
    k[(2 * a->S + 5) * a->D + 0] = NAN;
    m[pos_of(io.m.h, (1 * a->L + 4) * a->S + 7)] = INFINITY;
    m[pos_of(io.m.h, (3 * a->L + 2) * a->S + 9)] = NAN;
    pair_sync(&io.q), pair_sync(&io.k), pair_sync(&io.v), pair_sync(&io.m);
    io.a.mdata = lundi_data(io.m.hw);
    char name[160];
    snprintf(name, sizeof name, "attention NaN causal %d", causal);
    float *o = NULL, *lse = NULL;
    if (!attn_fwd_check(dev, &io, name, &o, &lse)) {
      /* the device's own pattern, as described above */
      int64_t L = a->L, Dv = a->Dv;
      for (int64_t l = 0; l < L; l++) {
        CHECK(isnan(o[l * Dv + 1])); /* NaN value: column 1 of batch 0 */
        CHECK(isnan(o[(2 * L + l) * Dv]) && isnan(lse[2 * L + l])); /* NaN key: all of batch 2 */
      }
      for (int64_t e = 0; e < Dv; e++) {
        CHECK(o[(1 * L + 3) * Dv + e] == 0); /* NaN query: fully masked */
        CHECK(isnan(o[(1 * L + 4) * Dv + e]) &&
              isnan(o[(3 * L + 2) * Dv + e]));           /* +inf, NaN mask */
        if (e != 1) CHECK(o[(0 * L + 1) * Dv + e] == 0); /* the -inf mask row */
      }
      CHECK(lse[1 * L + 3] == -INFINITY && lse[0 * L + 1] == -INFINITY && isnan(lse[1 * L + 4]));
      attn_bwd_check(dev, &io, 0xf, name);
    }
    free(o);
    free(lse);
    aio_free(&io);
  }
  CHECK(lundi_live_tensors() == 0);
}

/* ---- attention through the public op, with autograd ---- */

typedef struct pcase {
  int64_t B, H, L, S, D, Dv;
  int causal;
  int mask; /* 0 none, 1 [B, 1, L, S], 2 [L, S], 3 key padding [B, 1, 1, S] */
  int mask_grad, masked_row;
} pcase;

static const pcase pcases[] = {
    {2, 3, 40, 70, 20, 36, 0, 1, 1, 0}, {2, 2, 9, 5, 8, 8, 1, 0, 0, 0},
    {3, 2, 13, 29, 12, 7, 0, 2, 1, 1},  {1, 2, 50, 300, 130, 150, 0, 3, 0, 0},
    {2, 4, 49, 49, 32, 32, 0, 0, 0, 0}, {1, 3, 33, 33, 16, 16, 1, 2, 1, 1},
};

static void sdpa_public_case(lundi_device *dev, const pcase *t, lundi_rng *rng) {
  int64_t B = t->B * t->H, L = t->L, S = t->S, D = t->D, Dv = t->Dv;
  int64_t sq[4] = {t->B, t->H, L, D}, sk[4] = {t->B, t->H, S, D}, sv[4] = {t->B, t->H, S, Dv},
          so[4] = {t->B, t->H, L, Dv};
  int64_t ms[4] = {t->B, 1, L, S}, ms2[2] = {L, S}, mk[4] = {t->B, 1, 1, S},
          full[4] = {t->B, t->H, L, S};
  lundi_tensor *h[5] = {t_randn(rng, 4, sq, 1.0f, 0), t_randn(rng, 4, sk, 1.0f, 0),
                        t_randn(rng, 4, sv, 1.0f, 0), NULL, t_randn(rng, 4, so, 1.0f, 0)};
  if (t->mask == 1) h[3] = t_randn(rng, 4, ms, 1.0f, 0);
  if (t->mask == 2) h[3] = t_randn(rng, 2, ms2, 1.0f, 0);
  if (t->mask == 3) h[3] = lundi_zeros(4, mk);
  if (h[3]) {
    float *mv = lundi_data(h[3]);
    if (t->mask == 3) mv[S - 1] = -INFINITY, mv[0] = -INFINITY;
    if (t->masked_row)
      for (int64_t s = 0; s < S; s++) mv[1 * S + s] = -INFINITY; /* query row 1 sees nothing */
  }
  lundi_tensor *res[2][5] = {{NULL}}, *out[2] = {NULL, NULL};
  for (int side = 0; side < 2; side++) {
    lundi_tensor *leaf[5] = {NULL};
    for (int j = 0; j < 5; j++) {
      if (!h[j]) continue;
      leaf[j] = side ? lundi_to_device(h[j], dev) : lundi_clone(h[j]);
      if (j < 3 || (j == 3 && t->mask_grad)) lundi_set_requires_grad(leaf[j], 1);
    }
    lundi_tensor *o = lundi_sdpa(leaf[0], leaf[1], leaf[2], leaf[3], t->causal, 0);
    lundi_tensor *w = o ? lundi_mul(o, leaf[4]) : NULL, *s = w ? lundi_sum(w, 0, NULL, 0) : NULL;
    CHECK(s && lundi_backward(s, NULL) == 0);
    out[side] = o;
    for (int j = 0; j < 4; j++) res[side][j] = leaf[j] ? lundi_retain(lundi_grad(leaf[j])) : NULL;
    lundi_release(w), lundi_release(s);
    for (int j = 0; j < 5; j++) lundi_release(leaf[j]);
  }
  /* reference bounds from the host inputs */
  lundi_tensor *mfull = h[3] ? lundi_expand(h[3], 4, full) : NULL;
  aref a = {B,
            L,
            S,
            D,
            Dv,
            t->causal,
            0,
            1.0 / sqrt((double)D),
            lundi_data(h[0]),
            lundi_data(h[1]),
            lundi_data(h[2]),
            lundi_data(h[4]),
            NULL,
            mfull,
            h[3] ? lundi_data(h[3]) : NULL};
  int64_t nl = B * L;
  double *bo = calloc((size_t)(B * L * Dv + 1), sizeof(double)),
         *bl = calloc((size_t)nl, sizeof(double));
  double *rl = calloc((size_t)nl, sizeof(double));
  float *lse = calloc((size_t)nl, sizeof(float));
  fwd_bounds(&a, bo, bl, rl);
  for (int64_t r = 0; r < nl; r++) {
    lse[r] = (float)rl[r];
    bl[r] = 2 * bl[r] + 2 * U * fabs(rl[r]); /* the two sides' lse around the reference */
  }
  a.lse = lse;
  double *bd[4] = {calloc((size_t)(B * L * D), sizeof(double)),
                   calloc((size_t)(B * S * D), sizeof(double)),
                   calloc((size_t)(B * S * Dv + 1), sizeof(double)),
                   calloc((size_t)(B * L * S), sizeof(double))};
  double *dsa = calloc((size_t)(B * L * S), sizeof(double));
  bwd_bounds(&a, bl, bd[0], bd[1], bd[2], bd[3], dsa);
  char what[200];
  snprintf(what, sizeof what, "sdpa B %lld H %lld L %lld S %lld D %lld Dv %lld causal %d mask %d",
           (long long)t->B, (long long)t->H, (long long)L, (long long)S, (long long)D,
           (long long)Dv, t->causal, t->mask);
  char w[260];
  snprintf(w, sizeof w, "%s: output", what);
  compare_t(w, out[0], out[1], bo);
  static const char *names[3] = {"dq", "dk", "dv"};
  for (int j = 0; j < 3; j++) {
    snprintf(w, sizeof w, "%s: %s", what, names[j]);
    compare_t(w, res[0][j], res[1][j], bd[j]);
  }
  if (t->mask_grad) { /* the mask's gradient: dscores summed over the broadcast dims */
    int64_t nm = lundi_numel(h[3]), reps = B * L * S / nm;
    double *bm = calloc((size_t)nm, sizeof(double));
    for (int64_t i = 0; i < B * L * S; i++) { /* element i of the full scores -> mask element */
      int64_t sidx = i % S, lidx = (i / S) % L, bidx = i / (L * S), mi;
      mi = t->mask == 2 ? lidx * S + sidx : ((bidx / t->H) * L + lidx) * S + sidx;
      bm[mi] += bd[3][i] + 2 * (reps + 2) * U * dsa[i];
    }
    snprintf(w, sizeof w, "%s: dmask", what);
    compare_t(w, res[0][3], res[1][3], bm);
    free(bm);
  }
  for (int j = 0; j < 4; j++) free(bd[j]);
  free(dsa), free(bo), free(bl), free(rl), free(lse);
  lundi_release(mfull);
  for (int side = 0; side < 2; side++) {
    lundi_release(out[side]);
    for (int j = 0; j < 4; j++) lundi_release(res[side][j]);
  }
  for (int j = 0; j < 5; j++) lundi_release(h[j]);
}

static void sdpa_public(void) {
  lundi_device *dev = need_device();
  lundi_rng rng = lundi_rng_make(21);
  for (size_t i = 0; i < sizeof pcases / sizeof *pcases; i++)
    sdpa_public_case(dev, &pcases[i], &rng);
  CHECK(lundi_live_tensors() == 0);
}

/* ---- cross-entropy ---- */

typedef struct cecase {
  int64_t R, C;
  int mask, ignore, kind;
  float ls;
} cecase;

static const cecase cecases[] = {
    {1, 1, 0, -100, V_MIXED, 0},     {5, 10, 0, -100, V_MIXED, 0},
    {37, 3, 1, 1, V_MIXED, 0.1f},    {8, 1000, 1, -100, V_MIXED, 0.2f},
    {300, 17, 0, 2, V_MIXED, 0.05f}, {3, 5000, 0, -100, V_MIXED, 0},
    {64, 10, 1, -100, V_SPECIAL, 0}, {64, 10, 0, -100, V_SPECIAL, 0.1f},
    {6, 4, 1, 0, V_MIXED, 0},
};

/* Targets: a class, or the ignore index about one time in five; `all_ignored` ignores all. */
static void set_targets(pair *t, int64_t C, int ignore, int all_ignored) {
  int32_t *tv = (int32_t *)lundi_data(t->hw) + t->h->offset;
  int64_t R = lundi_numel(t->h);
  for (int64_t r = 0; r < R; r++)
    tv[r] = all_ignored || lcg() % 5 == 0 ? ignore : (int32_t)(lcg() % (uint32_t)C);
  pair_sync(t);
}

static float g_weight(void) {
  return lcg() % 6 == 0 ? 0.0f : unif(0.0f, 2.0f);
}

/* Bounds of the loss, lse [R] and wsum (the device's float sums against the CPU's double). */
static void ce_bounds(int64_t R, int64_t C, const float *x, const int32_t *t, const float *mask,
                      int ignore, float ls, double *bloss, double *blse, double *bwsum) {
  double sl = 0, dsl = 0, sla = 0, sw = 0, swa = 0, keep = 1.0 - ls;
  for (int64_t r = 0; r < R; r++) {
    const float *row = x + r * C;
    double m = NINF, se = 0, ea = 0, sx = 0, sxa = 0;
    for (int64_t c = 0; c < C; c++)
      if (row[c] > m) m = row[c];
    for (int64_t c = 0; c < C; c++) {
      double e = exp(row[c] - m);
      se += e;
      if (e != 0) ea += e * (fabs(row[c] - m) + 4); /* (a -inf logit adds an exact 0) */
      sx += row[c];
      sxa += fabs(row[c]);
    }
    double lse = m + log(se);
    double dlse = (2 * ea * U + 2 * (C + 4) * U * se) / se + 4 * U * fabs(lse) + 4 * U;
    blse[r] = dlse;
    double w = t[r] == ignore ? 0 : mask ? mask[r] : 1;
    if (w != 0) {
      double a1 = lse - row[t[r]], a2 = lse - sx / (double)C, rl = w * (keep * a1 + ls * a2);
      sl += rl;
      sla += fabs(rl);
      dsl += fabs(w) * (keep * (dlse + 4 * U * fabs(a1)) +
                        ls * (dlse + 2 * (C + 4) * U * sxa / C + 4 * U * fabs(a2))) +
             4 * U * fabs(rl);
    }
    sw += w;
    swa += fabs(w);
  }
  double dsw = 2 * (R + 4) * U * swa, loss = sw != 0 ? sl / sw : 0;
  *bwsum = dsw;
  *bloss = sw != 0 ? (dsl + 2 * (R + 4) * U * sla) / fabs(sw) + fabs(loss) * dsw / fabs(sw) +
                         4 * U * fabs(loss)
                   : 0;
}

/* Bounds of the logits' gradient when the two sides' lse differ by up to dlse[r] and wsum
 * relatively by dw. */
static void ce_grad_bounds(int64_t R, int64_t C, const float *x, const int32_t *t,
                           const float *mask, int ignore, float ls, const float *lse, float wsum,
                           float gout, const double *dlse, double dw, double *b) {
  float scale = wsum != 0.0f ? gout / wsum : 0.0f, off = ls / (float)C;
  double keep = 1.0 - ls;
  for (int64_t r = 0; r < R; r++) {
    double w = t[r] == ignore ? 0 : mask ? mask[r] : 1, s = fabs((double)scale * w);
    for (int64_t c = 0; c < C; c++) {
      double d = (double)x[r * C + c] - lse[r], e = exp(d),
             g = s * (e - off) - (c == t[r] ? s * keep : 0);
      b[r * C + c] = s == 0 ? 0
                            : s * e * (4 * U * (fabs(d) + 4) + (dlse ? dlse[r] : 0)) +
                                  8 * U * (s * (e + off + keep) + fabs(g)) + fabs(g) * dw;
    }
  }
}

static void ce_kernel_case(lundi_device *dev, const cecase *k, int all_ignored) {
  int64_t R = k->R, C = k->C, shape[2] = {R, C}, scalar[1] = {1};
  pair x = pair_contig(dev, LUNDI_F32, 2, shape, 3, 2, k->kind),
       t = pair_contig(dev, LUNDI_I32, 1, &R, 2, 1, 0);
  pair m = {0};
  set_targets(&t, C, k->ignore, all_ignored);
  if (k->mask) {
    m = pair_contig(dev, LUNDI_F32, 1, &R, 1, 3, V_MIXED);
    pair_set(&m, g_weight);
  }
  pair loss = pair_contig(dev, LUNDI_F32, 0, scalar, 2, 3, -1),
       lse = pair_contig(dev, LUNDI_F32, 1, &R, 1, 2, -1),
       ws = pair_contig(dev, LUNDI_F32, 0, scalar, 3, 1, -1);
  char what[160];
  snprintf(what, sizeof what, "cross_entropy R %lld C %lld mask %d ignore %d kind %d ls %g%s",
           (long long)R, (long long)C, k->mask, k->ignore, k->kind, k->ls,
           all_ignored ? " all ignored" : "");
  lundi_kcall c = {.id = LUNDI_K_CROSS_ENTROPY_FWD, .i = {k->ignore}, .f = {k->ls}};
  pair in[3] = {x, t, m}, out[3] = {loss, lse, ws};
  const int32_t *tv = (const int32_t *)lundi_data(t.hw) + t.h->offset;
  if (!run_both(c, in, k->mask ? 3 : 2, out, 3)) {
    double bl, bw, *blse = calloc((size_t)R + 1, sizeof(double));
    ce_bounds(R, C, pair_host(&x), tv, k->mask ? pair_host(&m) : NULL, k->ignore, k->ls, &bl, blse,
              &bw);
    char w[200];
    snprintf(w, sizeof w, "%s: loss", what);
    compare_pair(w, &loss, &bl);
    snprintf(w, sizeof w, "%s: lse", what);
    compare_pair(w, &lse, blse);
    snprintf(w, sizeof w, "%s: wsum", what);
    compare_pair(w, &ws, &bw);
    free(blse);
    /* backward from the CPU's lse and wsum, with a random gout */
    pair_sync(&lse);
    pair_sync(&ws);
    pair go = pair_contig(dev, LUNDI_F32, 0, scalar, 1, 1, V_MIXED),
         gx = pair_contig(dev, LUNDI_F32, 2, shape, 2, 4, -1);
    pair bin[6] = {x, t, lse, ws, go, m};
    lundi_kcall b = {.id = LUNDI_K_CROSS_ENTROPY_BWD, .i = {k->ignore}, .f = {k->ls}};
    if (!run_both(b, bin, k->mask ? 6 : 5, &gx, 1)) {
      double *bg = calloc((size_t)(R * C) + 1, sizeof(double));
      ce_grad_bounds(R, C, pair_host(&x), tv, k->mask ? pair_host(&m) : NULL, k->ignore, k->ls,
                     pair_host(&lse), *pair_host(&ws), *pair_host(&go), NULL, 4 * U, bg);
      snprintf(w, sizeof w, "%s: backward", what);
      compare_pair(w, &gx, bg);
      free(bg);
    }
    pair_free(&go);
    pair_free(&gx);
  }
  pair_free(&x), pair_free(&t), pair_free(&m), pair_free(&loss), pair_free(&lse), pair_free(&ws);
}

static void ce_vs_cpu(void) {
  lundi_device *dev = need_device();
  for (size_t i = 0; i < sizeof cecases / sizeof *cecases; i++) ce_kernel_case(dev, &cecases[i], 0);
  ce_kernel_case(dev, &cecases[2], 1);
  ce_kernel_case(dev, &cecases[1], 1);
  CHECK(lundi_live_tensors() == 0);
}

/* The public op on [N, T, C] logits with autograd: plain mean, masked weights with label
 * smoothing, and every target ignored (loss 0, gradient 0). */
static void ce_public(void) {
  lundi_device *dev = need_device();
  lundi_rng rng = lundi_rng_make(33);
  for (int v = 0; v < 3; v++) {
    int64_t N = 3, T = 11, C = 29, xs[3] = {N, T, C}, ts[2] = {N, T}, R = N * T;
    int ignore = -100;
    float ls = v == 1 ? 0.15f : 0.0f;
    lundi_tensor *hx = t_randn(&rng, 3, xs, 2.0f, 0);
    int32_t *tv = malloc(sizeof(int32_t) * (size_t)R);
    float *mv = malloc(sizeof(float) * (size_t)R);
    for (int64_t r = 0; r < R; r++) {
      tv[r] = v == 2 || lcg() % 5 == 0 ? ignore : (int32_t)(lcg() % (uint32_t)C);
      mv[r] = g_weight();
    }
    lundi_tensor *ht = lundi_from_i32(2, ts, tv), *hm = v == 1 ? lundi_from_f32(2, ts, mv) : NULL;
    lundi_tensor *loss[2], *grad[2];
    for (int side = 0; side < 2; side++) {
      lundi_tensor *x = side ? lundi_to_device(hx, dev) : lundi_clone(hx);
      lundi_tensor *t = side ? lundi_to_device(ht, dev) : lundi_retain(ht);
      lundi_tensor *m = hm ? (side ? lundi_to_device(hm, dev) : lundi_retain(hm)) : NULL;
      lundi_set_requires_grad(x, 1);
      loss[side] = lundi_cross_entropy(x, t, m, ignore, ls);
      CHECK(loss[side] && lundi_backward(loss[side], NULL) == 0);
      grad[side] = lundi_retain(lundi_grad(x));
      lundi_release(x), lundi_release(t), lundi_release(m);
    }
    const float *xv = lundi_data(hx);
    double bl, bw, *blse = calloc((size_t)R, sizeof(double)),
                   *bg = calloc((size_t)(R * C), sizeof(double));
    ce_bounds(R, C, xv, tv, hm ? mv : NULL, ignore, ls, &bl, blse, &bw);
    /* the gradient from the reference lse and wsum; each side's lse and wsum within the bounds */
    float *lse = malloc(sizeof(float) * (size_t)R), wsum = 0;
    double sw = 0;
    for (int64_t r = 0; r < R; r++) {
      double m = NINF, se = 0;
      for (int64_t c = 0; c < C; c++) m = xv[r * C + c] > m ? xv[r * C + c] : m;
      for (int64_t c = 0; c < C; c++) se += exp(xv[r * C + c] - m);
      lse[r] = (float)(m + log(se));
      blse[r] = 2 * blse[r] + 2 * U * fabs(lse[r]);
      sw += tv[r] == ignore ? 0 : hm ? mv[r] : 1;
    }
    wsum = (float)sw;
    ce_grad_bounds(R, C, xv, tv, hm ? mv : NULL, ignore, ls, lse, wsum, 1.0f, blse,
                   sw != 0 ? 2 * bw / fabs(sw) + 4 * U : 0, bg);
    char what[80];
    snprintf(what, sizeof what, "cross_entropy public variant %d: loss", v);
    compare_t(what, loss[0], loss[1], &bl);
    snprintf(what, sizeof what, "cross_entropy public variant %d: gradient", v);
    compare_t(what, grad[0], grad[1], bg);
    if (v == 2) { /* nothing counts: exactly 0 */
      float l = 1, *g = t_read(grad[1]);
      CHECK(lundi_read_f32(loss[1], &l, 1) == 0 && l == 0);
      for (int64_t j = 0; g && j < R * C; j++) CHECK(g[j] == 0);
      free(g);
    }
    free(blse), free(bg), free(lse), free(tv), free(mv);
    for (int side = 0; side < 2; side++) lundi_release(loss[side]), lundi_release(grad[side]);
    lundi_release(hx), lundi_release(ht), lundi_release(hm);
  }
  CHECK(lundi_live_tensors() == 0);
}

/* ---- max backward ---- */

typedef struct mcase {
  int nd;
  int64_t shape[4];
  unsigned red; /* bit d: dim d reduced */
  int strided, kstrided;
  int binary; /* values 0 / 1 only: ties everywhere, several per lane of a long reduction */
} mcase;

static const mcase mcases[] = {
    {3, {4, 5, 6}, 0x2, 0, 0, 0}, {3, {4, 5, 6}, 0x5, 1, 0, 0},    {3, {4, 5, 6}, 0x4, 1, 1, 0},
    {3, {4, 5, 6}, 0x7, 0, 0, 0}, {2, {7, 1}, 0x1, 0, 0, 0},       {2, {3, 300}, 0x2, 1, 0, 0},
    {1, {1000}, 0x1, 0, 0, 0},    {4, {2, 3, 4, 5}, 0x0, 1, 0, 0}, {4, {2, 3, 1, 5}, 0xa, 0, 1, 0},
    {1, {1000}, 0x1, 0, 0, 1},    {2, {3, 700}, 0x2, 1, 0, 1},     {3, {600, 2, 3}, 0x1, 1, 0, 1},
};

static float g_tie(void) {
  return lcg() % 25 == 0 ? NAN : (float)((int)(lcg() % 5) - 2);
}
static float g_bit(void) {
  return (float)(lcg() % 2);
}

/* x with many ties and some NaN; the max from the CPU kernel; the output view pre-filled
 * (the kernel adds to it) inside sentinels. Exact: one add per output element. */
static void max_bwd_vs_cpu(void) {
  lundi_device *dev = need_device();
  for (size_t i = 0; i < sizeof mcases / sizeof *mcases; i++) {
    const mcase *k = &mcases[i];
    int64_t ks[4], st[4], total = 0, kst[4], ktotal = 0, n = 1, nk = 1;
    for (int d = 0; d < k->nd; d++) {
      ks[d] = (k->red >> d) & 1 ? 1 : k->shape[d];
      n *= k->shape[d];
      nk *= ks[d];
    }
    int64_t s = 1, s2 = 1;
    for (int d = 0; d < k->nd; d++) { /* first dim fastest, padded: a permuted, strided layout */
      st[d] = s, s *= k->shape[d] + 1;
      kst[d] = s2, s2 *= ks[d] + 1;
    }
    total = 3 + s + 2, ktotal = 1 + s2 + 1;
    pair x = k->strided ? pair_make(dev, LUNDI_F32, k->nd, k->shape, st, 3, total, V_MIXED)
                        : pair_contig(dev, LUNDI_F32, k->nd, k->shape, 3, 2, V_MIXED);
    float *xw = lundi_data(x.hw);
    for (int64_t j = 0; j < n; j++) xw[pos_of(x.h, j)] = k->binary ? g_bit() : g_tie();
    pair_sync(&x);
    pair m = k->kstrided ? pair_make(dev, LUNDI_F32, k->nd, ks, kst, 1, ktotal, V_MIXED)
                         : pair_contig(dev, LUNDI_F32, k->nd, ks, 1, 1, V_MIXED);
    pair g = k->kstrided ? pair_make(dev, LUNDI_F32, k->nd, ks, kst, 1, ktotal, V_MIXED)
                         : pair_contig(dev, LUNDI_F32, k->nd, ks, 2, 1, V_MIXED);
    lundi_kcall r = {.id = LUNDI_K_REDUCE,
                     .n_in = 1,
                     .n_out = 1,
                     .in = {x.h},
                     .out = {m.h},
                     .i = {LUNDI_RED_MAX}};
    CHECK(lundi__dispatch(&r) == 0);
    pair_sync(&m);
    pair o = pair_contig(dev, LUNDI_F32, k->nd, k->shape, 4, 3, -1);
    pair_set(&o, g_unit);
    pair in[3] = {x, m, g};
    lundi_kcall c = {.id = LUNDI_K_MAX_BWD};
    char what[96];
    snprintf(what, sizeof what, "max_backward case %zu (%lld elements, %lld outputs)", i,
             (long long)n, (long long)nk);
    if (!run_both(c, in, 3, &o, 1)) compare_f32(what, &o, (tol){0, 0, NULL});
    pair_free(&x), pair_free(&m), pair_free(&g), pair_free(&o);
  }
  CHECK(lundi_live_tensors() == 0);
}

/* ---- errors ---- */

static void errors(void) {
  lundi_device *dev = need_device();
  int64_t n = 2 * 3 * 4, three = 3;
  lundi_tensor *q = lundi_empty(1, &n, LUNDI_F32, dev), *o = lundi_empty(1, &n, LUNDI_F32, dev);
  lundi_tensor *lse = lundi_empty(1, &three, LUNDI_F32, dev),
               *small = lundi_empty(1, &three, LUNDI_F32, dev);
  /* k too short for B S D */
  lundi_kcall c = {.id = LUNDI_K_ATTN_FWD,
                   .n_in = 4,
                   .n_out = 2,
                   .in = {q, small, q, NULL},
                   .out = {o, lse},
                   .i = {2, 3, 3, 4, 4, 0},
                   .f = {0.5}};
  CHECK_ERR(lundi__dispatch(&c) == 0, "attention: k must be contiguous with 24 elements");
  /* a mask whose batch does not match */
  int64_t ms[3] = {3, 3, 3};
  lundi_tensor *m = lundi_empty(3, ms, LUNDI_F32, dev),
               *lse6 = lundi_empty(1, &(int64_t){6}, LUNDI_F32, dev);
  lundi_kcall c2 = {.id = LUNDI_K_ATTN_FWD,
                    .n_in = 4,
                    .n_out = 2,
                    .in = {q, q, q, m},
                    .out = {o, lse6},
                    .i = {2, 3, 3, 4, 4, 0},
                    .f = {0.5}};
  CHECK_ERR(lundi__dispatch(&c2) == 0,
            "attention: the mask must be [batch..., 3, 3] with 2 batch entries");
  lundi_release(q), lundi_release(o), lundi_release(lse), lundi_release(small), lundi_release(m),
      lundi_release(lse6);
  CHECK(lundi_live_tensors() == 0);
}

static const test_case cases[] = {
    {"attn_fwd_vs_cpu", attn_fwd_vs_cpu},
    {"attn_bwd_vs_cpu", attn_bwd_vs_cpu},
    {"attn_nan", attn_nan},
    {"attn_shared_storage", attn_shared_storage},
    {"sdpa_public", sdpa_public},
    {"ce_vs_cpu", ce_vs_cpu},
    {"ce_public", ce_public},
    {"max_bwd_vs_cpu", max_bwd_vs_cpu},
    {"errors", errors},
};
TEST_MAIN(cases)
