/* Options shared by every command, registry loading and messages. */
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>

#include "cli.h"
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

/* "cpu", "vulkan" or "vulkan:N". */
static int valid_device(const char *s) {
  if (!strcmp(s, "cpu") || !strcmp(s, "vulkan")) return 1;
  if (strncmp(s, "vulkan:", 7) || !s[7]) return 0;
  for (const char *c = s + 7; *c; c++)
    if (*c < '0' || *c > '9') return 0;
  return strlen(s + 7) <= 3;
}

/* Matches "--name VALUE" and "--name=VALUE"; *value is NULL when the option is not name. */
static int take_value(int argc, char **argv, int *i, const char *name, const char **value,
                      const char *cmd) {
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
  if (!**value) return cli_usage_error(cmd, "option %s needs a value", name), -1;
  return 1;
}

int cli_global_option(cli_opts *o, int argc, char **argv, int *i, const char *cmd) {
  const char *a = argv[*i], *v;
  if (!strcmp(a, "-q") || !strcmp(a, "--quiet")) {
    o->quiet = 1;
    ++*i;
    return 1;
  }
  int r;
  if ((r = take_value(argc, argv, i, "--plugin", &v, cmd)) != 0) {
    if (r < 0) return -1;
    if (o->n_plugins == CLI_MAX_PLUGINS)
      return cli_usage_error(cmd, "too many --plugin options (at most %d)", CLI_MAX_PLUGINS), -1;
    o->plugins[o->n_plugins++] = v;
  } else if ((r = take_value(argc, argv, i, "--device", &v, cmd)) != 0) {
    if (r < 0) return -1;
    if (!valid_device(v))
      return cli_usage_error(cmd, "invalid --device '%s' (expected cpu, vulkan or vulkan:N)", v), -1;
    o->device = v;
  } else if ((r = take_value(argc, argv, i, "--db", &v, cmd)) != 0) {
    if (r < 0) return -1;
    o->db = v;
  } else if ((r = take_value(argc, argv, i, "--threads", &v, cmd)) != 0) {
    if (r < 0) return -1;
    char *end;
    long n = strtol(v, &end, 10);
    if (*end || n < 1 || n > 4096)
      return cli_usage_error(cmd, "invalid --threads '%s' (expected a number of threads, 1 or more)", v), -1;
    o->threads = (int)n;
  } else {
    return 0;
  }
  ++*i;
  return 1;
}

void cli_apply(const cli_opts *o) {
  if (o->device) setenv("LUNDI_DEVICE", o->device, 1);
  if (o->threads > 0) lundi_set_threads(o->threads);
  if (o->quiet) setenv("LUNDI_PROGRESS", "0", 1);
}

lundi_registry *cli_load_registry(const cli_opts *o) {
  lundi_registry *r = lundi_registry_new();
  if (!r) {
    cli_fail("%s", lundi_last_error());
    return NULL;
  }
  const char *path = getenv("LUNDI_PLUGIN_PATH");
  if (lundi_registry_load_builtins(r) != 0) {
    cli_fail("built-in plugins: %s", lundi_last_error());
  } else if (lundi_registry_load_path(r, NULL) != 0) {
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
