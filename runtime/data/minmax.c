/* The min-max normaliser (lundi/minmax.h): Diffusion Policy's LinearNormalizer, 'limits'
 * mode, output [-1, 1]. Computed on the host in f32, as the reference does. */
#include "lundi/minmax.h"

#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>

#include "core/error.h"
#include "lundi/data.h"

int lundi_minmax_coeffs(const float *min, const float *max, int dim, float *scale, float *offset) {
  if (!min || !max || !scale || !offset || dim < 1)
    return lundi__err(LUNDI_EINVAL, "lundi_minmax_coeffs: needs limits and outputs of width >= 1, got %d", dim);
  for (int j = 0; j < dim; j++) {
    if (!isfinite(min[j]) || !isfinite(max[j]) || min[j] > max[j])
      return lundi__err(LUNDI_EINVAL, "minmax: feature %d has limits [%g, %g]: need finite min <= max", j,
                        (double)min[j], (double)max[j]);
    float range = max[j] - min[j];
    if (range < LUNDI_MINMAX_RANGE_EPS) {
      scale[j] = 1.0f; /* the reference: range replaced by the output range 2, scale 2/2 */
      offset[j] = -min[j]; /* (out_max + out_min) / 2 - min */
    } else {
      scale[j] = 2.0f / range;
      offset[j] = -1.0f - scale[j] * min[j];
    }
  }
  return 0;
}

lundi_tensor *lundi_minmax_apply(lundi_tensor *x, const float *min, const float *max, int dim, int inverse,
                                 const char *what) {
  char s[96];
  what = what ? what : "x";
  if (!x) return lundi__errp(LUNDI_EINVAL, "minmax: %s is NULL", what);
  if (lundi_tensor_dtype(x) != LUNDI_F32 || lundi_ndim(x) < 1 || lundi_dim(x, -1) != dim)
    return lundi__errp(LUNDI_ESHAPE, "minmax: %s must be f32 [..., %d] (the last axis the features), got %s", what,
                       dim, lundi_describe(x, s, sizeof s));
  int64_t n = lundi_numel(x);
  float *v = malloc(sizeof(float) * (size_t)(n ? n : 1)), *c = malloc(sizeof(float) * 2 * (size_t)dim);
  lundi_tensor *y = NULL;
  int rc = !v || !c ? lundi__err(LUNDI_ENOMEM, "minmax: out of memory") : lundi_minmax_coeffs(min, max, dim, c, c + dim);
  if (!rc) rc = lundi_read_f32(x, v, n);
  if (!rc) {
    for (int64_t i = 0; i < n; i++) {
      int j = (int)(i % dim);
      v[i] = inverse ? (v[i] - c[dim + j]) / c[j] : v[i] * c[j] + c[dim + j];
    }
    lundi_tensor *h = lundi_from_f32(lundi_ndim(x), lundi_shape(x), v);
    lundi_device *dev = lundi_tensor_device(x);
    y = h && dev != lundi_tensor_device(h) ? lundi_to_device(h, dev) : lundi_retain(h);
    lundi_release(h);
  }
  free(v);
  free(c);
  return y;
}

int lundi_minmax_format(const float *v, int dim, char *buf, size_t cap) {
  if (!v || !buf || dim < 1) return lundi__err(LUNDI_EINVAL, "lundi_minmax_format: needs values and a buffer");
  size_t at = 0;
  for (int j = 0; j < dim; j++) {
    int k = snprintf(buf + at, cap - at, "%s%.9g", j ? "," : "", (double)v[j]);
    if (k < 0 || (size_t)k >= cap - at)
      return lundi__err(LUNDI_EINVAL, "lundi_minmax_format: %d values do not fit in %zu bytes", dim, cap);
    at += (size_t)k;
  }
  return 0;
}

int lundi_minmax_parse(const char *text, float *out, int dim, const char *what) {
  what = what ? what : "limits";
  if (!text || !out) return lundi__err(LUNDI_EINVAL, "%s: no text to parse", what);
  const char *p = text;
  for (int j = 0; j < dim; j++) {
    char *end;
    errno = 0;
    double d = strtod(p, &end);
    if (end == p || errno || !isfinite(d) || (*end != ',' && *end != '\0') || (*end == '\0') != (j == dim - 1))
      return lundi__err(LUNDI_EINVAL, "%s: '%s' must be %d comma-separated numbers (entry %d is bad or missing)",
                        what, text, dim, j);
    out[j] = (float)d;
    p = end + 1;
  }
  return 0;
}

int lundi_minmax_fit_text(const char *path, const char *field, int dim, char *min_buf, char *max_buf, size_t cap) {
  if (dim < 1) return lundi__err(LUNDI_EINVAL, "lundi_minmax_fit_text: dim must be >= 1, got %d", dim);
  float *lo = malloc(sizeof(float) * 2 * (size_t)dim);
  if (!lo) return lundi__err(LUNDI_ENOMEM, "lundi_minmax_fit_text: out of memory");
  int rc = lundi_demos_minmax(path, field, lo, lo + dim, dim);
  if (!rc) rc = lundi_minmax_format(lo, dim, min_buf, cap);
  if (!rc) rc = lundi_minmax_format(lo + dim, dim, max_buf, cap);
  free(lo);
  return rc;
}
