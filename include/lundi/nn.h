/* Training primitives: modules, optimiser, LR schedules, clipping, EMA, checkpoints. */
#ifndef LUNDI_NN_H
#define LUNDI_NN_H

#include "lundi/ops.h"

#ifdef __cplusplus
extern "C" {
#endif

/* ---- named parameter lists ----
 * Owns one reference per tensor and a copy of each name. */
typedef struct lundi_param_list {
  int n, cap;
  lundi_tensor **tensors;
  char **names;
} lundi_param_list;
int lundi_param_list_push(lundi_param_list *l, const char *name, lundi_tensor *t); /* retains t */
lundi_tensor *lundi_param_list_find(const lundi_param_list *l, const char *name); /* borrowed */
void lundi_param_list_free(lundi_param_list *l); /* releases and zeroes */
int64_t lundi_param_list_numel(const lundi_param_list *l);
void lundi_param_list_sort(lundi_param_list *l); /* by name (strcmp), stable: a reproducible order */
/* Appends t named by its 1-based position ("1", "2", ...): a plain list of tensors. */
int lundi_param_list_push_next(lundi_param_list *l, lundi_tensor *t);

/* ---- modules ----
 * A module owns named parameters and named children. Built-in layers are modules whose
 * type name says which forward to call; containers (a whole U-Net) add children. */
typedef struct lundi_module lundi_module;
lundi_module *lundi_module_new(const char *type_name);
void lundi_module_free(lundi_module *m); /* children too; NULL is fine */
const char *lundi_module_type(const lundi_module *m);
int lundi_module_add_param(lundi_module *m, const char *name, lundi_tensor *t); /* retains */
int lundi_module_add_child(lundi_module *m, const char *name, lundi_module *child); /* owns */
lundi_tensor *lundi_module_param(const lundi_module *m, const char *path); /* "a.b.weight" */
lundi_module *lundi_module_child(const lundi_module *m, const char *path);
/* Appends every parameter, depth first, with dotted names. */
int lundi_module_parameters(const lundi_module *m, lundi_param_list *out);
int64_t lundi_module_numel(const lundi_module *m);
void lundi_module_zero_grad(lundi_module *m);
/* Moves every parameter to dev in place (lundi_move_to_device_), children too. */
int lundi_module_to(lundi_module *m, lundi_device *dev);
/* The device of the first parameter, depth first; NULL for a module without any. */
lundi_device *lundi_module_device(const lundi_module *m);
void lundi_module_set_training(lundi_module *m, int training); /* recursive */
int lundi_module_training(const lundi_module *m);
/* "<type>(<n> tensors, <numel> parameters[, <note>])" into buf (cap bytes, truncated); 0 or
 * the error of collecting the parameters. */
int lundi_module_describe(const lundi_module *m, const char *note, char *buf, size_t cap);

/* Built-in layers. Initialisation follows PyTorch's defaults (kaiming-uniform a=sqrt(5)). */
lundi_module *lundi_linear_new(int in, int out, int bias, lundi_rng *rng);
lundi_tensor *lundi_linear_forward(lundi_module *m, lundi_tensor *x);
lundi_module *lundi_conv2d_new(int cin, int cout, int kernel, const lundi_conv_params *p,
                               int bias, lundi_rng *rng);
lundi_tensor *lundi_conv2d_forward(lundi_module *m, lundi_tensor *x);
lundi_module *lundi_conv1d_new(int cin, int cout, int kernel, const lundi_conv_params *p,
                               int bias, lundi_rng *rng);
lundi_tensor *lundi_conv1d_forward(lundi_module *m, lundi_tensor *x);
lundi_module *lundi_group_norm_new(int groups, int channels, float eps);
lundi_tensor *lundi_group_norm_forward(lundi_module *m, lundi_tensor *x);
lundi_module *lundi_layer_norm_new(int dim, float eps, int affine);
lundi_tensor *lundi_layer_norm_forward(lundi_module *m, lundi_tensor *x);
lundi_module *lundi_rms_norm_new(int dim, float eps);
lundi_tensor *lundi_rms_norm_forward(lundi_module *m, lundi_tensor *x);
lundi_module *lundi_embedding_new(int num, int dim, lundi_rng *rng);
lundi_tensor *lundi_embedding_forward(lundi_module *m, lundi_tensor *idx);
/* Multi-head attention with q/k/v/out projections. kv_dim 0 means dim (self-attention). */
lundi_module *lundi_mha_new(int dim, int heads, int kv_dim, int bias, lundi_rng *rng);
/* x [B, L, dim]; ctx [B, S, kv_dim] or NULL for self-attention; mask is added to the
 * [B, heads, L, S] scores as in lundi_sdpa, except that a 3-D mask is per batch
 * ([B, L or 1, S], e.g. key padding with -INFINITY) and gets the head axis inserted. */
lundi_tensor *lundi_mha_forward(lundi_module *m, lundi_tensor *x, lundi_tensor *ctx,
                                lundi_tensor *mask, int causal);
/* The forward of a built-in layer by its type name; ctx, mask and causal are for
 * MultiheadAttention (ignored by the others). Any other type is an error. */
lundi_tensor *lundi_layer_forward(lundi_module *m, lundi_tensor *x, lundi_tensor *ctx, lundi_tensor *mask, int causal);

/* The built-in layers by type name, for front-ends that build them from a name and values
 * (lundi.nn.Linear(...)): a description says what the constructor reads, in order. */
typedef struct lundi_layer_desc {
  const char *type;            /* "Linear", ... */
  int n_sizes;                 /* leading integers: lundi_layer_args.n[0..n_sizes-1] */
  int conv;                    /* takes lundi_conv_params options besides `options` */
  int context;                 /* forward takes ctx, mask and causal (MultiheadAttention) */
  double eps;                  /* eps's default (norms) */
  const char *const *options;  /* option names, NULL-terminated; NULL: eps is a plain
                                * number after the sizes (GroupNorm) */
} lundi_layer_desc;
typedef struct lundi_layer_args {
  int n[3];
  lundi_conv_params conv;
  float eps;
  int affine, kv_dim, bias; /* kv_dim 0: dim */
  lundi_rng *rng;
} lundi_layer_args;
int lundi_layer_count(void);
const lundi_layer_desc *lundi_layer_desc_at(int i);          /* 0 <= i < count, else NULL */
const lundi_layer_desc *lundi_layer_desc_of(const char *type); /* NULL: not a built-in layer */
/* The defaults: eps = d->eps, affine and bias on, everything else 0 (rng NULL). */
lundi_layer_args lundi_layer_defaults(const lundi_layer_desc *d);
/* The layer type built from a (the fields its constructor takes); EUNSUPPORTED for any other. */
lundi_module *lundi_layer_new(const char *type, const lundi_layer_args *a);

/* Sinusoidal embedding of t [N] -> [N, dim] (cos half then sin half), no grad. */
lundi_tensor *lundi_timestep_embedding(lundi_tensor *t, int dim, float max_period);

/* ---- optimisation ---- */
typedef struct lundi_adamw_config {
  float lr, beta1, beta2, eps, weight_decay; /* decoupled weight decay */
} lundi_adamw_config;
lundi_adamw_config lundi_adamw_defaults(void); /* 1e-3, 0.9, 0.999, 1e-8, 0.01 */
typedef struct lundi_adamw lundi_adamw;
lundi_adamw *lundi_adamw_new(const lundi_param_list *params, lundi_adamw_config cfg);
int lundi_adamw_step(lundi_adamw *o); /* params without a grad are skipped */
int lundi_adamw_set_lr(lundi_adamw *o, float lr); /* lr < 0 is refused (EINVAL), lr unchanged */
float lundi_adamw_lr(const lundi_adamw *o);
int64_t lundi_adamw_step_count(const lundi_adamw *o);
/* Moments as a param list ("exp_avg.<name>", "exp_avg_sq.<name>") plus "step", for resume. */
int lundi_adamw_state(const lundi_adamw *o, lundi_param_list *out);
int lundi_adamw_load_state(lundi_adamw *o, const lundi_param_list *state);
void lundi_adamw_zero_grad(lundi_adamw *o); /* of every parameter it steps */
void lundi_adamw_free(lundi_adamw *o);
/* The state of lundi_adamw_state in a safetensors file, and back. */
int lundi_adamw_save(const lundi_adamw *o, const char *path);
int lundi_adamw_load(lundi_adamw *o, const char *path);
/* "AdamW(lr=<%.14g>, step=<n>)" into buf (cap bytes, truncated); the length it needed. */
int lundi_adamw_describe(const lundi_adamw *o, char *buf, size_t cap);

typedef enum lundi_lr_kind { LUNDI_LR_CONSTANT, LUNDI_LR_LINEAR, LUNDI_LR_COSINE } lundi_lr_kind;
typedef struct lundi_lr_schedule {
  lundi_lr_kind kind;
  float base_lr, min_lr;
  int64_t warmup_steps, total_steps;
} lundi_lr_schedule;
/* Linear warm-up from 0 to base_lr, then constant / linear / cosine decay to min_lr. */
float lundi_lr_at(const lundi_lr_schedule *s, int64_t step);
extern const char *const lundi_lr_kind_names[]; /* "constant", "linear", "cosine", NULL: by kind */
int lundi_lr_kind_parse(const char *name, lundi_lr_kind *kind); /* EINVAL for any other name */
/* EINVAL unless s can run: linear and cosine need total_steps > 0. */
int lundi_lr_schedule_check(const lundi_lr_schedule *s);

/* Scales all grads so their global L2 norm is at most max_norm; reports the norm before. */
int lundi_clip_grad_norm(const lundi_param_list *params, float max_norm, float *total_norm);

typedef struct lundi_ema lundi_ema;
lundi_ema *lundi_ema_new(const lundi_param_list *params, float decay);
int lundi_ema_update(lundi_ema *e, const lundi_param_list *params); /* shadow = d*shadow + (1-d)*p */
int lundi_ema_copy_to(const lundi_ema *e, const lundi_param_list *params);
const lundi_param_list *lundi_ema_shadow(const lundi_ema *e);
void lundi_ema_free(lundi_ema *e);

/* ---- checkpoints: safetensors ----
 * Save writes f32 (or the tensor's storage dtype). Load validates the header length,
 * JSON, dtypes, shapes, offsets (in range, non-overlapping, covering the data) and sizes,
 * and converts f16/bf16 to f32. metadata_json is a flat {"k":"v"} object or NULL.
 * Load appends the tensors in header order, and nothing at all when it fails. */
int lundi_safetensors_save(const char *path, const lundi_param_list *l, const char *metadata_json);
int lundi_safetensors_load(const char *path, lundi_param_list *out);
int lundi_safetensors_load_mem(const uint8_t *buf, size_t n, lundi_param_list *out);
/* Validates path like lundi_safetensors_load and sets *json to its __metadata__ as a flat
 * JSON object ("{}" when absent); free it with free(). */
int lundi_safetensors_metadata(const char *path, char **json);
/* The same metadata as string pairs, so that callers never touch JSON. Save writes keys[i]
 * = values[i] (n pairs, keys distinct; keys NULL: no __metadata__ at all). Read fills *out (owned: free
 * it with lundi_safetensors_meta_free) in the header's order, after validating the file
 * like lundi_safetensors_load. */
typedef struct lundi_safetensors_meta {
  int n;
  char **keys, **values;
} lundi_safetensors_meta;
int lundi_safetensors_save_meta(const char *path, const lundi_param_list *l, const char *const *keys,
                                const char *const *values, int n);
int lundi_safetensors_read_meta(const char *path, lundi_safetensors_meta *out);
void lundi_safetensors_meta_free(lundi_safetensors_meta *m); /* frees and zeroes; NULL is fine */
int lundi_module_save(const lundi_module *m, const char *path);
/* flags: LUNDI_LOAD_STRICT (every module param must be present and no extra names allowed;
 * 1, as the old strict argument was) and LUNDI_LOAD_ALLOW_NONFINITE (load NaN and Inf values
 * instead of refusing the file; the caller may then warn with lundi_param_list_check_finite).
 * A refused file leaves the module untouched. */
#define LUNDI_LOAD_STRICT 1
#define LUNDI_LOAD_ALLOW_NONFINITE 2
int lundi_module_load(lundi_module *m, const char *path, int flags);
/* 0 when every float tensor of l is finite; else LUNDI_EFORMAT naming the first tensor with
 * NaN or Inf, how many such values it holds and the first one's flat index. what prefixes
 * the message. */
int lundi_param_list_check_finite(const lundi_param_list *l, const char *what);

/* Loading by options: strict as LUNDI_LOAD_STRICT, and what NaN or Inf in the file does. */
typedef enum lundi_nonfinite { LUNDI_NONFINITE_ERROR, LUNDI_NONFINITE_WARN } lundi_nonfinite;
extern const char *const lundi_nonfinite_names[]; /* "error", "warn", NULL: by lundi_nonfinite */
typedef struct lundi_load_options {
  int strict;
  lundi_nonfinite nonfinite;
} lundi_load_options;
lundi_load_options lundi_load_defaults(void); /* strict, NaN or Inf refused */
/* lundi_module_load per o. With LUNDI_NONFINITE_WARN a file holding NaN or Inf loads and
 * *warning (malloc'd; free it) says so: "load '<path>': tensor '...' holds ..."; *warning is
 * NULL otherwise. */
int lundi_module_load_opts(lundi_module *m, const char *path, const lundi_load_options *o, char **warning);

#ifdef __cplusplus
}
#endif
#endif
