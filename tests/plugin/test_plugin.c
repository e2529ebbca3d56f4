/* The plugin registry: schemas, registration, the shared-object loader, instances and the
 * checked call wrappers. Paths of the test modules come from the environment (meson.build). */
#include "harness.h"
#include "lundi/plugin.h"

#include <limits.h>
#include <unistd.h>

/* ---- a toy scheduler, sampler, conditioner and denoiser registered in-process ---- */
static int g_released, g_created, g_destroyed;

typedef struct toy {
  int64_t T;
  int n;
} toy;

static const lundi_param_spec toy_params[] = {
    {"num_train_timesteps", LUNDI_PARAM_INT, "1000", 1, 100000, NULL, "training steps"},
    {"beta_start", LUNDI_PARAM_FLOAT, "0.0001", 0, 1, NULL, "first beta"},
    {"beta_schedule", LUNDI_PARAM_CHOICE, "linear", 0, 0, "linear|scaled_linear|cosine", "schedule"},
    {"clip_sample", LUNDI_PARAM_BOOL, "true", 0, 0, NULL, "clip x0"},
    {"label", LUNDI_PARAM_STRING, "say \"hi\"\\", 0, 0, NULL, "free text"},
};
#define N_TOY_PARAMS 5

static int toy_create(void *user, const lundi_params *p, void **self) {
  (void)user;
  if (strcmp(lundi_params_string(p, "label"), "broken") == 0) return lundi_set_error(LUNDI_EINVAL, "cannot build this");
  toy *t = calloc(1, sizeof *t);
  t->T = lundi_params_int(p, "num_train_timesteps");
  *self = t;
  g_created++;
  return 0;
}
static void toy_destroy(void *self) {
  free(self);
  g_destroyed++;
}
static void toy_release(void *user) { g_released += *(int *)user; }
static int toy_num_train(void *self) { return (int)((toy *)self)->T; }
static lundi_tensor *toy_add_noise(void *self, lundi_tensor *x0, lundi_tensor *noise, lundi_tensor *t) {
  (void)self, (void)t;
  return lundi_add(x0, noise);
}
static lundi_tensor *toy_target(void *self, lundi_tensor *x0, lundi_tensor *noise, lundi_tensor *t) {
  (void)self, (void)x0, (void)t;
  return lundi_retain(noise);
}
static int toy_set_timesteps(void *self, int n) {
  if (n > 100) return lundi_set_error(LUNDI_EINVAL, "scheduler 'toy': at most 100 steps");
  ((toy *)self)->n = n;
  return 0;
}
static int toy_num_steps(void *self) { return ((toy *)self)->n; }
static double toy_timestep(void *self, int i) {
  toy *t = self;
  if (i >= t->n) {
    lundi_set_error(LUNDI_EINVAL, "step %d is past the end", i);
    return NAN;
  }
  return (double)(t->n - i);
}
static lundi_tensor *toy_step(void *self, lundi_tensor *m, int i, lundi_tensor *x, lundi_rng *rng) {
  (void)self, (void)rng;
  if (i == 99) return NULL; /* fails without a message */
  if (i == 98) return lundi_zeros(1, (int64_t[]){3}); /* wrong shape */
  return lundi_add(x, m);
}
static const lundi_scheduler_api toy_api = {
    .num_train_timesteps = toy_num_train, .add_noise = toy_add_noise, .target = toy_target,
    .set_timesteps = toy_set_timesteps, .num_steps = toy_num_steps, .timestep = toy_timestep, .step = toy_step};

static int plain_create(void *user, const lundi_params *p, void **self) {
  (void)user, (void)p;
  *self = NULL;
  return 0;
}
static lundi_tensor *smp_sample(void *self, const lundi_pipeline_parts *parts, const lundi_sample_request *req) {
  (void)self, (void)parts;
  int64_t shape[LUNDI_MAX_DIMS] = {req->batch};
  for (int i = 0; i < req->ndim; i++) shape[i + 1] = req->shape[i];
  return lundi_zeros(req->ndim + 1, shape);
}
static const lundi_sampler_api smp_api = {smp_sample};
static lundi_tensor *den_forward(void *self, lundi_tensor *x, lundi_tensor *t, const lundi_cond *c, lundi_rng *rng) {
  (void)self, (void)t, (void)c, (void)rng;
  return lundi_retain(x);
}
static const lundi_denoiser_api den_api = {den_forward, NULL};
static int cnd_encode(void *self, lundi_tensor *in, lundi_cond *out) {
  (void)self;
  memset(out, 0, sizeof *out);
  out->labels = lundi_retain(in);
  return 0;
}
static int cnd_null(void *self, int n, lundi_cond *out) {
  (void)self;
  memset(out, 0, sizeof *out);
  out->labels = lundi_from_i32(1, (int64_t[]){n}, (int32_t[]){7, 7, 7, 7});
  return 0;
}
static const lundi_conditioner_api cnd_api = {.encode = cnd_encode, .null_cond = cnd_null};

static int one = 1;
static lundi_plugin_desc toy_desc(void) {
  return (lundi_plugin_desc){.abi_version = LUNDI_ABI_VERSION, .kind = LUNDI_SCHEDULER, .name = "toy",
                             .version = "0.1", .description = "a toy", .params = toy_params,
                             .n_params = N_TOY_PARAMS, .create = toy_create, .destroy = toy_destroy,
                             .api = &toy_api, .user = &one, .release_user = toy_release};
}

/* toy (scheduler), image (sampler), net (denoiser), class (conditioner). */
static lundi_registry *toy_registry(void) {
  lundi_registry *r = lundi_registry_new();
  lundi_plugin_desc d = toy_desc();
  CHECK(lundi_register(r, &d, NULL) == 0);
  d = (lundi_plugin_desc){.abi_version = LUNDI_ABI_VERSION, .kind = LUNDI_SAMPLER, .name = "image",
                          .create = plain_create, .api = &smp_api};
  CHECK(lundi_register(r, &d, "script.lua:3") == 0);
  d.kind = LUNDI_DENOISER, d.name = "net", d.api = &den_api;
  CHECK(lundi_register(r, &d, NULL) == 0);
  d.kind = LUNDI_CONDITIONER, d.name = "class", d.api = &cnd_api;
  CHECK(lundi_register(r, &d, NULL) == 0);
  return r;
}

static void registration_and_listing(void) {
  g_released = 0;
  lundi_registry *r = lundi_registry_new();
  /* The descriptor's strings live in a buffer we overwrite after registering: the registry
   * must have copied them. */
  char name[16] = "toy", desc[32] = "a toy", pname[32] = "num_train_timesteps";
  lundi_param_spec spec = toy_params[0];
  spec.name = pname;
  lundi_plugin_desc d = toy_desc();
  d.name = name, d.description = desc, d.params = &spec, d.n_params = 1;
  CHECK(lundi_register(r, &d, NULL) == 0);
  strcpy(name, "xxx"), strcpy(desc, "changed"), strcpy(pname, "zzz");
  spec.default_value = "5";
  d = (lundi_plugin_desc){.abi_version = LUNDI_ABI_VERSION, .kind = LUNDI_SAMPLER, .name = "image",
                          .create = plain_create, .api = &smp_api};
  CHECK(lundi_register(r, &d, "script.lua:3") == 0);
  CHECK(lundi_registry_count(r) == 2);
  const lundi_plugin *p0 = lundi_registry_at(r, 0), *p1 = lundi_registry_at(r, 1);
  CHECK(p0 && strcmp(lundi_plugin_info(p0)->name, "toy") == 0);
  CHECK(p0 && strcmp(lundi_plugin_info(p0)->description, "a toy") == 0);
  CHECK(p0 && strcmp(lundi_plugin_info(p0)->params[0].name, "num_train_timesteps") == 0);
  CHECK(p0 && strcmp(lundi_plugin_info(p0)->params[0].default_value, "1000") == 0);
  CHECK(p0 && strcmp(lundi_plugin_origin(p0), "builtin") == 0);
  CHECK(p1 && strcmp(lundi_plugin_origin(p1), "script.lua:3") == 0);
  CHECK(p1 && strcmp(lundi_plugin_owner(p1), "sampler 'image'") == 0); /* how messages name it */
  CHECK(p1 && strcmp(lundi_plugin_info(p1)->version, "") == 0); /* NULL strings become "" */
  CHECK(lundi_registry_at(r, 2) == NULL);
  CHECK(lundi_registry_find(r, LUNDI_SCHEDULER, "toy") == p0);
  CHECK(lundi_registry_find(r, LUNDI_SAMPLER, "toy") == NULL); /* kinds are separate */
  CHECK_ERR(lundi_registry_find(r, LUNDI_SCHEDULER, "tyo"), "no scheduler named 'tyo' (did you mean 'toy'?)");
  CHECK_ERR(lundi_registry_find(r, LUNDI_SCHEDULER, "ddim"), "available schedulers: toy");
  CHECK_ERR(lundi_registry_find(r, LUNDI_DENOISER, "x"), "(none registered)");
  lundi_params *pp = lundi_plugin_params(p0);
  CHECK(pp && lundi_params_count(pp) == 1 && lundi_params_int(pp, "num_train_timesteps") == 1000);
  lundi_params_free(pp);

  lundi_plugin_kind k;
  CHECK(lundi_plugin_kind_parse("conditioner", &k) == 0 && k == LUNDI_CONDITIONER);
  CHECK(lundi_plugin_kind_parse("samplers", &k) == 0 && k == LUNDI_SAMPLER);
  CHECK_ERR(lundi_plugin_kind_parse("schedular", &k), "valid: scheduler, denoiser");
  CHECK(strcmp(lundi_plugin_kind_name(LUNDI_DENOISER), "denoiser") == 0);
  CHECK(strcmp(lundi_plugin_kind_name((lundi_plugin_kind)9), "?") == 0);
  CHECK(strcmp(lundi_param_type_name(LUNDI_PARAM_CHOICE), "choice") == 0);
  CHECK(g_released == 0);
  lundi_registry_free(r);
  CHECK(g_released == 1); /* release_user exactly once, for the one plugin that has it */
  lundi_registry_free(NULL);
}

static void schema_validation(void) {
  lundi_params *p = lundi_params_new("scheduler 'ddpm'", toy_params, N_TOY_PARAMS);
  CHECK(p != NULL);
  if (!p) return;
  CHECK(lundi_params_int(p, "num_train_timesteps") == 1000);
  CHECK_NEAR(lundi_params_float(p, "beta_start"), 1e-4, 0);
  CHECK(lundi_params_bool(p, "clip_sample") == 1);
  CHECK(strcmp(lundi_params_string(p, "beta_schedule"), "linear") == 0);

  CHECK_ERR(lundi_params_set(p, "beta_shedule", "cosine"),
            "scheduler 'ddpm': unknown parameter 'beta_shedule' (did you mean 'beta_schedule'?); valid parameters: "
            "num_train_timesteps, beta_start, beta_schedule, clip_sample, label");
  CHECK_ERR(lundi_params_set(p, "zzzzzzzz", "1"), "unknown parameter 'zzzzzzzz'; valid parameters: num_train");
  CHECK(lundi_params_set(p, "nope", "1") == LUNDI_EINVAL);
  CHECK_ERR(lundi_params_set(p, "num_train_timesteps", "abc"),
            "scheduler 'ddpm': parameter 'num_train_timesteps' expects an int, got \"abc\"");
  CHECK_ERR(lundi_params_set(p, "num_train_timesteps", "12.5"), "expects an int");
  CHECK_ERR(lundi_params_set(p, "num_train_timesteps", " 12"), "expects an int");
  CHECK_ERR(lundi_params_set(p, "num_train_timesteps", "99999999999999999999"), "expects an int");
  CHECK_ERR(lundi_params_set(p, "num_train_timesteps", "0"), "must be in the range [1, 100000]; got 0");
  CHECK_ERR(lundi_params_set(p, "beta_start", "1.5"), "parameter 'beta_start' must be in the range [0, 1]; got 1.5");
  CHECK_ERR(lundi_params_set(p, "beta_start", "nan"), "expects a float");
  CHECK_ERR(lundi_params_set(p, "beta_start", "1e-3x"), "expects a float, got \"1e-3x\"");
  CHECK_ERR(lundi_params_set(p, "beta_schedule", "quadratic"),
            "parameter 'beta_schedule' must be one of linear, scaled_linear, cosine; got \"quadratic\"");
  CHECK_ERR(lundi_params_set(p, "beta_schedule", "linea"), "must be one of"); /* no prefix matches */
  CHECK_ERR(lundi_params_set(p, "clip_sample", "maybe"), "expects a bool");
  /* Every refused set left the defaults in place. */
  CHECK(lundi_params_int(p, "num_train_timesteps") == 1000);
  CHECK_NEAR(lundi_params_float(p, "beta_start"), 1e-4, 0);
  CHECK(strcmp(lundi_params_string(p, "beta_schedule"), "linear") == 0);
  CHECK(lundi_params_bool(p, "clip_sample") == 1);

  CHECK(lundi_params_set(p, "num_train_timesteps", "-0") == LUNDI_EINVAL); /* 0 is below the range */
  CHECK(lundi_params_set(p, "num_train_timesteps", "+250") == 0 && lundi_params_int(p, "num_train_timesteps") == 250);
  CHECK(strcmp(lundi_params_text(p, 0), "250") == 0);
  CHECK(lundi_params_set(p, "beta_start", "2.5e-4") == 0 && strcmp(lundi_params_text(p, 1), "0.00025") == 0);
  CHECK(lundi_params_set(p, "clip_sample", "off") == 0 && lundi_params_bool(p, "clip_sample") == 0);
  CHECK(lundi_params_set(p, "clip_sample", "YES") == 0 && strcmp(lundi_params_text(p, 3), "true") == 0);
  CHECK(lundi_params_set(p, "beta_schedule", "cosine") == 0 && strcmp(lundi_params_text(p, 2), "cosine") == 0);

  /* Typed setters: a number is not a string and an int must be integral. */
  CHECK(lundi_params_set_number(p, "num_train_timesteps", 500) == 0 && lundi_params_int(p, "num_train_timesteps") == 500);
  CHECK_ERR(lundi_params_set_number(p, "num_train_timesteps", 2.5), "expects an int, got 2.5");
  CHECK_ERR(lundi_params_set_number(p, "num_train_timesteps", 1e300), "expects an int");
  CHECK_ERR(lundi_params_set_number(p, "num_train_timesteps", 200000), "range [1, 100000]");
  CHECK_ERR(lundi_params_set_number(p, "beta_start", INFINITY), "expects a float");
  CHECK_ERR(lundi_params_set_number(p, "clip_sample", 1), "expects a bool (true/false, yes/no, on/off, 1/0), got the number 1");
  CHECK_ERR(lundi_params_set_number(p, "label", 3), "parameter 'label' expects a string, got the number 3");
  CHECK_ERR(lundi_params_set_string(p, "num_train_timesteps", "12"), "expects an int, got the string \"12\"");
  CHECK_ERR(lundi_params_set_string(p, "beta_schedule", "quad"), "must be one of linear, scaled_linear, cosine");
  CHECK_ERR(lundi_params_set_bool(p, "beta_start", 1), "expects a float, got the bool true");
  CHECK(lundi_params_int(p, "num_train_timesteps") == 500);
  CHECK(lundi_params_set_number(p, "beta_start", 0.5) == 0 && lundi_params_float(p, "beta_start") == 0.5);
  CHECK(lundi_params_set_bool(p, "clip_sample", 0) == 0 && lundi_params_bool(p, "clip_sample") == 0);
  CHECK(lundi_params_set_string(p, "beta_schedule", "scaled_linear") == 0);
  CHECK(lundi_params_set_string(p, "label", "anything at all") == 0);
  CHECK(strcmp(lundi_params_string(p, "label"), "anything at all") == 0);
  CHECK_NEAR(lundi_params_float(p, "num_train_timesteps"), 500, 0); /* float getter reads ints too */

  /* Getter misuse is a plugin bug, and the message says so. */
  CHECK_ERR(lundi_params_int(p, "beta_start"), "plugin bug: scheduler 'ddpm' reads parameter 'beta_start' as an int");
  lundi_clear_error();
  CHECK(lundi_params_int(p, "missing") == 0);
  CHECK(strstr(lundi_last_error(), "plugin bug") && strstr(lundi_last_error(), "not in its schema"));
  CHECK(lundi_params_string(p, "clip_sample") == NULL);
  CHECK(lundi_params_spec(p, 5) == NULL && lundi_params_text(p, -1) == NULL);

  /* A copy is independent. */
  lundi_params *c = lundi_params_copy(p);
  CHECK(c && lundi_params_set(c, "num_train_timesteps", "7") == 0);
  CHECK(lundi_params_int(p, "num_train_timesteps") == 500 && lundi_params_int(c, "num_train_timesteps") == 7);
  lundi_params_free(c);
  lundi_params_free(p);

  /* Schemas with bad defaults or names are refused by lundi_params_new too. */
  lundi_param_spec bad = toy_params[0];
  bad.default_value = "0";
  CHECK_ERR(lundi_params_new("x", &bad, 1), "bad default value: x: parameter 'num_train_timesteps' must be in the range");
  bad = toy_params[0];
  bad.name = "Steps";
  CHECK_ERR(lundi_params_new("x", &bad, 1), "names must match [a-z_][a-z0-9_]*");
  lundi_params *empty = lundi_params_new(NULL, NULL, 0);
  CHECK(empty && lundi_params_count(empty) == 0);
  CHECK_ERR(lundi_params_set(empty, "a", "1"), "valid parameters: (none)");
  lundi_params_free(empty);
}

static void params_json(void) {
  lundi_params *p = lundi_params_new("scheduler 'ddpm'", toy_params, N_TOY_PARAMS);
  CHECK(p != NULL);
  if (!p) return;
  char *j = lundi_params_to_json(p);
  const char *want = "{\"num_train_timesteps\": 1000, \"beta_start\": 0.0001, \"beta_schedule\": \"linear\", "
                     "\"clip_sample\": true, \"label\": \"say \\\"hi\\\"\\\\\"}";
  CHECK(j && strcmp(j, want) == 0);
  if (j && strcmp(j, want)) fprintf(stderr, "got  %s\nwant %s\n", j, want);
  free(j);
  CHECK(lundi_params_set(p, "beta_start", "1e-5") == 0 && lundi_params_set(p, "label", "a\nb") == 0);
  CHECK(lundi_params_set_number(p, "beta_start", 0.1) == 0);
  CHECK(strcmp(lundi_params_text(p, 1), "0.1") == 0);
  CHECK(lundi_params_set_number(p, "beta_start", 1e-5) == 0);
  CHECK(strcmp(lundi_params_text(p, 1), "1e-05") == 0);
  j = lundi_params_to_json(p);
  CHECK(j && strstr(j, "\"beta_start\": 1e-05,") && strstr(j, "\"label\": \"a\\u000ab\"}"));
  free(j);
  lundi_params_free(p);
}

static void bad_descriptors(void) {
  g_released = 0;
  lundi_registry *r = lundi_registry_new();
  lundi_plugin_desc d = toy_desc();
  d.name = "Toy";
  CHECK_ERR(lundi_register(r, &d, NULL), "cannot register scheduler 'Toy' from builtin: names must match [a-z0-9_.-]+");
  d.name = "";
  CHECK_ERR(lundi_register(r, &d, NULL), "names must match");
  d.name = NULL;
  CHECK_ERR(lundi_register(r, &d, NULL), "names must match");
  d = toy_desc();
  d.abi_version = LUNDI_ABI_VERSION + 4;
  char want[200];
  snprintf(want, sizeof want, "built for plugin ABI %d, but this lundi uses ABI %d", LUNDI_ABI_VERSION + 4,
           LUNDI_ABI_VERSION);
  CHECK_ERR(lundi_register(r, &d, "x.so"), want);
  d = toy_desc();
  d.kind = LUNDI_KIND_COUNT;
  CHECK_ERR(lundi_register(r, &d, NULL), "unknown kind 4");
  d = toy_desc();
  lundi_scheduler_api no_step = toy_api;
  no_step.step = NULL;
  d.api = &no_step;
  CHECK_ERR(lundi_register(r, &d, "my.so"), "cannot register scheduler 'toy' from my.so: its api has no step()");
  no_step = toy_api;
  no_step.num_train_timesteps = NULL;
  CHECK_ERR(lundi_register(r, &d, NULL), "no num_train_timesteps()");
  lundi_conditioner_api no_null = cnd_api;
  no_null.null_cond = NULL;
  d = (lundi_plugin_desc){.abi_version = LUNDI_ABI_VERSION, .kind = LUNDI_CONDITIONER, .name = "c",
                          .create = plain_create, .api = &no_null};
  CHECK_ERR(lundi_register(r, &d, NULL), "conditioner 'c' from builtin: its api has no null_cond()");
  d = toy_desc();
  d.api = NULL;
  CHECK_ERR(lundi_register(r, &d, NULL), "it has no api table");
  d = toy_desc();
  d.create = NULL;
  CHECK_ERR(lundi_register(r, &d, NULL), "it has no create() function");
  lundi_param_spec specs[N_TOY_PARAMS];
  memcpy(specs, toy_params, sizeof specs);
  d = toy_desc();
  d.params = specs;
  specs[0].default_value = "many";
  CHECK_ERR(lundi_register(r, &d, NULL), "scheduler 'toy': parameter 'num_train_timesteps' expects an int, got \"many\"");
  specs[0] = toy_params[0];
  specs[2].default_value = "sigmoid";
  CHECK_ERR(lundi_register(r, &d, NULL), "must be one of linear, scaled_linear, cosine; got \"sigmoid\"");
  specs[2] = toy_params[2];
  specs[1].default_value = "2";
  CHECK_ERR(lundi_register(r, &d, NULL), "parameter 'beta_start' must be in the range [0, 1]");
  specs[1] = toy_params[1];
  specs[4].name = "beta_start";
  CHECK_ERR(lundi_register(r, &d, NULL), "parameter 'beta_start' is declared twice");
  specs[4] = toy_params[4];
  specs[2].choices = "a||b";
  CHECK_ERR(lundi_register(r, &d, NULL), "needs choices like");
  specs[2] = toy_params[2];
  specs[3].default_value = NULL;
  CHECK_ERR(lundi_register(r, &d, NULL), "parameter 'clip_sample' has no default value");
  specs[3] = toy_params[3];
  d.n_params = -1;
  CHECK_ERR(lundi_register(r, &d, NULL), "bad parameter schema");
  CHECK(lundi_registry_count(r) == 0);
  CHECK(g_released == 0); /* a refused descriptor's user stays with the caller */
  d = toy_desc();
  d.params = specs;
  CHECK(lundi_register(r, &d, NULL) == 0); /* the repaired table is fine */
  CHECK(lundi_register(NULL, &d, NULL) == LUNDI_EINVAL && lundi_register(r, NULL, NULL) == LUNDI_EINVAL);
  lundi_registry_free(r);
  CHECK(g_released == 1);
}

static void duplicate_names(void) {
  g_released = 0;
  lundi_registry *r = lundi_registry_new();
  lundi_plugin_desc d = toy_desc();
  CHECK(lundi_register(r, &d, NULL) == 0);
  CHECK_ERR(lundi_register(r, &d, "/path/x.so"),
            "scheduler 'toy' is already registered (from builtin); a second one came from /path/x.so");
  CHECK(lundi_register(r, &d, "again.lua:1") == LUNDI_EINVAL);
  d.kind = LUNDI_SAMPLER;
  d.api = &smp_api;
  CHECK(lundi_register(r, &d, NULL) == 0); /* the same name in another kind is fine */
  CHECK(lundi_registry_count(r) == 2);
  lundi_registry_free(r);
  CHECK(g_released == 2); /* the two registered ones; the refused one was not released */
}

static void instances(void) {
  g_created = g_destroyed = 0;
  lundi_registry *r = toy_registry();
  const lundi_plugin *toy_p = lundi_registry_find(r, LUNDI_SCHEDULER, "toy");
  const lundi_plugin *img = lundi_registry_find(r, LUNDI_SAMPLER, "image");
  lundi_params *pp = lundi_plugin_params(toy_p);
  CHECK(lundi_params_set(pp, "num_train_timesteps", "50") == 0);
  lundi_instance *s = lundi_instance_new(toy_p, pp);
  CHECK(s && g_created == 1);
  CHECK(lundi_params_set(pp, "num_train_timesteps", "60") == 0); /* the instance kept its own copy */
  CHECK(lundi_scheduler_num_train_timesteps(s) == 50);
  CHECK(lundi_params_int(lundi_instance_params(s), "num_train_timesteps") == 50);
  CHECK(lundi_instance_plugin(s) == toy_p && lundi_instance_self(s) != NULL);
  /* lundi_instance_describe and lundi_pipeline_describe (describe.c): their text. */
  char *text = lundi_instance_describe(s);
  const char *want = "scheduler toy 0.1 {num_train_timesteps=50, beta_start=0.0001, beta_schedule=\"linear\", "
                     "clip_sample=true, label=\"say \"hi\"\\\"}";
  CHECK(text && strcmp(text, want) == 0);
  free(text);
  lundi_instance *smp = lundi_instance_create(r, LUNDI_SAMPLER, "image", NULL);
  text = lundi_pipeline_describe(&(lundi_pipeline_parts){.scheduler = s}, smp);
  CHECK(text && strcmp(text, "pipeline {scheduler=toy, sampler=image}") == 0);
  free(text);
  text = lundi_pipeline_describe(&(lundi_pipeline_parts){0}, NULL);
  CHECK(text && strcmp(text, "pipeline {}") == 0);
  free(text);
  lundi_instance_free(smp);
  /* Params of another plugin are refused. */
  lundi_params *other = lundi_params_new("sampler 'image'", toy_params, N_TOY_PARAMS);
  CHECK_ERR(lundi_instance_new(toy_p, other), "scheduler 'toy': the parameters given belong to sampler 'image'");
  lundi_params *ip = lundi_plugin_params(img);
  CHECK_ERR(lundi_instance_new(toy_p, ip), "get them from lundi_plugin_params()");
  /* Params built straight from the registered schema are accepted. */
  lundi_params *direct = lundi_params_new("scheduler 'toy'", lundi_plugin_info(toy_p)->params, N_TOY_PARAMS);
  lundi_instance *s2 = lundi_instance_new(toy_p, direct);
  CHECK(s2 != NULL);
  lundi_instance_free(s2);
  /* create() failing is reported with the plugin's name. */
  CHECK(lundi_params_set(pp, "label", "broken") == 0);
  CHECK_ERR(lundi_instance_new(toy_p, pp), "scheduler 'toy': cannot build this");
  lundi_instance *d = lundi_instance_create(r, LUNDI_SCHEDULER, "toy", NULL);
  CHECK(d && lundi_scheduler_num_train_timesteps(d) == 1000);
  lundi_instance_free(d);
  CHECK_ERR(lundi_instance_create(r, LUNDI_SCHEDULER, "nope", NULL), "no scheduler named 'nope'");
  lundi_params_free(pp);
  lundi_params_free(ip);
  lundi_params_free(other);
  lundi_params_free(direct);
  /* Freeing the registry first is safe: it waits for its last instance. */
  lundi_registry_free(r);
  CHECK(g_destroyed == 2);
  CHECK(lundi_scheduler_num_train_timesteps(s) == 50);
  CHECK_ERR(lundi_instance_new(toy_p, NULL), "its registry has been freed");
  lundi_instance_free(s);
  CHECK(g_destroyed == 3);
  lundi_instance_free(NULL);
}

static void call_wrappers(void) {
  lundi_registry *r = toy_registry();
  lundi_instance *s = lundi_instance_create(r, LUNDI_SCHEDULER, "toy", NULL);
  lundi_instance *smp = lundi_instance_create(r, LUNDI_SAMPLER, "image", NULL);
  lundi_instance *den = lundi_instance_create(r, LUNDI_DENOISER, "net", NULL);
  lundi_instance *cnd = lundi_instance_create(r, LUNDI_CONDITIONER, "class", NULL);
  CHECK(s && smp && den && cnd);
  lundi_tensor *x = lundi_full(2, (int64_t[]){2, 3}, 1.0f), *t = lundi_full(1, (int64_t[]){2}, 5.0f);

  /* Kind mismatches name both kinds. */
  CHECK_ERR(lundi_scheduler_step(smp, x, 0, x, NULL), "lundi_scheduler_step: 'image' is a sampler, not a scheduler");
  CHECK_ERR(lundi_sampler_sample(s, NULL, NULL), "lundi_sampler_sample: 'toy' is a scheduler, not a sampler");
  CHECK_ERR(lundi_denoiser_forward(cnd, x, t, NULL, NULL), "'class' is a conditioner, not a denoiser");
  CHECK_ERR(lundi_conditioner_null(den, 1, NULL), "'net' is a denoiser, not a conditioner");
  CHECK_ERR(lundi_scheduler_num_steps(NULL), "NULL scheduler instance");
  CHECK(lundi_scheduler_num_train_timesteps(smp) == LUNDI_EINVAL);

  /* Optional functions fall back to their documented defaults. */
  CHECK(lundi_scheduler_init_noise_sigma(s) == 1.0);
  lundi_tensor *sc = lundi_scheduler_scale_model_input(s, x, 0);
  CHECK(sc == x);
  lundi_release(sc);
  lundi_set_error(LUNDI_EIO, "an earlier error");
  CHECK(lundi_scheduler_predict_x0(s, x, 0, x) == NULL);
  CHECK(strcmp(lundi_last_error(), "an earlier error") == 0); /* no error added */
  CHECK(lundi_denoiser_module(den) == NULL && lundi_conditioner_module(cnd) == NULL);
  lundi_cond c = {0};
  CHECK_ERR(lundi_conditioner_encode_text(cnd, (const char *[]){"a cat"}, 1, &c), "conditioner 'class' does not take text prompts");
  CHECK(lundi_conditioner_drop(cnd, &c, NULL) == 0);

  /* Successful calls, and the last error survives them. */
  lundi_set_error(LUNDI_EIO, "an earlier error");
  CHECK(lundi_scheduler_set_timesteps(s, 4) == 0 && lundi_scheduler_num_steps(s) == 4);
  CHECK(lundi_scheduler_timestep(s, 1) == 3.0);
  lundi_tensor *y = lundi_scheduler_step(s, x, 0, x, NULL);
  float v[6] = {0};
  CHECK(y && lundi_read_f32(y, v, 6) == 0 && v[5] == 2.0f);
  CHECK(strcmp(lundi_last_error(), "an earlier error") == 0);
  lundi_release(y);
  lundi_tensor *n = lundi_scheduler_add_noise(s, x, x, t);
  CHECK(n && lundi_read_f32(n, v, 6) == 0 && v[0] == 2.0f);
  lundi_release(n);
  n = lundi_scheduler_target(s, x, t, t); /* target returns noise = t, not x0's shape */
  CHECK(n == NULL && strstr(lundi_last_error(), "scheduler 'toy': target() returned f32[2]"));
  lundi_release(n);

  /* Errors: prefixed once, generic when the plugin said nothing, NaN timesteps. */
  CHECK_ERR(lundi_scheduler_set_timesteps(s, 500), "scheduler 'toy': at most 100 steps");
  CHECK(strncmp(lundi_last_error(), "scheduler 'toy': scheduler", 26) != 0);
  CHECK_ERR(lundi_scheduler_set_timesteps(s, 0), "scheduler 'toy': the number of inference steps must be at least 1");
  CHECK_ERR(lundi_scheduler_timestep(s, 4), "scheduler 'toy': step 4 is past the end");
  CHECK(isnan(lundi_scheduler_timestep(s, 4)));
  CHECK(isnan(lundi_scheduler_timestep(s, -1)));
  lundi_set_error(LUNDI_EIO, "stale message");
  CHECK(lundi_scheduler_step(s, x, 99, x, NULL) == NULL);
  CHECK(strcmp(lundi_last_error(), "scheduler 'toy': step() failed without an error message") == 0);
  CHECK_ERR(lundi_scheduler_step(s, x, 98, x, NULL), "scheduler 'toy': step() returned f32[3]");
  CHECK_ERR(lundi_scheduler_step(s, NULL, 0, x, NULL), "lundi_scheduler_step: model_out is NULL");
  CHECK_ERR(lundi_scheduler_add_noise(s, x, NULL, t), "noise is NULL");

  /* Denoiser, conditioner and sampler pass-through. */
  lundi_tensor *o = lundi_denoiser_forward(den, x, t, NULL, NULL);
  CHECK(o == x);
  lundi_release(o);
  lundi_tensor *lab = lundi_from_i32(1, (int64_t[]){2}, (int32_t[]){3, 4});
  CHECK(lundi_conditioner_encode(cnd, lab, &c) == 0 && c.labels == lab);
  lundi_cond u = {0};
  CHECK(lundi_conditioner_null(cnd, 2, &u) == 0 && u.labels);
  CHECK_ERR(lundi_conditioner_null(cnd, 0, &u), "null condition for a batch of 0");
  lundi_cond_clear(&c);
  lundi_cond_clear(&u);
  CHECK(c.labels == NULL);
  lundi_rng rng = lundi_rng_make(1);
  lundi_pipeline_parts parts = {s, den, NULL};
  lundi_sample_request req = {.batch = 2, .ndim = 2, .shape = {4, 5}, .rng = &rng};
  lundi_tensor *img = lundi_sampler_sample(smp, &parts, &req);
  CHECK(img && lundi_ndim(img) == 3 && lundi_dim(img, 2) == 5);
  lundi_release(img);
  parts.denoiser = cnd;
  CHECK_ERR(lundi_sampler_sample(smp, &parts, &req), "the pipeline's denoiser slot holds 'class', which is a conditioner");
  parts.denoiser = den;
  req.rng = NULL;
  CHECK_ERR(lundi_sampler_sample(smp, &parts, &req), "sampler 'image': the sample request needs an rng");

  lundi_release(x);
  lundi_release(t);
  lundi_release(lab);
  lundi_instance_free(s);
  lundi_instance_free(smp);
  lundi_instance_free(den);
  lundi_instance_free(cnd);
  lundi_registry_free(r);
}

static void cond_cat(void) {
  int64_t live0 = lundi_live_tensors();
  lundi_cond a = {0}, b = {0}, out;
  a.labels = lundi_from_i32(1, (int64_t[]){2}, (int32_t[]){1, 2});
  b.labels = lundi_from_i32(1, (int64_t[]){1}, (int32_t[]){9});
  a.context = lundi_full(3, (int64_t[]){2, 1, 2}, 1.0f);
  b.context = lundi_full(3, (int64_t[]){1, 1, 2}, 2.0f);
  memset(&out, 0xff, sizeof out); /* out may be uninitialised */
  CHECK(lundi_cond_cat(&a, &b, &out) == 0);
  float v[6];
  CHECK(lundi_tensor_dtype(out.labels) == LUNDI_I32 && lundi_numel(out.labels) == 3);
  CHECK(lundi_read_f32(out.labels, v, 3) == 0 && v[0] == 1 && v[1] == 2 && v[2] == 9);
  CHECK(lundi_dim(out.context, 0) == 3 && lundi_read_f32(out.context, v, 6) == 0 && v[3] == 1 && v[4] == 2);
  CHECK(out.mask == NULL && out.vector == NULL);
  lundi_cond_clear(&out);
  /* out aliasing an input replaces it (the old references are dropped, no leak). */
  CHECK(lundi_cond_cat(&a, &b, &a) == 0 && lundi_numel(a.labels) == 3);
  b.vector = lundi_zeros(2, (int64_t[]){1, 4});
  CHECK_ERR(lundi_cond_cat(&a, &b, &out), "field 'vector' is set in the second condition but not the first");
  lundi_release(b.context);
  b.context = lundi_full(3, (int64_t[]){1, 2, 2}, 2.0f);
  lundi_release(b.vector);
  b.vector = NULL;
  CHECK_ERR(lundi_cond_cat(&a, &b, &out), "lundi_cond_cat: field 'context': concat");
  lundi_cond_clear(&a);
  lundi_cond_clear(&b);
  lundi_cond_clear(NULL);
  CHECK(lundi_live_tensors() == live0); /* nothing leaked, aliasing included */
}

/* ---- shared objects ---- */
static const char *env_path(const char *var) {
  const char *p = getenv(var);
  if (!p) {
    fprintf(stderr, "%s is not set (run through meson test)\n", var);
    t_failures++;
  }
  return p;
}

/* Checks flow_euler's closed forms and a few Euler steps against hand computation. */
static void check_flow_euler(lundi_registry *r, const char *path) {
  const lundi_plugin *p = lundi_registry_find(r, LUNDI_SCHEDULER, "flow_euler");
  CHECK(p != NULL);
  if (!p) return;
  CHECK(strcmp(lundi_plugin_origin(p), path) == 0);
  CHECK(lundi_plugin_info(p)->n_params == 3);
  lundi_instance *s = lundi_instance_new(p, NULL);
  CHECK(s && lundi_scheduler_num_train_timesteps(s) == 1000);
  if (!s) return;
  float x0v[4] = {1, -2, 0.5f, 3}, nv[4] = {0.25f, 1, -1, 2};
  lundi_tensor *x0 = lundi_from_f32(2, (int64_t[]){2, 2}, x0v), *noise = lundi_from_f32(2, (int64_t[]){2, 2}, nv);
  lundi_tensor *t = lundi_from_f32(1, (int64_t[]){2}, (float[]){250, 1000});
  lundi_tensor *xt = lundi_scheduler_add_noise(s, x0, noise, t), *v = lundi_scheduler_target(s, x0, noise, t);
  float a[4], b[4];
  CHECK(xt && v && lundi_read_f32(xt, a, 4) == 0 && lundi_read_f32(v, b, 4) == 0);
  for (int i = 0; i < 4; i++) {
    double sg = i < 2 ? 0.25 : 1.0;
    CHECK_NEAR(a[i], (1 - sg) * x0v[i] + sg * nv[i], 1e-6);
    CHECK_NEAR(b[i], nv[i] - x0v[i], 1e-6);
  }
  lundi_tensor *tbad = lundi_from_f32(1, (int64_t[]){2}, (float[]){-1, 3});
  CHECK_ERR(lundi_scheduler_add_noise(s, x0, noise, tbad), "scheduler 'flow_euler': add_noise: t[0] = -1 is outside [0, 1000]");
  CHECK_ERR(lundi_scheduler_add_noise(s, x0, noise, x0), "t must be f32 [2]");
  CHECK_ERR(lundi_scheduler_timestep(s, 0), "scheduler 'flow_euler': timestep: call set_timesteps first");

  /* 4 steps, shift 1: s = 1, .75, .5, .25, 0. With the exact velocity the straight path
   * lands on x0; with a fixed made-up v each step adds (s_next - s) v = -0.25 v. */
  CHECK(lundi_scheduler_set_timesteps(s, 4) == 0 && lundi_scheduler_num_steps(s) == 4);
  CHECK_NEAR(lundi_scheduler_timestep(s, 0), 1000, 1e-9);
  CHECK_NEAR(lundi_scheduler_timestep(s, 3), 250, 1e-9);
  CHECK(lundi_scheduler_init_noise_sigma(s) == 1.0);
  lundi_tensor *x = lundi_retain(noise);
  for (int i = 0; i < 4 && x; i++) {
    lundi_tensor *nx = lundi_scheduler_step(s, v, i, x, NULL);
    lundi_release(x);
    x = nx;
  }
  CHECK(x && lundi_read_f32(x, a, 4) == 0);
  for (int i = 0; i < 4; i++) CHECK_NEAR(a[i], x0v[i], 1e-5);
  lundi_release(x);
  lundi_tensor *made = lundi_from_f32(2, (int64_t[]){2, 2}, (float[]){1, 2, 3, 4});
  lundi_tensor *x1 = lundi_scheduler_step(s, made, 1, noise, NULL);
  CHECK(x1 && lundi_read_f32(x1, a, 4) == 0);
  for (int i = 0; i < 4; i++) CHECK_NEAR(a[i], nv[i] - 0.25 * (i + 1), 1e-6);
  lundi_tensor *x0p = lundi_scheduler_predict_x0(s, made, 2, noise); /* x - 0.5 v */
  CHECK(x0p && lundi_read_f32(x0p, a, 4) == 0);
  for (int i = 0; i < 4; i++) CHECK_NEAR(a[i], nv[i] - 0.5 * (i + 1), 1e-6);
  CHECK_ERR(lundi_scheduler_step(s, made, 4, noise, NULL), "step: step 4 is outside [0, 4)");
  CHECK_ERR(lundi_scheduler_step(s, t, 0, noise, NULL), "does not match x");
  lundi_release(x1);
  lundi_release(x0p);
  lundi_instance_free(s);

  /* shift 3 maps s = .5 to 1.5 / 2 = .75; trailing starts at the last trained timestep. */
  lundi_params *pp = lundi_plugin_params(p);
  CHECK(lundi_params_set(pp, "shift", "3") == 0 && lundi_params_set(pp, "timestep_spacing", "trailing") == 0);
  CHECK_ERR(lundi_params_set(pp, "shift", "0.01"), "scheduler 'flow_euler': parameter 'shift' must be in the range [0.1, 100]");
  s = lundi_instance_new(p, pp);
  CHECK(s && lundi_scheduler_set_timesteps(s, 2) == 0);
  double top = 0.999, mid = 0.999 * 0.5;
  CHECK_NEAR(lundi_scheduler_timestep(s, 0), 1000 * (3 * top / (1 + 2 * top)), 1e-9);
  CHECK_NEAR(lundi_scheduler_timestep(s, 1), 1000 * (3 * mid / (1 + 2 * mid)), 1e-9);
  lundi_params_free(pp);
  lundi_instance_free(s);
  lundi_release(x0);
  lundi_release(noise);
  lundi_release(t);
  lundi_release(tbad);
  lundi_release(v);
  lundi_release(xt);
  lundi_release(made);
}

static void load_flow_euler(void) {
  const char *path = env_path("LUNDI_TEST_FLOW_SO");
  if (!path) return;
  lundi_registry *r = lundi_registry_new();
  CHECK(lundi_registry_load_file(r, path) == 0);
  CHECK(lundi_registry_count(r) == 1);
  check_flow_euler(r, path);
  /* The same file again, under another name too: loaded once, and the first stays usable. */
  CHECK(lundi_registry_load_file(r, path) == 0);
  char again[PATH_MAX + 8];
  const char *slash = strrchr(path, '/');
  if (slash) snprintf(again, sizeof again, "%.*s/./%s", (int)(slash - path), path, slash + 1);
  else snprintf(again, sizeof again, "./%s", path);
  CHECK(lundi_registry_load_file(r, again) == 0);
  CHECK(lundi_registry_count(r) == 1);
  lundi_instance *s = lundi_instance_create(r, LUNDI_SCHEDULER, "flow_euler", NULL);
  CHECK(s && lundi_scheduler_num_train_timesteps(s) == 1000);
  lundi_instance_free(s);
  lundi_registry_free(r);
}

/* A copy built out of tree with pkg-config (tests/plugin/out_of_tree.sh). */
static void load_external(void) {
  const char *path = getenv("LUNDI_TEST_EXTERNAL_SO");
  if (!path) {
    printf("load_external: skipped (only run by out_of_tree.sh)\n");
    return;
  }
  lundi_registry *r = lundi_registry_new();
  CHECK(lundi_registry_load_file(r, path) == 0);
  check_flow_euler(r, path);
  lundi_registry_free(r);
}

static void abi_mismatch(void) {
  const char *path = env_path("LUNDI_TEST_WRONG_ABI_SO");
  if (!path) return;
  unsetenv("LUNDI_TEST_INIT_RAN");
  lundi_registry *r = lundi_registry_new();
  char want[600];
  snprintf(want, sizeof want, "%s was built for lundi plugin ABI %d, but this lundi uses ABI %d; rebuild it", path,
           LUNDI_ABI_VERSION + 1, LUNDI_ABI_VERSION);
  CHECK_ERR(lundi_registry_load_file(r, path), want);
  CHECK(lundi_last_error_code() == LUNDI_EUNSUPPORTED);
  CHECK(getenv("LUNDI_TEST_INIT_RAN") == NULL); /* nothing in the file ran */
  CHECK(lundi_registry_count(r) == 0);
  lundi_registry_free(r);
}

static void not_a_plugin(void) {
  const char *path = env_path("LUNDI_TEST_NOT_PLUGIN_SO"), *noinit = env_path("LUNDI_TEST_NO_INIT_SO");
  if (!path || !noinit) return;
  lundi_registry *r = lundi_registry_new();
  char want[600];
  snprintf(want, sizeof want,
           "%s is not a lundi plugin: it does not export lundi_plugin_abi_version (build it with LUNDI_PLUGIN_ENTRY)", path);
  CHECK_ERR(lundi_registry_load_file(r, path), want);
  CHECK_ERR(lundi_registry_load_file(r, noinit), "but no lundi_plugin_init() entry point");
  CHECK_ERR(lundi_registry_load_file(r, "/nonexistent/dir/x.so"), "cannot load plugin /nonexistent/dir/x.so: ");
  CHECK(strstr(lundi_last_error(), "No such file"));
  CHECK_ERR(lundi_registry_load_file(r, "nothere.so"), "cannot load plugin nothere.so (opened as ./nothere.so): cannot open");
  /* A file that is not a shared object at all. */
  char tmp[] = "/tmp/lundi_test_XXXXXX";
  int fd = mkstemp(tmp);
  CHECK(fd >= 0 && write(fd, "-- just text\n", 13) == 13);
  close(fd);
  CHECK_ERR(lundi_registry_load_file(r, tmp), "cannot load plugin /tmp/lundi_test_");
  unlink(tmp);
  CHECK_ERR(lundi_registry_load_file(r, NULL), "NULL path");
  CHECK(lundi_registry_count(r) == 0);
  lundi_registry_free(r);
}

static void failing_entry_rollback(void) {
  const char *path = env_path("LUNDI_TEST_FAILING_SO"), *flow = env_path("LUNDI_TEST_FLOW_SO");
  if (!path || !flow) return;
  unsetenv("LUNDI_TEST_RELEASED");
  lundi_registry *r = lundi_registry_new();
  CHECK(lundi_registry_load_file(r, flow) == 0);
  CHECK_ERR(lundi_registry_load_file(r, path), "failed to initialise (nothing registered from it): the test module refuses");
  CHECK(strstr(lundi_last_error(), path) != NULL);
  CHECK(lundi_registry_count(r) == 1); /* flow_euler only: from_test_module was rolled back */
  CHECK(lundi_registry_find(r, LUNDI_SCHEDULER, "from_test_module") == NULL);
  const char *rel = getenv("LUNDI_TEST_RELEASED");
  CHECK(rel && strcmp(rel, "rolled_back") == 0); /* its release_user ran before dlclose */
  lundi_registry_free(r);
}

/* A fresh directory holding symlinks name -> target (NULL-terminated pairs). */
static void make_dir(char *dir, const char *const *links) {
  CHECK(mkdtemp(dir) != NULL);
  for (int i = 0; links[i]; i += 2) {
    char lp[PATH_MAX];
    snprintf(lp, sizeof lp, "%s/%s", dir, links[i]);
    CHECK(symlink(links[i + 1], lp) == 0);
  }
}

static void remove_dir(const char *dir, const char *const *links) {
  for (int i = 0; links[i]; i += 2) {
    char lp[PATH_MAX];
    snprintf(lp, sizeof lp, "%s/%s", dir, links[i]);
    unlink(lp);
  }
  rmdir(dir);
}

static void plugin_path(void) {
  const char *flow = env_path("LUNDI_TEST_FLOW_SO"), *bad = env_path("LUNDI_TEST_NOT_PLUGIN_SO");
  if (!flow || !bad) return;
  char good[] = "/tmp/lundi_pp_good_XXXXXX", mixed[] = "/tmp/lundi_pp_mixed_XXXXXX";
  const char *good_links[] = {"flow_euler.so", flow, "readme.txt", bad, NULL};
  /* Enough bad files that an unsorted directory order would very likely hit another first. */
  const char *mixed_links[] = {"e_bad.so", bad, "b_bad.so", bad, "d_bad.so", bad, "a_flow.so", flow,
                               "c_bad.so", bad, "f_bad.so", bad, NULL};
  make_dir(good, good_links);
  make_dir(mixed, mixed_links);

  lundi_registry *r = lundi_registry_new();
  unsetenv("LUNDI_PLUGIN_PATH");
  CHECK(lundi_registry_load_path(r, NULL) == 0 && lundi_registry_count(r) == 0);
  char env[300];
  snprintf(env, sizeof env, "::%s:", good); /* empty entries are skipped */
  setenv("LUNDI_PLUGIN_PATH", env, 1);
  CHECK(lundi_registry_load_path(r, NULL) == 0);
  CHECK(lundi_registry_count(r) == 1); /* only *.so files are loaded */
  const lundi_plugin *p = lundi_registry_find(r, LUNDI_SCHEDULER, "flow_euler");
  char want[PATH_MAX];
  snprintf(want, sizeof want, "%s/flow_euler.so", good);
  CHECK(p && strcmp(lundi_plugin_origin(p), want) == 0);
  lundi_registry_free(r);

  /* A missing directory is named; files load in sorted order and loading stops at the
   * first bad one (a_flow.so is in, b_bad.so is the error). */
  r = lundi_registry_new();
  setenv("LUNDI_PLUGIN_PATH", "/nonexistent/lundi/plugins", 1);
  CHECK_ERR(lundi_registry_load_path(r, NULL), "LUNDI_PLUGIN_PATH: cannot open plugin directory '/nonexistent/lundi/plugins'");
  CHECK_ERR(lundi_registry_load_path(r, mixed), "b_bad.so is not a lundi plugin");
  CHECK(lundi_registry_count(r) == 1 && lundi_registry_find(r, LUNDI_SCHEDULER, "flow_euler"));
  lundi_registry_free(r);
  unsetenv("LUNDI_PLUGIN_PATH");
  remove_dir(good, good_links);
  remove_dir(mixed, mixed_links);
}

typedef struct warnings {
  int n;
  char last[512];
} warnings;

static void note_warning(void *ud, const char *message) {
  warnings *w = ud;
  w->n++;
  snprintf(w->last, sizeof w->last, "%s", message);
}

/* scan_path: a missing directory and bad files are warned about and skipped; the good
 * files of every directory load. */
static void plugin_path_scan(void) {
  const char *flow = env_path("LUNDI_TEST_FLOW_SO"), *bad = env_path("LUNDI_TEST_NOT_PLUGIN_SO");
  if (!flow || !bad) return;
  char mixed[] = "/tmp/lundi_pp_scan_XXXXXX";
  const char *links[] = {"a_bad.so", bad, "b_flow.so", flow, "c_bad.so", bad, NULL};
  make_dir(mixed, links);
  char dirs[256];
  snprintf(dirs, sizeof dirs, "/nonexistent/lundi/plugins:%s", mixed);
  lundi_registry *r = lundi_registry_new();
  warnings w = {0};
  CHECK(lundi_registry_scan_path(r, dirs, note_warning, &w) == 0);
  CHECK(w.n == 3);
  CHECK(strstr(w.last, "c_bad.so is not a lundi plugin") != NULL);
  CHECK(lundi_registry_count(r) == 1 && lundi_registry_find(r, LUNDI_SCHEDULER, "flow_euler"));
  CHECK(lundi_registry_load_file(r, flow) == 0 && lundi_registry_count(r) == 1); /* already there */
  CHECK_ERR(lundi_registry_scan_path(r, dirs, NULL, NULL), "NULL warning function");
  lundi_registry_free(r);
  remove_dir(mixed, links);
}

static void builtins(void) {
  lundi_registry *r = lundi_registry_new();
  CHECK(lundi_registry_load_builtins(r) == 0);
  int n = lundi_registry_count(r);
  for (int i = 0; i < n; i++) CHECK(strcmp(lundi_plugin_origin(lundi_registry_at(r, i)), "builtin") == 0);
  if (n > 0) CHECK_ERR(lundi_registry_load_builtins(r), "is already registered (from builtin)");
  CHECK(lundi_registry_count(r) == n);
  lundi_registry_free(r);
}

static const test_case TESTS[] = {
    {"registration_and_listing", registration_and_listing},
    {"schema_validation", schema_validation},
    {"params_json", params_json},
    {"bad_descriptors", bad_descriptors},
    {"duplicate_names", duplicate_names},
    {"instances", instances},
    {"call_wrappers", call_wrappers},
    {"cond_cat", cond_cat},
    {"load_flow_euler", load_flow_euler},
    {"plugin_path_scan", plugin_path_scan},
    {"load_external", load_external},
    {"abi_mismatch", abi_mismatch},
    {"not_a_plugin", not_a_plugin},
    {"failing_entry_rollback", failing_entry_rollback},
    {"plugin_path", plugin_path},
    {"builtins", builtins},
};
TEST_MAIN(TESTS)
