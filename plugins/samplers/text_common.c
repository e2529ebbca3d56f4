/* Shared pieces of the token samplers and likelihoods (see text_common.h). Token work is
 * done on host copies: a step reads the logits once and decides every position there. */
#include "text_common.h"
#include "lundi/device.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

int32_t *lundi__tok_read(lundi_tensor *t, const char *what) {
  char a[160];
  if (lundi_tensor_dtype(t) != LUNDI_I32) {
    lundi_set_error(LUNDI_EINVAL, "%s must be i32 token ids, got %s", what, lundi_describe(t, a, sizeof a));
    return NULL;
  }
  int64_t n = lundi_numel(t);
  int32_t *out = malloc(sizeof *out * (size_t)(n ? n : 1));
  lundi_tensor *h = out ? lundi_to_device(t, lundi_cpu()) : NULL;
  lundi_tensor *c = h ? lundi_clone(h) : NULL;
  lundi_release(h);
  if (!c) {
    if (!out) lundi_set_error(LUNDI_ENOMEM, "%s: out of memory", what);
    free(out);
    return NULL;
  }
  memcpy(out, lundi_data(c), sizeof *out * (size_t)n);
  lundi_release(c);
  return out;
}

static lundi_tensor *placed(lundi_tensor *h, lundi_device *dev) {
  if (!h || !dev || dev == lundi_tensor_device(h)) return h;
  lundi_tensor *d = lundi_to_device(h, dev);
  lundi_release(h);
  return d;
}

lundi_tensor *lundi__tok_upload(int ndim, const int64_t *shape, const int32_t *v, lundi_device *dev) {
  return placed(lundi_from_i32(ndim, shape, v), dev);
}

lundi_tensor *lundi__f32_upload(int ndim, const int64_t *shape, const float *v, lundi_device *dev) {
  return placed(lundi_from_f32(ndim, shape, v), dev);
}

int lundi__mask_id(lundi_instance *sched, const char *who, int32_t *mask) {
  const char *name = lundi_plugin_info(lundi_instance_plugin(sched))->name;
  int32_t probe[4] = {0, 1, 2, 3};
  lundi_tensor *x0 = lundi_from_i32(2, (int64_t[]){2, 2}, probe), *noise = lundi_zeros(2, (int64_t[]){2, 2});
  lundi_tensor *t = lundi_full(1, (int64_t[]){2}, 1.0f), *xt = NULL;
  int32_t *v = NULL;
  int rc = LUNDI_EINVAL;
  char why[700] = "";
  if (!x0 || !noise || !t) {
    rc = lundi_last_error_code();
    goto done;
  }
  xt = lundi_scheduler_add_noise(sched, x0, noise, t);
  if (!xt) {
    snprintf(why, sizeof why, ": add_noise failed (%s)", lundi_last_error());
  } else if (lundi_tensor_dtype(xt) != LUNDI_I32) {
    snprintf(why, sizeof why, ": add_noise gave %s values, not i32 token ids", lundi_dtype_name(lundi_tensor_dtype(xt)));
  } else if ((v = lundi__tok_read(xt, "add_noise's result"))) {
    if (v[0] == v[1] && v[0] == v[2] && v[0] == v[3]) {
      *mask = v[0];
      rc = 0;
    } else {
      snprintf(why, sizeof why, ": add_noise(x0, noise = 0, t = 1) kept distinct tokens (%d %d %d %d)", v[0], v[1],
               v[2], v[3]);
    }
  }
  if (rc)
    rc = lundi_set_error(LUNDI_EINVAL, "%s: scheduler '%s' is not a masking scheduler (with noise 0 and t = 1 every "
                         "token must become its mask id)%s", who, name, why);
done:
  free(v);
  lundi_release(x0);
  lundi_release(noise);
  lundi_release(t);
  lundi_release(xt);
  return rc;
}

lundi_device *lundi__denoiser_device(lundi_instance *denoiser) {
  lundi_module *m = lundi_denoiser_module(denoiser);
  return m && lundi_module_device(m) ? lundi_module_device(m) : lundi_default_device();
}

int lundi__denoiser_train_mode(lundi_instance *denoiser, int on) {
  lundi_module *m = lundi_denoiser_module(denoiser);
  int old = m ? lundi_module_training(m) : 0;
  if (m) lundi_module_set_training(m, on);
  return old;
}

float *lundi__denoise_logits(lundi_instance *denoiser, const int32_t *x, int64_t n, int64_t len, const float *t,
                             lundi_device *dev, lundi_rng *rng, const char *who, int64_t col, int64_t *V) {
  float *tz = t ? NULL : calloc((size_t)n, sizeof *tz), *out = NULL;
  lundi_tensor *xt = lundi__tok_upload(2, (int64_t[]){n, len}, x, dev);
  lundi_tensor *tt = (t || tz) ? lundi__f32_upload(1, (int64_t[]){n}, t ? t : tz, dev) : NULL;
  lundi_tensor *y = xt && tt ? lundi_denoiser_forward(denoiser, xt, tt, NULL, rng) : NULL;
  free(tz);
  if (!y) goto done;
  if (lundi_ndim(y) != 3 || lundi_dim(y, 0) != n || lundi_dim(y, 1) != len || lundi_dim(y, 2) < 1 ||
      lundi_tensor_dtype(y) != LUNDI_F32) {
    char a[160];
    lundi_set_error(LUNDI_ESHAPE, "%s: the denoiser gave %s for tokens [%lld,%lld]; it must give f32 logits [N, L, V]",
                    who, lundi_describe(y, a, sizeof a), (long long)n, (long long)len);
    goto done;
  }
  *V = lundi_dim(y, 2);
  if (col >= 0) { /* only column col: the rest never leaves the device */
    lundi_tensor *c = lundi_slice(y, 1, col, col + 1, 1);
    lundi_release(y);
    if (!(y = c)) goto done;
  }
  out = malloc(sizeof *out * (size_t)lundi_numel(y));
  if (!out) {
    lundi_set_error(LUNDI_ENOMEM, "%s: out of memory for logits", who);
  } else if (lundi_read_f32(y, out, lundi_numel(y))) {
    free(out);
    out = NULL;
  }
done:
  lundi_release(xt);
  lundi_release(tt);
  lundi_release(y);
  return out;
}

/* The first column of row r equal to mask, or -1. */
static int64_t first_masked(const int32_t *row, int64_t L, int32_t mask) {
  for (int64_t j = 0; j < L; j++)
    if (row[j] == mask) return j;
  return -1;
}

int lundi__start_tokens(const lundi_sample_request *req, int32_t mask, const char *who, int32_t **x,
                        int64_t *first) {
  int64_t B = req->batch, L = req->shape[0];
  *x = NULL;
  if (req->ndim != 1)
    return lundi_set_error(LUNDI_EINVAL, "%s: the request's shape must be {L} (the sequence length), got %d dims", who,
                           req->ndim);
  if (req->prompts)
    return lundi_set_error(LUNDI_EINVAL, "%s: text prompts are not taken: tokenize them and pass the ids as "
                           "cond_input [batch, Lp] (i32)", who);
  int32_t *v = NULL;
  if (req->init) {
    if (!(v = lundi__tok_read(req->init, "init"))) return lundi_last_error_code();
  } else {
    v = malloc(sizeof *v * (size_t)(B * L));
    if (!v) return lundi_set_error(LUNDI_ENOMEM, "%s: out of memory", who);
    for (int64_t k = 0; k < B * L; k++) v[k] = mask;
    if (req->cond_input) {
      lundi_tensor *p = req->cond_input;
      char a[160];
      if (lundi_ndim(p) != 2 || lundi_dim(p, 0) != B || lundi_dim(p, 1) >= L) {
        free(v);
        return lundi_set_error(LUNDI_ESHAPE, "%s: the prompt (cond_input) %s must be [batch = %lld, Lp] with Lp < L = "
                               "%lld", who, lundi_describe(p, a, sizeof a), (long long)B, (long long)L);
      }
      int64_t Lp = lundi_dim(p, 1);
      int32_t *pv = lundi__tok_read(p, "the prompt (cond_input)");
      if (!pv) {
        free(v);
        return lundi_last_error_code();
      }
      for (int64_t b = 0; b < B; b++) memcpy(v + b * L, pv + b * Lp, sizeof *v * (size_t)Lp);
      free(pv);
    }
  }
  int64_t f = first_masked(v, L, mask);
  for (int64_t b = 1; b < B; b++) {
    int64_t fb = first_masked(v + b * L, L, mask);
    if (fb != f) {
      free(v);
      return lundi_set_error(LUNDI_EINVAL, "%s: the generation region must start at the same column in every row: row 0's "
                             "first masked column (mask id %d) is %lld, row %lld's is %lld", who, mask, (long long)f,
                             (long long)b, (long long)fb);
    }
  }
  *x = v;
  *first = f;
  return 0;
}

int64_t lundi__argmax_skip(const float *v, int64_t n, int64_t skip) {
  int64_t best = -1;
  for (int64_t k = 0; k < n; k++)
    if (k != skip && (best < 0 || v[k] > v[best])) best = k;
  return best;
}
