/* Vulkan kernels against the CPU kernels (issue 3): unary and its derivative, where, cast,
 * reductions, Philox fills, GEMM, AdamW and EMA. Every kernel runs through the dispatcher on
 * views placed inside larger sentinel-filled storages, on both backends with the same view
 * geometry and data; the whole storages are then compared, so a write outside the view
 * shows as a changed sentinel. Cases exit 77 (skip) without a Vulkan device. */
#include "vulkan_pair.h"

/* ---- geometries: contiguous, offset, transposed, broadcast, > 4 coalesced dims ---- */

typedef struct geom {
  int nd;
  int64_t shape[6];
} geom;

static const geom geoms[] = {
    {1, {1}},          {1, {7}},          {1, {257}},          {2, {33, 65}},          {3, {5, 1, 9}},
    {1, {100003}},     {4, {3, 5, 7, 2}}, {6, {2, 3, 2, 3, 2, 3}}, {2, {1, 1}},           {1, {0}},
};

/* A strided layout for shape: dims permuted (reverse) inside a storage with padding, offset 3. */
static void strided_layout(int nd, const int64_t *shape, int64_t *stride, int64_t *total) {
  int64_t s = 1;
  for (int k = 0; k < nd; k++) { /* first dim fastest, each padded by one */
    stride[k] = s;
    s *= shape[k] + 1;
  }
  *total = 3 + s + 5;
}

/* ---- unary ---- */

static const char *un_names[] = {"neg", "exp", "log", "sqrt", "rsqrt", "abs", "tanh", "sigmoid", "silu", "gelu",
                                 "gelu_tanh", "mish", "relu", "add_s", "mul_s", "rsub_s", "pow_s", "clamp", "sign"};

/* f0/f1 per op (pow gets several exponents in turn). */
static void un_params(int op, int variant, float *f0, float *f1) {
  static const float pows[] = {2.0f, 3.0f, 0.5f, -1.5f, 2.7f, -1.0f, 0.0f};
  *f0 = 0, *f1 = 0;
  if (op == LUNDI_UN_ADD_S) *f0 = 1.75f;
  if (op == LUNDI_UN_MUL_S) *f0 = -0.3f;
  if (op == LUNDI_UN_RSUB_S) *f0 = 2.5f;
  if (op == LUNDI_UN_POW_S) *f0 = pows[variant % 7];
  if (op == LUNDI_UN_CLAMP) *f0 = -1.25f, *f1 = 0.5f;
}

/* Relative 1e-5 with an absolute floor of 1e-6: inputs are O(1)-O(30), and where a formula
 * cancels (1 + erf at very negative x, log near 1, silu/mish tails) the CPU's own f32
 * evaluation is only that accurate in absolute terms. */
static const tol UNARY_TOL = {1e-5, 1e-6, NULL};

static void unary_case(int bwd) {
  lundi_device *dev = need_device();
  int kinds[] = {V_MIXED, V_SPECIAL, V_POSITIVE};
  for (size_t gi = 0; gi < sizeof geoms / sizeof *geoms; gi++) {
    const geom *g = &geoms[gi];
    int64_t st[6], total;
    strided_layout(g->nd, g->shape, st, &total);
    for (int op = 0; op < LUNDI_UN_COUNT; op++)
      for (int kv = 0; kv < 3; kv++) {
        int strided = (int)(gi + op + kv) % 2; /* alternate contiguous-with-offset and strided views */
        float f0, f1;
        un_params(op, (int)gi + kv, &f0, &f1);
        pair x = strided ? pair_make(dev, LUNDI_F32, g->nd, g->shape, st, 3, total, kinds[kv])
                         : pair_contig(dev, LUNDI_F32, g->nd, g->shape, 5, 37, kinds[kv]);
        pair o = strided ? pair_contig(dev, LUNDI_F32, g->nd, g->shape, 11, 3, -1)
                         : pair_make(dev, LUNDI_F32, g->nd, g->shape, st, 3, total, -1);
        char what[96];
        snprintf(what, sizeof what, "%s%s f0=%g shape#%zu kind %d%s", un_names[op], bwd ? " backward" : "", f0, gi,
                 kinds[kv], strided ? " strided in" : " strided out");
        if (!bwd) {
          lundi_kcall c = {.id = LUNDI_K_UNARY, .i = {op}, .f = {f0, f1}};
          if (!run_both(c, &x, 1, &o, 1)) compare_f32(what, &o, UNARY_TOL);
        } else {
          /* gout, and y = op(x) from the CPU for the ops that pass it, with and without y */
          pair gp = pair_contig(dev, LUNDI_F32, g->nd, g->shape, 1, 2, V_MIXED);
          pair in[3] = {x, gp, {0}};
          int with_y = (gi + kv) % 2;
          if (with_y) {
            in[2] = pair_contig(dev, LUNDI_F32, g->nd, g->shape, 2, 1, -1);
            lundi_kcall f = {.id = LUNDI_K_UNARY, .n_in = 1, .n_out = 1, .in = {x.h}, .out = {in[2].h}, .i = {op},
                             .f = {f0, f1}};
            CHECK(lundi__dispatch(&f) == 0);
            lundi_tensor *hy = lundi_to_device(in[2].hw, dev);
            lundi_release(in[2].dw);
            in[2].dw = hy;
            lundi_release(in[2].d);
            in[2].d = lundi__view(hy, g->nd, in[2].h->shape, in[2].h->stride, in[2].h->offset);
          }
          /* Derivatives such as 1 - tanh^2 or 0.5 (1 + tanh u) cancel; the CPU's f32 formula
           * itself is then only good to a few ulp(1) times |g| (1 + |x|) in absolute terms. */
          double *bound = calloc((size_t)o.total, sizeof *bound);
          const float *xv = lundi_data(x.hw), *gv = lundi_data(gp.hw);
          for (int64_t j = 0; j < lundi_numel(o.h); j++)
            bound[pos_of(o.h, j)] = 1e-6 * fabs(gv[pos_of(gp.h, j)]) * (1 + fabs(xv[pos_of(x.h, j)]));
          lundi_kcall c = {.id = LUNDI_K_UNARY_BWD, .i = {op}, .f = {f0, f1}};
          if (!run_both(c, in, with_y ? 3 : 2, &o, 1)) compare_f32(what, &o, (tol){1e-5, 1e-6, bound});
          free(bound);
          pair_free(&gp);
          if (with_y) pair_free(&in[2]);
        }
        pair_free(&x);
        pair_free(&o);
      }
  }
  CHECK(lundi_live_tensors() == 0);
}

static void unary_vs_cpu(void) { unary_case(0); }
static void unary_bwd_vs_cpu(void) { unary_case(1); }

/* The public ops on device tensors, chained, as a user sees them (and autograd's backward). */
static void unary_public_ops(void) {
  lundi_device *dev = need_device();
  int64_t sh[2] = {13, 29};
  lundi_rng rng = lundi_rng_make(5);
  lundi_tensor *h = t_randn(&rng, 2, sh, 2.0f, 0), *d = lundi_to_device(h, dev);
  lundi_tensor *h1 = lundi_silu(h), *d1 = d ? lundi_silu(d) : NULL;
  lundi_tensor *hr = lundi_clamp(h1, -0.1f, 0.7f), *dr = d1 ? lundi_clamp(d1, -0.1f, 0.7f) : NULL;
  CHECK(hr && dr && t_max_abs_diff(hr, dr) < 1e-5);
  lundi_release(h1);
  lundi_release(d1);
  lundi_release(hr);
  lundi_release(dr);
  lundi_tensor *hx = lundi_clone(h), *dx = lundi_clone(d);
  lundi_set_requires_grad(hx, 1);
  lundi_set_requires_grad(dx, 1);
  lundi_tensor *ht = lundi_tanh(hx), *dt = lundi_tanh(dx);
  lundi_tensor *hy = lundi_gelu(ht, 0), *dy = dt ? lundi_gelu(dt, 0) : NULL;
  lundi_tensor *hs = lundi_sum(hy, 0, NULL, 0), *ds = dy ? lundi_sum(dy, 0, NULL, 0) : NULL;
  CHECK(hs && ds && lundi_backward(hs, NULL) == 0 && lundi_backward(ds, NULL) == 0);
  lundi_tensor *hg = lundi_grad(hx), *dg = lundi_grad(dx);
  CHECK(hg && dg && t_max_abs_diff(hg, dg) < 1e-5);
  lundi_release(hs);
  lundi_release(ds);
  lundi_release(hy);
  lundi_release(dy);
  lundi_release(ht);
  lundi_release(dt);
  lundi_release(hx);
  lundi_release(dx);
  lundi_release(h);
  lundi_release(d);
}

/* ---- where ---- */

static void where_vs_cpu(void) {
  lundi_device *dev = need_device();
  for (size_t gi = 0; gi < sizeof geoms / sizeof *geoms; gi++) {
    const geom *g = &geoms[gi];
    int64_t st[6], bst[6] = {0}, total;
    strided_layout(g->nd, g->shape, st, &total);
    pair c = pair_make(dev, LUNDI_F32, g->nd, g->shape, st, 3, total, V_SPECIAL); /* NaN and -0 conditions too */
    /* a broadcast along every dim but the last */
    if (g->nd) bst[g->nd - 1] = 1;
    pair a = pair_make(dev, LUNDI_F32, g->nd, g->shape, bst, 2, g->shape[g->nd - 1] + 4, V_SPECIAL);
    pair b = pair_contig(dev, LUNDI_F32, g->nd, g->shape, 7, 1, V_MIXED);
    pair o = pair_contig(dev, LUNDI_F32, g->nd, g->shape, 4, 9, -1);
    pair in[3] = {c, a, b};
    lundi_kcall k = {.id = LUNDI_K_WHERE};
    if (!run_both(k, in, 3, &o, 1)) compare_f32("where", &o, (tol){0, 0, NULL}); /* a selection: exact */
    pair_free(&c);
    pair_free(&a);
    pair_free(&b);
    pair_free(&o);
  }
  CHECK(lundi_live_tensors() == 0);
}

/* ---- cast ---- */

static void cast_vs_cpu(void) {
  lundi_device *dev = need_device();
  const int64_t sizes[] = {1, 2, 3, 5, 17, 1031, 65537};
  const lundi_dtype dts[] = {LUNDI_F32, LUNDI_F16, LUNDI_BF16, LUNDI_I32, LUNDI_U8};
  for (size_t si = 0; si < sizeof sizes / sizeof *sizes; si++)
    for (int a = 0; a < 5; a++)
      for (int b = 0; b < 5; b++) {
        int64_t n = sizes[si];
        /* odd offsets put 8/16-bit views mid-word; the words around them must keep their lanes */
        int64_t pre = (int64_t)(si + a) % 4, post = (int64_t)(si + b) % 3;
        int kind = dts[b] == LUNDI_I32 || dts[b] == LUNDI_U8 ? V_MIXED : V_SPECIAL; /* NaN -> int is undefined in C */
        pair x = pair_contig(dev, dts[a], 1, &n, (int64_t)(si % 3), 2, kind);
        /* output: pre-filled with a non-zero pattern (the sentinel, converted) */
        pair o = pair_contig(dev, dts[b], 1, &n, pre + 1, post, -1);
        char what[64];
        snprintf(what, sizeof what, "cast %s -> %s n=%lld", lundi_dtype_name(dts[a]), lundi_dtype_name(dts[b]),
                 (long long)n);
        lundi_kcall c = {.id = LUNDI_K_CAST};
        if (!run_both(c, &x, 1, &o, 1)) compare_bits(what, &o);
        pair_free(&x);
        pair_free(&o);
      }
  /* Values at the f16 rounding boundaries and subnormals, bit for bit. */
  float edge[] = {65504.0f, 65519.99f, 65520.0f, 5.9604645e-08f, 2.9802322e-08f, 2.9802326e-08f, 6.1035156e-05f,
                  6.1e-05f, 1.0009766f, 1.0004883f, 1.0014648f, -0.0f, 1e-40f, NAN, -INFINITY, 3.3895314e38f};
  int64_t ne = sizeof edge / sizeof *edge;
  lundi_tensor *h = lundi_from_f32(1, &ne, edge), *d = lundi_to_device(h, dev);
  for (int b = 1; b < 3; b++) {
    lundi_tensor *hc = lundi_to_dtype(h, dts[b]), *dc = d ? lundi_to_dtype(d, dts[b]) : NULL;
    lundi_tensor *back = dc ? lundi_to_device(dc, lundi_cpu()) : NULL;
    CHECK(hc && back && !memcmp(lundi_data(hc), lundi_data(back), (size_t)ne * 2));
    lundi_release(hc);
    lundi_release(dc);
    lundi_release(back);
  }
  lundi_release(h);
  lundi_release(d);
  CHECK(lundi_live_tensors() == 0);
}

/* ---- reductions ---- */

typedef struct red_case {
  int nd;
  int64_t shape[6];
  unsigned mask; /* reduced dims */
} red_case;

static const red_case reds[] = {
    {3, {5, 7, 3}, 0x1},      {3, {5, 7, 3}, 0x2},   {3, {5, 7, 3}, 0x4},      {3, {5, 7, 3}, 0x5},
    {3, {5, 7, 3}, 0x7},      {1, {1}, 0x1},         {1, {1000003}, 0x1},      {2, {3, 100003}, 0x2},
    {2, {100003, 3}, 0x1},    {2, {257, 513}, 0x1},  {2, {257, 513}, 0x2},     {4, {2, 300, 3, 70}, 0xa},
    {6, {2, 3, 4, 3, 2, 5}, 0x2d}, {2, {65, 1}, 0x3},    {2, {7, 9}, 0x0},
};

static void reduce_case(int kind) {
  lundi_device *dev = need_device();
  for (size_t ri = 0; ri < sizeof reds / sizeof *reds; ri++) {
    const red_case *rc = &reds[ri];
    int64_t kshape[6], st[6], total;
    for (int k = 0; k < rc->nd; k++) kshape[k] = (rc->mask >> k) & 1 ? 1 : rc->shape[k];
    int64_t n = lundi__numel(rc->nd, rc->shape), nred = 1;
    for (int k = 0; k < rc->nd; k++)
      if ((rc->mask >> k) & 1) nred *= rc->shape[k];
    int strided = ri % 2 && n < 200000;
    if (strided) strided_layout(rc->nd, rc->shape, st, &total);
    for (int op = LUNDI_RED_SUM; op <= LUNDI_RED_MEAN; op++) {
      if (n == 0 && op != LUNDI_RED_SUM) continue;
      pair x = strided ? pair_make(dev, LUNDI_F32, rc->nd, rc->shape, st, 3, total, kind)
                       : pair_contig(dev, LUNDI_F32, rc->nd, rc->shape, 2, 3, kind);
      if (kind == V_SPECIAL && x.h && n > 10) { /* one NaN in one output's range */
        float nan = NAN;
        lundi_tensor *h1 = lundi__view(x.hw, 1, &(int64_t){1}, &(int64_t){1}, x.h->offset + x.h->stride[rc->nd - 1]);
        lundi_tensor *d1 = lundi__view(x.dw, 1, &(int64_t){1}, &(int64_t){1}, x.h->offset + x.h->stride[rc->nd - 1]);
        lundi_tensor *nt = lundi_from_f32(1, &(int64_t){1}, &nan), *ndv = lundi_to_device(nt, dev);
        CHECK(lundi_copy_(h1, nt) == 0 && lundi_copy_(d1, ndv) == 0);
        lundi_release(h1);
        lundi_release(d1);
        lundi_release(nt);
        lundi_release(ndv);
      }
      pair o = pair_contig(dev, LUNDI_F32, rc->nd, kshape, 6, 5, -1);
      /* Tolerance. Max: exact. Dyadic data (k/8, |x| <= 1, under 2^21 terms): every partial
       * sum is exact in f32 whatever the order, so sums are exact and means differ only in
       * the final scaling (2 ulp). Other data: the bound for any summation order,
       * |s^ - s| <= (n - 1) u sum|x| on each side, so (2 n + 4) u sum|x| between them. */
      double *bound = NULL;
      tol t = {0, 0, NULL};
      if (op != LUNDI_RED_MAX && kind == V_DYADIC) t.rel = op == LUNDI_RED_MEAN ? 4 * U_F32 : 0;
      else if (op != LUNDI_RED_MAX) {
        pair ab = pair_contig(dev, LUNDI_F32, rc->nd, kshape, 6, 5, -1);
        lundi_tensor *ax = lundi_abs(x.h);
        lundi_kcall s = {.id = LUNDI_K_REDUCE, .n_in = 1, .n_out = 1, .in = {ax}, .out = {ab.h}, .i = {op}};
        CHECK(lundi__dispatch(&s) == 0);
        const float *abv = lundi_data(ab.hw);
        bound = calloc((size_t)ab.total, sizeof *bound);
        for (int64_t i = 0; i < ab.total; i++) bound[i] = (2.0 * (double)nred + 4) * U_F32 * fabs(abv[i]);
        t.bound = bound;
        t.rel = 2 * U_F32;
        lundi_release(ax);
        pair_free(&ab);
      }
      char what[96];
      snprintf(what, sizeof what, "reduce %s case %zu kind %d%s", op == 0 ? "sum" : op == 1 ? "max" : "mean", ri, kind,
               strided ? " strided" : "");
      lundi_kcall c = {.id = LUNDI_K_REDUCE, .i = {op}};
      if (!run_both(c, &x, 1, &o, 1)) compare_f32(what, &o, t);
      free(bound);
      pair_free(&x);
      pair_free(&o);
    }
  }
  CHECK(lundi_live_tensors() == 0);
}

static void reduce_exact_sums(void) {
  reduce_case(V_DYADIC);
  /* A sum over an empty axis is 0 (Vulkan only: the CPU kernel divides by the empty
   * extent, see the report of issue 3). */
  lundi_device *dev = need_device();
  int64_t sh[2] = {4, 0}, ks[2] = {4, 1};
  lundi_tensor *x = lundi_empty(2, sh, LUNDI_F32, dev), *o = lundi_empty(2, ks, LUNDI_F32, dev);
  CHECK(o && lundi_fill_(o, 7.0f) == 0);
  lundi_kcall c = {.id = LUNDI_K_REDUCE, .n_in = 1, .n_out = 1, .in = {x}, .out = {o}, .i = {LUNDI_RED_SUM}};
  CHECK(x && o && lundi__dispatch(&c) == 0);
  float v[4] = {1, 1, 1, 1};
  CHECK(o && lundi_read_f32(o, v, 4) == 0 && v[0] == 0 && v[1] == 0 && v[2] == 0 && v[3] == 0);
  lundi_release(x);
  lundi_release(o);
}
static void reduce_random(void) { reduce_case(V_MIXED); }
static void reduce_nan(void) { reduce_case(V_SPECIAL); }

/* ---- Philox ---- */

static void rng_bits(void) {
  lundi_device *dev = need_device();
  const uint64_t seeds[] = {0, 1, 42, 0xdeadbeefcafef00dULL};
  const uint64_t offs[] = {0, 3, 0xfffffffeULL, 0x123456789abULL}; /* the third crosses the 32-bit carry */
  const int64_t ns[] = {1, 2, 3, 4, 5, 7, 1001, 65537, 1000003};
  for (int si = 0; si < 4; si++)
    for (int oi = 0; oi < 4; oi++)
      for (int ni = 0; ni < 9; ni++) {
        if (ni == 8 && (si + oi) % 4) continue; /* the big one a few times */
        int64_t n = ns[ni];
        for (int normal = 0; normal < 2; normal++) {
          pair o = pair_contig(dev, LUNDI_F32, 1, &n, 1 + (ni % 3), 4, -1);
          double a = normal ? 0.5 : -2.0, b = normal ? 3.0 : 5.0;
          lundi_kcall c = {.id = normal ? LUNDI_K_RNG_NORMAL : LUNDI_K_RNG_UNIFORM, .f = {a, b},
                           .i = {(int64_t)seeds[si], (int64_t)offs[oi]}};
          char what[96];
          snprintf(what, sizeof what, "%s seed %llx offset %llx n %lld", normal ? "normal" : "uniform",
                   (unsigned long long)seeds[si], (unsigned long long)offs[oi], (long long)n);
          /* the contract: identical streams, uniform and normal (tensor/normal_math.h) */
          if (!run_both(c, NULL, 0, &o, 1)) compare_bits(what, &o);
          pair_free(&o);
        }
      }
  /* The public path: a device tensor and a CPU tensor filled from equal generator states
   * give the same bits, advance the offset alike, and randint's mapping of them agrees. */
  int64_t sh[2] = {37, 3};
  lundi_rng r1 = lundi_rng_make(99), r2 = lundi_rng_make(99);
  lundi_tensor *h = lundi_empty(2, sh, LUNDI_F32, NULL), *d = lundi_empty(2, sh, LUNDI_F32, dev);
  CHECK(lundi_uniform_(h, &r1, 0, 1) == 0 && lundi_uniform_(d, &r2, 0, 1) == 0 && r1.offset == r2.offset);
  float *hv = t_read(h), *dv = t_read(d);
  CHECK(hv && dv && !memcmp(hv, dv, sizeof(float) * 111));
  lundi_rng r3 = lundi_rng_make(99);
  lundi_tensor *ri = lundi_randint(&r3, 2, sh, -3, 11);
  const int32_t *iv = ri ? lundi_data(ri) : NULL;
  for (int i = 0; iv && dv && i < 111; i++) {
    int32_t v = -3 + (int32_t)(dv[i] * 14.0f);
    if ((v >= 11 ? 10 : v) != iv[i]) {
      CHECK(0 && "randint from the device's uniforms differs");
      break;
    }
  }
  /* A strided device tensor goes through a contiguous temporary and the copy kernel. */
  lundi_tensor *tr = lundi_transpose(d, 0, 1), *trh = lundi_transpose(h, 0, 1);
  CHECK(lundi_normal_(tr, &r2, 0, 1) == 0 && lundi_normal_(trh, &r1, 0, 1) == 0);
  CHECK(t_max_abs_diff(tr, trh) == 0);
  free(hv);
  free(dv);
  lundi_release(tr);
  lundi_release(trh);
  lundi_release(ri);
  lundi_release(h);
  lundi_release(d);
  CHECK(lundi_live_tensors() == 0);
}

/* ---- GEMM ---- */

typedef struct gemm_case {
  int64_t batch, M, N, K;
  int ta, tb;
  int64_t pad; /* extra leading-dimension padding */
  int a_shared, b_shared; /* batch stride 0 */
  float alpha, beta;
} gemm_case;

static const gemm_case gemms[] = {
    {1, 1, 1, 1, 0, 0, 0, 0, 0, 1, 0},       {1, 17, 33, 65, 0, 0, 0, 0, 0, 1, 0},
    {1, 130, 7, 259, 0, 0, 0, 0, 0, 1, 0},   {1, 17, 33, 65, 1, 0, 3, 0, 0, 1, 0},
    {1, 17, 33, 65, 0, 1, 2, 0, 0, 1, 0},    {1, 130, 7, 259, 1, 1, 1, 0, 0, 1, 0},
    {3, 9, 70, 5, 0, 0, 0, 0, 0, 1, 0},      {5, 64, 64, 16, 1, 0, 0, 1, 0, 1, 0},
    {4, 31, 2, 100, 0, 1, 5, 0, 1, 1, 0},    {2, 65, 129, 33, 0, 0, 0, 0, 0, 0.5f, 2.0f},
    {1, 200, 150, 1, 0, 0, 0, 0, 0, -1.5f, 1.0f}, {2, 3, 1, 300, 1, 1, 0, 0, 0, 1, 0},
};

static void gemm_case_run(lundi_device *dev, const gemm_case *g, int kind, int nan_c) {
  int64_t Ar = g->ta ? g->K : g->M, Ac = g->ta ? g->M : g->K, Br = g->tb ? g->N : g->K, Bc = g->tb ? g->K : g->N;
  int64_t lda = Ac + g->pad, ldb = Bc + g->pad, ldc = g->N + g->pad;
  int64_t sa = g->a_shared ? 0 : Ar * lda, sb = g->b_shared ? 0 : Br * ldb, sc = g->M * ldc;
  int64_t na = (g->a_shared ? 1 : g->batch) * Ar * lda, nb = (g->b_shared ? 1 : g->batch) * Br * ldb;
  int64_t nc = g->batch * sc;
  /* 1-D views over the padded matrices; the kernel addresses them through ld and strides */
  pair A = pair_contig(dev, LUNDI_F32, 1, &na, 3, 2, kind), B = pair_contig(dev, LUNDI_F32, 1, &nb, 1, 4, kind);
  pair C = pair_contig(dev, LUNDI_F32, 1, &nc, 5, 3, nan_c ? V_SPECIAL : V_MIXED);
  if (nan_c) { /* beta = 0 must not read C: fill the view with NaN */
    lundi_fill_(C.h, NAN);
    lundi_fill_(C.d, NAN);
  }
  /* The padding columns of C are outside the product: they must keep their values. */
  lundi_kcall c = {.id = LUNDI_K_GEMM,
                   .i = {g->batch, g->M, g->N, g->K, g->ta, g->tb, lda, ldb, ldc, sa, sb, sc},
                   .f = {g->alpha, nan_c ? 0.0 : g->beta}};
  /* Bound per element: |c^ - c| <= gamma_K (|alpha| |A||B| + |beta| |C|) on each side. */
  double *bound = calloc((size_t)C.total, sizeof *bound);
  const float *a = lundi_data(A.h), *b = lundi_data(B.h), *cv = lundi_data(C.h);
  for (int64_t bt = 0; bt < g->batch; bt++)
    for (int64_t m = 0; m < g->M; m++)
      for (int64_t n = 0; n < g->N; n++) {
        double s = 0;
        for (int64_t k = 0; k < g->K; k++) {
          float av = a[bt * sa + (g->ta ? k * lda + m : m * lda + k)];
          float bv = b[bt * sb + (g->tb ? n * ldb + k : k * ldb + n)];
          s += fabs((double)av * bv);
        }
        int64_t ci = bt * sc + m * ldc + n;
        double cb = c.f[1] != 0 ? fabs(c.f[1] * cv[ci]) : 0;
        bound[C.h->offset + ci] = 2.0 * (double)(g->K + 2) * U_F32 * (fabs(g->alpha) * s + cb);
      }
  pair in[2] = {A, B};
  char what[128];
  snprintf(what, sizeof what, "gemm b%lld %lldx%lldx%lld t%d%d pad %lld kind %d%s", (long long)g->batch,
           (long long)g->M, (long long)g->N, (long long)g->K, g->ta, g->tb, (long long)g->pad, kind,
           nan_c ? " NaN C, beta 0" : "");
  /* Dyadic data: products and sums are exact, so any order gives the CPU's bits. */
  if (!run_both(c, in, 2, &C, 1)) compare_f32(what, &C, (tol){0, 0, kind == V_DYADIC ? NULL : bound});
  free(bound);
  pair_free(&A);
  pair_free(&B);
  pair_free(&C);
}

static void gemm_vs_cpu(void) {
  lundi_device *dev = need_device();
  for (size_t i = 0; i < sizeof gemms / sizeof *gemms; i++) {
    gemm_case_run(dev, &gemms[i], V_DYADIC, 0);
    gemm_case_run(dev, &gemms[i], V_MIXED, 0);
  }
  gemm_case_run(dev, &gemms[1], V_MIXED, 1);
  gemm_case_run(dev, &gemms[8], V_MIXED, 1);
  CHECK(lundi_live_tensors() == 0);
}

static void gemm_nan_and_matmul(void) {
  lundi_device *dev = need_device();
  /* NaN / inf in A spread along their rows only */
  gemm_case g = {2, 19, 23, 37, 0, 1, 0, 0, 0, 1, 0};
  gemm_case_run(dev, &g, V_SPECIAL, 0);
  /* The public matmul: batched, broadcast, transposed operands. */
  lundi_rng rng = lundi_rng_make(3);
  int64_t sa[3] = {4, 37, 19}, sb[2] = {23, 19};
  lundi_tensor *ha = t_randn(&rng, 3, sa, 1.0f, 0), *hb = t_randn(&rng, 2, sb, 1.0f, 0);
  lundi_tensor *da = lundi_to_device(ha, dev), *db = lundi_to_device(hb, dev);
  lundi_tensor *hbt = lundi_transpose(hb, 0, 1), *dbt = lundi_transpose(db, 0, 1);
  lundi_tensor *hc = lundi_matmul(ha, hbt), *dc = dbt ? lundi_matmul(da, dbt) : NULL;
  CHECK(hc && dc && t_max_abs_diff(hc, dc) < 19 * 4 * 4 * 2 * FLT_EPSILON);
  lundi_release(ha);
  lundi_release(hb);
  lundi_release(da);
  lundi_release(db);
  lundi_release(hbt);
  lundi_release(dbt);
  lundi_release(hc);
  lundi_release(dc);
  CHECK(lundi_live_tensors() == 0);
}

/* ---- AdamW and EMA ---- */

static void optim_vs_cpu(void) {
  lundi_device *dev = need_device();
  const int64_t sizes[] = {1, 3, 255, 257, 100003};
  for (int si = 0; si < 5; si++) {
    int64_t n = sizes[si];
    for (int step = 1; step <= 3; step += 2) {
      pair g = pair_contig(dev, LUNDI_F32, 1, &n, 1, 2, V_MIXED), p = pair_contig(dev, LUNDI_F32, 1, &n, 3, 1, V_MIXED);
      pair m = pair_contig(dev, LUNDI_F32, 1, &n, 2, 2, V_MIXED), v = pair_contig(dev, LUNDI_F32, 1, &n, 0, 3, V_POSITIVE);
      double lr = 1e-3, b1 = 0.9, b2 = 0.999, eps = 1e-8, wd = 0.01;
      lundi_kcall c = {.id = LUNDI_K_ADAMW, .f = {lr, b1, b2, eps, wd, 1 - pow(b1, step), 1 - pow(b2, step)}};
      pair outs[3] = {p, m, v};
      if (!run_both(c, &g, 1, outs, 3)) {
        /* m and v: mul/add only, uncontracted on both sides: bit for bit. p: sqrt and one
         * division (Vulkan allows 3 and 2.5 ulp) inside an update of size ~lr, so a relative
         * 1e-6 of p. */
        compare_f32("adamw m", &m, (tol){0, 0, NULL});
        compare_f32("adamw v", &v, (tol){0, 0, NULL});
        compare_f32("adamw p", &p, (tol){1e-6, 1e-9, NULL});
      }
      pair_free(&g);
      pair_free(&p);
      pair_free(&m);
      pair_free(&v);
    }
    const double decays[] = {0.0, 0.3, 0.9999, 1.0};
    for (int di = 0; di < 4; di++) {
      pair p = pair_contig(dev, LUNDI_F32, 1, &n, 1, 1, V_MIXED), s = pair_contig(dev, LUNDI_F32, 1, &n, 2, 3, V_MIXED);
      lundi_kcall c = {.id = LUNDI_K_EMA, .f = {decays[di]}};
      if (!run_both(c, &p, 1, &s, 1)) compare_f32("ema", &s, (tol){0, 0, NULL}); /* mul/add only: exact */
      pair_free(&p);
      pair_free(&s);
    }
  }
  CHECK(lundi_live_tensors() == 0);
}

static const test_case cases[] = {
    {"unary_vs_cpu", unary_vs_cpu},
    {"unary_bwd_vs_cpu", unary_bwd_vs_cpu},
    {"unary_public_ops", unary_public_ops},
    {"where_vs_cpu", where_vs_cpu},
    {"cast_vs_cpu", cast_vs_cpu},
    {"reduce_exact_sums", reduce_exact_sums},
    {"reduce_random", reduce_random},
    {"reduce_nan", reduce_nan},
    {"rng_bits", rng_bits},
    {"gemm_vs_cpu", gemm_vs_cpu},
    {"gemm_nan_and_matmul", gemm_nan_and_matmul},
    {"optim_vs_cpu", optim_vs_cpu},
};
TEST_MAIN(cases)
