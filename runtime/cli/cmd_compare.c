/* lundi compare RUN RUN...: params, tags and final metrics side by side. */
#include <stdlib.h>
#include <string.h>

#include "cli.h"
#include "lundi/lundi.h"

const char cli_compare_help[] =
    "usage: lundi compare RUN RUN... [--format table|csv|json] [--diff]\n"
    "\n"
    "Shows runs side by side, one column each: status, seed, device, script sha256,\n"
    "duration, then every param, tag and metric (its last value) any of them has.\n"
    "A '*' in the first column marks the rows whose values differ; in each metric\n"
    "row that differs, the best value is marked '(best)': the lowest, or the highest\n"
    "for names that read as a score (acc, score, psnr, ssim, reward, auc, precision,\n"
    "recall, f1, iou). A '-' is a value the run does not have.\n"
    "\n"
    "  --diff          only the rows that differ\n"
    "  --format F      table, csv or json (a 'differs' and a 'best' field per row)\n"
    "\n"
    "RUN as in 'lundi show': an id, a uuid or its start, a name, 'last' or -N.\n"
    "\n"
    "example:\n"
    "  lundi compare 12 13 last\n";

static char *label(const lundi_run_record *r) {
  char buf[96];
  snprintf(buf, sizeof buf, "%lld %s", (long long)r->id, r->name ? r->name : "");
  return strdup(buf);
}

/* The comparison as a table: field, one column per run, differs, best (the run's label). */
static int to_table(const lundi_comparison *c, int only_diff, int pretty, lundi_table *t) {
  memset(t, 0, sizeof *t);
  t->n_cols = c->n_runs + (pretty ? 1 : 3);
  t->cols = calloc((size_t)t->n_cols, sizeof *t->cols);
  t->cells = calloc((size_t)(c->n_rows ? c->n_rows : 1) * (size_t)t->n_cols, sizeof *t->cells);
  if (!t->cols || !t->cells) return -1;
  t->cols[0] = strdup(pretty ? "" : "field");
  for (int r = 0; r < c->n_runs; r++) t->cols[1 + r] = label(c->runs[r]);
  if (!pretty) t->cols[c->n_runs + 1] = strdup("differs"), t->cols[c->n_runs + 2] = strdup("best");
  for (int i = 0; i < t->n_cols; i++)
    if (!t->cols[i]) return -1;
  for (int row = 0; row < c->n_rows; row++) {
    if (only_diff && !c->differs[row]) continue;
    lundi_cell *out = &t->cells[t->n_rows * t->n_cols];
    char name[300];
    snprintf(name, sizeof name, "%s%s", pretty ? (c->differs[row] ? "* " : "  ") : "", c->fields[row]);
    out[0].type = LUNDI_CELL_TEXT, out[0].s = strdup(name);
    for (int r = 0; r < c->n_runs; r++) {
      const lundi_cell *in = &c->cells[(size_t)row * (size_t)c->n_runs + (size_t)r];
      lundi_cell *o = &out[1 + r];
      *o = *in;
      o->s = NULL;
      if (in->type == LUNDI_CELL_TEXT) o->s = strdup(in->s);
      if (pretty && in->type != LUNDI_CELL_NULL) { /* all text, left-aligned, "(best)" marked */
        char v[96];
        if (!strcmp(c->fields[row], "duration")) cli_fmt_duration(in->d, v, sizeof v);
        else if (!strcmp(c->fields[row], "script_sha256")) snprintf(v, sizeof v, "%.12s", in->s);
        else if (in->type == LUNDI_CELL_REAL) snprintf(v, sizeof v, "%.6g", in->d);
        else if (in->type == LUNDI_CELL_INT) snprintf(v, sizeof v, "%lld", (long long)in->i);
        else snprintf(v, sizeof v, "%s", in->s);
        if (c->best[row] == r) strncat(v, " (best)", sizeof v - strlen(v) - 1);
        free(o->s);
        o->type = LUNDI_CELL_TEXT, o->s = strdup(v);
      }
      if (o->type == LUNDI_CELL_TEXT && !o->s) return -1;
    }
    if (!pretty) {
      out[c->n_runs + 1].type = LUNDI_CELL_INT, out[c->n_runs + 1].i = c->differs[row];
      if (c->best[row] >= 0) out[c->n_runs + 2].type = LUNDI_CELL_TEXT, out[c->n_runs + 2].s = label(c->runs[c->best[row]]);
    }
    t->n_rows++;
    if (!out[0].s) return -1;
  }
  return 0;
}

int cli_cmd_compare(cli_opts *o, int argc, char **argv, int at) {
  const char **refs = calloc((size_t)argc, sizeof *refs);
  int n = 0, fmt = CLI_FMT_TABLE, only_diff = 0, rc = CLI_OK;
  if (!refs) return cli_fail("out of memory");
  for (int i = at + 1; i < argc;) {
    const char *v;
    int r;
    if (cli_is_help(argv[i])) {
      cli_print_help(stdout, cli_find_command("compare"));
      free(refs);
      return CLI_OK;
    }
    if (argv[i][0] == '-' && argv[i][1] >= '0' && argv[i][1] <= '9') {
      refs[n++] = argv[i++];
    } else if ((r = cli_take_value(argc, argv, &i, "--format", &v, "compare"))) {
      if (r < 0 || cli_parse_format(v, &fmt, "compare")) rc = CLI_USAGE;
    } else if (!strcmp(argv[i], "--diff")) {
      only_diff = 1, i++;
    } else if (argv[i][0] == '-') {
      r = cli_global_option(o, argc, argv, &i, "compare");
      if (r == 0) rc = cli_usage_error("compare", "unknown option '%s'", argv[i]);
      else if (r < 0) rc = CLI_USAGE;
    } else {
      refs[n++] = argv[i++];
    }
    if (rc) {
      free(refs);
      return rc;
    }
  }
  if (n < 1) {
    free(refs);
    return cli_usage_error("compare", "which runs? (lundi compare RUN RUN...)");
  }
  lundi_store *s = cli_open_store(o, 1);
  lundi_comparison c;
  lundi_table t = {0};
  if (!s) rc = CLI_FAIL;
  else if (lundi_history_compare(s, refs, n, &c) != 0) rc = cli_fail("%s", lundi_last_error());
  else {
    if (to_table(&c, only_diff, fmt == CLI_FMT_TABLE, &t) != 0) rc = cli_fail("out of memory");
    else if (fmt == CLI_FMT_TABLE && t.n_rows == 0) printf("no differences\n");
    else if (cli_print_table(stdout, &t, fmt, 1) != 0) rc = CLI_FAIL;
    lundi_table_free(&t);
    lundi_comparison_free(&c);
  }
  lundi_store_close(s);
  free(refs);
  return rc;
}
