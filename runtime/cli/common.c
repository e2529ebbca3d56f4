/* Options shared by every command, registry loading and messages. */
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>

#include "cli.h"
#include "lundi/lua.h"
#include "lundi/lundi.h"

const char *cli_run_status_name(cli_run_status s) {
  switch (s) {
  case CLI_RUN_FINISHED: return "finished";
  case CLI_RUN_FAILED: return "failed";
  case CLI_RUN_INTERRUPTED: return "interrupted";
  }
  return "?";
}

int cli_usage_error(const char *cmd, const char *fmt, ...) {
  va_list ap;
  va_start(ap, fmt);
  fputs("lundi: ", stderr);
  vfprintf(stderr, fmt, ap);
  va_end(ap);
  if (cmd) fprintf(stderr, "\nrun 'lundi help %s' for usage\n", cmd);
  else fputs("\nrun 'lundi help' for usage\n", stderr);
  return CLI_USAGE;
}

int cli_fail(const char *fmt, ...) {
  va_list ap;
  va_start(ap, fmt);
  fputs("lundi: ", stderr);
  vfprintf(stderr, fmt, ap);
  va_end(ap);
  fputc('\n', stderr);
  return CLI_FAIL;
}

int cli_is_help(const char *arg) { return !strcmp(arg, "-h") || !strcmp(arg, "--help"); }

int cli_take_value(int argc, char **argv, int *i, const char *name, const char **value, const char *cmd) {
  const char *a = argv[*i];
  size_t n = strlen(name);
  *value = NULL;
  if (strncmp(a, name, n)) return 0;
  if (a[n] == '=') {
    *value = a + n + 1;
  } else if (!a[n]) {
    if (*i + 1 >= argc) return cli_usage_error(cmd, "option %s needs a value", name), -1;
    *value = argv[++*i];
  } else {
    return 0;
  }
  ++*i;
  return 1;
}

static int bad_device(const char *cmd, const char *name) {
  char names[512];
  return cli_usage_error(cmd, "invalid --device '%s' (expected %s)", name, lundi_device_names(names, sizeof names, 0));
}

int cli_global_option(cli_opts *o, int argc, char **argv, int *i, const char *cmd) {
  const char *a = argv[*i], *v = NULL;
  if (!strcmp(a, "-q") || !strcmp(a, "--quiet")) {
    o->quiet = 1;
    ++*i;
    return 1;
  }
  static const char *const valued[] = {"--plugin", "--device", "--db", "--threads"};
  int k = 0, r = 0;
  while (k < 4 && (r = cli_take_value(argc, argv, i, valued[k], &v, cmd)) == 0) k++;
  if (r < 0) return -1;
  if (k == 4) return 0;
  if (!*v) return cli_usage_error(cmd, "option %s needs a value", valued[k]), -1;
  if (k == 0) {
    if (o->n_plugins == CLI_MAX_PLUGINS)
      return cli_usage_error(cmd, "too many --plugin options (at most %d)", CLI_MAX_PLUGINS), -1;
    o->plugins[o->n_plugins++] = v;
  } else if (k == 1) {
    /* A malformed name is refused now; a name no backend has yet may come from a plugin,
     * so cli_check_device looks again once the plugins are loaded. */
    lundi_device_spec s;
    if (lundi_device_parse(v, &s) == LUNDI_EINVAL) return bad_device(cmd, v), -1;
    o->device = v;
    o->device_cmd = cmd;
  } else if (k == 2) {
    o->db = v;
  } else {
    char *end;
    long n = strtol(v, &end, 10);
    if (*end || n < 1 || n > 4096)
      return cli_usage_error(cmd, "invalid --threads '%s' (expected a number of threads, 1 or more)", v), -1;
    o->threads = (int)n;
  }
  return 1;
}

void cli_apply(const cli_opts *o) {
  if (o->threads > 0) lundi_set_threads(o->threads);
  if (o->quiet) setenv("LUNDI_PROGRESS", "0", 1);
}

int cli_check_device(const cli_opts *o) {
  lundi_device_spec s;
  if (o->device && lundi_device_parse(o->device, &s) != 0) return bad_device(o->device_cmd, o->device);
  return 0;
}

/* One bad entry of LUNDI_PLUGIN_PATH must not disable every command: say it and go on. */
static void path_warning(void *ud, const char *message) {
  (void)ud;
  fprintf(stderr, "lundi: warning: %s (skipped)\n", message);
}

lundi_registry *cli_load_registry(const cli_opts *o) {
  lundi_registry *r = lundi_registry_new();
  if (!r) {
    cli_fail("%s", lundi_last_error());
    return NULL;
  }
  const char *path = getenv("LUNDI_PLUGIN_PATH");
  if (lundi_lua_add_plugin_loader(r) != 0) {
    cli_fail("%s", lundi_last_error());
  } else if (lundi_registry_load_builtins(r) != 0) {
    cli_fail("built-in plugins: %s", lundi_last_error());
  } else if (lundi_registry_scan_path(r, NULL, path_warning, NULL) != 0) {
    cli_fail("%s\n(loading LUNDI_PLUGIN_PATH=%s)", lundi_last_error(), path ? path : "");
  } else {
    int i = 0;
    while (i < o->n_plugins && lundi_registry_load_file(r, o->plugins[i]) == 0) i++;
    if (i == o->n_plugins) return r;
    cli_fail("%s", lundi_last_error());
  }
  lundi_registry_free(r);
  return NULL;
}

/* Edit distance counting insertions, deletions, substitutions and adjacent swaps. */
static int distance(const char *a, const char *b) {
  size_t la = strlen(a), lb = strlen(b);
  if (la > 32 || lb > 32) return 99;
  int d[33][33];
  for (size_t i = 0; i <= la; i++) d[i][0] = (int)i;
  for (size_t j = 0; j <= lb; j++) d[0][j] = (int)j;
  for (size_t i = 1; i <= la; i++)
    for (size_t j = 1; j <= lb; j++) {
      int sub = d[i - 1][j - 1] + (a[i - 1] != b[j - 1]);
      int del = d[i - 1][j] + 1, ins = d[i][j - 1] + 1;
      d[i][j] = sub < del ? (sub < ins ? sub : ins) : (del < ins ? del : ins);
      if (i > 1 && j > 1 && a[i - 1] == b[j - 2] && a[i - 2] == b[j - 1] && d[i - 2][j - 2] + 1 < d[i][j])
        d[i][j] = d[i - 2][j - 2] + 1; /* a swap of neighbours is one typo */
    }
  return d[la][lb];
}

const char *cli_suggest(const char *s, const char *const *names, int n) {
  const char *best = NULL;
  int bd = 3; /* at most two edits, and fewer than half the word */
  for (int i = 0; i < n; i++) {
    int d = distance(s, names[i]);
    if (d < bd && (size_t)d * 2 < strlen(names[i])) bd = d, best = names[i];
  }
  return best;
}
