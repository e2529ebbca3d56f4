/* lundi export RUN DIR: the outputs as files, the script, and manifest.json. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli.h"
#include "lundi/lundi.h"

const char cli_export_help[] =
    "usage: lundi export RUN DIR\n"
    "\n"
    "Writes into DIR (created when missing) every output of RUN as a file named after\n"
    "the output (with an extension from its type; '-ID' added when two names clash),\n"
    "the script as it was when the run started, and manifest.json: the run's\n"
    "attributes, params, tags, metric summaries, plugins, each output's file, kind,\n"
    "type, size and sha256, and under plugin_files each file the run loaded (plugin\n"
    "files and the Lua files its script loaded) with its path, role and sha256.\n"
    "Those files are copied to DIR/plugins/ when they still have the recorded sha256;\n"
    "one that is gone or changed is not copied (a warning, and the manifest says\n"
    "why). Every output is checked against its sha256 first.\n"
    "\n"
    "RUN as in 'lundi show': an id, a uuid or its start, a name, 'last' or -N.\n"
    "\n"
    "example:\n"
    "  lundi export last results/run-last\n";

int cli_cmd_export(cli_opts *o, int argc, char **argv, int at) {
  const char *pos[2] = {0};
  int n = 0;
  for (int i = at + 1; i < argc;) {
    if (cli_is_help(argv[i])) {
      cli_print_help(stdout, cli_find_command("export"));
      return CLI_OK;
    }
    if (argv[i][0] == '-' && !(argv[i][1] >= '0' && argv[i][1] <= '9')) {
      int r = cli_global_option(o, argc, argv, &i, "export");
      if (r < 0) return CLI_USAGE;
      if (r == 0) return cli_usage_error("export", "unknown option '%s'", argv[i]);
      continue;
    }
    if (n == 2) return cli_usage_error("export", "unexpected argument '%s' (lundi export RUN DIR)", argv[i]);
    pos[n++] = argv[i++];
  }
  if (n < 2) return cli_usage_error("export", n ? "missing the directory (lundi export RUN DIR)" : "missing the run and the directory (lundi export RUN DIR)");
  lundi_store *s = cli_open_store(o, 1);
  if (!s) return CLI_FAIL;
  int64_t id;
  char *manifest = NULL;
  int rc = CLI_OK;
  lundi_run_record *r = NULL;
  if (lundi_history_resolve(s, pos[0], &id) != 0 || lundi_history_run(s, pos[0], &r) != 0 ||
      lundi_history_export(s, id, pos[1], &manifest) != 0)
    rc = cli_fail("%s", lundi_last_error());
  else {
    int copied = 0;
    for (int i = 0; i < r->n_files; i++) {
      char now[65];
      if (lundi_sha256_file(r->files[i].path, now) == 0 && !strcmp(now, r->files[i].sha256)) copied++;
      else fprintf(stderr, "lundi: warning: %s was not copied: %s (recorded sha256 %s)\n",
                   r->files[i].path, *now ? "it changed since the run" : "it is gone", r->files[i].sha256);
    }
    printf("exported run %lld (%s) to %s: %d output%s%s", (long long)id, r->name ? r->name : "-", pos[1],
           r->n_outputs, r->n_outputs == 1 ? "" : "s", r->script_text ? ", the script" : "");
    if (r->n_files) printf(", %d of %d loaded file%s in plugins/", copied, r->n_files, r->n_files == 1 ? "" : "s");
    printf(", manifest.json\n");
  }
  lundi_run_record_free(r);
  free(manifest);
  lundi_store_close(s);
  return rc;
}
