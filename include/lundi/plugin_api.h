/* One description per plugin kind: the functions of each kind's table, in table order.
 * lundi/plugin.h builds the lundi_<kind>_api structs and declares the checked call wrappers
 * from it; the registry's check of required functions (runtime/plugin/registry.c), the call
 * wrappers (runtime/plugin/calls.c) and the trampolines that let a Lua table be a plugin
 * (runtime/lua/lregister.c) come from it too.
 *
 * LUNDI_<KIND>_API(X, S) calls X(kind, ret, name, params, args, need, lua, wrap) for each
 * function, S being the self parameter of params (void *self in the tables):
 *   ret name params  the function's declaration
 *   args   the names of params, self first (the trampolines pass them to a Lua plugin's
 *          function, leaving out lundi_cond * results; the call wrappers to the plugin's)
 *   need   REQUIRED (lundi_register refuses a table without it) or OPTIONAL (may be NULL)
 *   lua    how a Lua plugin's result comes back: TENSOR, COUNT (a non-negative integer),
 *          STATUS (nothing; 0), NUMBER, MODULE (a Module or nil), COND (a cond table, into
 *          *out), or CUSTOM (lregister.c has a hand-written trampoline lt_<kind>_<name>)
 *   wrap   the checked call lundi_<kind>_<name>(lundi_instance *, ...): LIKE(arg) (a tensor
 *          of arg's shape), ANY (a tensor of any shape), COUNT(min) (an int >= min), MODULE
 *          (borrowed; NULL when none), CUSTOM (hand-written in calls.c, declared in plugin.h)
 *          or NONE. Generated ones refuse NULL tensors, NULL lundi_cond * and NULL string
 *          arrays, and return NULL / 0 without an error when an OPTIONAL function is absent.
 * The order is the ABI (LUNDI_ABI_VERSION): append, never reorder. docs/writing-plugins.md
 * ("Adding a function to a kind") says what a new function needs. */
#ifndef LUNDI_PLUGIN_API_H
#define LUNDI_PLUGIN_API_H

/* t: f32 [N] of training timesteps, integers in [0, num_train_timesteps) (the masked
 *   scheduler, num_train_timesteps 1: fractions in [0, 1], sampled t ~ U(0, 1)).
 * add_noise: q(x_t | x_0) in closed form, x_t from x0 and noise of x0's shape.
 * target: the regression target for the denoiser at t (eps, x0 or v, by prediction_type).
 * set_timesteps: sampling; chooses the inference timesteps.
 * num_steps: model evaluations after set_timesteps (Heun: about 2x).
 * timestep: what the denoiser is given at step i; NaN on error.
 * init_noise_sigma: std of x_T; optional (1).
 * scale_model_input: optional (identity).
 * step: one reverse step, x at step i and the model output there -> x at step i + 1; rng may
 *   be NULL for deterministic schedulers.
 * predict_x0: the clean-sample estimate x0 implied by model_out at step i; optional (for
 *   previews: the wrapper gives NULL, and no error, when the scheduler has none).
 * noise_to_step: img2img (SDEdit), sampling that starts at inference step k (0 <= k < n, the
 *   n given to set_timesteps) from a clean sample x0. Returns x0 noised with noise (standard
 *   normal, x0's shape) to step k's noise level, in the form step() expects there, and sets
 *   *begin to the evaluation index at which step k starts (k; 2k for Heun's two evaluations
 *   per step). Optional: without it *begin = k, allowed only when num_steps() == n, and the
 *   sample is add_noise(x0, noise, timestep(k)), which is right only for schedulers whose
 *   sample is the model's input x_t; a scheduler with scale_model_input or
 *   init_noise_sigma != 1 is refused.
 * loss: training; the scalar loss of model_out against x0 at t with the given noise, with
 *   gradient through model_out. Optional: its wrapper lundi_scheduler_loss defaults to
 *   lundi_mse_loss(model_out, target(x0, noise, t)), the image schedulers' simple loss. */
#define LUNDI_SCHEDULER_API(X, S)                                                                \
  X(scheduler, int, num_train_timesteps, (S), (self), REQUIRED, COUNT, COUNT(1))                 \
  X(scheduler, lundi_tensor *, add_noise, (S, lundi_tensor *x0, lundi_tensor *noise, lundi_tensor *t), \
    (self, x0, noise, t), REQUIRED, TENSOR, LIKE(x0))                                            \
  X(scheduler, lundi_tensor *, target, (S, lundi_tensor *x0, lundi_tensor *noise, lundi_tensor *t), \
    (self, x0, noise, t), REQUIRED, TENSOR, LIKE(x0))                                            \
  X(scheduler, int, set_timesteps, (S, int num_inference_steps), (self, num_inference_steps),     \
    REQUIRED, STATUS, CUSTOM)                                                                    \
  X(scheduler, int, num_steps, (S), (self), REQUIRED, COUNT, COUNT(0))                           \
  X(scheduler, double, timestep, (S, int i), (self, i), REQUIRED, NUMBER, CUSTOM)                \
  X(scheduler, double, init_noise_sigma, (S), (self), OPTIONAL, NUMBER, CUSTOM)                  \
  X(scheduler, lundi_tensor *, scale_model_input, (S, lundi_tensor *x, int i), (self, x, i),     \
    OPTIONAL, TENSOR, CUSTOM)                                                                    \
  X(scheduler, lundi_tensor *, step, (S, lundi_tensor *model_out, int i, lundi_tensor *x, lundi_rng *rng), \
    (self, model_out, i, x, rng), REQUIRED, TENSOR, LIKE(x))                                     \
  X(scheduler, lundi_tensor *, predict_x0, (S, lundi_tensor *model_out, int i, lundi_tensor *x), \
    (self, model_out, i, x), OPTIONAL, TENSOR, LIKE(x))                                          \
  X(scheduler, lundi_tensor *, noise_to_step, (S, lundi_tensor *x0, lundi_tensor *noise, int k, int *begin), \
    (self, x0, noise, k, begin), OPTIONAL, CUSTOM, NONE)                                         \
  X(scheduler, lundi_tensor *, loss, (S, lundi_tensor *model_out, lundi_tensor *x0, lundi_tensor *noise, \
    lundi_tensor *t), (self, model_out, x0, noise, t), OPTIONAL, TENSOR, CUSTOM)

/* forward: x [N, ...] noisy input (or token ids), t f32 [N]; cond may be NULL. rng drives
 *   dropout. The output's shape is the model's business (learned variance, token logits).
 * module: borrowed parameters; optional (none). */
#define LUNDI_DENOISER_API(X, S)                                                                 \
  X(denoiser, lundi_tensor *, forward, (S, lundi_tensor *x, lundi_tensor *t, const lundi_cond *cond, \
    lundi_rng *rng), (self, x, t, cond, rng), REQUIRED, TENSOR, ANY)                             \
  X(denoiser, lundi_module *, module, (S), (self), OPTIONAL, MODULE, MODULE)

/* encode: a batch of conditions given as a tensor (i32 labels, f32 observations) -> out.
 * encode_text: text prompts -> out; optional.
 * null_cond: the null condition for a batch of n (classifier-free guidance's unconditional
 *   branch); its wrapper is lundi_conditioner_null.
 * drop: training; replaces rows of cond by the null condition with the plugin's drop
 *   probability; optional (no dropout).
 * module: borrowed learned parameters; optional (none). */
#define LUNDI_CONDITIONER_API(X, S)                                                              \
  X(conditioner, int, encode, (S, lundi_tensor *input, lundi_cond *out), (self, input, out),     \
    REQUIRED, COND, COUNT(0))                                                                    \
  X(conditioner, int, encode_text, (S, const char *const *prompts, int n, lundi_cond *out),      \
    (self, prompts, n, out), OPTIONAL, CUSTOM, CUSTOM)                                           \
  X(conditioner, int, null_cond, (S, int n, lundi_cond *out), (self, n, out), REQUIRED, COND,    \
    CUSTOM)                                                                                      \
  X(conditioner, int, drop, (S, lundi_cond *cond, lundi_rng *rng), (self, cond, rng), OPTIONAL,  \
    CUSTOM, COUNT(0))                                                                            \
  X(conditioner, lundi_module *, module, (S), (self), OPTIONAL, MODULE, MODULE)

/* sample: noise to result. Guidance scale, step count and the like are the sampler's params. */
#define LUNDI_SAMPLER_API(X, S)                                                                  \
  X(sampler, lundi_tensor *, sample, (S, const lundi_pipeline_parts *parts,                      \
    const lundi_sample_request *req), (self, parts, req), REQUIRED, CUSTOM, CUSTOM)

/* Every kind: Y(KIND, kind, LUNDI_<KIND>_API). */
#define LUNDI_PLUGIN_KINDS(Y)                                                                    \
  Y(SCHEDULER, scheduler, LUNDI_SCHEDULER_API)                                                   \
  Y(DENOISER, denoiser, LUNDI_DENOISER_API)                                                      \
  Y(CONDITIONER, conditioner, LUNDI_CONDITIONER_API)                                             \
  Y(SAMPLER, sampler, LUNDI_SAMPLER_API)

/* A field of a kind's table. */
#define LUNDI_API_FIELD(kind, ret, name, params, args, need, lua, wrap) ret(*name) params;

/* The declaration of a generated call wrapper (wrap other than CUSTOM and NONE). */
#define LUNDI_API_WRAP_DECL(kind, ret, name, params, args, need, lua, wrap) LUNDI_API_DECL_##wrap(kind, ret, name, params)
#define LUNDI_API_DECL_LIKE(a) LUNDI_API_DECL_ONE
#define LUNDI_API_DECL_COUNT(m) LUNDI_API_DECL_ONE
#define LUNDI_API_DECL_ANY LUNDI_API_DECL_ONE
#define LUNDI_API_DECL_MODULE LUNDI_API_DECL_ONE
#define LUNDI_API_DECL_CUSTOM LUNDI_API_DECL_NOTHING
#define LUNDI_API_DECL_NONE LUNDI_API_DECL_NOTHING
#define LUNDI_API_DECL_ONE(kind, ret, name, params) ret lundi_##kind##_##name params;
#define LUNDI_API_DECL_NOTHING(kind, ret, name, params)
#define LUNDI_API_WRAP_DECLS(K, kind, LIST) LIST(LUNDI_API_WRAP_DECL, lundi_instance *inst)

#endif
