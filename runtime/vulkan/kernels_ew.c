/* Elementwise kernels with up to four operands and float parameters (unary, its derivative,
 * where), cast, and the fused optimiser updates (AdamW, EMA). The 4-operand shaders take
 * at most 4 coalesced dims in their 128-byte push block (shaders/ew4.glsl); rarer shapes are
 * made contiguous first with the copy kernel, so every strided view still works. */
#include "vulkan/vk.h"

#include <math.h>
#include <string.h>

typedef struct vk_push4 {
  uint32_t n, ndim, op, has_y;
  float f0, f1;
  uint32_t pad[2];
  uint32_t off[4];
  uint32_t shape[4];
  uint32_t st[4][4];
} vk_push4;
_Static_assert(sizeof(vk_push4) == LUNDI_VK_PUSH_BYTES, "push block must match ew4.glsl");

#define TOO_MANY_DIMS 1

/* ops[0] is the output; all operands have its shape (inputs pre-broadcast), f32. Returns
 * TOO_MANY_DIMS (no error set) when the coalesced shape has more than 4 dims. */
static int make_push4(const char *op, lundi_tensor *const *ops, int n_ops, vk_push4 *p) {
  const lundi_tensor *o = ops[0];
  memset(p, 0, sizeof *p);
  int64_t n = lundi_numel(o);
  if (n >= (int64_t)1 << 31)
    return lundi__err(LUNDI_EUNSUPPORTED, "%s: %lld elements; the vulkan backend handles < 2^31 per op", op,
                      (long long)n);
  lundi_dims dims;
  lundi__coalesce_tensors(ops, n_ops, &dims);
  const int nd = dims.ndim;
  const int64_t *shape = dims.shape;
  int64_t (*st)[LUNDI_MAX_DIMS] = dims.stride;
  if (nd > 4) return TOO_MANY_DIMS;
  p->n = (uint32_t)n;
  p->ndim = (uint32_t)nd;
  for (int d = 0; d < nd; d++) p->shape[d] = (uint32_t)shape[d];
  for (int k = 0; k < n_ops; k++) {
    const lundi_tensor *t = ops[k];
    int64_t last = t->offset;
    for (int d = 0; d < nd; d++) {
      if (st[k][d] < 0)
        return lundi__err(LUNDI_EUNSUPPORTED, "%s: negative strides are not supported on vulkan", op);
      last += (shape[d] - 1) * st[k][d];
      p->st[k][d] = (uint32_t)st[k][d];
    }
    if (n && (last >= (int64_t)UINT32_MAX || (uint64_t)(last + 1) * 4 > t->storage->nbytes))
      return lundi__err(LUNDI_EINVAL, "%s: operand %d reaches element %lld, outside its %zu-byte storage", op, k,
                        (long long)last, t->storage->nbytes);
    p->off[k] = (uint32_t)t->offset;
  }
  return 0;
}

static int check_f32(const char *op, lundi_tensor *const *ops, int n_ops) {
  for (int k = 0; k < n_ops; k++)
    if (ops[k]->dtype != LUNDI_F32)
      return lundi__err(LUNDI_EUNSUPPORTED, "%s: %s operands are not supported on vulkan (f32 is)", op,
                        lundi_dtype_name(ops[k]->dtype));
  return 0;
}

/* Runs `shader` over ops (ops[0] written). With more than 4 coalesced dims, the inputs are
 * copied to contiguous tensors and a strided output goes through a contiguous temporary. */
static int run4(const char *op, int shader, lundi_tensor *const *ops_in, int n_ops, uint32_t code, uint32_t has_y,
                float f0, float f1) {
  vk_push4 p;
  lundi_tensor *ops[4] = {0}, *tmp[4] = {0};
  for (int k = 0; k < n_ops; k++) ops[k] = ops_in[k];
  int rc = make_push4(op, ops, n_ops, &p);
  if (rc == TOO_MANY_DIMS) {
    rc = 0;
    for (int k = 0; k < n_ops && !rc; k++) {
      tmp[k] = k == 0 ? (lundi_is_contiguous(ops[0]) ? lundi_retain(ops[0])
                                                     : lundi_empty(ops[0]->ndim, ops[0]->shape, LUNDI_F32,
                                                                   ops[0]->storage->device))
                      : lundi__contiguous_copy(ops[k]);
      if (!tmp[k]) rc = -1;
      else ops[k] = tmp[k];
    }
    rc = rc ? lundi_last_error_code() : make_push4(op, ops, n_ops, &p);
  }
  if (!rc) {
    p.op = code;
    p.has_y = has_y;
    p.f0 = f0;
    p.f1 = f1;
    vk_buf *bufs[4];
    for (int k = 0; k < n_ops; k++) bufs[k] = ops[k]->storage->data;
    vk_dev *d = lundi_vk_dev(ops[0]->storage->device);
    rc = lundi_vk_dispatch(d, shader, bufs, n_ops, 1u, &p, sizeof p, p.n);
    if (!rc && ops[0] != ops_in[0]) rc = lundi_copy_(ops_in[0], ops[0]);
  }
  for (int k = 0; k < n_ops; k++) lundi_release(tmp[k]);
  return rc;
}

int lundi_vk_unary(const lundi_kcall *c) {
  lundi_tensor *ops[2] = {c->out[0], c->in[0]};
  if (check_f32("unary", ops, 2)) return lundi_last_error_code();
  if (c->i[0] < 0 || c->i[0] >= LUNDI_UN_COUNT)
    return lundi__err(LUNDI_EINVAL, "unary: unknown op %lld", (long long)c->i[0]);
  return run4("unary", VK_SH_UNARY, ops, 2, (uint32_t)c->i[0], 0, (float)c->f[0], (float)c->f[1]);
}

int lundi_vk_unary_bwd(const lundi_kcall *c) {
  int has_y = c->n_in > 2 && c->in[2];
  /* Without y the shader recomputes op(x); binding 3 still needs a buffer, so x stands in. */
  lundi_tensor *ops[4] = {c->out[0], c->in[0], c->in[1], has_y ? c->in[2] : c->in[0]};
  if (check_f32("unary_bwd", ops, 4)) return lundi_last_error_code();
  if (c->i[0] < 0 || c->i[0] >= LUNDI_UN_COUNT)
    return lundi__err(LUNDI_EINVAL, "unary_bwd: unknown op %lld", (long long)c->i[0]);
  return run4("unary_bwd", VK_SH_UNARY_BWD, ops, 4, (uint32_t)c->i[0], (uint32_t)has_y, (float)c->f[0],
              (float)c->f[1]);
}

int lundi_vk_where(const lundi_kcall *c) {
  lundi_tensor *ops[4] = {c->out[0], c->in[0], c->in[1], c->in[2]};
  if (check_f32("where", ops, 4)) return lundi_last_error_code();
  return run4("where", VK_SH_WHERE, ops, 4, 0, 0, 0, 0);
}

/* ---- cast ---- */

typedef struct cast_push {
  uint32_t n, words, in_dt, out_dt, in_off, out_off;
} cast_push;

int lundi_vk_cast(const lundi_kcall *c) {
  lundi_tensor *o = c->out[0], *x = c->in[0];
  if (!lundi_is_contiguous(o) || !lundi_is_contiguous(x))
    return lundi__err(LUNDI_EINVAL, "cast: operands must be contiguous");
  int64_t n = lundi_numel(o);
  if (n != lundi_numel(x)) return lundi__err(LUNDI_EINVAL, "cast: %lld elements from %lld", (long long)n,
                                             (long long)lundi_numel(x));
  if (!n) return 0;
  size_t oes = lundi_dtype_size(o->dtype), xes = lundi_dtype_size(x->dtype);
  int64_t o_end = (o->offset + n) * (int64_t)oes, x_end = (x->offset + n) * (int64_t)xes;
  if (o_end > (int64_t)o->storage->nbytes || x_end > (int64_t)x->storage->nbytes)
    return lundi__err(LUNDI_EINVAL, "cast: an operand runs past its storage");
  if (o_end >= (int64_t)UINT32_MAX || x_end >= (int64_t)UINT32_MAX)
    return lundi__err(LUNDI_EUNSUPPORTED, "cast: operands beyond 4 GiB are not supported on vulkan");
  int64_t lanes = 4 / (int64_t)oes;
  int64_t first = o->offset / lanes, last = (o->offset + n - 1) / lanes;
  cast_push p = {(uint32_t)n, (uint32_t)(last - first + 1), (uint32_t)x->dtype, (uint32_t)o->dtype,
                 (uint32_t)x->offset, (uint32_t)o->offset};
  vk_buf *bufs[2] = {o->storage->data, x->storage->data};
  vk_dev *d = lundi_vk_dev(o->storage->device);
  return lundi_vk_dispatch(d, VK_SH_CAST, bufs, 2, 1u, &p, sizeof p, p.words);
}

/* ---- optimisers ---- */

typedef struct optim_push {
  uint32_t n, op;
  uint32_t off[4];
  float b1, b2, eps, decay, step_size, sqrt_bc2;
} optim_push;

/* Operands: contiguous f32 of one numel (runtime/cpu/optim.c's contract, checked here). */
static int optim_run(const char *op, lundi_tensor *const *ops, int n_ops, unsigned writes, optim_push *p) {
  int64_t n = lundi_numel(ops[0]);
  if (check_f32(op, ops, n_ops)) return lundi_last_error_code();
  for (int k = 0; k < n_ops; k++) {
    const lundi_tensor *t = ops[k];
    if (!lundi_is_contiguous(t) || lundi_numel(t) != n)
      return lundi__err(LUNDI_EINVAL, "%s: operand %d must be contiguous with %lld elements", op, k, (long long)n);
    if ((uint64_t)(t->offset + n) * 4 > t->storage->nbytes || t->offset + n >= (int64_t)UINT32_MAX)
      return lundi__err(LUNDI_EINVAL, "%s: operand %d runs past its storage", op, k);
    p->off[k] = (uint32_t)t->offset;
  }
  p->n = (uint32_t)n;
  vk_buf *bufs[4];
  for (int k = 0; k < n_ops; k++) bufs[k] = ops[k]->storage->data;
  vk_dev *d = lundi_vk_dev(ops[0]->storage->device);
  return lundi_vk_dispatch(d, VK_SH_OPTIM, bufs, n_ops, writes, p, sizeof *p, (uint64_t)n);
}

int lundi_vk_adamw(const lundi_kcall *c) {
  lundi_tensor *ops[4] = {c->in[0], c->out[0], c->out[1], c->out[2]};
  optim_push p = {.op = 0, .b1 = (float)c->f[1], .b2 = (float)c->f[2], .eps = (float)c->f[3],
                  .decay = (float)(1.0 - c->f[0] * c->f[4]), .step_size = (float)(c->f[0] / c->f[5]),
                  .sqrt_bc2 = (float)sqrt(c->f[6])};
  return optim_run("adamw", ops, 4, 0xeu, &p);
}

int lundi_vk_ema(const lundi_kcall *c) {
  lundi_tensor *ops[2] = {c->in[0], c->out[0]};
  optim_push p = {.op = 1, .b1 = (float)c->f[0], .b2 = (float)(1.0 - c->f[0])};
  return optim_run("ema", ops, 2, 0x2u, &p);
}
