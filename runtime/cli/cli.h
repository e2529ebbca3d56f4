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
  const char *device;                   /* --device NAME (lundi_device_parse), or NULL */
  const char *device_cmd;               /* the command it followed (NULL: before any) */
  int threads;                          /* --threads N; 0: library default */
  int quiet;                            /* --quiet: no progress bars */
  const char *db;                       /* --db FILE (else $LUNDI_DB, else ./lundi.db) */
  int no_record;                        /* --no-record before the command (run only) */
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
/* Applies --threads and --quiet to the process. */
void cli_apply(const cli_opts *o);
/* After the plugins are loaded (one may add a backend): 0 when --device names a registered
 * backend's device or is absent, else CLI_USAGE after the message. */
int cli_check_device(const cli_opts *o);
/* "--name VALUE" or "--name=VALUE" at argv[*i] (an empty value is allowed): 1 and *i moved
 * past it, 0 not this option, -1 a missing value (message printed). */
int cli_take_value(int argc, char **argv, int *i, const char *name, const char **value, const char *cmd);
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

/* run_files.c: records in run the plugin files reg loaded (role plugin for the --plugin
 * ones, path for LUNDI_PLUGIN_PATH's), as lundi/store.h's plugin_files. */
struct lundi_run;
void cli_record_plugin_files(struct lundi_run *run, const cli_opts *o, const lundi_registry *reg);
/* Wraps dofile, loadfile and the package searchers of L so each Lua file they load is
 * recorded (role lua) in the session's current run, when there is one. */
struct lua_State;
void cli_watch_lua_files(struct lua_State *L);

int cli_cmd_run(cli_opts *o, int argc, char **argv, int at);
int cli_cmd_plugins(cli_opts *o, int argc, char **argv, int at);
int cli_cmd_devices(cli_opts *o, int argc, char **argv, int at);
int cli_cmd_help(cli_opts *o, int argc, char **argv, int at);
extern const char cli_run_help[], cli_plugins_help[], cli_devices_help[], cli_help_help[];
int cli_cmd_fetch(cli_opts *o, int argc, char **argv, int at); /* cmd_fetch.c */
extern const char cli_fetch_help[];
int cli_cmd_tokenizer(cli_opts *o, int argc, char **argv, int at); /* cmd_tokenizer.c */
extern const char cli_tokenizer_help[];

/* ---- the commands that read the run store (query_common.c and cmd_<name>.c) ---- */
#include "lundi/history.h"
struct cJSON;
enum { CLI_FMT_TABLE = 0, CLI_FMT_CSV, CLI_FMT_JSON };
lundi_store *cli_open_store(const cli_opts *o, int readonly); /* prints the error; NULL */
int cli_parse_format(const char *s, int *fmt, const char *cmd); /* -1 after a usage message */
/* pretty (aligned tables only): uuids shortened, times local, durations as 1m05s. */
int cli_print_table(FILE *out, const lundi_table *t, int fmt, int pretty);
struct cJSON *cli_cell_json(const lundi_cell *cell);
void cli_fmt_time(double t, char *buf, size_t n);
void cli_fmt_duration(double d, char *buf, size_t n);
void cli_fmt_bytes(int64_t b, char *buf, size_t n);
void cli_fmt_real(double v, char *buf, size_t n);
/* Prints text and a caret under its 1-based column col to stderr. */
void cli_show_caret(const char *text, int col);
/* Prints a run like `lundi show` (highlight: an output id to mark, or -1). */
int cli_show_run(lundi_store *s, const char *ref, int64_t highlight);

int cli_cmd_runs(cli_opts *o, int argc, char **argv, int at);
int cli_cmd_show(cli_opts *o, int argc, char **argv, int at);
int cli_cmd_compare(cli_opts *o, int argc, char **argv, int at);
int cli_cmd_metrics(cli_opts *o, int argc, char **argv, int at);
int cli_cmd_export(cli_opts *o, int argc, char **argv, int at);
int cli_cmd_rerun(cli_opts *o, int argc, char **argv, int at);
int cli_cmd_sql(cli_opts *o, int argc, char **argv, int at);
int cli_cmd_gc(cli_opts *o, int argc, char **argv, int at);
int cli_cmd_which(cli_opts *o, int argc, char **argv, int at);
extern const char cli_runs_help[], cli_show_help[], cli_compare_help[], cli_metrics_help[],
    cli_export_help[], cli_rerun_help[], cli_sql_help[], cli_gc_help[], cli_which_help[];

#endif
