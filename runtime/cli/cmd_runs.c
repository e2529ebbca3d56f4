/* lundi runs [--where EXPR] [--order-by KEY] [--limit N] [--columns A,B] [--format F] */
#include <stdlib.h>
#include <string.h>

#include "cli.h"
#include "lundi/lundi.h"

const char cli_runs_help[] =
    "usage: lundi runs [--where EXPR] [--order-by FIELD [ASC|DESC]] [--limit N]\n"
    "                  [--columns FIELD,...] [--format table|csv|json] [--deleted]\n"
    "\n"
    "Lists the recorded runs, newest first: id, uuid, name, status, start time and\n"
    "duration, plus every field that --where and --order-by mention.\n"
    "\n"
    "  --where EXPR     only runs matching EXPR (below)\n"
    "  --order-by F     sort by field F, ASC (the default) or DESC; several fields:\n"
    "                   \"a, b DESC\"; runs without F come last\n"
    "  --limit N        at most N runs\n"
    "  --columns LIST   these fields instead, e.g. name,metrics.loss,params.lr\n"
    "  --format F       table (aligned), csv or json (an array of objects)\n"
    "  --deleted        include runs marked deleted\n"
    "\n"
    "Fields: metrics.KEY (the last value; .min, .max, .count for the others),\n"
    "params.KEY, tags.KEY, plugins.KIND (the plugin's name) and plugins.KIND.PARAM\n"
    "(any plugin of the kind: plugins.scheduler = 'ddim', plugins.scheduler.eta > 0),\n"
    "id, uuid, name, status (running, finished, failed, interrupted, crashed),\n"
    "start_time, end_time, duration,\n"
    "seed, device, script, script_sha256, lundi_version, host, exit_message.\n"
    "Quote keys with odd characters: params.`my key`.\n"
    "\n"
    "EXPR compares fields with values and joins comparisons with AND, OR, NOT and\n"
    "parentheses: = != < <= > >=, LIKE / ILIKE 'pat%' (% any text, _ one character;\n"
    "ILIKE ignores case), IN ('a', 'b'), NOT IN, IS NULL, IS NOT NULL. Text takes\n"
    "single quotes ('it''s'). A param compares as a number with a number when it was\n"
    "recorded as one, as text otherwise. Times also compare with 'YYYY-MM-DD HH:MM'.\n"
    "\n"
    "examples:\n"
    "  lundi runs --where \"metrics.loss < 0.05 and params.sampler = 'ddim'\"\n"
    "  lundi runs --where \"tags.model LIKE 'unet%' and status = 'finished'\" \\\n"
    "             --order-by metrics.loss --limit 5\n"
    "  lundi runs --columns id,name,params.lr,metrics.loss --format csv > runs.csv\n";

static const char *opt_name(const char *err_option) {
  if (!err_option) return NULL;
  if (!strcmp(err_option, "order_by")) return "--order-by";
  if (!strcmp(err_option, "columns")) return "--columns";
  return "--where";
}

int cli_cmd_runs(cli_opts *o, int argc, char **argv, int at) {
  lundi_runs_query q = {0};
  int fmt = CLI_FMT_TABLE;
  for (int i = at + 1; i < argc;) {
    const char *v;
    int r;
    if (cli_is_help(argv[i])) {
      cli_print_help(stdout, cli_find_command("runs"));
      return CLI_OK;
    }
    if ((r = cli_take_value(argc, argv, &i, "--where", &v, "runs"))) {
      if (r < 0) return CLI_USAGE;
      q.where = v;
    } else if ((r = cli_take_value(argc, argv, &i, "--order-by", &v, "runs"))) {
      if (r < 0) return CLI_USAGE;
      q.order_by = v;
    } else if ((r = cli_take_value(argc, argv, &i, "--columns", &v, "runs"))) {
      if (r < 0) return CLI_USAGE;
      q.columns = v;
    } else if ((r = cli_take_value(argc, argv, &i, "--limit", &v, "runs"))) {
      char *end;
      if (r < 0) return CLI_USAGE;
      q.limit = strtoll(v, &end, 10);
      if (*end || !*v || q.limit < 1)
        return cli_usage_error("runs", "invalid --limit '%s' (expected a number of runs, 1 or more)", v);
    } else if ((r = cli_take_value(argc, argv, &i, "--format", &v, "runs"))) {
      if (r < 0 || cli_parse_format(v, &fmt, "runs")) return CLI_USAGE;
    } else if (!strcmp(argv[i], "--deleted")) {
      q.include_deleted = 1;
      i++;
    } else if ((r = cli_global_option(o, argc, argv, &i, "runs")) != 0) {
      if (r < 0) return CLI_USAGE;
    } else {
      return cli_usage_error("runs", "unexpected argument '%s'", argv[i]);
    }
  }
  lundi_store *s = cli_open_store(o, 1);
  if (!s) return CLI_FAIL;
  lundi_table t;
  int rc = lundi_history_runs(s, &q, &t);
  if (rc) {
    const char *opt = opt_name(q.err_option);
    if (!opt) {
      cli_fail("%s", lundi_last_error());
      lundi_store_close(s);
      return CLI_FAIL;
    }
    fprintf(stderr, "lundi: %s: %s\n", opt, lundi_last_error());
    const char *text = !strcmp(opt, "--where") ? q.where : !strcmp(opt, "--order-by") ? q.order_by : q.columns;
    cli_show_caret(text, q.err_column);
    fprintf(stderr, "run 'lundi help runs' for the syntax\n");
    lundi_store_close(s);
    return CLI_USAGE;
  }
  if (t.n_rows == 0 && fmt == CLI_FMT_TABLE)
  {
    if (q.where) {
      char *note = NULL;
      if (lundi_history_missing_keys(s, q.where, &note) != 0) note = NULL;
      fprintf(stderr, "no runs match\n");
      for (char *line = note, *end; line && *line; line = end + 1) {
        end = strchr(line, '\n');
        fprintf(stderr, "note: %.*s\n", (int)(end - line), line);
      }
      free(note);
    }
    else fprintf(stderr, "no runs recorded in %s yet\n", lundi_store_path(s));
  }
  else rc = cli_print_table(stdout, &t, fmt, 1);
  lundi_table_free(&t);
  lundi_store_close(s);
  return rc ? CLI_FAIL : CLI_OK;
}
