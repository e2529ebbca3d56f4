/* Plugin files that are not shared objects (Lua tables given to lundi.register): a loader per
 * file-name ending, added by a higher floor (runtime/lua), so this floor needs no Lua. The
 * registry loads each such file once (by real path) and rolls back what a failing file
 * registered, as for a .so. */
#include "plugin/plugin_internal.h"

#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

int lundi_registry_add_loader(lundi_registry *r, const lundi_file_loader *l) {
  if (!r || !l || !l->suffix || !*l->suffix || !l->load)
    return lundi_set_error(LUNDI_EINVAL, "lundi_registry_add_loader: NULL registry, loader, suffix or load");
  for (int i = 0; i < r->n_loaders; i++)
    if (!strcmp(r->loaders[i].suffix, l->suffix))
      return lundi_set_error(LUNDI_EINVAL, "lundi_registry_add_loader: '%s' files have a loader already", l->suffix);
  if (r->n_loaders == LUNDI__MAX_LOADERS)
    return lundi_set_error(LUNDI_EINVAL, "lundi_registry_add_loader: at most %d loaders", LUNDI__MAX_LOADERS);
  r->loaders[r->n_loaders++] = *l;
  return 0;
}

const lundi_file_loader *lundi__loader_for(const lundi_registry *r, const char *path) {
  size_t n = strlen(path);
  for (int i = 0; i < r->n_loaders; i++) {
    size_t k = strlen(r->loaders[i].suffix);
    if (n > k && !strcmp(path + n - k, r->loaders[i].suffix)) return &r->loaders[i];
  }
  return NULL;
}

int lundi__load_with(lundi_registry *r, const lundi_file_loader *l, const char *path) {
  char *real = realpath(path, NULL);
  if (!real) return lundi_set_error(LUNDI_EIO, "cannot load plugin %s: no such file", path);
  for (int i = 0; i < r->n_loader_files; i++)
    if (!strcmp(r->loader_files[i], real)) { /* the same file twice (path and --plugin): once */
      free(real);
      return 0;
    }
  char **files = realloc(r->loader_files, sizeof *files * (size_t)(r->n_loader_files + 1));
  if (!files) {
    free(real);
    return lundi_set_error(LUNDI_ENOMEM, "%s: out of memory", path);
  }
  r->loader_files = files;
  const char *outer = r->loading;
  int n0 = r->n;
  r->loading = path;
  lundi_clear_error();
  int rc = l->load(l->ud, r, path);
  r->loading = outer;
  if (rc != 0) {
    char msg[1024];
    snprintf(msg, sizeof msg, "%s", *lundi_last_error() ? lundi_last_error() : "it failed without a message");
    lundi__registry_truncate(r, n0);
    free(real);
    return lundi_set_error(rc < 0 ? rc : LUNDI_EINVAL, "plugin %s failed to load (nothing registered from it): %s",
                           path, msg);
  }
  r->loader_files[r->n_loader_files++] = real;
  return 0;
}

void lundi__loaders_close(lundi_registry *r) {
  for (int i = r->n_loaders - 1; i >= 0; i--)
    if (r->loaders[i].close) r->loaders[i].close(r->loaders[i].ud);
  r->n_loaders = 0;
  for (int i = 0; i < r->n_loader_files; i++) free(r->loader_files[i]);
  free(r->loader_files);
  r->loader_files = NULL;
  r->n_loader_files = 0;
}
