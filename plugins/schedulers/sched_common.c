/* Shared scheduler arithmetic (see sched_common.h). Scalars are computed in double and cast
 * to f32 only where they meet a tensor. */
#include "sched_common.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

int lundi__sched_init(lundi__sched *s, const lundi_params *p) {
  memset(s, 0, sizeof *s);
  s->T = (int)lundi_params_int(p, "num_train_timesteps");
  const char *pred = lundi_params_string(p, "prediction_type");
  const char *spacing = lundi_params_string(p, "timestep_spacing");
  const char *schedule = lundi_params_string(p, "beta_schedule");
  if (!pred || !spacing || !schedule) return lundi_last_error_code();
  s->pred = !strcmp(pred, "sample") ? LUNDI__PRED_SAMPLE : !strcmp(pred, "v_prediction") ? LUNDI__PRED_V : LUNDI__PRED_EPS;
  s->clip = lundi_params_bool(p, "clip_sample");
  s->clip_range = lundi_params_float(p, "clip_sample_range");
  s->thresholding = lundi_params_bool(p, "thresholding");
  s->thr_ratio = lundi_params_float(p, "dynamic_thresholding_ratio");
  s->thr_max = lundi_params_float(p, "sample_max_value");
  snprintf(s->spacing, sizeof s->spacing, "%s", spacing);
  s->steps_offset = (int)lundi_params_int(p, "steps_offset");
  s->betas = malloc(sizeof(double) * (size_t)s->T);
  s->ab = malloc(sizeof(double) * (size_t)s->T);
  if (!s->betas || !s->ab) {
    lundi__sched_free(s);
    return lundi_set_error(LUNDI_ENOMEM, "scheduler: out of memory for %d timesteps", s->T);
  }
  int rc = lundi__betas(schedule, s->T, lundi_params_float(p, "beta_start"), lundi_params_float(p, "beta_end"), s->betas);
  if (rc) {
    lundi__sched_free(s);
    return rc;
  }
  lundi__alphas_cumprod(s->T, s->betas, s->ab);
  return 0;
}

void lundi__sched_free(lundi__sched *s) {
  free(s->betas);
  free(s->ab);
  free(s->timesteps);
  s->betas = s->ab = NULL;
  s->timesteps = NULL;
  s->n = 0;
}

int lundi__sched_set_timesteps(lundi__sched *s, int n) {
  if (n < 1 || n > s->T)
    return lundi_set_error(LUNDI_EINVAL, "set_timesteps: num_inference_steps = %d must be in [1, num_train_timesteps = %d]",
                           n, s->T);
  int *ts = malloc(sizeof(int) * (size_t)n);
  if (!ts) return lundi_set_error(LUNDI_ENOMEM, "set_timesteps: out of memory");
  int rc = lundi__spacing(s->spacing, s->T, n, s->steps_offset, ts);
  if (rc) {
    free(ts);
    return rc;
  }
  free(s->timesteps);
  s->timesteps = ts;
  s->n = n;
  return 0;
}

int lundi__sched_check_step(const lundi__sched *s, int i) {
  if (!s->n) return lundi_set_error(LUNDI_ESTATE, "step %d: call set_timesteps first", i);
  if (i < 0 || i >= s->n) return lundi_set_error(LUNDI_EINVAL, "step index %d is outside [0, %d)", i, s->n);
  return 0;
}

double lundi__sched_timestep(const lundi__sched *s, int i) {
  if (lundi__sched_check_step(s, i)) return NAN;
  return s->timesteps[i];
}

lundi_tensor *lundi__axpby(double a, lundi_tensor *x, double b, lundi_tensor *y) {
  lundi_tensor *ax = lundi_mul_scalar(x, (float)a);
  if (!ax || !y) return ax;
  lundi_tensor *by = lundi_mul_scalar(y, (float)b);
  lundi_tensor *out = by ? lundi_add(ax, by) : NULL;
  lundi_release(ax);
  lundi_release(by);
  return out;
}

/* ---- per-row (training) forms ---- */

/* Reads t (f32 [N], N = x's first dim) as integer timesteps in [0, T) into a malloc'd array. */
static int *read_t(const lundi__sched *s, const char *fn, lundi_tensor *x, lundi_tensor *t) {
  char a[96], b[96];
  if (lundi_ndim(x) < 1 || lundi_ndim(t) != 1 || lundi_dim(t, 0) != lundi_dim(x, 0)) {
    lundi_set_error(LUNDI_ESHAPE, "%s: timesteps %s must be [N] for a batch %s", fn,
                    lundi_shape_str(lundi_ndim(t), lundi_shape(t), a, sizeof a),
                    lundi_shape_str(lundi_ndim(x), lundi_shape(x), b, sizeof b));
    return NULL;
  }
  int64_t n = lundi_dim(t, 0);
  float *f = malloc(sizeof(float) * (size_t)(n ? n : 1));
  int *out = malloc(sizeof(int) * (size_t)(n ? n : 1));
  if (!f || !out) {
    lundi_set_error(LUNDI_ENOMEM, "%s: out of memory", fn);
    goto fail;
  }
  if (lundi_read_f32(t, f, n)) goto fail;
  for (int64_t i = 0; i < n; i++) {
    if (!(f[i] >= 0 && f[i] < s->T && f[i] == floorf(f[i]))) {
      lundi_set_error(LUNDI_EINVAL, "%s: timestep t[%lld] = %g is not an integer in [0, %d)", fn, (long long)i,
                      (double)f[i], s->T);
      goto fail;
    }
    out[i] = (int)f[i];
  }
  free(f);
  return out;
fail:
  free(f);
  free(out);
  return NULL;
}

/* c[i] as an f32 [N, 1, ..., 1] tensor (x's rank) on x's device, to broadcast over rows. */
static lundi_tensor *row_coeffs(lundi_tensor *x, const double *c) {
  int64_t shape[LUNDI_MAX_DIMS], n = lundi_dim(x, 0);
  int nd = lundi_ndim(x);
  for (int d = 0; d < nd; d++) shape[d] = d ? 1 : n;
  float *f = malloc(sizeof(float) * (size_t)(n ? n : 1));
  if (!f) return NULL;
  for (int64_t i = 0; i < n; i++) f[i] = (float)c[i];
  lundi_tensor *h = lundi_from_f32(nd, shape, f);
  free(f);
  if (!h) return NULL;
  lundi_tensor *d = lundi_to_device(h, lundi_tensor_device(x));
  lundi_release(h);
  return d;
}

/* a[row] x + b[row] y. */
static lundi_tensor *row_axpby(const double *a, lundi_tensor *x, const double *b, lundi_tensor *y) {
  lundi_tensor *ca = row_coeffs(x, a), *cb = row_coeffs(x, b), *ax = NULL, *by = NULL, *out = NULL;
  if (ca && cb && (ax = lundi_mul(x, ca)) && (by = lundi_mul(y, cb))) out = lundi_add(ax, by);
  lundi_release(ca);
  lundi_release(cb);
  lundi_release(ax);
  lundi_release(by);
  return out;
}

/* which: 0 add_noise, 1 v target. */
static lundi_tensor *forward_mix(const lundi__sched *s, const char *fn, lundi_tensor *x0, lundi_tensor *noise,
                                 lundi_tensor *t, int which) {
  char a[96], b[96];
  if (lundi_ndim(x0) != lundi_ndim(noise) ||
      memcmp(lundi_shape(x0), lundi_shape(noise), sizeof(int64_t) * (size_t)lundi_ndim(x0))) {
    lundi_set_error(LUNDI_ESHAPE, "%s: x0 %s and noise %s must have the same shape", fn,
                    lundi_shape_str(lundi_ndim(x0), lundi_shape(x0), a, sizeof a),
                    lundi_shape_str(lundi_ndim(noise), lundi_shape(noise), b, sizeof b));
    return NULL;
  }
  int *ti = read_t(s, fn, x0, t);
  if (!ti) return NULL;
  int64_t n = lundi_dim(x0, 0);
  double *sa = malloc(sizeof(double) * (size_t)(n ? n : 1)), *sb = malloc(sizeof(double) * (size_t)(n ? n : 1));
  lundi_tensor *out = NULL;
  if (sa && sb) {
    for (int64_t i = 0; i < n; i++) sa[i] = sqrt(s->ab[ti[i]]), sb[i] = sqrt(1 - s->ab[ti[i]]);
    if (which == 0) {
      out = row_axpby(sa, x0, sb, noise);
    } else {
      for (int64_t i = 0; i < n; i++) sb[i] = -sb[i];
      out = row_axpby(sa, noise, sb, x0); /* v = sqrt(ab) eps - sqrt(1 - ab) x0 */
    }
  } else {
    lundi_set_error(LUNDI_ENOMEM, "%s: out of memory", fn);
  }
  free(sa);
  free(sb);
  free(ti);
  return out;
}

lundi_tensor *lundi__sched_add_noise(const lundi__sched *s, lundi_tensor *x0, lundi_tensor *noise, lundi_tensor *t) {
  return forward_mix(s, "add_noise", x0, noise, t, 0);
}

lundi_tensor *lundi__sched_target(const lundi__sched *s, lundi_tensor *x0, lundi_tensor *noise, lundi_tensor *t) {
  if (s->pred == LUNDI__PRED_V) return forward_mix(s, "target", x0, noise, t, 1);
  lundi_tensor *pick = s->pred == LUNDI__PRED_EPS ? noise : x0;
  /* Validate t and shapes the same way, so a bad batch fails here and not in the loss. */
  lundi_tensor *check = forward_mix(s, "target", x0, noise, t, 0);
  if (!check) return NULL;
  lundi_release(check);
  return lundi_retain(pick);
}

/* ---- sampling forms (one timestep for the whole batch) ---- */

int lundi__sched_api_num_train_timesteps(void *self) { return ((lundi__sched *)self)->T; }
lundi_tensor *lundi__sched_api_add_noise(void *self, lundi_tensor *x0, lundi_tensor *noise, lundi_tensor *t) {
  return lundi__sched_add_noise(self, x0, noise, t);
}
lundi_tensor *lundi__sched_api_target(void *self, lundi_tensor *x0, lundi_tensor *noise, lundi_tensor *t) {
  return lundi__sched_target(self, x0, noise, t);
}

int lundi__sched_check_noise_args(const char *fn, lundi_tensor *x0, lundi_tensor *noise) {
  char a[96], b[96];
  if (lundi_ndim(x0) < 1 || lundi_ndim(x0) != lundi_ndim(noise) ||
      memcmp(lundi_shape(x0), lundi_shape(noise), sizeof(int64_t) * (size_t)lundi_ndim(x0)))
    return lundi_set_error(LUNDI_ESHAPE, "%s: x0 %s and noise %s must have the same shape [N, ...]", fn,
                           lundi_shape_str(lundi_ndim(x0), lundi_shape(x0), a, sizeof a),
                           lundi_shape_str(lundi_ndim(noise), lundi_shape(noise), b, sizeof b));
  return 0;
}

lundi_tensor *lundi__sched_api_noise_to_step(void *self, lundi_tensor *x0, lundi_tensor *noise, int k, int *begin) {
  const lundi__sched *s = self;
  if (lundi__sched_check_step(s, k) || lundi__sched_check_noise_args("noise_to_step", x0, noise)) return NULL;
  double a = s->ab[s->timesteps[k]];
  *begin = k;
  return lundi__axpby(sqrt(a), x0, sqrt(1 - a), noise);
}

lundi_tensor *lundi__sched_x0(const lundi__sched *s, lundi_tensor *out, lundi_tensor *x, double a) {
  switch (s->pred) {
  case LUNDI__PRED_SAMPLE: return lundi_retain(out);
  case LUNDI__PRED_V: return lundi__axpby(sqrt(a), x, -sqrt(1 - a), out);
  default: return lundi__axpby(1 / sqrt(a), x, -sqrt(1 - a) / sqrt(a), out);
  }
}

lundi_tensor *lundi__sched_eps(const lundi__sched *s, lundi_tensor *out, lundi_tensor *x, double a) {
  switch (s->pred) {
  case LUNDI__PRED_SAMPLE: return lundi__axpby(1 / sqrt(1 - a), x, -sqrt(a) / sqrt(1 - a), out);
  case LUNDI__PRED_V: return lundi__axpby(sqrt(a), out, sqrt(1 - a), x);
  default: return lundi_retain(out);
  }
}

static int cmp_float(const void *a, const void *b) {
  float x = *(const float *)a, y = *(const float *)b;
  return (x > y) - (x < y);
}

/* Imagen's dynamic thresholding: per sample, s = quantile(|x0|, ratio) clamped to
 * [1, sample_max_value]; x0 -> clamp(x0, -s, s) / s. Quantile interpolates linearly. */
static lundi_tensor *threshold(const lundi__sched *s, lundi_tensor *x0) {
  int64_t n = lundi_dim(x0, 0), numel = lundi_numel(x0), d = n ? numel / n : 0;
  float *v = malloc(sizeof(float) * (size_t)(numel ? numel : 1)), *tmp = malloc(sizeof(float) * (size_t)(d ? d : 1));
  lundi_tensor *out = NULL;
  if (!v || !tmp) {
    lundi_set_error(LUNDI_ENOMEM, "thresholding: out of memory");
    goto done;
  }
  if (lundi_read_f32(x0, v, numel)) goto done;
  for (int64_t r = 0; r < n && d > 0; r++) {
    float *row = v + r * d;
    for (int64_t j = 0; j < d; j++) tmp[j] = fabsf(row[j]);
    qsort(tmp, (size_t)d, sizeof(float), cmp_float);
    double pos = s->thr_ratio * (double)(d - 1);
    int64_t lo = (int64_t)floor(pos), hi = lo + 1 < d ? lo + 1 : lo;
    double q = tmp[lo] + (tmp[hi] - tmp[lo]) * (pos - (double)lo);
    if (q < 1) q = 1;
    if (q > s->thr_max) q = s->thr_max;
    for (int64_t j = 0; j < d; j++) {
      double y = row[j] < -q ? -q : row[j] > q ? q : row[j];
      row[j] = (float)(y / q);
    }
  }
  lundi_tensor *h = lundi_from_f32(lundi_ndim(x0), lundi_shape(x0), v);
  if (h) {
    out = lundi_to_device(h, lundi_tensor_device(x0));
    lundi_release(h);
  }
done:
  free(v);
  free(tmp);
  return out;
}

lundi_tensor *lundi__sched_clip_x0(const lundi__sched *s, lundi_tensor *x0) {
  if (s->thresholding) return threshold(s, x0);
  if (s->clip) return lundi_clamp(x0, (float)-s->clip_range, (float)s->clip_range);
  return lundi_retain(x0);
}

int lundi__sched_check_step_args(const lundi__sched *s, lundi_tensor *out, int i, lundi_tensor *x) {
  int rc = lundi__sched_check_step(s, i);
  return rc ? rc : lundi__sched_check_out_shape(out, i, x);
}

int lundi__sched_check_out_shape(lundi_tensor *out, int i, lundi_tensor *x) {
  char a[96], b[96];
  if (lundi_ndim(out) != lundi_ndim(x) || lundi_ndim(x) < 1 ||
      memcmp(lundi_shape(out), lundi_shape(x), sizeof(int64_t) * (size_t)lundi_ndim(x)))
    return lundi_set_error(LUNDI_ESHAPE, "step %d: model output %s must match the sample %s", i,
                           lundi_shape_str(lundi_ndim(out), lundi_shape(out), a, sizeof a),
                           lundi_shape_str(lundi_ndim(x), lundi_shape(x), b, sizeof b));
  return 0;
}

lundi_tensor *lundi__sched_x0_at(const lundi__sched *s, lundi_tensor *out, int i, lundi_tensor *x) {
  lundi_tensor *x0 = lundi__sched_x0(s, out, x, s->ab[s->timesteps[i]]);
  if (!x0) return NULL;
  lundi_tensor *c = lundi__sched_clip_x0(s, x0);
  lundi_release(x0);
  return c;
}
