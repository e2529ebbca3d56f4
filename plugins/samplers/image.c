/* image: the reverse-diffusion loop for fixed-shape samples (images, or any [C, ...] shape),
 * with classifier-free guidance and img2img (SDEdit: start part-way from a noised init, as
 * diffusers' StableDiffusionImg2ImgPipeline). It drives its parts through the lundi_* call
 * wrappers, so C and Lua plugins work alike (the one exception is the scheduler's optional
 * noise_to_step, see sched_noise_to_step), and runs under no_grad. */
#include "builtins.h"
#include "lundi/device.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

typedef struct image {
  int steps;
  double guidance;
  int clip_output;
  double strength;
} image;

static const lundi_param_spec specs[] = {
    {"num_inference_steps", LUNDI_PARAM_INT, "50", 1, 10000, NULL, "denoising steps (scheduler's set_timesteps)"},
    {"guidance_scale", LUNDI_PARAM_FLOAT, "1.0", 0, 100, NULL,
     "classifier-free guidance: u + s (c - u); 1 = plain conditional sampling"},
    {"clip_output", LUNDI_PARAM_BOOL, "false", 0, 0, NULL, "clamp the result to [-1, 1]"},
    {"strength", LUNDI_PARAM_FLOAT, "1.0", 0, 1, NULL,
     "img2img, in (0, 1]: with an init, run the last floor(steps * strength) steps from init noised to "
     "the first one's level; 1 takes init as x_T unless the request sets strength"},
};

static int create(void *user, const lundi_params *p, void **self) {
  (void)user;
  image *s = calloc(1, sizeof *s);
  if (!s) return lundi_set_error(LUNDI_ENOMEM, "image: out of memory");
  s->steps = (int)lundi_params_int(p, "num_inference_steps");
  s->guidance = lundi_params_float(p, "guidance_scale");
  s->clip_output = lundi_params_bool(p, "clip_output");
  s->strength = lundi_params_float(p, "strength");
  if (!(s->strength > 0)) { /* the schema's ranges are closed: (0, 1] is checked here */
    free(s);
    return lundi_set_error(LUNDI_EINVAL, "parameter 'strength' must be in (0, 1] (the fraction of the steps that "
                                         "run); got %g", lundi_params_float(p, "strength"));
  }
  *self = s;
  return 0;
}

static void destroy(void *self) { free(self); }

/* Replaces *x by v (releasing the old value); v NULL is a failure. */
static int swap(lundi_tensor **x, lundi_tensor *v) {
  lundi_release(*x);
  *x = v;
  return v ? 0 : -1;
}

/* The conditions for the batch: cond (c) and, with guidance, the doubled [c; null] (cfg).
 * Without a conditioner both stay empty and the denoiser gets NULL. */
static int conditions(const image *s, const lundi_pipeline_parts *parts, const lundi_sample_request *req,
                      lundi_cond *c, lundi_cond *cfg) {
  lundi_instance *k = parts->conditioner;
  if (!k) {
    if (s->guidance != 1)
      return lundi_set_error(LUNDI_EINVAL, "guidance_scale = %g needs a conditioner (set it to 1 without one)",
                             s->guidance);
    return 0;
  }
  int rc = req->cond_input ? lundi_conditioner_encode(k, req->cond_input, c)
           : req->prompts  ? lundi_conditioner_encode_text(k, req->prompts, req->batch, c)
                           : lundi_conditioner_null(k, req->batch, c);
  if (rc) return rc;
  lundi_tensor *const fields[4] = {c->labels, c->context, c->mask, c->vector};
  for (int f = 0; f < 4; f++)
    if (fields[f] && (lundi_ndim(fields[f]) < 1 || lundi_dim(fields[f], 0) != req->batch))
      return lundi_set_error(LUNDI_ESHAPE, "sample: the conditioner gave %lld conditions for a batch of %d",
                             lundi_ndim(fields[f]) ? (long long)lundi_dim(fields[f], 0) : 0LL, req->batch);
  if (s->guidance == 1) return 0;
  lundi_cond u = {0};
  rc = lundi_conditioner_null(k, req->batch, &u);
  if (!rc) rc = lundi_cond_cat(c, &u, cfg);
  lundi_cond_clear(&u);
  return rc;
}

/* One model evaluation at step i: plain, or batched CFG (x twice, [c; null], one call, then
 * u + s (c - u)). */
static lundi_tensor *model_out(const image *s, const lundi_pipeline_parts *parts, const lundi_sample_request *req,
                               lundi_tensor *x, int i, double t, const lundi_cond *c, const lundi_cond *cfg) {
  int guided = s->guidance != 1;
  lundi_tensor *xin = lundi_scheduler_scale_model_input(parts->scheduler, x, i), *tt = NULL, *out = NULL;
  lundi_tensor *halves[2] = {NULL, NULL}, *res = NULL;
  if (!xin) return NULL;
  if (guided && swap(&xin, lundi_concat(2, (lundi_tensor *[]){xin, xin}, 0))) goto done;
  tt = lundi_full(1, (int64_t[]){lundi_dim(xin, 0)}, (float)t);
  if (!tt || swap(&tt, lundi_to_device(tt, lundi_tensor_device(x)))) goto done;
  const lundi_cond *cc = guided ? cfg : parts->conditioner ? c : NULL;
  out = lundi_denoiser_forward(parts->denoiser, xin, tt, cc, req->rng);
  if (!out || !guided) {
    res = out;
    out = NULL;
    goto done;
  }
  if (lundi_split(out, 0, 2, (int64_t[]){req->batch, req->batch}, halves)) goto done;
  /* u + s (c - u) */
  lundi_tensor *d = lundi_sub(halves[0], halves[1]), *sd = d ? lundi_mul_scalar(d, (float)s->guidance) : NULL;
  if (sd) res = lundi_add(halves[1], sd);
  lundi_release(d);
  lundi_release(sd);
done:
  lundi_release(xin);
  lundi_release(tt);
  lundi_release(out);
  lundi_release(halves[0]);
  lundi_release(halves[1]);
  return res;
}

/* The starting sample x_T: req->init as given, else randn * init_noise_sigma. */
static lundi_tensor *start(const lundi_pipeline_parts *parts, const lundi_sample_request *req) {
  if (req->init) return lundi_clone(req->init);
  int64_t shape[LUNDI_MAX_DIMS];
  shape[0] = req->batch;
  memcpy(shape + 1, req->shape, sizeof(int64_t) * (size_t)req->ndim);
  double sigma = lundi_scheduler_init_noise_sigma(parts->scheduler);
  if (isnan(sigma)) return NULL;
  /* Drawn on the denoiser's device: Philox gives the same numbers on every backend. */
  lundi_module *m = parts->denoiser ? lundi_denoiser_module(parts->denoiser) : NULL;
  lundi_device *dev = m && lundi_module_device(m) ? lundi_module_device(m) : lundi_default_device();
  lundi_tensor *z = lundi_randn_on(req->rng, req->ndim + 1, shape, dev);
  if (!z || sigma == 1) return z;
  lundi_tensor *x = lundi_mul_scalar(z, (float)sigma);
  lundi_release(z);
  return x;
}

/* The scheduler's noise_to_step (x0 noised to inference step k's level, and the evaluation
 * index where step k begins), with the documented default when the plugin has none. Called
 * through the table, as no lundi_scheduler_* wrapper exists for it yet; errors get the
 * wrappers' "scheduler 'name': " prefix. */
static lundi_tensor *sched_noise_to_step(lundi_instance *sched, int n, lundi_tensor *x0, lundi_tensor *noise, int k,
                                         int *begin) {
  const lundi_plugin_desc *d = lundi_plugin_info(lundi_instance_plugin(sched));
  const lundi_scheduler_api *api = d->api;
  int evals = lundi_scheduler_num_steps(sched);
  lundi_tensor *x = NULL;
  *begin = -1;
  if (evals < 0) return NULL;
  if (api->noise_to_step) {
    lundi_clear_error();
    x = api->noise_to_step(lundi_instance_self(sched), x0, noise, k, begin);
    if (!x) {
      char msg[900];
      int code = lundi_last_error_code() < 0 ? lundi_last_error_code() : LUNDI_EINVAL;
      snprintf(msg, sizeof msg, "%s",
               lundi_last_error()[0] ? lundi_last_error() : "noise_to_step() failed without an error message");
      lundi_set_error(code, "scheduler '%s': %s", d->name, msg);
      return NULL;
    }
  } else {
    /* The default: the sample is add_noise's x_t at timestep(k), one evaluation per step. */
    double sigma = lundi_scheduler_init_noise_sigma(sched);
    if (isnan(sigma)) return NULL;
    if (api->scale_model_input || sigma != 1) {
      lundi_set_error(LUNDI_EUNSUPPORTED, "scheduler '%s' scales its sample (init_noise_sigma %g%s) and has no "
                      "noise_to_step, so img2img (strength) cannot know its noise levels", d->name, sigma,
                      api->scale_model_input ? ", scale_model_input" : "");
      return NULL;
    }
    if (evals != n) {
      lundi_set_error(LUNDI_EUNSUPPORTED, "scheduler '%s' runs %d evaluations for %d steps and has no noise_to_step, "
                      "so img2img (strength) cannot tell where step %d begins", d->name, evals, n, k);
      return NULL;
    }
    double t = lundi_scheduler_timestep(sched, k);
    lundi_tensor *tt = isnan(t) ? NULL : lundi_full(1, (int64_t[]){lundi_dim(x0, 0)}, (float)t);
    lundi_tensor *td = tt ? lundi_to_device(tt, lundi_tensor_device(x0)) : NULL;
    x = td ? lundi_scheduler_add_noise(sched, x0, noise, td) : NULL;
    lundi_release(tt);
    lundi_release(td);
    if (!x) return NULL;
    *begin = k;
  }
  int same = lundi_ndim(x) == lundi_ndim(x0);
  for (int i = 0; same && i < lundi_ndim(x0); i++) same = lundi_dim(x, i) == lundi_dim(x0, i);
  if (!same || *begin < 0 || *begin >= evals) {
    char a[96];
    lundi_set_error(LUNDI_EINVAL, "scheduler '%s': noise_to_step(k = %d) gave a sample %s and begin = %d (want init's "
                    "shape and an evaluation index in [0, %d))", d->name, k,
                    lundi_shape_str(lundi_ndim(x), lundi_shape(x), a, sizeof a), *begin, evals);
    lundi_release(x);
    return NULL;
  }
  return x;
}

/* img2img's start (diffusers' rule): of the n steps keep floor(n strength), skip the first
 * n - that, and noise init to the first kept step's level with noise drawn from req->rng (on
 * init's device). *begin gets the evaluation index to resume at. */
static lundi_tensor *start_img2img(const image *s, const lundi_pipeline_parts *parts, const lundi_sample_request *req,
                                   double strength, int *begin) {
  int keep = (int)floor(s->steps * strength);
  if (keep < 1) {
    lundi_set_error(LUNDI_EINVAL, "sample: strength = %g keeps floor(%d * %g) = 0 of the %d steps; raise strength or "
                    "num_inference_steps", strength, s->steps, strength, s->steps);
    return NULL;
  }
  lundi_tensor *z =
      lundi_empty(lundi_ndim(req->init), lundi_shape(req->init), LUNDI_F32, lundi_tensor_device(req->init));
  if (!z || lundi_normal_(z, req->rng, 0, 1)) {
    lundi_release(z);
    return NULL;
  }
  lundi_tensor *x = sched_noise_to_step(parts->scheduler, s->steps, req->init, z, s->steps - keep, begin);
  lundi_release(z);
  return x;
}

/* Puts the denoiser's module in eval mode (no dropout) for the loop; returns the old mode. */
static int eval_mode(lundi_instance *denoiser, int training) {
  lundi_module *m = lundi_denoiser_module(denoiser);
  int old = m ? lundi_module_training(m) : 0;
  if (m) lundi_module_set_training(m, training);
  return old;
}

/* The request's strength, else the parameter; whether init is a clean sample to noise. */
static int pick_strength(const image *s, const lundi_sample_request *req, double *strength, int *img2img) {
  double r = req->strength; /* 0 or in (0, 1]: lundi_sample_request_check() saw to it */
  *strength = r != 0 ? r : s->strength;
  if (!req->init && *strength < 1)
    return lundi_set_error(LUNDI_EINVAL, "sample: strength = %g needs an init sample to start from (img2img); "
                                         "without one leave it at 1", *strength);
  *img2img = req->init && (r != 0 || s->strength < 1);
  return 0;
}

static lundi_tensor *sample(void *self, const lundi_pipeline_parts *parts, const lundi_sample_request *req) {
  image *s = self;
  double strength = 1;
  int img2img = 0, i0 = 0;
  /* lundi_sampler_sample() has checked the parts' kinds and the request */
  if (pick_strength(s, req, &strength, &img2img)) return NULL;
  lundi_cond c = {0}, cfg = {0};
  lundi_tensor *x = NULL, *out = NULL, *next = NULL, *x0 = NULL;
  int ok = 0;
  lundi_no_grad_enter();
  int was_training = eval_mode(parts->denoiser, 0);
  if (lundi_scheduler_set_timesteps(parts->scheduler, s->steps) || conditions(s, parts, req, &c, &cfg)) goto done;
  int n = lundi_scheduler_num_steps(parts->scheduler);
  if (n < 1) {
    if (n == 0) lundi_set_error(LUNDI_ESTATE, "sample: the scheduler has no steps after set_timesteps(%d)", s->steps);
    goto done;
  }
  if (!(x = img2img ? start_img2img(s, parts, req, strength, &i0) : start(parts, req))) goto done;
  for (int i = i0; i < n; i++) {
    double t = lundi_scheduler_timestep(parts->scheduler, i);
    if (isnan(t)) goto done;
    if (!(out = model_out(s, parts, req, x, i, t, &c, &cfg))) goto done;
    if (!(next = lundi_scheduler_step(parts->scheduler, out, i, x, req->rng))) goto done;
    int r = 0;
    if (req->callback) {
      lundi_clear_error();
      x0 = lundi_scheduler_predict_x0(parts->scheduler, out, i, x);
      if (!x0 && lundi_last_error()[0]) goto done;
      r = req->callback(req->callback_ud, i - i0, n - i0, t, next, x0); /* img2img: the kept steps */
    }
    swap(&x, next);
    next = NULL;
    swap(&out, NULL);
    swap(&x0, NULL);
    if (r < 0) {
      if (!lundi_last_error()[0])
        lundi_set_error(r, "sample: the step callback failed at step %d (status %d)", i - i0, r);
      goto done;
    }
    if (r == 1) break;
  }
  if (s->clip_output && swap(&x, lundi_clamp(x, -1, 1))) goto done;
  ok = 1;
done:
  lundi_release(out);
  lundi_release(next);
  lundi_release(x0);
  lundi_cond_clear(&c);
  lundi_cond_clear(&cfg);
  eval_mode(parts->denoiser, was_training);
  lundi_no_grad_exit();
  if (!ok) {
    lundi_release(x);
    return NULL;
  }
  return x;
}

static const lundi_sampler_api api = {.sample = sample};

int lundi_builtin_image(lundi_registry *r) {
  lundi_plugin_desc d = {
      .abi_version = LUNDI_ABI_VERSION,
      .kind = LUNDI_SAMPLER,
      .name = "image",
      .version = "1.0.0",
      .description = "reverse diffusion from noise (or img2img from an init) for fixed-shape samples, with "
                     "classifier-free guidance",
      .params = specs,
      .n_params = (int)(sizeof specs / sizeof *specs),
      .create = create,
      .destroy = destroy,
      .api = &api,
  };
  return lundi_register(r, &d, NULL);
}
