/* lundi help [COMMAND], and the general usage text. */
#include <string.h>

#include "cli.h"
#include "lundi/lundi.h"

const char cli_help_help[] =
    "usage: lundi help [COMMAND]\n"
    "\n"
    "Shows the general help, or the help of COMMAND (the same as 'lundi COMMAND --help').\n";

#define COL 28 /* the longest left column: "run SCRIPT [--key=value ...]" */

static void row(FILE *out, const char *left, const char *right) {
  fprintf(out, "  %-*s  %s\n", COL, left, right);
}

/* "--device cpu|vulkan[:N]", from the registered backends ("auto" goes in the text). */
static const char *device_syntax(char *buf, size_t cap) {
  size_t at = (size_t)snprintf(buf, cap, "--device ");
  for (int b = 0; b < lundi_backend_count() && at < cap; b++)
    at += (size_t)snprintf(buf + at, cap - at, "%s%s%s", b ? "|" : "", lundi_backend_name(b),
                           lundi_backend_is_single(b) ? "" : "[:N]");
  return buf;
}

void cli_print_help(FILE *out, const cli_command *cmd) {
  if (cmd) {
    fputs(cmd->help, out);
    return;
  }
  fputs("usage: lundi [OPTIONS] COMMAND [ARGS]\n"
        "\n"
        "Runs Lua scripts that put plugins (schedulers, denoisers, conditioners and\n"
        "samplers) together into diffusion pipelines.\n"
        "\n"
        "commands:\n",
        out);
  char left[256];
  for (int i = 0; i < cli_n_commands; i++) {
    snprintf(left, sizeof left, "%s%s%s", cli_commands[i].name, *cli_commands[i].args ? " " : "",
             cli_commands[i].args);
    row(out, left, cli_commands[i].summary);
  }
  fputs("\noptions (before the command, or right after it):\n", out);
  row(out, "--plugin FILE.so", "load a plugin file (repeatable)");
  row(out, device_syntax(left, sizeof left), "auto (default): a Vulkan GPU, else the CPU");
  row(out, "--db FILE", "the run store (default: $LUNDI_DB or ./lundi.db)");
  row(out, "--threads N", "CPU threads for the kernels");
  row(out, "-q, --quiet", "no progress bars");
  row(out, "--no-record", "run: record nothing in the store");
  row(out, "-h, --help", "show this help");
  row(out, "-V, --version", "show the version");
  fputs("\nenvironment:\n", out);
  row(out, "LUNDI_PLUGIN_PATH", "':'-separated directories of *.so plugins");
  row(out, "LUNDI_DEVICE", "like --device");
  row(out, "LUNDI_DB", "like --db");
  row(out, "LUNDI_CPU_FALLBACK=1", "ops a device lacks run on the CPU");
  row(out, "LUNDI_PROGRESS=0", "no progress bars");
  row(out, "LUNDI_PROGRESS_INTERVAL", "seconds between plain progress lines (10)");
  fputs("\nRun 'lundi help COMMAND' for more about a command.\n", out);
}

int cli_cmd_help(cli_opts *o, int argc, char **argv, int at) {
  (void)o;
  const char *topic = NULL;
  for (int i = at + 1; i < argc; i++) {
    if (cli_is_help(argv[i])) {
      cli_print_help(stdout, cli_find_command("help"));
      return CLI_OK;
    }
    if (topic) return cli_usage_error("help", "'help' takes one command name (got '%s' and '%s')", topic, argv[i]);
    topic = argv[i];
  }
  if (!topic) {
    cli_print_help(stdout, NULL);
    return CLI_OK;
  }
  const cli_command *cmd = cli_find_command(topic);
  if (!cmd) {
    const char *names[64];
    for (int k = 0; k < cli_n_commands; k++) names[k] = cli_commands[k].name;
    const char *guess = cli_suggest(topic, names, cli_n_commands);
    if (guess) return cli_usage_error(NULL, "no help for '%s': unknown command (did you mean '%s'?)", topic, guess);
    return cli_usage_error(NULL, "no help for '%s': unknown command", topic);
  }
  cli_print_help(stdout, cmd);
  return CLI_OK;
}
