/* Elementwise kernels: fill, copy, binary. The host coalesces dims (so a contiguous op is
 * one 1-D walk, one division per thread), checks that every index fits the shaders' 32-bit
 * arithmetic and the buffers, and fills the 128-byte push block of shaders/elementwise.glsl. */
#include "vulkan/vk.h"

#include <string.h>

typedef struct vk_push {
  uint32_t n, ndim, op, bits;
  uint32_t off[4];
  uint32_t shape[6];
  uint32_t st[3][6];
} vk_push;
_Static_assert(sizeof(vk_push) == LUNDI_VK_PUSH_BYTES, "push block must match elementwise.glsl");

/* ops[0] is the output; all operands have its shape (inputs pre-broadcast). 4-byte dtypes. */
static int make_push(const char *op, lundi_tensor *const *ops, int n_ops, vk_push *p) {
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
  p->n = (uint32_t)n;
  p->ndim = (uint32_t)nd;
  for (int d = 0; d < nd; d++) p->shape[d] = (uint32_t)shape[d];
  for (int k = 0; k < n_ops; k++) {
    const lundi_tensor *t = ops[k];
    int64_t last = t->offset; /* highest element the op touches in this operand */
    for (int d = 0; d < nd; d++) {
      if (st[k][d] < 0)
        return lundi__err(LUNDI_EUNSUPPORTED, "%s: negative strides are not supported on vulkan", op);
      last += (shape[d] - 1) * st[k][d];
      p->st[k][d] = (uint32_t)st[k][d]; /* < last <= UINT32_MAX, checked below */
    }
    if (n && (last >= (int64_t)UINT32_MAX || (uint64_t)(last + 1) * 4 > t->storage->nbytes))
      return lundi__err(LUNDI_EINVAL, "%s: operand %d reaches element %lld, outside its %zu-byte storage", op, k,
                        (long long)last, t->storage->nbytes);
    p->off[k] = (uint32_t)t->offset;
  }
  return 0;
}

static int run(const char *op, int shader, lundi_tensor *const *ops, int n_ops, uint32_t code, uint32_t bits) {
  vk_push p;
  if (make_push(op, ops, n_ops, &p)) return lundi_last_error_code();
  p.op = code;
  p.bits = bits;
  vk_buf *bufs[3];
  for (int k = 0; k < n_ops; k++) bufs[k] = ops[k]->storage->data;
  vk_dev *d = lundi_vk_dev(ops[0]->storage->device);
  return lundi_vk_dispatch(d, shader, bufs, n_ops, 1u /* operand 0 is written */, &p, sizeof p, p.n);
}

static int is32(lundi_dtype dt) { return dt == LUNDI_F32 || dt == LUNDI_I32; }

int lundi_vk_fill(const lundi_kcall *c) {
  lundi_tensor *o = c->out[0];
  if (!is32(o->dtype))
    return lundi__err(LUNDI_EUNSUPPORTED, "fill: %s tensors are not supported on vulkan (f32 and i32 are)",
                      lundi_dtype_name(o->dtype));
  uint32_t bits;
  if (o->dtype == LUNDI_F32) {
    float v = (float)c->f[0];
    memcpy(&bits, &v, 4);
  } else {
    int32_t v = (int32_t)c->f[0]; /* the CPU kernel's conversion */
    memcpy(&bits, &v, 4);
  }
  return run("fill", VK_SH_FILL, &o, 1, 0, bits);
}

int lundi_vk_copy(const lundi_kcall *c) {
  lundi_tensor *ops[2] = {c->out[0], c->in[0]};
  if (!is32(ops[0]->dtype) || ops[0]->dtype != ops[1]->dtype)
    return lundi__err(LUNDI_EUNSUPPORTED, "copy: %s -> %s is not supported on vulkan (f32 and i32 are)",
                      lundi_dtype_name(ops[1]->dtype), lundi_dtype_name(ops[0]->dtype));
  return run("copy", VK_SH_COPY, ops, 2, 0, 0);
}

int lundi_vk_binary(const lundi_kcall *c) {
  lundi_tensor *ops[3] = {c->out[0], c->in[0], c->in[1]};
  for (int k = 0; k < 3; k++)
    if (ops[k]->dtype != LUNDI_F32)
      return lundi__err(LUNDI_EUNSUPPORTED, "binary: %s operands are not supported on vulkan (f32 is)",
                        lundi_dtype_name(ops[k]->dtype));
  if (c->i[0] < LUNDI_BIN_ADD || c->i[0] > LUNDI_BIN_GE)
    return lundi__err(LUNDI_EINVAL, "binary: unknown op %lld", (long long)c->i[0]);
  return run("binary", VK_SH_BINARY, ops, 3, (uint32_t)c->i[0], 0);
}
