/* AdamW with bias correction and decoupled weight decay, one fused kernel call per
 * parameter (LUNDI_K_ADAMW). Moments live on each parameter's device. The step count is
 * global, so a parameter that misses some steps is corrected with the global count. */
#include "nn/nn_internal.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

struct lundi_adamw {
  lundi_param_list params; /* our references to the parameters */
  lundi_tensor **m, **v;   /* exp_avg, exp_avg_sq per parameter */
  lundi_adamw_config cfg;
  int64_t step;
};

lundi_adamw_config lundi_adamw_defaults(void) {
  lundi_adamw_config c = {1e-3f, 0.9f, 0.999f, 1e-8f, 0.01f};
  return c;
}

static int check_config(const lundi_adamw_config *c) {
  if (!(c->lr >= 0) || !(c->beta1 >= 0 && c->beta1 < 1) || !(c->beta2 >= 0 && c->beta2 < 1) || !(c->eps > 0) ||
      !(c->weight_decay >= 0))
    return lundi__err(LUNDI_EINVAL,
                      "adamw: bad config lr=%g beta1=%g beta2=%g eps=%g weight_decay=%g (need lr >= 0, "
                      "betas in [0,1), eps > 0, weight_decay >= 0)",
                      c->lr, c->beta1, c->beta2, c->eps, c->weight_decay);
  return 0;
}

void lundi_adamw_free(lundi_adamw *o) {
  if (!o) return;
  for (int i = 0; i < o->params.n; i++) {
    if (o->m) lundi_release(o->m[i]);
    if (o->v) lundi_release(o->v[i]);
  }
  free(o->m);
  free(o->v);
  lundi_param_list_free(&o->params);
  free(o);
}

static lundi_tensor *zeros_like(lundi_tensor *p) {
  lundi_tensor *t = lundi_empty(p->ndim, p->shape, LUNDI_F32, p->storage->device);
  if (t && lundi_fill_(t, 0)) {
    lundi_release(t);
    return NULL;
  }
  return t;
}

lundi_adamw *lundi_adamw_new(const lundi_param_list *params, lundi_adamw_config cfg) {
  if (!params) return lundi__errp(LUNDI_EINVAL, "adamw_new: params is NULL");
  if (check_config(&cfg)) return NULL;
  for (int i = 0; i < params->n; i++) {
    lundi_tensor *p = params->tensors[i];
    if (p->dtype != LUNDI_F32 || !lundi_is_contiguous(p))
      return lundi__errp(LUNDI_EINVAL, "adamw_new: param '%s' must be a contiguous f32 tensor (got %s%s)",
                         params->names[i], lundi_dtype_name(p->dtype), lundi_is_contiguous(p) ? "" : ", strided");
    for (int j = 0; j < i; j++)
      if (!strcmp(params->names[i], params->names[j]))
        return lundi__errp(LUNDI_EINVAL, "adamw_new: two params are named '%s'", params->names[i]);
  }
  lundi_adamw *o = calloc(1, sizeof *o);
  if (!o) return lundi__errp(LUNDI_ENOMEM, "adamw_new: out of host memory");
  o->cfg = cfg;
  size_t n = (size_t)(params->n ? params->n : 1);
  o->m = calloc(n, sizeof *o->m);
  o->v = calloc(n, sizeof *o->v);
  if (!o->m || !o->v || lundi__param_list_reserve(&o->params, params->n)) {
    lundi_adamw_free(o);
    return lundi__errp(LUNDI_ENOMEM, "adamw_new: out of host memory");
  }
  for (int i = 0; i < params->n; i++) {
    lundi_tensor *p = params->tensors[i];
    if (lundi_param_list_push(&o->params, params->names[i], p) || !(o->m[i] = zeros_like(p)) ||
        !(o->v[i] = zeros_like(p))) {
      lundi_adamw_free(o);
      return NULL;
    }
  }
  return o;
}

int lundi_adamw_step(lundi_adamw *o) {
  if (!o) return lundi__err(LUNDI_EINVAL, "adamw_step: optimiser is NULL");
  char s1[160], s2[160];
  for (int i = 0; i < o->params.n; i++) { /* check everything before changing anything */
    lundi_tensor *p = o->params.tensors[i], *g = p->grad;
    if (g && (g->dtype != LUNDI_F32 || g->ndim != p->ndim ||
              memcmp(g->shape, p->shape, sizeof(int64_t) * (size_t)p->ndim)))
      return lundi__err(LUNDI_ESHAPE, "adamw_step: grad %s %s does not match param '%s' %s", lundi_dtype_name(g->dtype),
                        lundi_shape_str(g->ndim, g->shape, s1, sizeof s1), o->params.names[i],
                        lundi_shape_str(p->ndim, p->shape, s2, sizeof s2));
  }
  o->step++;
  double t = (double)o->step;
  for (int i = 0; i < o->params.n; i++) {
    lundi_tensor *p = o->params.tensors[i];
    if (!p->grad) continue;
    lundi_no_grad_enter();
    lundi_tensor *g = lundi_contiguous(p->grad);
    lundi_no_grad_exit();
    if (!g) return lundi_last_error_code();
    lundi_kcall c = {.id = LUNDI_K_ADAMW, .n_in = 1, .n_out = 3, .in = {g}, .out = {p, o->m[i], o->v[i]},
                     .f = {o->cfg.lr, o->cfg.beta1, o->cfg.beta2, o->cfg.eps, o->cfg.weight_decay,
                           1.0 - pow(o->cfg.beta1, t), 1.0 - pow(o->cfg.beta2, t)}};
    int rc = lundi__run(&c);
    lundi_release(g);
    if (rc) return rc;
  }
  return 0;
}

int lundi_adamw_set_lr(lundi_adamw *o, float lr) {
  if (!o) return lundi__err(LUNDI_EINVAL, "adamw_set_lr: NULL optimiser");
  if (!(lr >= 0)) return lundi__err(LUNDI_EINVAL, "learning rate must be >= 0");
  o->cfg.lr = lr;
  return 0;
}

void lundi_adamw_zero_grad(lundi_adamw *o) {
  for (int i = 0; o && i < o->params.n; i++) lundi_zero_grad(o->params.tensors[i]);
}

float lundi_adamw_lr(const lundi_adamw *o) { return o ? o->cfg.lr : 0; }

int64_t lundi_adamw_step_count(const lundi_adamw *o) { return o ? o->step : 0; }

static int push_prefixed(lundi_param_list *out, const char *prefix, const char *name, lundi_tensor *t) {
  size_t n = strlen(prefix) + strlen(name) + 1;
  char *full = malloc(n);
  if (!full) return lundi__err(LUNDI_ENOMEM, "adamw_state: out of host memory");
  snprintf(full, n, "%s%s", prefix, name);
  int rc = lundi_param_list_push(out, full, t);
  free(full);
  return rc;
}

/* Appends live references to the moments (not copies) and an i32 scalar "step". */
int lundi_adamw_state(const lundi_adamw *o, lundi_param_list *out) {
  if (!o || !out) return lundi__err(LUNDI_EINVAL, "adamw_state: optimiser and list must be non-NULL");
  if (o->step > INT32_MAX) return lundi__err(LUNDI_EINVAL, "adamw_state: step %lld does not fit i32", (long long)o->step);
  int32_t st = (int32_t)o->step;
  lundi_tensor *step = lundi_from_i32(0, NULL, &st);
  if (!step) return lundi_last_error_code();
  int rc = 0;
  for (int i = 0; i < o->params.n && !rc; i++) {
    rc = push_prefixed(out, "exp_avg.", o->params.names[i], o->m[i]);
    if (!rc) rc = push_prefixed(out, "exp_avg_sq.", o->params.names[i], o->v[i]);
  }
  if (!rc) rc = lundi_param_list_push(out, "step", step);
  lundi_release(step);
  return rc;
}

static int read_step(const lundi_tensor *t, int64_t *step) {
  if (lundi_numel(t) != 1) return lundi__err(LUNDI_EFORMAT, "adamw_load_state: 'step' has %lld elements, not 1", (long long)lundi_numel(t));
  lundi_tensor *h = lundi_to_device((lundi_tensor *)t, lundi_cpu());
  if (!h) return lundi_last_error_code();
  double v = h->dtype == LUNDI_I32 ? (double)*lundi__i32(h) : h->dtype == LUNDI_F32 ? (double)*lundi__f32(h) : -1;
  lundi_release(h);
  if (!(v >= 0 && v == floor(v)))
    return lundi__err(LUNDI_EFORMAT, "adamw_load_state: 'step' must be a non-negative integer (%s)", lundi_dtype_name(t->dtype));
  *step = (int64_t)v;
  return 0;
}

/* Which optimiser slot a state name refers to: 0/1 for exp_avg/exp_avg_sq, 2 for step. */
static int state_slot(const lundi_adamw *o, const char *name, int *param) {
  static const char *const pre[2] = {"exp_avg.", "exp_avg_sq."};
  if (!strcmp(name, "step")) return 2;
  for (int k = 0; k < 2; k++) {
    size_t n = strlen(pre[k]);
    if (strncmp(name, pre[k], n)) continue;
    for (int i = 0; i < o->params.n; i++)
      if (!strcmp(name + n, o->params.names[i])) {
        *param = i;
        return k;
      }
  }
  return -1;
}

static int check_state(const lundi_adamw *o, const lundi_param_list *state, unsigned char *seen, int64_t *step) {
  char s1[160], s2[160];
  for (int i = 0; i < state->n; i++) {
    int pi = 0, slot = state_slot(o, state->names[i], &pi);
    if (slot < 0) return lundi__err(LUNDI_EFORMAT, "adamw_load_state: unexpected entry '%s'", state->names[i]);
    lundi_tensor *t = state->tensors[i];
    if (slot == 2) {
      if (*step >= 0) return lundi__err(LUNDI_EFORMAT, "adamw_load_state: 'step' appears twice");
      if (read_step(t, step)) return lundi_last_error_code();
      continue;
    }
    lundi_tensor *p = o->params.tensors[pi];
    if (seen[pi] & (1 << slot)) return lundi__err(LUNDI_EFORMAT, "adamw_load_state: '%s' appears twice", state->names[i]);
    seen[pi] |= (unsigned char)(1 << slot);
    if (t->dtype != LUNDI_F32 || t->ndim != p->ndim || memcmp(t->shape, p->shape, sizeof(int64_t) * (size_t)p->ndim))
      return lundi__err(LUNDI_ESHAPE, "adamw_load_state: '%s' is %s %s but param '%s' is f32 %s", state->names[i],
                        lundi_dtype_name(t->dtype), lundi_shape_str(t->ndim, t->shape, s1, sizeof s1),
                        o->params.names[pi], lundi_shape_str(p->ndim, p->shape, s2, sizeof s2));
  }
  if (*step < 0) return lundi__err(LUNDI_EFORMAT, "adamw_load_state: 'step' is missing");
  for (int i = 0; i < o->params.n; i++)
    if (seen[i] != 3)
      return lundi__err(LUNDI_EFORMAT, "adamw_load_state: '%s%s' is missing", (seen[i] & 1) ? "exp_avg_sq." : "exp_avg.",
                        o->params.names[i]);
  return 0;
}

/* Validates the whole state before copying any of it, so a bad state changes nothing. */
int lundi_adamw_load_state(lundi_adamw *o, const lundi_param_list *state) {
  if (!o || !state) return lundi__err(LUNDI_EINVAL, "adamw_load_state: optimiser and state must be non-NULL");
  unsigned char *seen = calloc((size_t)(o->params.n ? o->params.n : 1), 1);
  if (!seen) return lundi__err(LUNDI_ENOMEM, "adamw_load_state: out of host memory");
  int64_t step = -1;
  int rc = check_state(o, state, seen, &step);
  free(seen);
  for (int i = 0; i < state->n && !rc; i++) {
    int pi = 0, slot = state_slot(o, state->names[i], &pi);
    if (slot == 2) continue;
    lundi_tensor *dst = slot ? o->v[pi] : o->m[pi];
    lundi_tensor *src = lundi_to_device(state->tensors[i], dst->storage->device);
    rc = src ? lundi_copy_(dst, src) : lundi_last_error_code();
    lundi_release(src);
  }
  if (!rc) o->step = step;
  return rc;
}
