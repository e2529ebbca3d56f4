/* The one check of a sample request against its documented contract (plugin.h). The call
 * wrapper lundi_sampler_sample() runs it before any sampler sees a request, so neither the
 * Lua binding nor a sampler repeats it. */
#include "lundi/plugin.h"

int lundi_sample_request_check(const lundi_sample_request *req) {
  if (!req) return lundi_set_error(LUNDI_EINVAL, "the sample request is NULL");
  if (!req->rng) return lundi_set_error(LUNDI_EINVAL, "the sample request needs an rng");
  if (req->batch < 1 || req->ndim < 1 || req->ndim > LUNDI_MAX_DIMS - 1)
    return lundi_set_error(LUNDI_EINVAL, "bad sample request: batch (%d) must be positive and the sample shape have 1..%d "
                           "dims (got %d)", req->batch, LUNDI_MAX_DIMS - 1, req->ndim);
  for (int d = 0; d < req->ndim; d++)
    if (req->shape[d] < 1)
      return lundi_set_error(LUNDI_EINVAL, "bad sample request: shape[%d] = %lld must be positive", d,
                             (long long)req->shape[d]);
  if (req->init) {
    int ok = lundi_ndim(req->init) == req->ndim + 1 && lundi_dim(req->init, 0) == req->batch;
    for (int d = 0; ok && d < req->ndim; d++) ok = lundi_dim(req->init, d + 1) == req->shape[d];
    if (!ok) {
      char b[96];
      return lundi_set_error(LUNDI_ESHAPE, "bad sample request: init %s must be [batch, shape...] of the request",
                             lundi_shape_str(lundi_ndim(req->init), lundi_shape(req->init), b, sizeof b));
    }
  }
  /* 0 means "the sampler's own default"; NaN fails both comparisons */
  if (req->strength != 0 && !(req->strength > 0 && req->strength <= 1))
    return lundi_set_error(LUNDI_EINVAL, "bad sample request: the request's strength = %g must be in (0, 1] (or 0 for "
                           "the sampler's own)", req->strength);
  for (int i = 0; req->prompts && i < req->batch; i++)
    if (!req->prompts[i]) return lundi_set_error(LUNDI_EINVAL, "bad sample request: prompts[%d] is NULL", i);
  return 0;
}

int lundi_sample_request_sizes(lundi_sample_request *req, int64_t batch, int64_t ndim,
                               const double *strength, int64_t n_prompts) {
  req->batch = batch < 0 ? -1 : batch > 0x7fffffff ? 0x7fffffff : (int)batch;
  if (ndim > LUNDI_MAX_DIMS - 1)
    return lundi_set_error(LUNDI_EINVAL, "shape must have 1 to %d entries, got %d", LUNDI_MAX_DIMS - 1, (int)ndim);
  req->ndim = (int)ndim;
  if (strength && *strength == 0) return lundi_set_error(LUNDI_EINVAL, "strength must be in (0, 1], got 0");
  if (strength) req->strength = *strength;
  if (n_prompts >= 0 && n_prompts != req->batch)
    return lundi_set_error(LUNDI_EINVAL, "prompts has %d entries but batch is %d", (int)n_prompts, req->batch);
  return 0;
}
