/* Modules: named parameters plus named children, addressed by dotted paths. Parameters
 * are listed depth first (own parameters, then each child in insertion order), as
 * PyTorch's named_parameters() does, so checkpoints line up name for name. */
#include "nn/nn_internal.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

lundi_module *lundi_module_new(const char *type_name) {
  if (!type_name || !*type_name) return lundi__errp(LUNDI_EINVAL, "module_new: type name is empty");
  lundi_module *m = calloc(1, sizeof *m);
  if (!m || !(m->type = strdup(type_name))) {
    free(m);
    return lundi__errp(LUNDI_ENOMEM, "module_new: out of host memory");
  }
  m->training = 1;
  return m;
}

void lundi_module_free(lundi_module *m) {
  if (!m) return;
  for (int i = 0; i < m->n_children; i++) {
    lundi_module_free(m->children[i]);
    free(m->child_names[i]);
  }
  free(m->children);
  free(m->child_names);
  lundi_param_list_free(&m->params);
  free(m->type);
  free(m);
}

const char *lundi_module_type(const lundi_module *m) { return m ? m->type : NULL; }

int lundi__module_expect(const lundi_module *m, const char *type, const char *fn) {
  if (!m) return lundi__err(LUNDI_EINVAL, "%s: module is NULL", fn);
  if (strcmp(m->type, type))
    return lundi__err(LUNDI_EINVAL, "%s: module is a %s, not a %s", fn, m->type, type);
  return 0;
}

static int find_child(const lundi_module *m, const char *name, size_t len) {
  for (int i = 0; i < m->n_children; i++)
    if (strlen(m->child_names[i]) == len && !strncmp(m->child_names[i], name, len)) return i;
  return -1;
}

/* A name is one path segment: non-empty, no dots, and not taken by a param or child. */
static int check_name(const lundi_module *m, const char *fn, const char *name) {
  if (!name || !*name || strchr(name, '.'))
    return lundi__err(LUNDI_EINVAL, "%s: name '%s' must be non-empty and contain no '.'", fn, name ? name : "(null)");
  if (lundi_param_list_find(&m->params, name) || find_child(m, name, strlen(name)) >= 0)
    return lundi__err(LUNDI_EINVAL, "%s: %s already has a member named '%s'", fn, m->type, name);
  return 0;
}

int lundi_module_add_param(lundi_module *m, const char *name, lundi_tensor *t) {
  if (!m) return lundi__err(LUNDI_EINVAL, "module_add_param: module is NULL");
  if (!t) /* keep the message of whatever failed to build t */
    return lundi_last_error_code() ? lundi_last_error_code()
                                   : lundi__err(LUNDI_EINVAL, "module_add_param: tensor '%s' is NULL", name ? name : "");
  if (check_name(m, "module_add_param", name)) return lundi_last_error_code();
  return lundi_param_list_push(&m->params, name, t);
}

/* Takes ownership of child even on failure, so builders can nest constructor calls. */
int lundi_module_add_child(lundi_module *m, const char *name, lundi_module *child) {
  if (!child)
    return lundi_last_error_code() ? lundi_last_error_code()
                                   : lundi__err(LUNDI_EINVAL, "module_add_child: child '%s' is NULL", name ? name : "");
  int rc = 0;
  if (!m) rc = lundi__err(LUNDI_EINVAL, "module_add_child: module is NULL");
  else if (child == m) rc = lundi__err(LUNDI_EINVAL, "module_add_child: a module cannot contain itself");
  else rc = check_name(m, "module_add_child", name);
  char *copy = NULL;
  if (!rc && m->n_children == m->cap_children) {
    int cap = m->cap_children ? m->cap_children * 2 : 4;
    lundi_module **c = realloc(m->children, sizeof *c * (size_t)cap);
    if (c) m->children = c;
    char **nm = c ? realloc(m->child_names, sizeof *nm * (size_t)cap) : NULL;
    if (nm) m->child_names = nm;
    if (!c || !nm) rc = lundi__err(LUNDI_ENOMEM, "module_add_child: out of host memory");
    else m->cap_children = cap;
  }
  if (!rc && !(copy = strdup(name))) rc = lundi__err(LUNDI_ENOMEM, "module_add_child: out of host memory");
  if (rc) {
    lundi_module_free(child);
    return rc;
  }
  m->child_names[m->n_children] = copy;
  m->children[m->n_children++] = child;
  return 0;
}

/* Walks the dotted prefix of path; *last gets the final segment. */
static const lundi_module *walk(const lundi_module *m, const char *path, const char **last) {
  const char *seg = path, *dot;
  while (m && (dot = strchr(seg, '.'))) {
    int i = find_child(m, seg, (size_t)(dot - seg));
    m = i >= 0 ? m->children[i] : NULL;
    seg = dot + 1;
  }
  *last = seg;
  return m;
}

lundi_tensor *lundi_module_param(const lundi_module *m, const char *path) {
  if (!m || !path) return NULL;
  const char *last;
  const lundi_module *owner = walk(m, path, &last);
  return owner ? lundi_param_list_find(&owner->params, last) : NULL;
}

lundi_module *lundi_module_child(const lundi_module *m, const char *path) {
  if (!m || !path) return NULL;
  const char *last;
  const lundi_module *owner = walk(m, path, &last);
  int i = owner ? find_child(owner, last, strlen(last)) : -1;
  return i >= 0 ? owner->children[i] : NULL;
}

static int collect(const lundi_module *m, const char *prefix, lundi_param_list *out) {
  size_t plen = strlen(prefix);
  for (int i = 0; i < m->params.n; i++) {
    size_t n = plen + strlen(m->params.names[i]) + 1;
    char *name = malloc(n);
    if (!name) return lundi__err(LUNDI_ENOMEM, "module_parameters: out of host memory");
    memcpy(name, prefix, plen);
    strcpy(name + plen, m->params.names[i]);
    int rc = lundi_param_list_push(out, name, m->params.tensors[i]);
    free(name);
    if (rc) return rc;
  }
  for (int i = 0; i < m->n_children; i++) {
    size_t n = plen + strlen(m->child_names[i]) + 2;
    char *sub = malloc(n);
    if (!sub) return lundi__err(LUNDI_ENOMEM, "module_parameters: out of host memory");
    memcpy(sub, prefix, plen);
    strcpy(sub + plen, m->child_names[i]);
    strcat(sub + plen, ".");
    int rc = collect(m->children[i], sub, out);
    free(sub);
    if (rc) return rc;
  }
  return 0;
}

int lundi_module_parameters(const lundi_module *m, lundi_param_list *out) {
  if (!m || !out) return lundi__err(LUNDI_EINVAL, "module_parameters: module and list must be non-NULL");
  return collect(m, "", out);
}

int64_t lundi_module_numel(const lundi_module *m) {
  if (!m) return 0;
  int64_t n = lundi_param_list_numel(&m->params);
  for (int i = 0; i < m->n_children; i++) n += lundi_module_numel(m->children[i]);
  return n;
}

int lundi_module_to(lundi_module *m, lundi_device *dev) {
  if (!m || !dev) return lundi__err(LUNDI_EINVAL, "module_to: module and device must be non-NULL");
  for (int i = 0; i < m->params.n; i++)
    if (lundi_move_to_device_(m->params.tensors[i], dev)) {
      char why[512];
      snprintf(why, sizeof why, "%s", lundi_last_error());
      return lundi__err(lundi_last_error_code(), "module_to: parameter '%s': %s", m->params.names[i], why);
    }
  for (int i = 0; i < m->n_children; i++)
    if (lundi_module_to(m->children[i], dev)) return -1;
  return 0;
}

lundi_device *lundi_module_device(const lundi_module *m) {
  if (!m) return NULL;
  if (m->params.n) return m->params.tensors[0]->storage->device;
  for (int i = 0; i < m->n_children; i++) {
    lundi_device *d = lundi_module_device(m->children[i]);
    if (d) return d;
  }
  return NULL;
}

void lundi_module_zero_grad(lundi_module *m) {
  if (!m) return;
  for (int i = 0; i < m->params.n; i++) lundi_zero_grad(m->params.tensors[i]);
  for (int i = 0; i < m->n_children; i++) lundi_module_zero_grad(m->children[i]);
}

void lundi_module_set_training(lundi_module *m, int training) {
  if (!m) return;
  m->training = training != 0;
  for (int i = 0; i < m->n_children; i++) lundi_module_set_training(m->children[i], training);
}

int lundi_module_training(const lundi_module *m) { return m ? m->training : 0; }

lundi_tensor *lundi__module_new_param(lundi_module *m, const char *name, int ndim, const int64_t *shape,
                                      lundi__init init, float a, float b, lundi_rng *rng) {
  if (init != LUNDI__INIT_FILL && !rng) return lundi__errp(LUNDI_EINVAL, "%s: random init of '%s' needs an rng", m->type, name);
  lundi_tensor *t = lundi_empty(ndim, shape, LUNDI_F32, NULL);
  if (!t) return NULL;
  int rc = init == LUNDI__INIT_FILL      ? lundi_fill_(t, a)
           : init == LUNDI__INIT_UNIFORM ? lundi_uniform_(t, rng, a, b)
                                         : lundi_normal_(t, rng, a, b);
  if (!rc) rc = lundi_set_requires_grad(t, 1);
  if (!rc) rc = lundi_module_add_param(m, name, t);
  lundi_release(t); /* on success the module holds the reference */
  return rc ? NULL : t;
}

float lundi__fan_in_bound(int64_t fan_in) { return fan_in > 0 ? (float)(1.0 / sqrt((double)fan_in)) : 0.0f; }
