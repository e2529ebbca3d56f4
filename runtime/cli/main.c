/* lundi [OPTIONS] COMMAND [ARGS]: global options, then one of the commands below. */
#include <lua.h>
#include <string.h>

#include "cli.h"
#include "lundi/lundi.h"

const cli_command cli_commands[] = {
  {"run", "SCRIPT [--key=value ...]", "run a Lua script", cli_run_help, cli_cmd_run},
  {"runs", "[--where EXPR] [...]", "list recorded runs, filtered and sorted", cli_runs_help, cli_cmd_runs},
  {"show", "RUN", "a run's params, metrics, outputs and plugins", cli_show_help, cli_cmd_show},
  {"compare", "RUN RUN...", "runs side by side, differences marked", cli_compare_help, cli_cmd_compare},
  {"metrics", "RUN KEY [--plot]", "a metric's values, sparkline or PNG plot", cli_metrics_help,
   cli_cmd_metrics},
  {"export", "RUN DIR", "write a run's outputs, script, files, manifest", cli_export_help, cli_cmd_export},
  {"rerun", "RUN [--key=value ...]", "run a run again: same script, params, files", cli_rerun_help,
   cli_cmd_rerun},
  {"sql", "QUERY", "read-only SQL on the run store", cli_sql_help, cli_cmd_sql},
  {"gc", "[--dry-run]", "remove outputs of deleted runs, stray files", cli_gc_help, cli_cmd_gc},
  {"which", "IMAGE.png", "the run that saved an image", cli_which_help, cli_cmd_which},
  {"plugins", "[KIND]", "list plugins with their parameters and defaults", cli_plugins_help,
   cli_cmd_plugins},
  {"devices", "", "list the devices of every backend", cli_devices_help, cli_cmd_devices},
  {"fetch", "mnist|gpt2 [--from F]", "download a data set once into the cache", cli_fetch_help,
   cli_cmd_fetch},
  {"tokenizer", "ACTION [...]", "train a BPE; encode text to ids, decode ids",
   cli_tokenizer_help, cli_cmd_tokenizer},
  {"help", "[COMMAND]", "show help for lundi or a command", cli_help_help, cli_cmd_help},
};
const int cli_n_commands = (int)(sizeof cli_commands / sizeof *cli_commands);

const cli_command *cli_find_command(const char *name) {
  for (int i = 0; i < cli_n_commands; i++)
    if (!strcmp(cli_commands[i].name, name)) return &cli_commands[i];
  return NULL;
}

static void print_version(void) {
  printf("lundi %s\nplugin ABI %d\n%s\n", lundi_version(), LUNDI_ABI_VERSION, LUA_RELEASE);
}

int main(int argc, char **argv) {
  static cli_opts opts; /* static: the plugin list is large for the stack of a tiny main */
  int i = 1;
  while (i < argc && argv[i][0] == '-') {
    const char *a = argv[i];
    if (cli_is_help(a)) {
      cli_print_help(stdout, NULL);
      return CLI_OK;
    }
    if (!strcmp(a, "-V") || !strcmp(a, "--version")) {
      print_version();
      return CLI_OK;
    }
    if (!strcmp(a, "--no-record")) { /* run's own option, accepted before the command too */
      opts.no_record = 1;
      i++;
      continue;
    }
    int r = cli_global_option(&opts, argc, argv, &i, NULL);
    if (r < 0) return CLI_USAGE;
    if (r == 0) return cli_usage_error(NULL, "unknown option '%s'", a);
  }
  if (i >= argc) {
    cli_print_help(stderr, NULL);
    return CLI_USAGE;
  }
  const cli_command *cmd = cli_find_command(argv[i]);
  if (!cmd) {
    const char *names[64];
    for (int k = 0; k < cli_n_commands; k++) names[k] = cli_commands[k].name;
    const char *guess = cli_suggest(argv[i], names, cli_n_commands);
    if (guess) return cli_usage_error(NULL, "unknown command '%s' (did you mean '%s'?)", argv[i], guess);
    return cli_usage_error(NULL, "unknown command '%s'", argv[i]);
  }
  if (opts.no_record && strcmp(cmd->name, "run"))
    return cli_usage_error(cmd->name, "--no-record is an option of 'lundi run' only");
  return cmd->main(&opts, argc, argv, i);
}
