/* lundi gc [--dry-run] [--delete RUN ...] [--grace SECONDS] */
#include <stdlib.h>
#include <string.h>

#include "cli.h"
#include "lundi/lundi.h"

const char cli_gc_help[] =
    "usage: lundi gc [--dry-run] [--delete RUN]... [--grace SECONDS]\n"
    "\n"
    "Frees space in the run store: removes the outputs of runs marked deleted (their\n"
    "params, metrics and tags stay, so 'lundi runs --deleted' still lists them), then\n"
    "the blob files under <db>.blobs/ that no output references. Prints each thing it\n"
    "removes and the bytes freed.\n"
    "\n"
    "  --dry-run        only print what would be removed\n"
    "  --delete RUN     mark RUN deleted first (hidden from 'lundi runs'; repeatable)\n"
    "  --grace S        keep unreferenced files younger than S seconds (default 600):\n"
    "                   a running script writes its file just before its row\n";

typedef struct gc_out {
  int dry;
} gc_out;

static void on_removed(void *ud, const char *what, const char *name, int64_t bytes) {
  const gc_out *g = ud;
  char b[32];
  cli_fmt_bytes(bytes, b, sizeof b);
  if (!strcmp(what, "output")) printf("%s %s%s%s%s\n", g->dry ? "would remove" : "removed", name,
                                      bytes ? " (" : "", bytes ? b : "", bytes ? " in the database)" : "");
  else printf("%s %s (%s)\n", g->dry ? "would remove" : "removed", name, b);
}

int cli_cmd_gc(cli_opts *o, int argc, char **argv, int at) {
  const char **del = calloc((size_t)argc, sizeof *del);
  int n_del = 0, dry = 0, rc = CLI_OK;
  double grace = 600;
  if (!del) return cli_fail("out of memory");
  for (int i = at + 1; i < argc && !rc;) {
    const char *v;
    int r;
    if (cli_is_help(argv[i])) {
      cli_print_help(stdout, cli_find_command("gc"));
      free(del);
      return CLI_OK;
    }
    if (!strcmp(argv[i], "--dry-run") || !strcmp(argv[i], "-n")) {
      dry = 1, i++;
    } else if ((r = cli_take_value(argc, argv, &i, "--delete", &v, "gc"))) {
      if (r < 0) rc = CLI_USAGE;
      else del[n_del++] = v;
    } else if ((r = cli_take_value(argc, argv, &i, "--grace", &v, "gc"))) {
      char *end;
      if (r < 0) rc = CLI_USAGE;
      else if ((grace = strtod(v, &end)) < 0 || *end || !*v)
        rc = cli_usage_error("gc", "invalid --grace '%s' (expected seconds, 0 or more)", v);
    } else {
      r = cli_global_option(o, argc, argv, &i, "gc");
      if (r < 0) rc = CLI_USAGE;
      else if (r == 0) rc = cli_usage_error("gc", "unexpected argument '%s'", argv[i]);
    }
  }
  lundi_store *s = rc ? NULL : cli_open_store(o, 0);
  if (!rc && !s) rc = CLI_FAIL;
  for (int i = 0; i < n_del && !rc; i++) {
    int64_t id;
    if (lundi_history_resolve(s, del[i], &id) != 0) rc = cli_fail("%s", lundi_last_error());
    else if (!dry && lundi_history_set_deleted(s, id, 1) != 0) rc = cli_fail("%s", lundi_last_error());
    else printf("%s run %lld deleted\n", dry ? "would mark" : "marked", (long long)id);
  }
  gc_out g = {dry};
  lundi_gc_report rep;
  if (!rc && lundi_history_gc(s, dry, grace, on_removed, &g, &rep) != 0) rc = cli_fail("%s", lundi_last_error());
  if (!rc) {
    char b[32];
    cli_fmt_bytes(rep.bytes_freed, b, sizeof b);
    printf("gc: %s %lld output%s and %lld file%s, %s %s", dry ? "would remove" : "removed",
           (long long)rep.outputs_removed, rep.outputs_removed == 1 ? "" : "s", (long long)rep.files_removed,
           rep.files_removed == 1 ? "" : "s", dry ? "freeing" : "freed", b);
    if (rep.files_young)
      printf("; kept %lld unreferenced file%s younger than %g s", (long long)rep.files_young,
             rep.files_young == 1 ? "" : "s", grace);
    printf("\n");
  }
  lundi_store_close(s);
  free(del);
  return rc;
}
