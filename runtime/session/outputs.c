/* Text and tensor outputs of a run: text as is; tensors as safetensors bytes. */
#include "session/session_internal.h"

#include "lundi/image.h"

#include <cjson/cJSON.h>
#include <stdio.h>
#include <stdlib.h>

int lundi_session_save_text(lundi_run *run, const char *name, const char *text, size_t n, int64_t *id) {
  if (!(run = lundi__session_run(run, "save_text"))) return LUNDI_ESTATE;
  if (!name || (!text && n)) return lundi_set_error(LUNDI_EINVAL, "save_text: NULL name or text");
  return lundi_run_output(run, "text", name, "text/plain; charset=utf-8", text, n, NULL, id);
}

/* The safetensors writer works on paths: through a temporary file (tmpfile.c). */
static int write_safetensors(const char *path, void *l) { return lundi_safetensors_save(path, l, NULL); }

static int safetensors_bytes(lundi_run *run, const lundi_param_list *l, const char *fn, uint8_t **data,
                             size_t *n) {
  return lundi__session_file_bytes(run, fn, write_safetensors, (void *)l, data, n);
}

/* fn names the caller in messages. */
static int save_tensors(lundi_run *run, const char *kind, const char *name, const lundi_param_list *l,
                        int64_t *id, const char *fn) {
  if (!(run = lundi__session_run(run, fn))) return LUNDI_ESTATE;
  if (!kind || !name || !l) return lundi_set_error(LUNDI_EINVAL, "%s: NULL kind, name or list", fn);
  uint8_t *data = NULL;
  size_t n = 0;
  int rc = safetensors_bytes(run, l, fn, &data, &n);
  if (rc != 0) return rc;
  cJSON *meta = cJSON_CreateObject();
  cJSON_AddNumberToObject(meta, "tensors", l->n);
  cJSON_AddNumberToObject(meta, "numel", (double)lundi_param_list_numel(l));
  char *meta_json = cJSON_PrintUnformatted(meta);
  cJSON_Delete(meta);
  rc = lundi_run_output(run, kind, name, "application/x-safetensors", data, n, meta_json, id);
  free(meta_json);
  free(data);
  return rc;
}

int lundi_session_save_tensors(lundi_run *run, const char *kind, const char *name,
                               const lundi_param_list *l, int64_t *id) {
  return save_tensors(run, kind, name, l, id, "save_tensors");
}

int lundi_session_save_trajectory(lundi_run *run, const char *name, lundi_tensor *x, int64_t *id) {
  lundi_param_list l = {0};
  int rc = lundi_param_list_push(&l, "x", x);
  if (rc == 0) rc = save_tensors(run, "trajectory", name, &l, id, "save_trajectory");
  lundi_param_list_free(&l);
  return rc;
}

int lundi_session_save_trajectory_steps(lundi_run *run, const char *name, lundi_tensor *const *steps,
                                        int n, int64_t *id) {
  if (n < 1 || !steps) return lundi_set_error(LUNDI_EINVAL, "save_trajectory: empty array of tensors");
  lundi_param_list l = {0};
  int rc = 0;
  for (int i = 0; i < n && rc == 0; i++) {
    char key[32];
    snprintf(key, sizeof key, "x.%d", i);
    rc = lundi_param_list_push(&l, key, steps[i]);
  }
  if (rc == 0) rc = save_tensors(run, "trajectory", name, &l, id, "save_trajectory");
  lundi_param_list_free(&l);
  return rc;
}

int lundi_session_save_checkpoint(lundi_run *run, lundi_module *m, const char *name, int64_t *id) {
  if (!m) return lundi_set_error(LUNDI_EINVAL, "checkpoint: NULL module");
  lundi_param_list l = {0};
  int rc = lundi_module_parameters(m, &l);
  if (rc == 0) rc = save_tensors(run, "checkpoint", name ? name : "checkpoint", &l, id, "checkpoint");
  lundi_param_list_free(&l);
  return rc;
}
