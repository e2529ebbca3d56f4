/* lundi sql "SELECT ...": one read-only statement on the run store. */
#include <stdlib.h>
#include <string.h>

#include "cli.h"
#include "lundi/lundi.h"

const char cli_sql_help[] =
    "usage: lundi sql QUERY [--format table|csv|json]\n"
    "\n"
    "Runs one SQL statement on the run store and prints its rows. The database is\n"
    "opened read-only: statements that would write (INSERT, UPDATE, DELETE, CREATE,\n"
    "DROP, ...), ATTACH and PRAGMAs that set a value are refused before they run.\n"
    "QUERY '-' reads the statement from standard input.\n"
    "\n"
    "Tables: runs, params, metrics, metric_summary, tags, outputs, plugins_used,\n"
    "plugin_files (see 'lundi sql \"SELECT sql FROM sqlite_schema\"').\n"
    "\n"
    "examples:\n"
    "  lundi sql \"SELECT status, count(*) FROM runs GROUP BY status\"\n"
    "  lundi sql \"SELECT run_id, max(value) FROM metrics WHERE key = 'psnr'\n"
    "             GROUP BY run_id\" --format csv\n";

static char *read_stdin(void) {
  size_t cap = 4096, n = 0;
  char *b = malloc(cap);
  while (b) {
    n += fread(b + n, 1, cap - n - 1, stdin);
    if (n < cap - 1) break;
    char *g = realloc(b, cap *= 2);
    if (!g) free(b);
    b = g;
  }
  if (b) b[n] = 0;
  return b;
}

int cli_cmd_sql(cli_opts *o, int argc, char **argv, int at) {
  const char *query = NULL;
  int fmt = CLI_FMT_TABLE;
  for (int i = at + 1; i < argc;) {
    const char *v;
    int r;
    if (cli_is_help(argv[i])) {
      cli_print_help(stdout, cli_find_command("sql"));
      return CLI_OK;
    }
    if ((r = cli_take_value(argc, argv, &i, "--format", &v, "sql"))) {
      if (r < 0 || cli_parse_format(v, &fmt, "sql")) return CLI_USAGE;
    } else if (argv[i][0] == '-' && argv[i][1] == '-') {
      r = cli_global_option(o, argc, argv, &i, "sql");
      if (r < 0) return CLI_USAGE;
      if (r == 0) return cli_usage_error("sql", "unknown option '%s'", argv[i]);
    } else if (query) {
      return cli_usage_error("sql", "one query at a time (got '%s' and '%s'); quote the whole statement", query, argv[i]);
    } else {
      query = argv[i++];
    }
  }
  if (!query) return cli_usage_error("sql", "missing the query (lundi sql \"SELECT ...\")");
  char *in = !strcmp(query, "-") ? read_stdin() : NULL;
  if (in) query = in;
  lundi_table t;
  int rc = CLI_OK;
  if (lundi_history_sql(lundi_store_default_path(o->db), query, &t) != 0) {
    rc = cli_fail("%s", lundi_last_error());
  } else {
    if (cli_print_table(stdout, &t, fmt, 0) != 0) rc = CLI_FAIL;
    if (fmt == CLI_FMT_TABLE) fprintf(stderr, "(%lld row%s)\n", (long long)t.n_rows, t.n_rows == 1 ? "" : "s");
    lundi_table_free(&t);
  }
  free(in);
  return rc;
}
