/* Exponential moving average of parameters (LUNDI_K_EMA, one call per tensor). The
 * shadow copies are detached, contiguous and live on each parameter's device. */
#include "nn/nn_internal.h"

#include <stdlib.h>
#include <string.h>

struct lundi_ema {
  lundi_param_list shadow;
  float decay;
};

lundi_ema *lundi_ema_new(const lundi_param_list *params, float decay) {
  if (!params) return lundi__errp(LUNDI_EINVAL, "ema_new: params is NULL");
  if (!(decay >= 0 && decay <= 1)) return lundi__errp(LUNDI_EINVAL, "ema_new: decay %g must be in [0, 1]", decay);
  lundi_ema *e = calloc(1, sizeof *e);
  if (!e) return lundi__errp(LUNDI_ENOMEM, "ema_new: out of host memory");
  e->decay = decay;
  for (int i = 0; i < params->n; i++) {
    lundi_tensor *p = params->tensors[i];
    if (p->dtype != LUNDI_F32) {
      lundi_ema_free(e);
      return lundi__errp(LUNDI_EINVAL, "ema_new: param '%s' is %s, not f32", params->names[i], lundi_dtype_name(p->dtype));
    }
    lundi_no_grad_enter();
    lundi_tensor *s = lundi_clone(p);
    lundi_no_grad_exit();
    int rc = s ? lundi_param_list_push(&e->shadow, params->names[i], s) : -1;
    lundi_release(s);
    if (rc) {
      lundi_ema_free(e);
      return NULL;
    }
  }
  return e;
}

/* The params must be the list the EMA was made from: same count, names and shapes. */
static int check_match(const lundi_ema *e, const lundi_param_list *params, const char *fn) {
  char s1[160], s2[160];
  if (!e || !params) return lundi__err(LUNDI_EINVAL, "%s: ema and params must be non-NULL", fn);
  if (params->n != e->shadow.n)
    return lundi__err(LUNDI_EINVAL, "%s: %d params given, the EMA tracks %d", fn, params->n, e->shadow.n);
  for (int i = 0; i < params->n; i++) {
    lundi_tensor *p = params->tensors[i], *s = e->shadow.tensors[i];
    if (strcmp(params->names[i], e->shadow.names[i]) || p->dtype != LUNDI_F32 || p->ndim != s->ndim ||
        memcmp(p->shape, s->shape, sizeof(int64_t) * (size_t)p->ndim))
      return lundi__err(LUNDI_EINVAL, "%s: param %d '%s' %s does not match the EMA's '%s' %s", fn, i, params->names[i],
                        lundi_shape_str(p->ndim, p->shape, s1, sizeof s1), e->shadow.names[i],
                        lundi_shape_str(s->ndim, s->shape, s2, sizeof s2));
  }
  return 0;
}

int lundi_ema_update(lundi_ema *e, const lundi_param_list *params) {
  if (check_match(e, params, "ema_update")) return lundi_last_error_code();
  for (int i = 0; i < params->n; i++) {
    lundi_no_grad_enter();
    lundi_tensor *p = lundi_contiguous(params->tensors[i]);
    lundi_no_grad_exit();
    if (!p) return lundi_last_error_code();
    lundi_kcall c = {.id = LUNDI_K_EMA, .n_in = 1, .n_out = 1, .in = {p}, .out = {e->shadow.tensors[i]},
                     .f = {e->decay}};
    int rc = lundi__run(&c);
    lundi_release(p);
    if (rc) return rc;
  }
  return 0;
}

int lundi_ema_copy_to(const lundi_ema *e, const lundi_param_list *params) {
  if (check_match(e, params, "ema_copy_to")) return lundi_last_error_code();
  for (int i = 0; i < params->n; i++) {
    int rc = lundi_copy_(params->tensors[i], e->shadow.tensors[i]);
    if (rc) return rc;
  }
  return 0;
}

const lundi_param_list *lundi_ema_shadow(const lundi_ema *e) { return e ? &e->shadow : NULL; }

void lundi_ema_free(lundi_ema *e) {
  if (!e) return;
  lundi_param_list_free(&e->shadow);
  free(e);
}
