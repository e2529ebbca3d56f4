/* The `lundi` command: shared options, the command table and helpers.
 *
 * Exit status: 0 success, 1 failure (a message on stderr), 2 usage error, 130 interrupted. */
#ifndef LUNDI_CLI_H
#define LUNDI_CLI_H

#include <stdio.h>

#include "lundi/plugin.h"

enum { CLI_OK = 0, CLI_FAIL = 1, CLI_USAGE = 2, CLI_INTERRUPTED = 130 };
#define CLI_MAX_PLUGINS 64

/* Options every command accepts (before the command name, or after it). */
typedef struct cli_opts {
  const char *plugins[CLI_MAX_PLUGINS]; /* --plugin FILE.so, in order */
  int n_plugins;
  const char *device;                   /* --device cpu|vulkan[:N], or NULL */
  int threads;                          /* --threads N; 0: library default */
  int quiet;                            /* --quiet: no progress bars */
  const char *db;                       /* --db FILE (else $LUNDI_DB, else ./lundi.db) */
} cli_opts;

/* How a `lundi run` ended; the run store records it. */
typedef enum cli_run_status {
  CLI_RUN_FINISHED = 0,
  CLI_RUN_FAILED,      /* Lua error, syntax error, missing script, plugin load failure */
  CLI_RUN_INTERRUPTED  /* Ctrl-C */
} cli_run_status;
const char *cli_run_status_name(cli_run_status s); /* "finished", "failed", "interrupted" */

/* argv[at] is the command's name; its arguments follow. */
typedef struct cli_command {
  const char *name;
  const char *args;    /* after the name in the command list, e.g. "SCRIPT [--key=value ...]" */
  const char *summary; /* one line */
  const char *help;    /* the full text of `lundi help NAME` (after the usage line) */
  int (*main)(cli_opts *o, int argc, char **argv, int at);
} cli_command;

extern const cli_command cli_commands[];
extern const int cli_n_commands;
const cli_command *cli_find_command(const char *name);

/* Tries the global option at argv[*i]; on 1 it was consumed (with its value, *i moved past
 * it), 0 it is not a global option, -1 it was malformed (message printed, exit 2). */
int cli_global_option(cli_opts *o, int argc, char **argv, int *i, const char *cmd);
/* Applies --device, --threads and --quiet to the process. */
void cli_apply(const cli_opts *o);
/* Builtins, $LUNDI_PLUGIN_PATH, then each --plugin; prints the error and returns NULL. */
lundi_registry *cli_load_registry(const cli_opts *o);

/* Prints "lundi: MSG" and a hint to stderr; returns CLI_USAGE. cmd NULL: the general hint. */
int cli_usage_error(const char *cmd, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
/* Prints "lundi: MSG" to stderr; returns CLI_FAIL. */
int cli_fail(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
int cli_is_help(const char *arg); /* -h or --help */
/* The closest of n names to s when it is a likely typo, else NULL. */
const char *cli_suggest(const char *s, const char *const *names, int n);
/* Prints the help of cmd (NULL: the general help) to out. */
void cli_print_help(FILE *out, const cli_command *cmd);

int cli_cmd_run(cli_opts *o, int argc, char **argv, int at);
int cli_cmd_plugins(cli_opts *o, int argc, char **argv, int at);
int cli_cmd_devices(cli_opts *o, int argc, char **argv, int at);
int cli_cmd_help(cli_opts *o, int argc, char **argv, int at);
extern const char cli_run_help[], cli_plugins_help[], cli_devices_help[], cli_help_help[];

#endif
