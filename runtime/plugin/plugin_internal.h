/* Private structures of the plugin registry (runtime/plugin/). */
#ifndef LUNDI_PLUGIN_INTERNAL_H
#define LUNDI_PLUGIN_INTERNAL_H

#include "lundi/plugin.h"
#include "plugin/suggest.h"

/* One parameter value; text is the canonical form handed out by lundi_params_text(). */
typedef struct lundi__pval {
  int64_t i;
  double f;
  int b;
  char *text; /* owned; for STRING/CHOICE it is the value itself */
} lundi__pval;

struct lundi_params {
  char *owner;                /* "scheduler 'ddpm'" (or "parameters") */
  lundi_param_spec *specs;    /* deep copy, owned */
  int n;
  lundi__pval *v;
  const void *tag;            /* identifies the schema: the plugin, or the caller's spec array */
};

struct lundi_plugin {
  lundi_registry *reg;
  lundi_plugin_desc desc;     /* strings and params point into owned copies */
  char *origin;
  char *owner;                /* "scheduler 'ddpm'" */
  lundi_params *defaults;     /* validated; tag = this plugin */
};

#define LUNDI__MAX_LOADERS 4

struct lundi_registry {
  lundi_plugin **items;
  int n, cap;
  void **handles;             /* dlopen() handles, closed by lundi_registry_free() */
  char **files;               /* the path each handle was loaded from (caph of them) */
  int nh, caph;
  const char *loading;        /* path of the file whose entry point is running, or NULL */
  int live;                   /* instances not yet freed */
  int dying;                  /* lundi_registry_free() was called while instances lived */
  lundi_file_loader loaders[LUNDI__MAX_LOADERS]; /* file_loader.c: .lua and the like */
  int n_loaders;
  char **loader_files;        /* real paths of the files loaded through loaders (once each) */
  int n_loader_files;
};

struct lundi_instance {
  const lundi_plugin *plugin;
  lundi_params *params;
  void *self;
};

/* file_loader.c: the loader whose suffix path ends with, or NULL; loading through one; and
 * closing them all (registry free, after the plugins are gone). */
const lundi_file_loader *lundi__loader_for(const lundi_registry *r, const char *path);
int lundi__load_with(lundi_registry *r, const lundi_file_loader *l, const char *path);
void lundi__loaders_close(lundi_registry *r);

/* Validates a schema (names, types, choices, ranges); owner names it in messages. */
int lundi__schema_check(const char *owner, const lundi_param_spec *specs, int n);
/* Removes plugins [from, n) (rollback of a failed entry point), calling release_user. */
void lundi__registry_truncate(lundi_registry *r, int from);
/* backend_file.c: registers the backend a loaded file exports (sym: its
 * LUNDI_BACKEND_SYMBOL) with the device registry; 0 or an error code with the message set. */
int lundi__plugin_add_backend(const void *sym, const char *path, const char *open_as);
/* Frees everything; only once no instance is alive. */
void lundi__registry_destroy(lundi_registry *r);
/* "<owner>: msg" unless the current message already starts with owner; fills in a generic
 * message when the plugin failed without one. Returns a negative code. */
int lundi__plugin_error(const lundi_plugin *p, int code, const char *what);
/* Calls the instance observers (observer.c) on a new instance. */
void lundi__instance_notify(const lundi_instance *inst);
char *lundi__strdup(const char *s);

#endif
