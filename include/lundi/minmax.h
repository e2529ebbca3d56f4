/* The min-max normaliser of action policies (docs/action.md): Diffusion Policy's
 * LinearNormalizer in its 'limits' mode with output range [-1, 1], fitted per feature on a
 * demonstration file's obs or action rows (lundi_demos_minmax in lundi/data.h).
 *
 * Per feature j with limits min[j], max[j] (all in f32, as the reference computes them):
 *   range = max - min; when range < LUNDI_MINMAX_RANGE_EPS the feature is degenerate and
 *   scale = 1, offset = -min (its values shift so the constant lands on 0, unscaled);
 *   otherwise scale = 2 / range, offset = -1 - scale * min.
 * normalize: y = x * scale + offset; unnormalize: x = (y - offset) / scale. */
#ifndef LUNDI_MINMAX_H
#define LUNDI_MINMAX_H

#include "lundi/tensor.h"

#include <stddef.h>

#ifdef __cplusplus
extern "C" {
#endif

#define LUNDI_MINMAX_RANGE_EPS 1e-4f

/* scale[0..dim-1] and offset[0..dim-1] from the limits; refuses min > max and non-finite
 * limits (naming the feature). */
int lundi_minmax_coeffs(const float *min, const float *max, int dim, float *scale, float *offset);

/* x f32 [..., dim] (last axis the features, any device) -> a new f32 tensor of x's shape on
 * x's device: normalised, or unnormalised when inverse is non-zero. NULL + an error naming
 * what when x's last axis is not dim. Outside autograd. */
lundi_tensor *lundi_minmax_apply(lundi_tensor *x, const float *min, const float *max, int dim, int inverse,
                                 const char *what);

/* Limits as text, for plugin parameters (so they are saved with the model's parameters):
 * "v0,v1,..." with %.9g (exact for f32). Returns 0, or LUNDI_EINVAL when cap is too small. */
int lundi_minmax_format(const float *v, int dim, char *buf, size_t cap);
/* Parses exactly dim comma-separated numbers; the message names what and the bad entry. */
int lundi_minmax_parse(const char *text, float *out, int dim, const char *what);

/* Fits field ("obs" or "action", width dim) of the demonstration file at path and writes
 * its limits as text into min_buf and max_buf (cap bytes each), ready for the obs
 * conditioner's obs_min / obs_max parameters. */
int lundi_minmax_fit_text(const char *path, const char *field, int dim, char *min_buf, char *max_buf, size_t cap);

#ifdef __cplusplus
}
#endif

#endif
