/* A generated task as a dataset (lundi_dataset_task): every pair is generated and tokenized
 * once, up front, into tokens [N, seq_len] = [prompt | answer | EOS...] and prompt_len [N],
 * then held in memory by lundi_dataset_from_tensors. */
#include <stdlib.h>
#include <string.h>

#include "core/error.h"
#include "lundi/text_data.h"
#include "text/task_internal.h"

/* One pair's tokens into row (seq_len ids), its prompt length into *plen. */
static int tokenize_pair(const lundi_tokenizer *tok, const char *prompt, const char *answer,
                         int32_t eos, int seq_len, int32_t *row, int32_t *plen, int64_t index,
                         uint64_t seed) {
  int32_t *p = NULL, *a = NULL;
  int64_t np = 0, na = 0;
  int rc = lundi_tokenizer_encode(tok, prompt, strlen(prompt), &p, &np);
  if (rc == 0) rc = lundi_tokenizer_encode(tok, answer, strlen(answer), &a, &na);
  if (rc == 0 && np + na + 1 > seq_len)
    rc = lundi__err(LUNDI_EINVAL,
                    "dataset_task: pair %lld (seed %llu) is %lld tokens with its EOS, more than "
                    "seq_len %d",
                    (long long)index, (unsigned long long)seed, (long long)(np + na + 1), seq_len);
  if (rc == 0) {
    memcpy(row, p, sizeof *row * (size_t)np);
    memcpy(row + np, a, sizeof *row * (size_t)na);
    for (int64_t k = np + na; k < seq_len; k++) row[k] = eos;
    *plen = (int32_t)np;
  }
  free(p);
  free(a);
  return rc;
}

lundi_dataset *lundi_dataset_task(const lundi_tokenizer *tok, lundi_text_task task,
                                  const lundi_task_opts *opts, uint64_t base_seed, int64_t count,
                                  int seq_len) {
  int pw = 0, aw = 0;
  if (lundi_task_widths(task, opts, &pw, &aw)) return NULL;
  const char *name = lundi_text_task_name(task);
  if (!tok) return lundi__errp(LUNDI_EINVAL, "dataset_task %s: no tokenizer (NULL)", name);
  if (count < 1 || count > INT32_MAX)
    return lundi__errp(LUNDI_EINVAL, "dataset_task %s: count must be 1 to 2^31-1, got %lld", name,
                       (long long)count);
  if (seq_len < 0)
    return lundi__errp(LUNDI_EINVAL, "dataset_task %s: seq_len must be >= 0, got %d", name,
                       seq_len);
  if (seq_len == 0) seq_len = pw + aw + 1;
  if ((uint64_t)count * (uint64_t)seq_len > ((uint64_t)1 << 31))
    return lundi__errp(LUNDI_EINVAL, "dataset_task %s: %lld x %d tokens is too many", name,
                       (long long)count, seq_len);
  int32_t eos = lundi_tokenizer_special(tok, LUNDI_TOKEN_EOS);
  int32_t *tokens = malloc(sizeof *tokens * (size_t)count * (size_t)seq_len);
  int32_t *plen = malloc(sizeof *plen * (size_t)count);
  char prompt[2 * LUNDI__ADD_MAX_DIGITS + 3 > 83 ? 2 * LUNDI__ADD_MAX_DIGITS + 3 : 83];
  char answer[sizeof prompt];
  int rc = tokens && plen ? 0 : lundi__err(LUNDI_ENOMEM, "dataset_task %s: out of memory", name);
  for (int64_t i = 0; i < count && rc == 0; i++) {
    uint64_t seed = base_seed + (uint64_t)i;
    rc = lundi_task_generate(task, opts, seed, prompt, answer);
    if (rc == 0)
      rc = tokenize_pair(tok, prompt, answer, eos, seq_len, tokens + i * seq_len, plen + i, i,
                         seed);
  }
  lundi_dataset *ds = NULL;
  if (rc == 0) {
    int64_t shape[2] = {count, seq_len};
    lundi_tensor *f[2] = {lundi_from_i32(2, shape, tokens), lundi_from_i32(1, shape, plen)};
    if (f[0] && f[1]) ds = lundi_dataset_from_tensors(2, f);
    lundi_release(f[0]);
    lundi_release(f[1]);
  }
  free(tokens);
  free(plen);
  return ds;
}
