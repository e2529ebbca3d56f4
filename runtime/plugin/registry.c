/* The registry: validates descriptors, deep-copies them, and answers lookups.
 *
 * Ownership of desc->user: when lundi_register() succeeds, the registry calls
 * desc->release_user(user) exactly once, when it drops the plugin (lundi_registry_free, or
 * the rollback of a shared object whose entry point failed). When lundi_register() fails it
 * never calls release_user: the caller still owns user.
 *
 * lundi_registry_free() while instances are alive does not pull the plugins (and the code of
 * loaded files) out from under them: it marks the registry and the last lundi_instance_free()
 * finishes the job. That keeps garbage-collected front-ends (Lua) safe whatever order they
 * collect in. */
#include "plugin/plugin_internal.h"

#include <dlfcn.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

lundi_registry *lundi_registry_new(void) {
  lundi_registry *r = calloc(1, sizeof *r);
  if (!r) lundi_set_error(LUNDI_ENOMEM, "lundi_registry_new: out of memory");
  return r;
}

static void plugin_free(lundi_plugin *p) {
  if (!p) return;
  if (p->desc.release_user) p->desc.release_user(p->desc.user);
  lundi_params_free(p->defaults);
  free((char *)p->desc.name);
  free((char *)p->desc.version);
  free((char *)p->desc.description);
  free(p->origin);
  free(p->owner);
  free(p);
}

void lundi__registry_truncate(lundi_registry *r, int from) {
  /* Newest first, the reverse of registration. */
  while (r->n > from) plugin_free(r->items[--r->n]);
}

void lundi__registry_destroy(lundi_registry *r) {
  lundi__registry_truncate(r, 0);
  lundi__loaders_close(r); /* a Lua state closes once its plugins are released */
  free(r->items);
  /* Plugins (and their release_user) are gone before the code they came from is unmapped. */
  for (int i = r->nh - 1; i >= 0; i--) dlclose(r->handles[i]), free(r->files[i]);
  free(r->handles);
  free(r->files);
  free(r);
}

void lundi_registry_free(lundi_registry *r) {
  if (!r) return;
  if (r->live > 0) {
    r->dying = 1;
    return;
  }
  lundi__registry_destroy(r);
}

static int valid_name(const char *s) {
  if (!s || !*s) return 0;
  for (; *s; s++)
    if (!((*s >= 'a' && *s <= 'z') || (*s >= '0' && *s <= '9') || *s == '_' || *s == '.' || *s == '-')) return 0;
  return 1;
}

/* The first required function the kind's table lacks, or NULL (from lundi/plugin_api.h). */
#define NEED_REQUIRED 1
#define NEED_OPTIONAL 0
#define CHECK_FN(kind, ret, name, params, args, need, lua, wrap)                                         \
  if (NEED_##need && !((const lundi_##kind##_api *)api)->name) return #name;
#define CHECK_KIND(K, kind, LIST)                                                                  \
  case LUNDI_##K:                                                                                  \
    LIST(CHECK_FN, void *self)                                                                             \
    return NULL;
static const char *missing_required(lundi_plugin_kind k, const void *api) {
  switch (k) {
    LUNDI_PLUGIN_KINDS(CHECK_KIND)
  default: return NULL;
  }
}
#undef CHECK_KIND
#undef CHECK_FN

static int grow(void **arr, int *cap, int need, size_t elem) {
  if (need <= *cap) return 0;
  int nc = *cap ? *cap * 2 : 16;
  void *na = realloc(*arr, (size_t)nc * elem);
  if (!na) return -1;
  *arr = na;
  *cap = nc;
  return 0;
}

int lundi_register(lundi_registry *r, const lundi_plugin_desc *d, const char *origin) {
  if (!r || !d) return lundi_set_error(LUNDI_EINVAL, "lundi_register: NULL %s", r ? "descriptor" : "registry");
  if (!origin) origin = r->loading ? r->loading : "builtin";
  const char *nm = d->name ? d->name : "(null)";
  if (d->abi_version != LUNDI_ABI_VERSION)
    return lundi_set_error(LUNDI_EINVAL,
                           "cannot register plugin '%s' from %s: it was built for plugin ABI %d, but this lundi "
                           "uses ABI %d; rebuild it against lundi's headers",
                           nm, origin, d->abi_version, LUNDI_ABI_VERSION);
  if ((int)d->kind < 0 || d->kind >= LUNDI_KIND_COUNT)
    return lundi_set_error(LUNDI_EINVAL,
                           "cannot register plugin '%s' from %s: unknown kind %d (scheduler, denoiser, conditioner "
                           "or sampler)",
                           nm, origin, (int)d->kind);
  const char *kn = lundi_plugin_kind_name(d->kind);
  if (!valid_name(d->name))
    return lundi_set_error(LUNDI_EINVAL, "cannot register %s '%s' from %s: names must match [a-z0-9_.-]+", kn, nm,
                           origin);
  char owner[200];
  snprintf(owner, sizeof owner, "%s '%s'", kn, d->name);
  if (!d->create || !d->api)
    return lundi_set_error(LUNDI_EINVAL, "cannot register %s from %s: it has no %s", owner, origin,
                           d->create ? "api table" : "create() function");
  const char *miss = missing_required(d->kind, d->api);
  if (miss)
    return lundi_set_error(LUNDI_EINVAL, "cannot register %s from %s: its api has no %s(), which every %s needs",
                           owner, origin, miss, kn);
  for (int i = 0; i < r->n; i++) {
    const lundi_plugin *o = r->items[i];
    if (o->desc.kind == d->kind && strcmp(o->desc.name, d->name) == 0)
      return lundi_set_error(LUNDI_EINVAL, "%s is already registered (from %s); a second one came from %s", owner,
                             o->origin, origin);
  }
  /* Validates the schema and that every default parses and lies in range. */
  lundi_params *defaults = lundi_params_new(owner, d->params, d->n_params);
  if (!defaults) {
    char msg[1024];
    snprintf(msg, sizeof msg, "%s", lundi_last_error());
    return lundi_set_error(LUNDI_EINVAL, "cannot register %s from %s: %s", owner, origin, msg);
  }
  lundi_plugin *p = calloc(1, sizeof *p);
  if (p) {
    p->desc = *d;
    p->desc.name = lundi__strdup(d->name);
    p->desc.version = lundi__strdup(d->version);
    p->desc.description = lundi__strdup(d->description);
    p->origin = lundi__strdup(origin);
    p->owner = lundi__strdup(owner);
  }
  if (!p || !p->desc.name || !p->desc.version || !p->desc.description || !p->origin || !p->owner ||
      grow((void **)&r->items, &r->cap, r->n + 1, sizeof *r->items)) {
    if (p) p->desc.release_user = NULL; /* a failed registration leaves user with the caller */
    plugin_free(p);
    lundi_params_free(defaults);
    return lundi_set_error(LUNDI_ENOMEM, "cannot register %s: out of memory", owner);
  }
  p->reg = r;
  p->defaults = defaults;
  defaults->tag = p;
  /* The registered descriptor's schema is the registry's own copy. */
  p->desc.params = defaults->specs;
  p->desc.n_params = defaults->n;
  r->items[r->n++] = p;
  return 0;
}

int lundi_registry_count(const lundi_registry *r) { return r ? r->n : 0; }

const lundi_plugin *lundi_registry_at(const lundi_registry *r, int i) {
  if (!r || i < 0 || i >= r->n) {
    lundi_set_error(LUNDI_EINVAL, "lundi_registry_at: no plugin at index %d (%d registered)", i, r ? r->n : 0);
    return NULL;
  }
  return r->items[i];
}

const lundi_plugin *lundi_registry_find(const lundi_registry *r, lundi_plugin_kind k, const char *name) {
  const char *kn = lundi_plugin_kind_name(k);
  if (!r || !name) {
    lundi_set_error(LUNDI_EINVAL, "lundi_registry_find: NULL %s", r ? "name" : "registry");
    return NULL;
  }
  const char *names[256];
  int nn = 0;
  for (int i = 0; i < r->n; i++) {
    const lundi_plugin *p = r->items[i];
    if (p->desc.kind != k) continue;
    if (strcmp(p->desc.name, name) == 0) return p;
    if (nn < 256) names[nn++] = p->desc.name;
  }
  char list[600] = "(none registered)";
  size_t len = 0;
  for (int i = 0; i < nn && len < sizeof list; i++)
    len += (size_t)snprintf(list + len, sizeof list - len, "%s%s", i ? ", " : "", names[i]);
  const char *near = lundi__suggest(name, names, nn);
  char hint[200] = "";
  if (near) snprintf(hint, sizeof hint, " (did you mean '%s'?)", near);
  lundi_set_error(LUNDI_EINVAL, "no %s named '%s'%s; available %ss: %s", kn, name, hint, kn, list);
  return NULL;
}

const lundi_plugin_desc *lundi_plugin_info(const lundi_plugin *p) { return p ? &p->desc : NULL; }
const char *lundi_plugin_origin(const lundi_plugin *p) { return p ? p->origin : NULL; }
const char *lundi_plugin_owner(const lundi_plugin *p) { return p ? p->owner : NULL; }

lundi_params *lundi_plugin_params(const lundi_plugin *p) {
  if (!p) {
    lundi_set_error(LUNDI_EINVAL, "lundi_plugin_params: NULL plugin");
    return NULL;
  }
  return lundi_params_copy(p->defaults);
}

/* "<owner>: <message>" unless the plugin already named itself. */
int lundi__plugin_error(const lundi_plugin *p, int code, const char *what) {
  if (code >= 0) code = LUNDI_EINVAL;
  const char *msg = lundi_last_error();
  if (!*msg) return lundi_set_error(code, "%s: %s failed without an error message", p->owner, what);
  if (strncmp(msg, p->owner, strlen(p->owner)) == 0) return code;
  char copy[1024];
  snprintf(copy, sizeof copy, "%s", msg);
  return lundi_set_error(code, "%s: %s", p->owner, copy);
}
