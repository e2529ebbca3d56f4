/* Vulkan embedding, nearest upsampling, average pooling (forward and backward) and rotary
 * embeddings against the CPU kernels. The device computes every output element in the
 * CPU's order of operations (runtime/vulkan/kernels_index.c), so the comparison is exact:
 * bit for bit up to the sign of zero, NaN against NaN. Inputs hold NaN / inf, spatial inputs
 * are strided views (dims permuted and padded), and every view sits inside sentinel-filled
 * storage (vulkan_pair.h). Cases exit 77 (skip) without a Vulkan device. */
#include "vulkan_pair.h"

static const tol EXACT = {0, 0, NULL};

static void embedding_vs_cpu(void) {
  lundi_device *dev = need_device();
  const int64_t Ds[] = {1, 5, 33, 300}, Ns[] = {1, 13, 100};
  for (int di = 0; di < 4; di++)
    for (int ni = 0; ni < 3; ni++) {
      int64_t V = 7, D = Ds[di], N = Ns[ni], ws[2] = {V, D}, gs[2] = {N, D};
      pair w = pair_contig(dev, LUNDI_F32, 2, ws, 3, 2, V_SPECIAL);
      pair ids = pair_contig(dev, LUNDI_I32, 1, &N, 1, 2, V_MIXED);
      int32_t *iv = (int32_t *)lundi_data(ids.hw) + ids.h->offset;
      for (int64_t k = 0; k < N; k++)
        iv[k] = (int32_t)(lcg() % 5); /* ids 5, 6 unused: rows of zeros */
      pair_sync(&ids);
      pair o = pair_contig(dev, LUNDI_F32, 2, gs, 2, 3, -1);
      char what[96];
      snprintf(what, sizeof what, "embedding V %lld D %lld N %lld", (long long)V, (long long)D,
               (long long)N);
      pair in[2] = {w, ids};
      lundi_kcall c = {.id = LUNDI_K_EMBEDDING_FWD};
      if (!run_both(c, in, 2, &o, 1)) compare_f32(what, &o, EXACT);
      /* backward: repeated ids sum in order of n on both sides */
      pair g = pair_contig(dev, LUNDI_F32, 2, gs, 1, 1, di % 2 ? V_SPECIAL : V_MIXED);
      pair gw = pair_contig(dev, LUNDI_F32, 2, ws, 4, 1, -1);
      pair bin[2] = {g, ids};
      lundi_kcall b = {.id = LUNDI_K_EMBEDDING_BWD};
      strcat(what, " backward");
      if (!run_both(b, bin, 2, &gw, 1)) compare_f32(what, &gw, EXACT);
      pair_free(&w);
      pair_free(&ids);
      pair_free(&o);
      pair_free(&g);
      pair_free(&gw);
    }
  CHECK(lundi_live_tensors() == 0);
}

/* A strided [N, C, H, W] view: W outermost in memory, each dim padded by one, offset 3. */
static pair strided4(lundi_device *dev, const int64_t *shape, int kind) {
  int64_t st[4], s = 1;
  for (int k = 3; k >= 0; k--) {
    int d = (k + 1) % 4; /* order of the strides: H fastest, then N, C, W */
    st[d] = s;
    s *= shape[d] + 1;
  }
  return pair_make(dev, LUNDI_F32, 4, shape, st, 3, 3 + s + 4, kind);
}

static void upsample_vs_cpu(void) {
  lundi_device *dev = need_device();
  const int64_t shapes[][4] = {{1, 1, 1, 1}, {2, 3, 5, 7}, {1, 2, 9, 4}, {3, 1, 2, 33}};
  for (int si = 0; si < 4; si++)
    for (int64_t s = 1; s <= 3; s++)
      for (int strided = 0; strided < 2; strided++) {
        const int64_t *sh = shapes[si];
        int64_t big[4] = {sh[0], sh[1], sh[2] * s, sh[3] * s};
        pair x = strided ? strided4(dev, sh, V_SPECIAL)
                         : pair_contig(dev, LUNDI_F32, 4, sh, 2, 1, V_SPECIAL);
        pair o = pair_contig(dev, LUNDI_F32, 4, big, 1, 3, -1);
        char what[96];
        snprintf(what, sizeof what, "upsample shape#%d s %lld%s", si, (long long)s,
                 strided ? " strided" : "");
        lundi_kcall c = {.id = LUNDI_K_UPSAMPLE_FWD, .i = {s}};
        if (!run_both(c, &x, 1, &o, 1)) compare_f32(what, &o, EXACT);
        pair g = strided ? strided4(dev, big, V_MIXED)
                         : pair_contig(dev, LUNDI_F32, 4, big, 1, 2, V_MIXED);
        pair gx = pair_contig(dev, LUNDI_F32, 4, sh, 3, 2, -1);
        lundi_kcall b = {.id = LUNDI_K_UPSAMPLE_BWD, .i = {s}};
        strcat(what, " backward");
        if (!run_both(b, &g, 1, &gx, 1)) compare_f32(what, &gx, EXACT);
        pair_free(&x);
        pair_free(&o);
        pair_free(&g);
        pair_free(&gx);
      }
  CHECK(lundi_live_tensors() == 0);
}

static void avgpool_vs_cpu(void) {
  lundi_device *dev = need_device();
  const int64_t shapes[][4] = {{2, 3, 7, 9}, {1, 2, 4, 4}, {1, 1, 1, 37}};
  const int64_t wins[][4] = {{2, 2, 2, 2}, {3, 2, 1, 2}, {1, 3, 1, 1},
                             {3, 3, 2, 2}, {1, 1, 1, 1}, {1, 4, 1, 3}};
  for (int si = 0; si < 3; si++)
    for (int wi = 0; wi < 6; wi++) {
      const int64_t *sh = shapes[si], *k = wins[wi];
      if (k[0] > sh[2] || k[1] > sh[3]) continue;
      int64_t os[4] = {sh[0], sh[1], (sh[2] - k[0]) / k[2] + 1, (sh[3] - k[1]) / k[3] + 1};
      int strided = (si + wi) % 2;
      pair x = strided ? strided4(dev, sh, V_SPECIAL)
                       : pair_contig(dev, LUNDI_F32, 4, sh, 1, 1, V_SPECIAL);
      pair o = pair_contig(dev, LUNDI_F32, 4, os, 2, 2, -1);
      char what[96];
      snprintf(what, sizeof what, "avgpool shape#%d window#%d%s", si, wi,
               strided ? " strided" : "");
      lundi_kcall c = {.id = LUNDI_K_AVGPOOL_FWD, .i = {k[0], k[1], k[2], k[3]}};
      if (!run_both(c, &x, 1, &o, 1)) compare_f32(what, &o, EXACT);
      pair g =
          strided ? strided4(dev, os, V_MIXED) : pair_contig(dev, LUNDI_F32, 4, os, 3, 1, V_MIXED);
      pair gx = pair_contig(dev, LUNDI_F32, 4, sh, 1, 4, -1);
      lundi_kcall b = {.id = LUNDI_K_AVGPOOL_BWD, .i = {k[0], k[1], k[2], k[3]}};
      strcat(what, " backward");
      if (!run_both(b, &g, 1, &gx, 1)) compare_f32(what, &gx, EXACT);
      pair_free(&x);
      pair_free(&o);
      pair_free(&g);
      pair_free(&gx);
    }
  CHECK(lundi_live_tensors() == 0);
}

static void rope_vs_cpu(void) {
  lundi_device *dev = need_device();
  const int64_t Ds[] = {2, 8, 34}, pos[] = {0, 1000};
  for (int di = 0; di < 3; di++)
    for (int pi = 0; pi < 2; pi++)
      for (int inv = 0; inv < 2; inv++) {
        int64_t R = 3, L = 5, D = Ds[di], sh[3] = {R, L, D};
        pair x = pair_contig(dev, LUNDI_F32, 3, sh, 1, 2, V_SPECIAL),
             y = pair_contig(dev, LUNDI_F32, 3, sh, 2, 1, -1);
        lundi_kcall c = {.id = LUNDI_K_ROPE, .i = {R, L, D, pos[pi], inv}, .f = {10000.0}};
        char what[96];
        snprintf(what, sizeof what, "rope D %lld pos %lld inverse %d", (long long)D,
                 (long long)pos[pi], inv);
        if (!run_both(c, &x, 1, &y, 1)) compare_f32(what, &y, EXACT);
        pair_free(&x);
        pair_free(&y);
      }
  CHECK(lundi_live_tensors() == 0);
}

static const test_case cases[] = {
    {"embedding_vs_cpu", embedding_vs_cpu},
    {"upsample_vs_cpu", upsample_vs_cpu},
    {"avgpool_vs_cpu", avgpool_vs_cpu},
    {"rope_vs_cpu", rope_vs_cpu},
};
TEST_MAIN(cases)
