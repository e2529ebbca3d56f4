/* Plugins: one registry for the four kinds (scheduler, denoiser, conditioner, sampler).
 *
 * A plugin is a lundi_plugin_desc: name, kind, version, a one-line description, a parameter
 * schema, create/destroy, and the kind's function table (lundi_scheduler_api, ...).
 * Built-in plugins, shared objects and Lua tables all register through lundi_register(),
 * so nothing downstream can tell them apart.
 *
 * Ownership: lundi_register() deep-copies the descriptor (strings and schema), so a
 * descriptor may live on the stack. The registry keeps every loaded shared object open
 * until lundi_registry_free(). Instances may outlive the lundi_registry_free() call: the
 * registry is then torn down when its last instance is freed (so garbage-collected hosts may
 * free in any order). Not thread-safe: one registry per thread.
 *
 * A shared-object plugin exports its entry point with LUNDI_PLUGIN_ENTRY(fn); the loader
 * checks the exported ABI version before calling anything in the file.
 */
#ifndef LUNDI_PLUGIN_H
#define LUNDI_PLUGIN_H

#include "lundi/nn.h"
#include "lundi/plugin_api.h"

#ifdef __cplusplus
extern "C" {
#endif

/* Bumped whenever a struct or function table in this header changes layout.
 * 2: lundi_scheduler_api.noise_to_step and lundi_sample_request.strength (img2img).
 * 3: lundi_scheduler_api.loss (a scheduler's own training loss: masked diffusion's
 *    cross-entropy on the masked tokens), appended to the scheduler table. */
#define LUNDI_ABI_VERSION 3

typedef enum lundi_plugin_kind {
  LUNDI_SCHEDULER = 0,
  LUNDI_DENOISER,
  LUNDI_CONDITIONER,
  LUNDI_SAMPLER,
  LUNDI_KIND_COUNT
} lundi_plugin_kind;
const char *lundi_plugin_kind_name(lundi_plugin_kind k); /* "scheduler", ...; "?" if bad */
int lundi_plugin_kind_parse(const char *s, lundi_plugin_kind *out); /* LUNDI_EINVAL if bad */

/* ---- parameter schema ---- */
typedef enum lundi_param_type {
  LUNDI_PARAM_INT = 0,
  LUNDI_PARAM_FLOAT,
  LUNDI_PARAM_BOOL,
  LUNDI_PARAM_STRING,
  LUNDI_PARAM_CHOICE
} lundi_param_type;
const char *lundi_param_type_name(lundi_param_type t); /* "int", "float", "bool", ... */

typedef struct lundi_param_spec {
  const char *name;          /* [a-z_][a-z0-9_]*, unique within the plugin */
  lundi_param_type type;
  const char *default_value; /* as text: "1000", "1e-4", "true", "linear" (never NULL) */
  double min, max;           /* INT/FLOAT inclusive range; min == max == 0: unbounded */
  const char *choices;       /* CHOICE only: "linear|scaled_linear|cosine" */
  const char *help;          /* one line */
} lundi_param_spec;
/* Whether s is an INT or FLOAT parameter with a range (not min == max == 0). */
int lundi_param_has_range(const lundi_param_spec *s);
/* Choice i (0-based) of a CHOICE parameter: its start in s->choices, *len bytes long (not
 * terminated); NULL past the last one. */
const char *lundi_param_choice(const lundi_param_spec *s, int i, size_t *len);

/* A set of values checked against a schema. Setters refuse unknown keys (the message lists
 * the valid ones), wrong types and out-of-range values, and leave the old value in place. */
typedef struct lundi_params lundi_params;
/* owner names the plugin in messages ("scheduler 'ddpm'"); every value starts at its default. */
lundi_params *lundi_params_new(const char *owner, const lundi_param_spec *specs, int n);
lundi_params *lundi_params_copy(const lundi_params *p);
void lundi_params_free(lundi_params *p); /* NULL is fine */
/* Parses text by the parameter's type ("--steps=50" on the command line, strings in Lua). */
int lundi_params_set(lundi_params *p, const char *key, const char *text);
int lundi_params_set_number(lundi_params *p, const char *key, double v); /* INT needs integral v */
int lundi_params_set_bool(lundi_params *p, const char *key, int v);
int lundi_params_set_string(lundi_params *p, const char *key, const char *s); /* STRING/CHOICE */
/* Getters for plugins. A key that is not in the schema, or a getter of the wrong type, is a
 * bug in the plugin: it returns 0 / NULL and sets the error. */
int64_t lundi_params_int(const lundi_params *p, const char *key);
double lundi_params_float(const lundi_params *p, const char *key); /* INT too */
int lundi_params_bool(const lundi_params *p, const char *key);
const char *lundi_params_string(const lundi_params *p, const char *key); /* STRING/CHOICE */
int lundi_params_count(const lundi_params *p);
const lundi_param_spec *lundi_params_spec(const lundi_params *p, int i);
/* Current value of parameter i as text ("50", "0.0001", "true", "linear"); borrowed. */
const char *lundi_params_text(const lundi_params *p, int i);
/* {"key": value, ...} in schema order, numbers and bools unquoted; free() the result. */
char *lundi_params_to_json(const lundi_params *p);

/* ---- what a conditioner produces and a denoiser consumes ----
 * Each field is an owned reference or NULL. lundi_cond_clear() releases them. */
typedef struct lundi_cond {
  lundi_tensor *labels;  /* i32 [N] class ids (the null class for "unconditional") */
  lundi_tensor *context; /* f32 [N, S, D] token or observation features (cross-attention) */
  lundi_tensor *mask;    /* f32 [N, S] additive key mask for context (0 or -inf), or NULL */
  lundi_tensor *vector;  /* f32 [N, D] a global condition vector (FiLM), or NULL */
} lundi_cond;
void lundi_cond_clear(lundi_cond *c);
/* Concatenates a and b along the batch axis into out (for batched CFG); fields must be
 * present in both or in neither. */
int lundi_cond_cat(const lundi_cond *a, const lundi_cond *b, lundi_cond *out);

/* ---- the kinds' function tables ----
 * self is what create() returned. Functions returning a tensor give a new reference, or
 * NULL with the error set; those returning int give 0 or a negative lundi_status.
 * Functions marked optional may be NULL; the lundi_* call wrappers below handle that. */

/* Each table's functions, what they do and which are optional: lundi/plugin_api.h. */
typedef struct lundi_scheduler_api {
  LUNDI_SCHEDULER_API(LUNDI_API_FIELD, void *self)
} lundi_scheduler_api;

typedef struct lundi_denoiser_api {
  LUNDI_DENOISER_API(LUNDI_API_FIELD, void *self)
} lundi_denoiser_api;

typedef struct lundi_conditioner_api {
  LUNDI_CONDITIONER_API(LUNDI_API_FIELD, void *self)
} lundi_conditioner_api;

typedef struct lundi_instance lundi_instance;

/* Parts of a pipeline, borrowed; conditioner may be NULL (unconditional). */
typedef struct lundi_pipeline_parts {
  lundi_instance *scheduler, *denoiser, *conditioner;
} lundi_pipeline_parts;

/* Called after each step i (0-based) of n with the current sample and, when the scheduler
 * offers predict_x0, the clean estimate (else NULL); both borrowed. Return 0 to go on, 1 to
 * stop early (the current x is the result), or a negative status to fail. */
typedef int (*lundi_step_callback)(void *ud, int i, int n, double t, lundi_tensor *x,
                                   lundi_tensor *x0_pred);

typedef struct lundi_sample_request {
  int batch;
  int ndim;                      /* per-sample shape, e.g. {1, 28, 28} */
  int64_t shape[LUNDI_MAX_DIMS - 1];
  lundi_tensor *cond_input;      /* for the conditioner's encode(), or NULL */
  const char *const *prompts;    /* for encode_text(), or NULL; batch entries */
  lundi_tensor *init;            /* a starting sample (img2img, inpainting), or NULL */
  lundi_rng *rng;                /* required */
  lundi_step_callback callback;  /* optional */
  void *callback_ud;
  /* img2img strength in (0, 1], or 0: the sampler's own default (image: its 'strength'
   * parameter). With strength s given here, or a default below 1, init is a clean sample: of
   * the n inference steps the first n - floor(n s) are skipped and init is noised with fresh
   * noise from rng to the level of the first kept step (diffusers' img2img, where s = 1 still
   * noises init, to the first step's level); the callback then counts the kept evaluations
   * only (i from 0). Otherwise init is the starting noise x_T as is. */
  double strength;
} lundi_sample_request;

/* Checks req against the contract above: an rng, batch >= 1, 1..LUNDI_MAX_DIMS-1 positive
 * per-sample dims, init (when given) of shape [batch, shape...], strength 0 or in (0, 1],
 * prompts (when given) without NULL entries. lundi_sampler_sample() runs it before any sampler
 * sees a request, so samplers need not repeat it. */
int lundi_sample_request_check(const lundi_sample_request *req);
/* Sets the sizes of req from a request as a script gives it (lundi's Lua table), before the
 * shape and prompts are read: batch clamped into an int (the check above refuses < 1), ndim
 * entries of shape (more than LUNDI_MAX_DIMS - 1 refused here), strength when given (not
 * NULL; 0 is refused: scripts say nil for the sampler's default) and n_prompts prompts (-1:
 * none), which must match the batch. */
int lundi_sample_request_sizes(lundi_sample_request *req, int64_t batch, int64_t ndim,
                               const double *strength, int64_t n_prompts);

typedef struct lundi_sampler_api {
  LUNDI_SAMPLER_API(LUNDI_API_FIELD, void *self)
} lundi_sampler_api;

/* ---- descriptors and the registry ---- */
typedef struct lundi_plugin_desc {
  int abi_version;          /* LUNDI_ABI_VERSION */
  lundi_plugin_kind kind;
  const char *name;         /* [a-z0-9_.-]+, unique within its kind */
  const char *version;      /* free-form, e.g. "1.0.0" */
  const char *description;  /* one line */
  const lundi_param_spec *params;
  int n_params;
  /* Builds an instance from validated params. user is the descriptor's user pointer. */
  int (*create)(void *user, const lundi_params *params, void **self);
  void (*destroy)(void *self);
  const void *api;          /* the kind's table; it must outlive the registry */
  void *user;
  void (*release_user)(void *user); /* when the registry drops the plugin; optional */
} lundi_plugin_desc;

typedef struct lundi_registry lundi_registry;
typedef struct lundi_plugin lundi_plugin; /* a registered plugin, owned by its registry */

lundi_registry *lundi_registry_new(void);
void lundi_registry_free(lundi_registry *r); /* unloads shared objects; NULL is fine */
/* Validates and adds d: ABI version, kind, name, a schema whose defaults parse and lie in
 * range, and the kind's required functions. A duplicate (kind, name) is refused with a
 * message naming where the first one came from. origin says where d comes from in messages
 * and listings ("builtin", a file path, "script.lua:12"); NULL means "builtin". */
int lundi_register(lundi_registry *r, const lundi_plugin_desc *d, const char *origin);
/* Every built-in plugin, through the same lundi_register() path. */
int lundi_registry_load_builtins(lundi_registry *r);
/* dlopen()s a plugin file and calls its entry point. A file that is not a lundi plugin or was
 * built for another ABI is refused, naming the file and both versions; a file whose entry
 * point fails registers nothing. A file this registry has loaded already (under any name) is
 * not loaded again: 0, nothing more registered. */
int lundi_registry_load_file(lundi_registry *r, const char *path);
/* Loads every *.so in a ':'-separated list of directories; NULL means $LUNDI_PLUGIN_PATH
 * (unset is fine). Stops at the first failing file or directory. */
int lundi_registry_load_path(lundi_registry *r, const char *dirs);
/* Like lundi_registry_load_path, for a search path the user set: a directory that cannot be
 * opened and a file that fails to load are passed (with the reason) to warn and skipped, like
 * PATH's missing entries. Fails only on out of memory or bad arguments. */
typedef void (*lundi_warning_fn)(void *ud, const char *message);
/* Plugin files in another language than C, by how their name ends (".lua"): load registers
 * the file's plugins into r, as a .so's entry point does (a failure registers nothing);
 * close, when not NULL, runs once in lundi_registry_free after every plugin is gone. With a
 * loader added, lundi_registry_load_file takes such files and the path scans load them
 * beside the *.so. runtime/lua's lundi_lua_add_plugin_loader adds the one for Lua. */
typedef struct lundi_file_loader {
  const char *suffix; /* static text, e.g. ".lua" */
  int (*load)(void *ud, lundi_registry *r, const char *path);
  void (*close)(void *ud);
  void *ud;
} lundi_file_loader;
int lundi_registry_add_loader(lundi_registry *r, const lundi_file_loader *loader);
int lundi_registry_scan_path(lundi_registry *r, const char *dirs, lundi_warning_fn warn, void *ud);
/* The files loaded by lundi_registry_load_file (directly or from a path), in load order and
 * named as they were given; a file loaded once under two names is listed once. */
int lundi_registry_file_count(const lundi_registry *r);
const char *lundi_registry_file(const lundi_registry *r, int i); /* NULL when out of range */
int lundi_registry_count(const lundi_registry *r);
const lundi_plugin *lundi_registry_at(const lundi_registry *r, int i); /* registration order */
/* NULL with the error set when absent; the message lists the names of that kind. */
const lundi_plugin *lundi_registry_find(const lundi_registry *r, lundi_plugin_kind k,
                                        const char *name);

/* The registered (deep-copied) descriptor, and where it came from. */
const lundi_plugin_desc *lundi_plugin_info(const lundi_plugin *p);
const char *lundi_plugin_origin(const lundi_plugin *p);
/* How messages name it: "scheduler 'ddpm'". */
const char *lundi_plugin_owner(const lundi_plugin *p);
/* Fresh params at their defaults, owned by the caller. */
lundi_params *lundi_plugin_params(const lundi_plugin *p);

/* ---- instances ---- */
/* params NULL means all defaults; params must come from lundi_plugin_params() of the same
 * plugin. The instance keeps its own copy. */
lundi_instance *lundi_instance_new(const lundi_plugin *p, const lundi_params *params);
/* Shorthand: find by kind and name, then instance_new. */
lundi_instance *lundi_instance_create(lundi_registry *r, lundi_plugin_kind k, const char *name,
                                      const lundi_params *params);
void lundi_instance_free(lundi_instance *inst); /* NULL is fine */
const lundi_plugin *lundi_instance_plugin(const lundi_instance *inst);
const lundi_params *lundi_instance_params(const lundi_instance *inst);
/* "scheduler ddpm 1.0.0 {steps=10, mode=\"fancy\"}": kind, name, version and the current
 * params (strings quoted). NULL with the error set when out of memory; free() the result. */
char *lundi_instance_describe(const lundi_instance *inst);
void *lundi_instance_self(lundi_instance *inst);

/* Checked calls: each verifies the instance's kind and that the function exists, fills in
 * the documented default for optional ones, and prefixes errors with the plugin's name.
 * Those whose wrap column in lundi/plugin_api.h is not CUSTOM are declared from it:
 *   lundi_scheduler_num_train_timesteps, _add_noise, _target, _num_steps, _step, _predict_x0
 *   (NULL, no error, when absent), lundi_denoiser_forward, _module (NULL, no error, when
 *   none), lundi_conditioner_encode, _drop (0 when absent), _module; each takes the instance
 *   and then the table function's arguments after self. */
LUNDI_PLUGIN_KINDS(LUNDI_API_WRAP_DECLS)
int lundi_scheduler_set_timesteps(lundi_instance *s, int num_inference_steps);
double lundi_scheduler_timestep(lundi_instance *s, int i);
double lundi_scheduler_init_noise_sigma(lundi_instance *s);
lundi_tensor *lundi_scheduler_scale_model_input(lundi_instance *s, lundi_tensor *x, int i);
/* The training loss, a tensor with one element: the scheduler's loss(), or without one
 * lundi_mse_loss(model_out, lundi_scheduler_target(s, x0, noise, t)). */
lundi_tensor *lundi_scheduler_loss(lundi_instance *s, lundi_tensor *model_out, lundi_tensor *x0,
                                   lundi_tensor *noise, lundi_tensor *t);
int lundi_conditioner_encode_text(lundi_instance *c, const char *const *prompts, int n,
                                  lundi_cond *out);
int lundi_conditioner_null(lundi_instance *c, int n, lundi_cond *out);
lundi_tensor *lundi_sampler_sample(lundi_instance *s, const lundi_pipeline_parts *parts,
                                   const lundi_sample_request *req);
/* "pipeline {scheduler=ddpm, denoiser=unet, sampler=image}": the names of the parts given
 * (sampler may be NULL), in that order. NULL when out of memory; free() the result. */
char *lundi_pipeline_describe(const lundi_pipeline_parts *parts, const lundi_instance *sampler);

/* ---- shared-object entry point ----
 * In the plugin's source: static int my_init(lundi_registry *r) { return lundi_register(r,
 * &desc, NULL); }  LUNDI_PLUGIN_ENTRY(my_init)
 * origin NULL inside a loaded file is replaced by the file's path. */
typedef int (*lundi_plugin_init_fn)(lundi_registry *r);
#define LUNDI_PLUGIN_ABI_SYMBOL "lundi_plugin_abi_version"
#define LUNDI_PLUGIN_INIT_SYMBOL "lundi_plugin_init"
#define LUNDI_PLUGIN_ENTRY(fn)                                                                   \
  __attribute__((visibility("default"))) const int lundi_plugin_abi_version = LUNDI_ABI_VERSION; \
  __attribute__((visibility("default"))) int lundi_plugin_init(lundi_registry *r) { return fn(r); }

#ifdef __cplusplus
}
#endif
#endif
