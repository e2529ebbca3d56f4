/* The run session: what a running program records into a run of the store (lundi/store.h)
 * beyond params, tags and metrics. The `lundi` CLI, the Lua module (run:save_image, ...)
 * and C hosts all go through it.
 *
 * The current run: each thread may have one (lundi_session_set_current). While it is set,
 * every plugin instance created in that thread, from Lua, from a C host or from inside a C
 * sampler, is recorded in the run's plugins_used once per distinct (kind, name, parameters
 * as JSON): a sampler built in a loop is one row, not thousands. Nothing is recorded while
 * no run is current. A failure to record prints one warning on stderr ("lundi: warning:
 * could not record ...") and never fails the instance's creation. `lundi run` makes the run
 * it records current for the script; lundi.run{} in Lua does not.
 *
 * Outputs: every save function takes the run to write to; NULL means the current run of
 * the calling thread (an error when there is none). Each returns 0 or a negative lundi
 * status with the message set, and puts the new output's id in *id when id is not NULL.
 * The bytes are stored through lundi_run_output, so each output carries its sha256. */
#ifndef LUNDI_SESSION_H
#define LUNDI_SESSION_H

#include <stddef.h>
#include <stdint.h>

#include "lundi/nn.h"
#include "lundi/store.h"
#include "lundi/tensor.h"

#ifdef __cplusplus
extern "C" {
#endif

/* ---- the current run ---- */

/* Makes run (borrowed; NULL clears) the calling thread's current run, and forgets which
 * plugins were recorded for the previous one. Clear it before ending the run
 * (lundi_run_end) and before the thread exits. Returns 0, or a negative status when the
 * plugin observer cannot be installed. */
int lundi_session_set_current(lundi_run *run);
lundi_run *lundi_session_current(void); /* NULL when none */

/* ---- images ---- */

/* The "parameters" text of the common image-generation convention (AUTOMATIC1111's web UI,
 * read by many image viewers): an optional prompt line, then
 *   "Steps: 50, Sampler: ddim, CFG scale: 3, Seed: 42, Size: 28x28, Model hash: ..."
 * Values are given as the text to show; a NULL field is left out, Size is always there.
 * Numbers become that text through lundi_image_param_int / lundi_image_param_float. */
typedef struct lundi_image_params {
  const char *prompt; /* the first line; at most 1022 bytes are kept */
  const char *steps, *sampler, *cfg_scale, *seed, *model_hash; /* each "Key: value" at most 511 bytes */
} lundi_image_params;

/* A number as the parameters text shows it, written into out (64 bytes) and returned: an
 * integer with %lld, any other number with %.10g (a seed stays exact, a scale stays short). */
const char *lundi_image_param_int(char out[64], int64_t v);
const char *lundi_image_param_float(char out[64], double v);

/* A malloc'd parameters text for images of width x height (one image, not the grid);
 * params may be NULL. NULL when out of memory (error set). */
char *lundi_session_parameters_text(const lundi_image_params *params, int width, int height);

typedef struct lundi_save_image_opts {
  float lo, hi;  /* values mapped to 0..255 */
  int nrow;      /* images per grid row for [N, C, H, W]; 0: ceil(sqrt(N)) */
  const char *file; /* also write the PNG there, atomically; NULL: no file */
  const lundi_image_params *parameters; /* NULL: the text holds the size only */
} lundi_save_image_opts;
/* The defaults: range {-1, 1}, square-ish grid, no file, no parameters. */
#define LUNDI_SAVE_IMAGE_OPTS_INIT {-1.0f, 1.0f, 0, NULL, NULL}

/* Saves t [C, H, W] or [N, C, H, W] (a grid, 2 black pixels between images) as an output of
 * kind "image" (image/png). The PNG carries two text chunks: "parameters" (the text above)
 * and "lundi" ({"run": uuid, "output": name}, which `lundi which` reads back). The output's
 * metadata is {"width", "height", "channels", "images", "parameters"}. opts NULL: the
 * defaults. */
int lundi_session_save_image(lundi_run *run, const char *name, lundi_tensor *t,
                             const lundi_save_image_opts *opts, int64_t *id);

/* ---- text and tensors ---- */

/* n bytes of UTF-8 text, kind "text" (text/plain; charset=utf-8). */
int lundi_session_save_text(lundi_run *run, const char *name, const char *text, size_t n, int64_t *id);

/* The tensors of l, under their names in l, as one safetensors file (application/
 * x-safetensors) of the given kind (usually "trajectory" or "checkpoint"); metadata
 * {"tensors": count, "numel": total elements}. The bytes go through a temporary file in the
 * store's directory, removed afterwards. */
int lundi_session_save_tensors(lundi_run *run, const char *kind, const char *name,
                               const lundi_param_list *l, int64_t *id);
/* A trajectory of kind "trajectory": one tensor saved as "x", or n steps saved as "x.0",
 * "x.1", ... (n >= 1). */
int lundi_session_save_trajectory(lundi_run *run, const char *name, lundi_tensor *x, int64_t *id);
int lundi_session_save_trajectory_steps(lundi_run *run, const char *name, lundi_tensor *const *steps,
                                        int n, int64_t *id);
/* m's parameters (lundi_module_parameters names), kind "checkpoint"; name NULL:
 * "checkpoint". */
int lundi_session_save_checkpoint(lundi_run *run, lundi_module *m, const char *name, int64_t *id);

/* ---- animations ---- */

/* n RGB8 frames (each w * h * 3 bytes, row-major, one after another) as an animated,
 * looping GIF (lundi_gif_write, lundi/env.h: exact for at most 256 colours in all), delay_cs
 * hundredths of a second per frame; an output of kind "file", image/gif, metadata
 * {"width", "height", "frames", "delay_cs"}. */
int lundi_session_save_animation(lundi_run *run, const char *name, const uint8_t *frames, int n, int w, int h,
                                 int delay_cs, int64_t *id);
/* The same from n image tensors, each [C, H, W] or [H, W] (C = 1 or 3, gray made RGB) of one
 * size, values lo..hi mapped to 0..255 as lundi_image_from_tensor does (an env render:
 * 0, 1). */
int lundi_session_save_animation_tensors(lundi_run *run, const char *name, lundi_tensor *const *frames, int n,
                                         float lo, float hi, int delay_cs, int64_t *id);

/* ---- metrics ---- */

/* Logs values[i] under names[i] at step (lundi_run_log; run NULL: the current run). A bad
 * name or out of memory fails at that entry. A flush that fails inside (a full disk) keeps
 * the values, prints one warning while *warned is 0 and sets it; a call whose flushes all
 * succeed clears it. */
int lundi_session_log(lundi_run *run, const char *const *names, const double *values, int n, int64_t step,
                      int *warned);

/* ---- ending a run its owner did not finish ---- */

/* The status of a run whose block exited raising error: NULL (no error) is finished, Ctrl-C's
 * "interrupted" is interrupted, anything else failed (error is the message to record). */
lundi_run_status lundi_session_error_status(const char *error);
/* The status of a run collected unfinished, with the message to record in *msg: the status
 * of the script that ran it when it is known (script_known), else interrupted. */
lundi_run_status lundi_session_unfinished_status(int script_known, lundi_run_status script, const char **msg);

#ifdef __cplusplus
}
#endif

#endif
