/* Module checkpoints: a module's parameters as one safetensors file, names as given by
 * lundi_module_parameters ("down.0.conv1.weight"). Loading checks everything before it
 * copies anything, so a mismatched file leaves the module untouched. */
#include "nn/nn_internal.h"

#include <stdio.h>
#include <string.h>

int lundi_module_save(const lundi_module *m, const char *path) {
  if (!m || !path) return lundi__err(LUNDI_EINVAL, "module_save: module and path must be non-NULL");
  lundi_param_list l = {0};
  int rc = lundi_module_parameters(m, &l);
  if (!rc) rc = lundi_safetensors_save(path, &l, "{\"format\":\"lundi\"}");
  lundi_param_list_free(&l);
  return rc;
}

/* Appends ", name" to a bounded list of names for an error message. */
static void note(char *buf, size_t cap, int *count, const char *name) {
  size_t used = strlen(buf);
  if (*count < 6) {
    int w = snprintf(buf + used, cap - used, "%s'%s'", *count ? ", " : "", name);
    if (w < 0 || (size_t)w >= cap - used) buf[used] = 0; /* too long to list: counted only */
  }
  (*count)++;
}

static void finish(char *buf, size_t cap, int count) {
  size_t used = strlen(buf);
  if (count > 6) snprintf(buf + used, cap - used, " and %d more", count - 6);
}

static int check_file(const char *path, const lundi_param_list *mine, const lundi_param_list *file, int strict) {
  char s1[160], s2[160], missing[400] = "", extra[400] = "";
  int n_missing = 0, n_extra = 0;
  for (int i = 0; i < mine->n; i++) {
    lundi_tensor *p = mine->tensors[i], *t = lundi_param_list_find(file, mine->names[i]);
    if (!t) {
      note(missing, sizeof missing, &n_missing, mine->names[i]);
      continue;
    }
    if (t->dtype != p->dtype || t->ndim != p->ndim || memcmp(t->shape, p->shape, sizeof(int64_t) * (size_t)p->ndim))
      return lundi__err(LUNDI_ESHAPE, "module_load '%s': '%s' is %s %s in the file but %s %s in the module", path, mine->names[i],
                        lundi_dtype_name(t->dtype), lundi_shape_str(t->ndim, t->shape, s1, sizeof s1), lundi_dtype_name(p->dtype),
                        lundi_shape_str(p->ndim, p->shape, s2, sizeof s2));
  }
  for (int i = 0; i < file->n; i++)
    if (!lundi_param_list_find(mine, file->names[i])) note(extra, sizeof extra, &n_extra, file->names[i]);
  if (!strict || (!n_missing && !n_extra)) return 0;
  finish(missing, sizeof missing, n_missing);
  finish(extra, sizeof extra, n_extra);
  return lundi__err(LUNDI_EFORMAT, "module_load '%s': %d missing parameter(s)%s%s; %d unexpected name(s)%s%s", path, n_missing,
                    n_missing ? ": " : "", missing, n_extra, n_extra ? ": " : "", extra);
}

int lundi_module_load(lundi_module *m, const char *path, int flags) {
  if (!m || !path) return lundi__err(LUNDI_EINVAL, "module_load: module and path must be non-NULL");
  lundi_param_list mine = {0}, file = {0};
  int rc = lundi_module_parameters(m, &mine);
  if (!rc) rc = lundi_safetensors_load(path, &file);
  if (!rc) rc = check_file(path, &mine, &file, flags & LUNDI_LOAD_STRICT);
  if (!rc && !(flags & LUNDI_LOAD_ALLOW_NONFINITE)) {
    char what[1100];
    snprintf(what, sizeof what, "module_load '%s'", path);
    rc = lundi_param_list_check_finite(&file, what);
  }
  for (int i = 0; i < mine.n && !rc; i++) {
    lundi_tensor *t = lundi_param_list_find(&file, mine.names[i]);
    if (!t) continue;
    lundi_tensor *d = lundi_to_device(t, mine.tensors[i]->storage->device);
    rc = d ? lundi_copy_(mine.tensors[i], d) : lundi_last_error_code();
    lundi_release(d);
  }
  lundi_param_list_free(&mine);
  lundi_param_list_free(&file);
  return rc;
}
