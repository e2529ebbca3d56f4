/* Checked calls into plugin instances: right kind, function present (or its documented
 * default), arguments present, and errors prefixed with the plugin ("scheduler 'ddpm': ...").
 *
 * Each call snapshots the thread's last error and clears it, so a plugin that fails without
 * a message is reported as such (not with a stale message), and restores the snapshot when
 * the call succeeds ("the message stays until the next error"). */
#include "plugin/plugin_internal.h"
#include "plugin/api_each.h"

#include <math.h>
#include <stdio.h>
#include <string.h>

typedef struct saved_err {
  int code;
  char msg[1024];
} saved_err;

static void err_save(saved_err *s) {
  s->code = lundi_last_error_code();
  snprintf(s->msg, sizeof s->msg, "%s", lundi_last_error());
  lundi_clear_error();
}

static void err_restore(const saved_err *s) {
  if (s->code || s->msg[0])
    lundi_set_error(s->code, "%s", s->msg);
  else
    lundi_clear_error();
}

/* The instance's plugin when it is of kind k, else NULL with the error set. */
static const lundi_plugin *want(const lundi_instance *inst, lundi_plugin_kind k, const char *fn) {
  if (!inst) {
    lundi_set_error(LUNDI_EINVAL, "%s: NULL %s instance", fn, lundi_plugin_kind_name(k));
    return NULL;
  }
  const lundi_plugin *p = inst->plugin;
  if (p->desc.kind != k) {
    lundi_set_error(LUNDI_EINVAL, "%s: '%s' is a %s, not a %s", fn, p->desc.name, lundi_plugin_kind_name(p->desc.kind),
                    lundi_plugin_kind_name(k));
    return NULL;
  }
  return p;
}

static int null_arg(const char *fn, const char *what) {
  return lundi_set_error(LUNDI_EINVAL, "%s: %s is NULL", fn, what);
}

/* Result of a tensor-returning plugin call: NULL gets the plugin prefix; a tensor whose shape
 * differs from ref (when given) is refused. */
static lundi_tensor *tensor_result(const lundi_plugin *p, const saved_err *s, const char *what, lundi_tensor *out,
                                   lundi_tensor *ref) {
  if (!out) {
    lundi__plugin_error(p, lundi_last_error_code(), what);
    return NULL;
  }
  if (ref) {
    int same = lundi_ndim(out) == lundi_ndim(ref);
    for (int i = 0; same && i < lundi_ndim(ref); i++) same = lundi_dim(out, i) == lundi_dim(ref, i);
    if (!same) {
      char a[160], b[160];
      lundi_set_error(LUNDI_ESHAPE, "%s: %s returned %s, expected the input's shape %s", p->owner, what,
                      lundi_describe(out, a, sizeof a), lundi_describe(ref, b, sizeof b));
      lundi_release(out);
      return NULL;
    }
  }
  err_restore(s);
  return out;
}

static int int_result(const lundi_plugin *p, const saved_err *s, const char *what, int rc, int min_ok) {
  if (rc < min_ok) {
    if (rc >= 0) return lundi_set_error(LUNDI_EINVAL, "%s: %s returned %d", p->owner, what, rc);
    return lundi__plugin_error(p, rc, what);
  }
  err_restore(s);
  return rc;
}

#define SCHED(fn)                                                                                  \
  const lundi_plugin *p = want(s, LUNDI_SCHEDULER, fn);                                            \
  const lundi_scheduler_api *api = p ? p->desc.api : NULL

/* ---- wrappers generated from lundi/plugin_api.h (wrap column LIKE, ANY, COUNT, MODULE) ----
 * Kind check; NULL tensors, NULL lundi_cond * and NULL string arrays refused, naming the
 * argument; an absent OPTIONAL function gives NULL / 0 and no error; then the call, its
 * result checked by the wrap column. */
static int miss_ptr(const void *v) { return v == NULL; }
static int miss_never_int(int v) { return (void)v, 0; }
static int miss_never_ptr(const void *v) { return (void)v, 0; }
#define MISSING(a)                                                                                 \
  _Generic((a), lundi_tensor *: miss_ptr, lundi_cond *: miss_ptr, const char *const *: miss_ptr,    \
           int: miss_never_int, default: miss_never_ptr)(a)
#define REFUSE_NULL(fail, a)                                                                       \
  if (MISSING(a)) {                                                                                \
    null_arg(fn_, #a);                                                                             \
    return fail;                                                                                   \
  }
#define NEED_REQUIRED 0 /* registration guarantees it */
#define NEED_OPTIONAL 1
#define W_FAIL_LIKE(a) NULL
#define W_FAIL_ANY NULL
#define W_FAIL_COUNT(min) LUNDI_EINVAL
#define W_FAIL_MODULE NULL
#define W_ABSENT_LIKE(a) NULL
#define W_ABSENT_ANY NULL
#define W_ABSENT_COUNT(min) 0
#define W_ABSENT_MODULE NULL
#define W_SAVES_LIKE(a) 1
#define W_SAVES_ANY 1
#define W_SAVES_COUNT(min) 1
#define W_SAVES_MODULE 0 /* a borrowed pointer: nothing to report */
#define W_RESULT_LIKE(a) tensor_result(p, &e, what_, out_, a)
#define W_RESULT_ANY tensor_result(p, &e, what_, out_, NULL)
#define W_RESULT_COUNT(min) int_result(p, &e, what_, out_, min)
#define W_RESULT_MODULE out_
#define W_GEN(kind, ret, name, params, args, need, wrap)                                        \
  ret lundi_##kind##_##name params {                                                               \
    static const char fn_[] = "lundi_" #kind "_" #name, what_[] = #name "()";                      \
    const lundi_plugin *p = want(inst, KIND_OF_##kind, fn_);                                       \
    if (!p) return W_FAIL_##wrap;                                                                  \
    LUNDI__EACH_ARG(REFUSE_NULL, W_FAIL_##wrap, args)                                              \
    const lundi_##kind##_api *api = p->desc.api;                                                   \
    if (NEED_##need && !api->name) return W_ABSENT_##wrap;                                         \
    void *self = inst->self;                                                                       \
    saved_err e;                                                                                   \
    if (W_SAVES_##wrap) err_save(&e);                                                              \
    ret out_ = api->name args;                                                                     \
    (void)what_;                                                                                   \
    return W_RESULT_##wrap;                                                                        \
  }
#define W_LIKE(a) W_GEN
#define W_ANY W_GEN
#define W_COUNT(min) W_GEN
#define W_MODULE W_GEN
#define W_CUSTOM(...)
#define W_NONE(...)
#define W_ONE(kind, ret, name, params, args, need, lua, wrap) W_##wrap(kind, ret, name, params, args, need, wrap)
#define KIND_OF_scheduler LUNDI_SCHEDULER
#define KIND_OF_denoiser LUNDI_DENOISER
#define KIND_OF_conditioner LUNDI_CONDITIONER
#define KIND_OF_sampler LUNDI_SAMPLER
#define W_KIND(K, kind, LIST) LIST(W_ONE, lundi_instance *inst)
LUNDI_PLUGIN_KINDS(W_KIND)

/* ---- hand-written wrappers (wrap column CUSTOM): checks of their own ---- */

int lundi_scheduler_set_timesteps(lundi_instance *s, int num_inference_steps) {
  SCHED("lundi_scheduler_set_timesteps");
  if (!p) return LUNDI_EINVAL;
  if (num_inference_steps < 1)
    return lundi_set_error(LUNDI_EINVAL, "%s: the number of inference steps must be at least 1, got %d", p->owner,
                           num_inference_steps);
  saved_err e;
  err_save(&e);
  return int_result(p, &e, "set_timesteps()", api->set_timesteps(s->self, num_inference_steps), 0);
}

double lundi_scheduler_timestep(lundi_instance *s, int i) {
  SCHED("lundi_scheduler_timestep");
  if (!p) return NAN;
  if (i < 0) {
    lundi_set_error(LUNDI_EINVAL, "%s: timestep index %d is negative", p->owner, i);
    return NAN;
  }
  saved_err e;
  err_save(&e);
  double t = api->timestep(s->self, i);
  if (isnan(t)) {
    lundi__plugin_error(p, lundi_last_error_code(), "timestep()");
    return NAN;
  }
  err_restore(&e);
  return t;
}

double lundi_scheduler_init_noise_sigma(lundi_instance *s) {
  SCHED("lundi_scheduler_init_noise_sigma");
  if (!p) return NAN;
  if (!api->init_noise_sigma) return 1.0;
  saved_err e;
  err_save(&e);
  double v = api->init_noise_sigma(s->self);
  if (!isfinite(v)) {
    if (!*lundi_last_error()) lundi_set_error(LUNDI_EINVAL, "init_noise_sigma() returned %g", v);
    lundi__plugin_error(p, lundi_last_error_code(), "init_noise_sigma()");
    return NAN;
  }
  err_restore(&e);
  return v;
}

lundi_tensor *lundi_scheduler_scale_model_input(lundi_instance *s, lundi_tensor *x, int i) {
  SCHED("lundi_scheduler_scale_model_input");
  if (!p) return NULL;
  if (!x) {
    null_arg("lundi_scheduler_scale_model_input", "x");
    return NULL;
  }
  if (!api->scale_model_input) return lundi_retain(x);
  saved_err e;
  err_save(&e);
  return tensor_result(p, &e, "scale_model_input()", api->scale_model_input(s->self, x, i), x);
}

/* The scheduler's loss(), or the image schedulers' simple one: mse(model_out, target). */
lundi_tensor *lundi_scheduler_loss(lundi_instance *s, lundi_tensor *model_out, lundi_tensor *x0, lundi_tensor *noise,
                                   lundi_tensor *t) {
  static const char fn[] = "lundi_scheduler_loss";
  SCHED(fn);
  if (!p) return NULL;
  lundi_tensor *const args[4] = {model_out, x0, noise, t};
  static const char *const names[4] = {"model_out", "x0", "noise", "t"};
  for (int k = 0; k < 4; k++)
    if (!args[k]) {
      null_arg(fn, names[k]);
      return NULL;
    }
  saved_err e;
  err_save(&e);
  lundi_tensor *out;
  if (api->loss) {
    out = tensor_result(p, &e, "loss()", api->loss(s->self, model_out, x0, noise, t), NULL);
  } else {
    lundi_tensor *target = lundi_scheduler_target(s, x0, noise, t); /* prefixes its own errors */
    if (!target) return NULL;
    out = lundi_mse_loss(model_out, target);
    lundi_release(target);
    out = tensor_result(p, &e, "loss() (the default, mse against target())", out, NULL);
  }
  if (out && lundi_numel(out) != 1) {
    char a[160];
    lundi_set_error(LUNDI_ESHAPE, "%s: loss() returned %s, expected one element", p->owner,
                    lundi_describe(out, a, sizeof a));
    lundi_release(out);
    return NULL;
  }
  return out;
}

#define COND(fn)                                                                                   \
  const lundi_plugin *p = want(c, LUNDI_CONDITIONER, fn);                                          \
  const lundi_conditioner_api *api = p ? p->desc.api : NULL

int lundi_conditioner_encode_text(lundi_instance *c, const char *const *prompts, int n, lundi_cond *out) {
  COND("lundi_conditioner_encode_text");
  if (!p) return LUNDI_EINVAL;
  if (!api->encode_text) return lundi_set_error(LUNDI_EUNSUPPORTED, "%s does not take text prompts", p->owner);
  if (!prompts || !out) return null_arg("lundi_conditioner_encode_text", !prompts ? "prompts" : "out");
  if (n < 1) return lundi_set_error(LUNDI_EINVAL, "%s: encode_text needs at least one prompt, got %d", p->owner, n);
  for (int i = 0; i < n; i++)
    if (!prompts[i]) return lundi_set_error(LUNDI_EINVAL, "%s: prompt %d is NULL", p->owner, i);
  saved_err e;
  err_save(&e);
  return int_result(p, &e, "encode_text()", api->encode_text(c->self, prompts, n, out), 0);
}

int lundi_conditioner_null(lundi_instance *c, int n, lundi_cond *out) {
  COND("lundi_conditioner_null");
  if (!p) return LUNDI_EINVAL;
  if (!out) return null_arg("lundi_conditioner_null", "out");
  if (n < 1) return lundi_set_error(LUNDI_EINVAL, "%s: null condition for a batch of %d", p->owner, n);
  saved_err e;
  err_save(&e);
  return int_result(p, &e, "null_cond()", api->null_cond(c->self, n, out), 0);
}

/* The parts must be of the right kinds before a sampler sees them. */
static int check_part(const lundi_instance *inst, lundi_plugin_kind k, int optional) {
  if (!inst) {
    if (optional) return 0;
    return lundi_set_error(LUNDI_EINVAL, "lundi_sampler_sample: the pipeline has no %s", lundi_plugin_kind_name(k));
  }
  if (inst->plugin->desc.kind != k)
    return lundi_set_error(LUNDI_EINVAL, "lundi_sampler_sample: the pipeline's %s slot holds '%s', which is a %s",
                           lundi_plugin_kind_name(k), inst->plugin->desc.name,
                           lundi_plugin_kind_name(inst->plugin->desc.kind));
  return 0;
}

lundi_tensor *lundi_sampler_sample(lundi_instance *s, const lundi_pipeline_parts *parts,
                                   const lundi_sample_request *req) {
  const lundi_plugin *p = want(s, LUNDI_SAMPLER, "lundi_sampler_sample");
  if (!p) return NULL;
  if (!parts || !req) {
    null_arg("lundi_sampler_sample", !parts ? "parts" : "req");
    return NULL;
  }
  if (check_part(parts->scheduler, LUNDI_SCHEDULER, 0) || check_part(parts->denoiser, LUNDI_DENOISER, 0) ||
      check_part(parts->conditioner, LUNDI_CONDITIONER, 1))
    return NULL;
  if (lundi_sample_request_check(req) != 0) { /* the one check: samplers rely on it */
    lundi__plugin_error(p, lundi_last_error_code(), "sample()");
    return NULL;
  }
  const lundi_sampler_api *api = p->desc.api;
  saved_err e;
  err_save(&e);
  return tensor_result(p, &e, "sample()", api->sample(s->self, parts, req), NULL);
}
