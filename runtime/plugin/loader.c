/* Shared-object plugins: dlopen, check the exported ABI version before anything in the file
 * runs, call the entry point, and roll back whatever it registered if it fails; a file may
 * also (or only) export a backend for the device registry. Also the built-in set, which goes
 * through the same lundi_register() path. */
#include "plugin/plugin_internal.h"
#include "builtins.h"
#include "core/backend_desc.h"

#include <dirent.h>
#include <dlfcn.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* Keeps h open, and the path it was loaded from for lundi_registry_file(). */
static int keep_handle(lundi_registry *r, void *h, const char *path) {
  if (r->nh == r->caph) {
    int nc = r->caph ? r->caph * 2 : 8;
    void **nh = realloc(r->handles, (size_t)nc * sizeof *nh);
    if (!nh) return -1;
    r->handles = nh;
    char **nf = realloc(r->files, (size_t)nc * sizeof *nf);
    if (!nf) return -1;
    r->files = nf;
    r->caph = nc;
  }
  if (!(r->files[r->nh] = lundi__strdup(path))) return -1;
  r->handles[r->nh++] = h;
  return 0;
}

/* The shared objects in load order, then the files of other loaders (.lua) in theirs. */
int lundi_registry_file_count(const lundi_registry *r) { return r ? r->nh + r->n_loader_files : 0; }
const char *lundi_registry_file(const lundi_registry *r, int i) {
  if (!r || i < 0) return NULL;
  if (i < r->nh) return r->files[i];
  return i - r->nh < r->n_loader_files ? r->loader_files[i - r->nh] : NULL;
}

int lundi_registry_load_file(lundi_registry *r, const char *path) {
  if (!r || !path || !*path)
    return lundi_set_error(LUNDI_EINVAL, "lundi_registry_load_file: NULL %s", r ? "path" : "registry");
  const lundi_file_loader *other = lundi__loader_for(r, path);
  if (other) return lundi__load_with(r, other, path);
  /* A bare file name means the file here, not a search of the library path. */
  char local[4096];
  const char *open_as = path;
  if (!strchr(path, '/')) {
    snprintf(local, sizeof local, "./%s", path);
    open_as = local;
  }
  dlerror();
  void *h = dlopen(open_as, RTLD_NOW | RTLD_LOCAL);
  if (!h) {
    const char *why = dlerror();
    /* dlerror() repeats the path ("./x.so: cannot open ..."); keep only the reason. */
    size_t n = strlen(open_as);
    if (why && !strncmp(why, open_as, n) && !strncmp(why + n, ": ", 2)) why += n + 2;
    return lundi_set_error(LUNDI_EIO, "cannot load plugin %s%s%s%s: %s", path,
                           open_as == path ? "" : " (opened as ", open_as == path ? "" : open_as,
                           open_as == path ? "" : ")", why ? why : "dlopen failed");
  }
  /* dlopen hands back the same handle for a file already open (however it was named), so a
   * file given twice, in LUNDI_PLUGIN_PATH and in --plugin say, is loaded once. */
  for (int i = 0; i < r->nh; i++)
    if (r->handles[i] == h) {
      dlclose(h);
      return 0;
    }
  const int *abi = dlsym(h, LUNDI_PLUGIN_ABI_SYMBOL);
  const void *backend = dlsym(h, LUNDI_BACKEND_SYMBOL); /* a file may add a backend */
  if (!abi && backend) { /* a backend and no plugins: its kernel_count is its ABI check */
    int rc = lundi__plugin_add_backend(backend, path, open_as);
    if (rc == 0 && keep_handle(r, h, path) == 0) return 0;
    dlclose(h);
    return rc ? rc : lundi_set_error(LUNDI_ENOMEM, "%s: out of memory", path);
  }
  if (!abi) {
    dlclose(h);
    return lundi_set_error(LUNDI_EFORMAT,
                           "%s is not a lundi plugin: it does not export " LUNDI_PLUGIN_ABI_SYMBOL
                           " (build it with LUNDI_PLUGIN_ENTRY)",
                           path);
  }
  if (*abi != LUNDI_ABI_VERSION) {
    int v = *abi;
    dlclose(h);
    return lundi_set_error(LUNDI_EUNSUPPORTED,
                           "%s was built for lundi plugin ABI %d, but this lundi uses ABI %d; rebuild it against "
                           "lundi's headers",
                           path, v, LUNDI_ABI_VERSION);
  }
  lundi_plugin_init_fn init;
  /* dlsym returns void *; converting it through memcpy keeps -Wpedantic quiet. */
  void *sym = dlsym(h, LUNDI_PLUGIN_INIT_SYMBOL);
  if (!sym) {
    dlclose(h);
    return lundi_set_error(LUNDI_EFORMAT, "%s exports " LUNDI_PLUGIN_ABI_SYMBOL " but no " LUNDI_PLUGIN_INIT_SYMBOL
                           "() entry point (build it with LUNDI_PLUGIN_ENTRY)", path);
  }
  memcpy(&init, &sym, sizeof init);
  const char *outer = r->loading;
  int n0 = r->n;
  r->loading = path;
  lundi_clear_error();
  int rc = init(r);
  r->loading = outer;
  if (rc == 0 && backend) rc = lundi__plugin_add_backend(backend, path, open_as);
  if (rc == 0 && keep_handle(r, h, path) == 0) return 0;
  char msg[1024];
  snprintf(msg, sizeof msg, "%s", rc == 0 ? "out of memory" : *lundi_last_error() ? lundi_last_error()
                                                                                   : "it returned an error without a message");
  lundi__registry_truncate(r, n0); /* release_user lives in the file: run it before dlclose */
  dlclose(h);
  return lundi_set_error(rc < 0 ? rc : LUNDI_EINVAL, "plugin %s failed to initialise (nothing registered from it): %s",
                         path, msg);
}

static int by_name(const void *a, const void *b) { return strcmp(*(char *const *)a, *(char *const *)b); }

static int ends_with_so(const char *s) {
  size_t n = strlen(s);
  return n > 3 && strcmp(s + n - 3, ".so") == 0;
}

/* Reports the pending error to warn and goes on, unless there is no warn (stop) or the error
 * is out of memory (stop: nothing further would work). */
static int skipped(int rc, lundi_warning_fn warn, void *ud) {
  if (rc == 0 || !warn || rc == LUNDI_ENOMEM) return rc;
  warn(ud, lundi_last_error());
  lundi_clear_error();
  return 0;
}

/* Every *.so of one directory, in sorted order so loading is reproducible. */
static int load_dir(lundi_registry *r, const char *dir, const char *where, lundi_warning_fn warn, void *ud) {
  DIR *d = opendir(dir);
  if (!d)
    return skipped(lundi_set_error(LUNDI_EIO, "%s: cannot open plugin directory '%s': %s", where, dir, strerror(errno)),
                   warn, ud);
  char **names = NULL;
  int n = 0, cap = 0, rc = 0;
  struct dirent *e;
  while ((e = readdir(d))) {
    if (!ends_with_so(e->d_name) && !lundi__loader_for(r, e->d_name)) continue;
    if (n == cap) {
      int nc = cap ? cap * 2 : 16;
      char **nn = realloc(names, (size_t)nc * sizeof *nn);
      if (!nn) {
        rc = lundi_set_error(LUNDI_ENOMEM, "%s: out of memory listing '%s'", where, dir);
        break;
      }
      names = nn;
      cap = nc;
    }
    if (!(names[n] = lundi__strdup(e->d_name))) {
      rc = lundi_set_error(LUNDI_ENOMEM, "%s: out of memory listing '%s'", where, dir);
      break;
    }
    n++;
  }
  closedir(d);
  if (n > 1) qsort(names, (size_t)n, sizeof *names, by_name);
  for (int i = 0; rc == 0 && i < n; i++) {
    size_t len = strlen(dir) + strlen(names[i]) + 2;
    char *path = malloc(len);
    if (!path) {
      rc = lundi_set_error(LUNDI_ENOMEM, "%s: out of memory", where);
      break;
    }
    snprintf(path, len, "%s/%s", dir, names[i]);
    rc = skipped(lundi_registry_load_file(r, path), warn, ud);
    free(path);
  }
  for (int i = 0; i < n; i++) free(names[i]);
  free(names);
  return rc;
}

static int load_path(lundi_registry *r, const char *dirs, lundi_warning_fn warn, void *ud) {
  if (!r) return lundi_set_error(LUNDI_EINVAL, "lundi_registry_load_path: NULL registry");
  const char *where = "plugin path";
  if (!dirs) {
    dirs = getenv("LUNDI_PLUGIN_PATH");
    where = "LUNDI_PLUGIN_PATH";
    if (!dirs) return 0;
  }
  char *copy = lundi__strdup(dirs);
  if (!copy) return lundi_set_error(LUNDI_ENOMEM, "%s: out of memory", where);
  int rc = 0;
  char *save = NULL;
  for (char *dir = strtok_r(copy, ":", &save); dir && rc == 0; dir = strtok_r(NULL, ":", &save))
    rc = load_dir(r, dir, where, warn, ud);
  free(copy);
  return rc;
}

int lundi_registry_load_path(lundi_registry *r, const char *dirs) { return load_path(r, dirs, NULL, NULL); }

int lundi_registry_scan_path(lundi_registry *r, const char *dirs, lundi_warning_fn warn, void *ud) {
  if (!warn) return lundi_set_error(LUNDI_EINVAL, "lundi_registry_scan_path: NULL warning function");
  return load_path(r, dirs, warn, ud);
}

int lundi_registry_load_builtins(lundi_registry *r) {
  if (!r) return lundi_set_error(LUNDI_EINVAL, "lundi_registry_load_builtins: NULL registry");
  const char *outer = r->loading;
  r->loading = NULL; /* origin NULL means "builtin" here */
  int rc = 0;
  for (int i = 0; rc == 0 && i < lundi_builtin_count; i++)
    if (lundi_builtin_inits[i]) rc = lundi_builtin_inits[i](r);
  r->loading = outer;
  return rc;
}
