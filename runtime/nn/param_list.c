/* Named parameter lists: a growable array of (name, tensor reference). */
#include "nn/nn_internal.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

int lundi__param_list_reserve(lundi_param_list *l, int extra) {
  if (extra < 0 || l->n > 0x3fffffff - extra)
    return lundi__err(LUNDI_EINVAL, "param_list: cannot hold %d more entries", extra);
  int need = l->n + extra;
  if (need <= l->cap) return 0;
  int cap = l->cap ? l->cap : 8;
  while (cap < need) cap = cap > 0x1fffffff ? need : cap * 2;
  lundi_tensor **t = realloc(l->tensors, sizeof *t * (size_t)cap);
  if (!t) return lundi__err(LUNDI_ENOMEM, "param_list: out of host memory");
  l->tensors = t;
  char **nm = realloc(l->names, sizeof *nm * (size_t)cap);
  if (!nm) return lundi__err(LUNDI_ENOMEM, "param_list: out of host memory");
  l->names = nm;
  l->cap = cap;
  return 0;
}

int lundi_param_list_push(lundi_param_list *l, const char *name, lundi_tensor *t) {
  if (!l || !name || !t) return lundi__err(LUNDI_EINVAL, "param_list_push: list, name and tensor must be non-NULL");
  if (lundi__param_list_reserve(l, 1)) return lundi_last_error_code();
  char *copy = strdup(name);
  if (!copy) return lundi__err(LUNDI_ENOMEM, "param_list_push: out of host memory");
  l->names[l->n] = copy;
  l->tensors[l->n++] = lundi_retain(t);
  return 0;
}

int lundi_param_list_push_next(lundi_param_list *l, lundi_tensor *t) {
  char name[16];
  snprintf(name, sizeof name, "%d", l ? l->n + 1 : 0);
  return lundi_param_list_push(l, name, t);
}

lundi_tensor *lundi_param_list_find(const lundi_param_list *l, const char *name) {
  if (!l || !name) return NULL;
  for (int i = 0; i < l->n; i++)
    if (!strcmp(l->names[i], name)) return l->tensors[i];
  return NULL;
}

void lundi_param_list_free(lundi_param_list *l) {
  if (!l) return;
  for (int i = 0; i < l->n; i++) {
    lundi_release(l->tensors[i]);
    free(l->names[i]);
  }
  free(l->tensors);
  free(l->names);
  memset(l, 0, sizeof *l);
}

int64_t lundi_param_list_numel(const lundi_param_list *l) {
  int64_t n = 0;
  for (int i = 0; l && i < l->n; i++) n += lundi_numel(l->tensors[i]);
  return n;
}

void lundi_param_list_sort(lundi_param_list *l) {
  for (int i = 1; l && i < l->n; i++) /* insertion sort: lists are short, and it is stable */
    for (int j = i; j > 0 && strcmp(l->names[j - 1], l->names[j]) > 0; j--) {
      char *s = l->names[j];
      lundi_tensor *t = l->tensors[j];
      l->names[j] = l->names[j - 1];
      l->tensors[j] = l->tensors[j - 1];
      l->names[j - 1] = s;
      l->tensors[j - 1] = t;
    }
}
