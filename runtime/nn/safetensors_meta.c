/* safetensors __metadata__ as string pairs (lundi/nn.h): the JSON stays inside nn, so the
 * Lua module and C hosts pass plain keys and values. */
#include "nn/nn_internal.h"

#include <cjson/cJSON.h>
#include <stdlib.h>
#include <string.h>

int lundi_safetensors_save_meta(const char *path, const lundi_param_list *l, const char *const *keys,
                                const char *const *values, int n) {
  if (!keys) return lundi_safetensors_save(path, l, NULL);
  if (n < 0 || !values)
    return lundi__err(LUNDI_EINVAL, "safetensors_save '%s': bad metadata (%d pairs)", path ? path : "", n);
  cJSON *o = cJSON_CreateObject();
  int bad = !o;
  for (int i = 0; i < n && !bad; i++)
    bad = !keys[i] || !values[i] || !cJSON_AddStringToObject(o, keys[i], values[i]);
  char *json = bad ? NULL : cJSON_PrintUnformatted(o);
  cJSON_Delete(o);
  if (!json) return lundi__err(LUNDI_ENOMEM, "safetensors_save '%s': out of memory for the metadata", path ? path : "");
  int rc = lundi_safetensors_save(path, l, json);
  cJSON_free(json);
  return rc;
}

void lundi_safetensors_meta_free(lundi_safetensors_meta *m) {
  if (!m) return;
  for (int i = 0; i < m->n; i++) {
    free(m->keys[i]);
    free(m->values[i]);
  }
  free(m->keys);
  free(m->values);
  memset(m, 0, sizeof *m);
}

int lundi_safetensors_read_meta(const char *path, lundi_safetensors_meta *out) {
  if (!out) return lundi__err(LUNDI_EINVAL, "safetensors_metadata: output is NULL");
  memset(out, 0, sizeof *out);
  char *json = NULL;
  int rc = lundi_safetensors_metadata(path, &json);
  if (rc != 0) return rc;
  cJSON *o = cJSON_Parse(json); /* validated by the reader: a flat object of strings */
  free(json);
  int n = cJSON_GetArraySize(o);
  out->keys = calloc((size_t)(n ? n : 1), sizeof *out->keys);
  out->values = calloc((size_t)(n ? n : 1), sizeof *out->values);
  rc = !o || !out->keys || !out->values;
  for (const cJSON *c = rc ? NULL : o->child; c && !rc; c = c->next, out->n++) {
    out->keys[out->n] = strdup(c->string);
    out->values[out->n] = strdup(cJSON_IsString(c) ? c->valuestring : "");
    rc = !out->keys[out->n] || !out->values[out->n];
  }
  cJSON_Delete(o);
  if (!rc) return 0;
  lundi_safetensors_meta_free(out);
  return lundi__err(LUNDI_ENOMEM, "safetensors '%s': out of memory for the metadata", path);
}
