/* One description per plugin kind: the functions of each kind's table, in table order.
 * Included by lundi/plugin.h, which builds the lundi_<kind>_api structs from it; the registry's
 * check of required functions (runtime/plugin/registry.c) and the trampolines that let a Lua
 * table be a plugin (runtime/lua/lregister.c) come from it too.
 *
 * Each LUNDI_<KIND>_API(X) calls X(kind, ret, name, params, args, need, lua) per function:
 *   ret name params  the function pointer's declaration; params start with void *self
 *   args   the arguments a Lua plugin's function receives, self first
 *   need   REQUIRED (lundi_register refuses a table without it) or OPTIONAL (may be NULL; the
 *          call wrapper applies the default documented here)
 *   lua    how a Lua plugin's result comes back: TENSOR, COUNT (a non-negative integer),
 *          STATUS (nothing; 0), NUMBER, MODULE (a Module or nil), COND (a cond table, into
 *          *out), or CUSTOM (lregister.c has a hand-written trampoline lt_<kind>_<name>)
 * The order is the ABI (LUNDI_ABI_VERSION): append, never reorder. docs/writing-plugins.md
 * ("Adding a function to a kind") says what else a new function needs. */
#ifndef LUNDI_PLUGIN_API_H
#define LUNDI_PLUGIN_API_H

/* t: f32 [N] of training timesteps, integers in [0, num_train_timesteps).
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
 *   previews).
 * noise_to_step: img2img (SDEdit), sampling that starts at inference step k (0 <= k < n, the
 *   n given to set_timesteps) from a clean sample x0. Returns x0 noised with noise (standard
 *   normal, x0's shape) to step k's noise level, in the form step() expects there, and sets
 *   *begin to the evaluation index at which step k starts (k; 2k for Heun's two evaluations
 *   per step). Optional: without it *begin = k, allowed only when num_steps() == n, and the
 *   sample is add_noise(x0, noise, timestep(k)), which is right only for schedulers whose
 *   sample is the model's input x_t; a scheduler with scale_model_input or
 *   init_noise_sigma != 1 is refused. */
#define LUNDI_SCHEDULER_API(X)                                                                   \
  X(scheduler, int, num_train_timesteps, (void *self), (self), REQUIRED, COUNT)                  \
  X(scheduler, lundi_tensor *, add_noise, (void *self, lundi_tensor *x0, lundi_tensor *noise,    \
    lundi_tensor *t), (self, x0, noise, t), REQUIRED, TENSOR)                                    \
  X(scheduler, lundi_tensor *, target, (void *self, lundi_tensor *x0, lundi_tensor *noise,       \
    lundi_tensor *t), (self, x0, noise, t), REQUIRED, TENSOR)                                    \
  X(scheduler, int, set_timesteps, (void *self, int num_inference_steps),                        \
    (self, num_inference_steps), REQUIRED, STATUS)                                               \
  X(scheduler, int, num_steps, (void *self), (self), REQUIRED, COUNT)                            \
  X(scheduler, double, timestep, (void *self, int i), (self, i), REQUIRED, NUMBER)               \
  X(scheduler, double, init_noise_sigma, (void *self), (self), OPTIONAL, NUMBER)                 \
  X(scheduler, lundi_tensor *, scale_model_input, (void *self, lundi_tensor *x, int i),          \
    (self, x, i), OPTIONAL, TENSOR)                                                              \
  X(scheduler, lundi_tensor *, step, (void *self, lundi_tensor *model_out, int i, lundi_tensor *x, \
    lundi_rng *rng), (self, model_out, i, x, rng), REQUIRED, TENSOR)                             \
  X(scheduler, lundi_tensor *, predict_x0, (void *self, lundi_tensor *model_out, int i,          \
    lundi_tensor *x), (self, model_out, i, x), OPTIONAL, TENSOR)                                 \
  X(scheduler, lundi_tensor *, noise_to_step, (void *self, lundi_tensor *x0, lundi_tensor *noise, \
    int k, int *begin), (self, x0, noise, k), OPTIONAL, CUSTOM)

/* forward: x [N, ...] noisy input (or token ids), t f32 [N]; cond may be NULL. rng drives
 *   dropout.
 * module: borrowed parameters; optional (none). */
#define LUNDI_DENOISER_API(X)                                                                    \
  X(denoiser, lundi_tensor *, forward, (void *self, lundi_tensor *x, lundi_tensor *t,            \
    const lundi_cond *cond, lundi_rng *rng), (self, x, t, cond, rng), REQUIRED, TENSOR)          \
  X(denoiser, lundi_module *, module, (void *self), (self), OPTIONAL, MODULE)

/* encode: a batch of conditions given as a tensor (i32 labels, f32 observations) -> out.
 * encode_text: text prompts -> out; optional.
 * null_cond: the null condition for a batch of n (classifier-free guidance's unconditional
 *   branch).
 * drop: training; replaces rows of c by the null condition with the plugin's drop
 *   probability; optional (no dropout).
 * module: borrowed learned parameters; optional (none). */
#define LUNDI_CONDITIONER_API(X)                                                                 \
  X(conditioner, int, encode, (void *self, lundi_tensor *input, lundi_cond *out), (self, input), \
    REQUIRED, COND)                                                                              \
  X(conditioner, int, encode_text, (void *self, const char *const *prompts, int n,               \
    lundi_cond *out), (self, prompts), OPTIONAL, CUSTOM)                                         \
  X(conditioner, int, null_cond, (void *self, int n, lundi_cond *out), (self, n), REQUIRED, COND) \
  X(conditioner, int, drop, (void *self, lundi_cond *c, lundi_rng *rng), (self, c, rng),         \
    OPTIONAL, CUSTOM)                                                                            \
  X(conditioner, lundi_module *, module, (void *self), (self), OPTIONAL, MODULE)

/* sample: noise to result. Guidance scale, step count and the like are the sampler's params. */
#define LUNDI_SAMPLER_API(X)                                                                     \
  X(sampler, lundi_tensor *, sample, (void *self, const lundi_pipeline_parts *parts,             \
    const lundi_sample_request *req), (self, parts, req), REQUIRED, CUSTOM)

/* Every kind: Y(KIND enum suffix, kind, LUNDI_<KIND>_API list). */
#define LUNDI_PLUGIN_KINDS(Y)                                                                    \
  Y(SCHEDULER, scheduler, LUNDI_SCHEDULER_API)                                                   \
  Y(DENOISER, denoiser, LUNDI_DENOISER_API)                                                      \
  Y(CONDITIONER, conditioner, LUNDI_CONDITIONER_API)                                             \
  Y(SAMPLER, sampler, LUNDI_SAMPLER_API)

/* A field of a kind's table. */
#define LUNDI_API_FIELD(kind, ret, name, params, args, need, lua) ret(*name) params;

#endif
