/* Row-wise kernels: softmax / log-softmax (shaders/softmax.comp) and the norms (layer, RMS,
 * group, group + SiLU; shaders/norm.comp and norm_wgrad.comp), forward and backward, with
 * the kcall contracts of runtime/cpu/softmax.c and runtime/cpu/norm.c. G threads (a power
 * of two up to the workgroup size) share a row and combine their partials with a
 * shared-memory tree in a fixed order, so results are deterministic.
 * Every dispatch stays within the 4 storage-buffer bindings every device offers: the small
 * vectors a norm needs (gamma, beta, saved mean and rstd) are packed into one scratch
 * tensor with the copy kernel, and statistics or parameter gradients go through a scratch
 * tensor that is copied out afterwards. */
#include "vulkan/vk.h"

#include <string.h>

static uint32_t pow2_at_least(uint64_t n, uint32_t cap) {
  uint32_t g = 1;
  while (g < cap && g < n) g *= 2;
  return g;
}

/* n_groups workgroups as a 2-D grid (x capped at 65535). */
static int dispatch_groups(vk_dev *d, int shader, vk_buf *const *bufs, int n_bufs, unsigned writes,
                           const void *push, size_t bytes, uint64_t n_groups) {
  if (!n_groups) return 0;
  uint64_t gx = n_groups < 65535 ? n_groups : 65535, gy = (n_groups + gx - 1) / gx;
  if (gy > d->props.limits.maxComputeWorkGroupCount[1])
    return lundi__err(LUNDI_EUNSUPPORTED, "vulkan:%d: %llu workgroups are too many", d->index,
                      (unsigned long long)n_groups);
  return lundi_vk_dispatch_groups(d, shader, &d->local_size, 1, bufs, n_bufs, writes, push, bytes,
                                  (uint32_t)gx, (uint32_t)gy, 1);
}

/* ---- softmax ---- */

typedef struct softmax_push {
  uint32_t rows, D, I, G, op, ooff, aoff, boff;
} softmax_push;

static int softmax_run(const lundi_kcall *c, uint32_t op) {
  static const char *names[] = {"softmax", "log_softmax", "softmax_backward",
                                "log_softmax_backward"};
  const char *name = names[op];
  int64_t O = c->i[0], D = c->i[1], I = c->i[2], n = O * D * I;
  if (O < 0 || D < 0 || I < 0) return lundi__err(LUNDI_EINVAL, "%s: negative extents", name);
  int bwd = op >= 2;
  if (lundi_vk_check_flat(name, "the output", c->out[0], LUNDI_F32, n) ||
      lundi_vk_check_flat(name, bwd ? "y" : "x", c->in[0], LUNDI_F32, n) ||
      (bwd && lundi_vk_check_flat(name, "gout", c->in[1], LUNDI_F32, n)))
    return lundi_last_error_code();
  if (!n) return 0;
  vk_dev *d = lundi_vk_dev(c->out[0]->storage->device);
  uint32_t G = pow2_at_least((uint64_t)D, d->local_size);
  softmax_push p = {(uint32_t)(O * I),
                    (uint32_t)D,
                    (uint32_t)I,
                    G,
                    op,
                    (uint32_t)c->out[0]->offset,
                    (uint32_t)c->in[0]->offset,
                    bwd ? (uint32_t)c->in[1]->offset : 0};
  vk_buf *bufs[3] = {c->out[0]->storage->data, c->in[0]->storage->data,
                     (bwd ? c->in[1] : c->in[0])->storage->data};
  uint32_t per = d->local_size / G;
  return dispatch_groups(d, VK_SH_SOFTMAX, bufs, 3, 1u, &p, sizeof p,
                         ((uint64_t)p.rows + per - 1) / per);
}

int lundi_vk_softmax_fwd(const lundi_kcall *c) {
  return softmax_run(c, 0);
}
int lundi_vk_log_softmax_fwd(const lundi_kcall *c) {
  return softmax_run(c, 1);
}
int lundi_vk_softmax_bwd(const lundi_kcall *c) {
  return softmax_run(c, 2);
}
int lundi_vk_log_softmax_bwd(const lundi_kcall *c) {
  return softmax_run(c, 3);
}

/* ---- norms ---- */

typedef struct norm_push {
  uint32_t rows, M, G, mode, flags;
  float eps;
  uint32_t HW, Cg, groups, ooff, xoff, goff, pm, pr, pgam, pbet, smean, srstd;
} norm_push;
_Static_assert(sizeof(norm_push) <= LUNDI_VK_PUSH_BYTES, "push block too large");

typedef struct wgrad_push {
  uint32_t C, N, HW, per, flags, Cg, groups, ooff, xoff, goff, pm, pr, pgam, pbet;
} wgrad_push;

enum { NF_CENTERED = 1, NF_SILU = 2, NF_GAMMA = 4, NF_BETA = 8, NF_GN = 16 };

/* One norm call in the common form: rows of M contiguous elements; element i of row r uses
 * channel (r % groups) * Cg + i / HW; for the parameter gradients, channel c of C sums over
 * n < N and h < HW. */
typedef struct norm_geom {
  const char *name;
  int64_t rows, M, HW, Cg, groups, C, N;
  unsigned flags;
} norm_geom;

/* A scratch f32 tensor holding parts[k] (n[k] elements each; NULL parts are skipped) one after
 * another; off[k] is each part's element offset in it. */
static lundi_tensor *pack(lundi_device *dev, lundi_tensor *const *parts, const int64_t *n, int k,
                          uint32_t *off) {
  int64_t total = 0;
  for (int j = 0; j < k; j++) {
    off[j] = (uint32_t)total;
    if (parts[j]) total += n[j];
  }
  if (!total) total = 1; /* nothing to pack: a placeholder binding */
  lundi_tensor *s = lundi_empty(1, &total, LUNDI_F32, dev);
  for (int j = 0; j < k && s; j++)
    if (parts[j] && lundi_vk_copy_flat(s, s->offset + off[j], parts[j], parts[j]->offset, n[j])) {
      lundi_release(s);
      return NULL;
    }
  if (s)
    for (int j = 0; j < k; j++) off[j] += (uint32_t)s->offset;
  return s;
}

static int geom_check(const norm_geom *g) {
  if (g->rows < 0 || g->M < 0 || g->HW < 1 || g->Cg < 1 || g->groups < 1 || g->C < 0 || g->N < 0 ||
      g->rows * g->M >= (int64_t)1 << 31 || g->C * 2 >= (int64_t)1 << 31)
    return lundi__err(LUNDI_EINVAL, "%s: bad extents (rows %lld of %lld)", g->name,
                      (long long)g->rows, (long long)g->M);
  return 0;
}

static int norm_fwd(const norm_geom *g, double eps, lundi_tensor *x, lundi_tensor *gamma,
                    lundi_tensor *beta, lundi_tensor *y, lundi_tensor *mean, lundi_tensor *rstd) {
  int centered = (g->flags & NF_CENTERED) != 0;
  int64_t n = g->rows * g->M;
  if (geom_check(g) || lundi_vk_check_flat(g->name, "x", x, LUNDI_F32, n) ||
      lundi_vk_check_flat(g->name, "y", y, LUNDI_F32, n) ||
      (gamma && lundi_vk_check_flat(g->name, "gamma", gamma, LUNDI_F32, g->C)) ||
      (beta && lundi_vk_check_flat(g->name, "beta", beta, LUNDI_F32, g->C)) ||
      (centered && lundi_vk_check_flat(g->name, "mean", mean, LUNDI_F32, g->rows)) ||
      lundi_vk_check_flat(g->name, "rstd", rstd, LUNDI_F32, g->rows))
    return lundi_last_error_code();
  if (!g->rows) return 0;
  lundi_device *dev = y->storage->device;
  vk_dev *d = lundi_vk_dev(dev);
  uint32_t off[2];
  lundi_tensor *parts[2] = {gamma, beta};
  int64_t lens[2] = {g->C, g->C};
  lundi_tensor *P = pack(dev, parts, lens, 2, off);
  int64_t ns = 2 * g->rows;
  lundi_tensor *S = P ? lundi_empty(1, &ns, LUNDI_F32, dev) : NULL;
  int rc = S ? 0 : lundi_last_error_code();
  if (!rc) {
    uint32_t G = pow2_at_least((uint64_t)g->M, d->local_size), per = d->local_size / G;
    norm_push p = {(uint32_t)g->rows,
                   (uint32_t)g->M,
                   G,
                   0,
                   g->flags | (gamma ? NF_GAMMA : 0u) | (beta ? NF_BETA : 0u),
                   (float)eps,
                   (uint32_t)g->HW,
                   (uint32_t)g->Cg,
                   (uint32_t)g->groups,
                   (uint32_t)y->offset,
                   (uint32_t)x->offset,
                   0,
                   0,
                   0,
                   off[0],
                   off[1],
                   (uint32_t)S->offset,
                   (uint32_t)(S->offset + g->rows)};
    vk_buf *bufs[4] = {y->storage->data, x->storage->data, S->storage->data, P->storage->data};
    rc = dispatch_groups(d, VK_SH_NORM, bufs, 4, 0x5u, &p, sizeof p,
                         ((uint64_t)g->rows + per - 1) / per);
    if (!rc && centered) rc = lundi_vk_copy_flat(mean, mean->offset, S, S->offset, g->rows);
    if (!rc) rc = lundi_vk_copy_flat(rstd, rstd->offset, S, S->offset + g->rows, g->rows);
  }
  lundi_release(S);
  lundi_release(P);
  return rc;
}

static int norm_bwd(const norm_geom *g, lundi_tensor *x, lundi_tensor *gout, lundi_tensor *mean,
                    lundi_tensor *rstd, lundi_tensor *gamma, lundi_tensor *beta, lundi_tensor *dx,
                    lundi_tensor *dgamma, lundi_tensor *dbeta) {
  int centered = (g->flags & NF_CENTERED) != 0;
  int64_t n = g->rows * g->M;
  if (geom_check(g) || lundi_vk_check_flat(g->name, "x", x, LUNDI_F32, n) ||
      lundi_vk_check_flat(g->name, "gout", gout, LUNDI_F32, n) ||
      (dx && lundi_vk_check_flat(g->name, "dx", dx, LUNDI_F32, n)) ||
      (gamma && lundi_vk_check_flat(g->name, "gamma", gamma, LUNDI_F32, g->C)) ||
      (beta && lundi_vk_check_flat(g->name, "beta", beta, LUNDI_F32, g->C)) ||
      (dgamma && lundi_vk_check_flat(g->name, "dgamma", dgamma, LUNDI_F32, g->C)) ||
      (dbeta && lundi_vk_check_flat(g->name, "dbeta", dbeta, LUNDI_F32, g->C)) ||
      (centered && lundi_vk_check_flat(g->name, "mean", mean, LUNDI_F32, g->rows)) ||
      lundi_vk_check_flat(g->name, "rstd", rstd, LUNDI_F32, g->rows))
    return lundi_last_error_code();
  if (!dx && !dgamma && !dbeta) return 0;
  lundi_device *dev = x->storage->device;
  vk_dev *d = lundi_vk_dev(dev);
  uint32_t off[4];
  lundi_tensor *parts[4] = {centered ? mean : NULL, rstd, gamma, beta};
  int64_t lens[4] = {g->rows, g->rows, g->C, g->C};
  lundi_tensor *P = pack(dev, parts, lens, 4, off);
  int rc = P ? 0 : lundi_last_error_code();
  unsigned flags = g->flags | (gamma ? NF_GAMMA : 0u) | (beta ? NF_BETA : 0u);
  if (!rc && dx && n) {
    uint32_t G = pow2_at_least((uint64_t)g->M, d->local_size), per = d->local_size / G;
    norm_push p = {(uint32_t)g->rows,
                   (uint32_t)g->M,
                   G,
                   1,
                   flags,
                   0,
                   (uint32_t)g->HW,
                   (uint32_t)g->Cg,
                   (uint32_t)g->groups,
                   (uint32_t)dx->offset,
                   (uint32_t)x->offset,
                   (uint32_t)gout->offset,
                   off[0],
                   off[1],
                   off[2],
                   off[3],
                   0,
                   0};
    vk_buf *bufs[4] = {dx->storage->data, x->storage->data, gout->storage->data, P->storage->data};
    rc = dispatch_groups(d, VK_SH_NORM, bufs, 4, 0x1u, &p, sizeof p,
                         ((uint64_t)g->rows + per - 1) / per);
  }
  if (!rc && (dgamma || dbeta) && g->C) {
    int64_t nw = 2 * g->C;
    lundi_tensor *W = lundi_empty(1, &nw, LUNDI_F32, dev);
    if (!W)
      rc = lundi_last_error_code();
    else {
      uint64_t T = (uint64_t)g->N * (uint64_t)g->HW;
      uint32_t per;
      if (g->HW == 1 && g->C >= 32)
        per = d->local_size < 32 ? d->local_size : 32; /* coalesced rows */
      else
        per = d->local_size / pow2_at_least(T, d->local_size);
      wgrad_push p = {(uint32_t)g->C,
                      (uint32_t)g->N,
                      (uint32_t)g->HW,
                      per,
                      flags,
                      (uint32_t)g->Cg,
                      (uint32_t)g->groups,
                      (uint32_t)W->offset,
                      (uint32_t)x->offset,
                      (uint32_t)gout->offset,
                      off[0],
                      off[1],
                      off[2],
                      off[3]};
      vk_buf *bufs[4] = {W->storage->data, x->storage->data, gout->storage->data, P->storage->data};
      rc = dispatch_groups(d, VK_SH_NORM_WGRAD, bufs, 4, 0x1u, &p, sizeof p,
                           ((uint64_t)g->C + per - 1) / per);
      if (!rc && dgamma) rc = lundi_vk_copy_flat(dgamma, dgamma->offset, W, W->offset, g->C);
      if (!rc && dbeta) rc = lundi_vk_copy_flat(dbeta, dbeta->offset, W, W->offset + g->C, g->C);
      lundi_release(W);
    }
  }
  lundi_release(P);
  return rc;
}

static norm_geom rows_geom(const char *name, const lundi_kcall *c, unsigned flags) {
  int64_t R = c->i[0], D = c->i[1];
  return (norm_geom){name, R, D, 1, D > 0 ? D : 1, 1, D, R, flags};
}

static int group_geom(const char *name, const lundi_kcall *c, unsigned flags, norm_geom *g) {
  int64_t N = c->i[0], C = c->i[1], HW = c->i[2], G = c->i[3];
  if (N < 0 || C < 1 || HW < 1 || G < 1 || C % G)
    return lundi__err(LUNDI_EINVAL, "%s: bad extents N %lld C %lld HW %lld G %lld", name,
                      (long long)N, (long long)C, (long long)HW, (long long)G);
  *g = (norm_geom){name, N * G, C / G * HW, HW, C / G, G, C, N, flags | NF_CENTERED | NF_GN};
  return 0;
}

int lundi_vk_layer_norm_fwd(const lundi_kcall *c) {
  norm_geom g = rows_geom("layer_norm", c, NF_CENTERED);
  return norm_fwd(&g, c->f[0], c->in[0], c->in[1], c->in[2], c->out[0], c->out[1], c->out[2]);
}

int lundi_vk_layer_norm_bwd(const lundi_kcall *c) {
  norm_geom g = rows_geom("layer_norm_backward", c, NF_CENTERED);
  return norm_bwd(&g, c->in[0], c->in[1], c->in[2], c->in[3], c->in[4], NULL, c->out[0], c->out[1],
                  c->out[2]);
}

int lundi_vk_rms_norm_fwd(const lundi_kcall *c) {
  norm_geom g = rows_geom("rms_norm", c, 0);
  return norm_fwd(&g, c->f[0], c->in[0], c->in[1], NULL, c->out[0], NULL, c->out[1]);
}

int lundi_vk_rms_norm_bwd(const lundi_kcall *c) {
  norm_geom g = rows_geom("rms_norm_backward", c, 0);
  return norm_bwd(&g, c->in[0], c->in[1], NULL, c->in[2], c->in[3], NULL, c->out[0], c->out[1],
                  NULL);
}

/* The CPU kernels' optional per-(n, c) shift (fwd in[3], bwd in[6]) is not implemented here:
 * add_group_norm_silu runs an add and the plain norm on this backend. Refuse rather than
 * ignore it. */
static int no_shift(const lundi_kcall *c, int at, const char *op) {
  if (c->n_in > at && c->in[at])
    return lundi__err(LUNDI_EUNSUPPORTED, "%s: the vulkan kernel takes no shift (use add, then the norm)", op);
  return 0;
}

static int gn_fwd(const lundi_kcall *c, int silu) {
  norm_geom g;
  if (no_shift(c, 3, silu ? "group_norm_silu" : "group_norm")) return lundi_last_error_code();
  if (group_geom(silu ? "group_norm_silu" : "group_norm", c, silu ? NF_SILU : 0, &g))
    return lundi_last_error_code();
  return norm_fwd(&g, c->f[0], c->in[0], c->in[1], c->in[2], c->out[0], c->out[1], c->out[2]);
}

static int gn_bwd(const lundi_kcall *c, int silu) {
  norm_geom g;
  if (no_shift(c, 6, silu ? "group_norm_silu_backward" : "group_norm_backward")) return lundi_last_error_code();
  if (group_geom(silu ? "group_norm_silu_backward" : "group_norm_backward", c, silu ? NF_SILU : 0,
                 &g))
    return lundi_last_error_code();
  return norm_bwd(&g, c->in[0], c->in[1], c->in[2], c->in[3], c->in[4],
                  silu && c->n_in > 5 ? c->in[5] : NULL, c->out[0], c->out[1], c->out[2]);
}

int lundi_vk_group_norm_fwd(const lundi_kcall *c) {
  return gn_fwd(c, 0);
}
int lundi_vk_group_norm_bwd(const lundi_kcall *c) {
  return gn_bwd(c, 0);
}
int lundi_vk_group_norm_silu_fwd(const lundi_kcall *c) {
  return gn_fwd(c, 1);
}
int lundi_vk_group_norm_silu_bwd(const lundi_kcall *c) {
  return gn_bwd(c, 1);
}
