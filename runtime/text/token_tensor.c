/* Token ids as tensors (lundi/tokenizer.h): encode into an i32 tensor, read any tensor of ids
 * back, decode a tensor. Tensors are made on the host; placing them is the caller's choice. */
#include <stdlib.h>

#include "core/error.h"
#include "lundi/tokenizer.h"

lundi_tensor *lundi_tokenizer_encode_tensor(const lundi_tokenizer *tok, const char *text,
                                            size_t len) {
  int32_t *ids;
  int64_t n;
  if (lundi_tokenizer_encode(tok, text, len, &ids, &n)) return NULL;
  int64_t shape[1] = {n};
  lundi_tensor *t = lundi_from_i32(1, shape, ids);
  free(ids);
  return t;
}

int lundi_ids_from_tensor(const lundi_tensor *t, int32_t *ids, int64_t n) {
  if (!t || (n > 0 && !ids)) return lundi__err(LUNDI_EINVAL, "ids_from_tensor: NULL argument");
  if (lundi_numel(t) != n)
    return lundi__err(LUNDI_EINVAL, "ids_from_tensor: the tensor has %lld values, not %lld",
                      (long long)lundi_numel(t), (long long)n);
  /* Read through f32 whatever the dtype: ids are small integers, exact in f32. */
  float *f = malloc(sizeof *f * (size_t)(n ? n : 1));
  if (!f)
    return lundi__err(LUNDI_ENOMEM, "ids_from_tensor: out of memory for %lld ids", (long long)n);
  int rc = lundi_read_f32(t, f, n);
  for (int64_t i = 0; !rc && i < n; i++) ids[i] = (int32_t)f[i];
  free(f);
  return rc;
}

int lundi_tokenizer_decode_tensor(const lundi_tokenizer *tok, const lundi_tensor *ids,
                                  int skip_special, char **text, size_t *len) {
  if (!ids) return lundi__err(LUNDI_EINVAL, "tokenizer_decode: ids is NULL");
  int64_t n = lundi_numel(ids);
  int32_t *buf = malloc(sizeof *buf * (size_t)(n ? n : 1));
  if (!buf)
    return lundi__err(LUNDI_ENOMEM, "tokenizer_decode: out of memory for %lld ids", (long long)n);
  int rc = lundi_ids_from_tensor(ids, buf, n);
  if (!rc) rc = lundi_tokenizer_decode(tok, buf, n, skip_special, text, len);
  free(buf);
  return rc;
}
