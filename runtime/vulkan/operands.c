/* Operand checks and copies shared by the row, attention and loss kernels. */
#include "vulkan/vk.h"

int lundi_vk_check_flat(const char *op, const char *what, const lundi_tensor *t, lundi_dtype dt,
                        int64_t n) {
  if (!t) return lundi__err(LUNDI_EINVAL, "%s: %s is missing", op, what);
  if (t->dtype != dt)
    return dt == LUNDI_F32
               ? lundi__err(LUNDI_EUNSUPPORTED, "%s: %s is %s; the vulkan backend supports f32", op,
                            what, lundi_dtype_name(t->dtype))
               : lundi__err(LUNDI_EUNSUPPORTED, "%s: %s is %s where %s is expected on vulkan", op,
                            what, lundi_dtype_name(t->dtype), lundi_dtype_name(dt));
  if (!lundi_is_contiguous(t) || lundi_numel((lundi_tensor *)t) != n)
    return lundi__err(LUNDI_EINVAL, "%s: %s must be contiguous with %lld elements", op, what,
                      (long long)n);
  if (t->offset + n >= (int64_t)1 << 31 || (uint64_t)(t->offset + n) * 4 > t->storage->nbytes)
    return lundi__err(
        n >= (int64_t)1 << 31 ? LUNDI_EUNSUPPORTED : LUNDI_EINVAL,
        "%s: %s (%lld elements at offset %lld) is beyond the vulkan backend's 2^31 elements or "
        "its storage",
        op, what, (long long)n, (long long)t->offset);
  return 0;
}

int lundi_vk_copy_flat(lundi_tensor *dst, int64_t doff, lundi_tensor *src, int64_t soff,
                       int64_t n) {
  if (!n) return 0;
  int64_t one = 1;
  lundi_tensor *a = lundi__view(dst, 1, &n, &one, doff), *b = lundi__view(src, 1, &n, &one, soff);
  int rc = a && b ? lundi_copy_(a, b) : lundi_last_error_code();
  lundi_release(a);
  lundi_release(b);
  return rc;
}
