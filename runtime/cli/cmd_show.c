/* lundi show RUN, and lundi which IMAGE.png (the run that saved an image, shown the same way). */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "cli.h"
#include "lundi/lundi.h"

const char cli_show_help[] =
    "usage: lundi show RUN\n"
    "\n"
    "Shows one run: status (and the error of a failed run), times, script and its\n"
    "sha256, the working directory, device, seed, params, tags, each metric's last,\n"
    "min and max value, the outputs (kind, name, size, sha256, where they are\n"
    "stored), the plugins used, and the files loaded with their sha256: plugin\n"
    "(--plugin), path (from LUNDI_PLUGIN_PATH), lua (by the script's dofile, loadfile\n"
    "or require).\n"
    "\n"
    "RUN is an id (42), a uuid or its first characters (4 or more), a run name (the\n"
    "newest run with it), 'last' or -N (the Nth newest run: -1 is the last).\n"
    "\n"
    "examples:\n"
    "  lundi show last\n"
    "  lundi show 3f9a2c\n";

const char cli_which_help[] =
    "usage: lundi which IMAGE.png\n"
    "\n"
    "Finds the run that saved IMAGE.png, from the run uuid in its 'lundi' text chunk\n"
    "(or, for a copy without the chunk, from its sha256 among the recorded outputs),\n"
    "and shows that run like 'lundi show', marking the image's output with '>'.\n";

static int key_width(const lundi_run_record *r) {
  int w = 8;
  for (int i = 0; i < r->n_params; i++)
    if ((int)strlen(r->params[i].key) > w) w = (int)strlen(r->params[i].key);
  for (int i = 0; i < r->n_tags; i++)
    if ((int)strlen(r->tags[i].key) > w) w = (int)strlen(r->tags[i].key);
  for (int i = 0; i < r->n_metrics; i++)
    if ((int)strlen(r->metrics[i].key) > w) w = (int)strlen(r->metrics[i].key);
  return w > 32 ? 32 : w;
}

static void print_header(const lundi_run_record *r) {
  char a[64], b[64], d[64];
  printf("run %lld  %s%s\n", (long long)r->id, r->name ? r->name : "(unnamed)", r->deleted ? "  (deleted)" : "");
  printf("%-10s %s\n", "uuid", r->uuid);
  if (r->exit_message && *r->exit_message) {
    char label[64];
    snprintf(label, sizeof label, "%s:", r->status ? r->status : "?");
    printf("%-10s %s ", "status", label);
    for (const char *p = r->exit_message; *p; p++) {
      putchar(*p);
      if (*p == '\n' && p[1]) printf("%11s", "");
    }
    putchar('\n');
  } else {
    printf("%-10s %s\n", "status", r->status ? r->status : "?");
  }
  cli_fmt_time(r->start_time, a, sizeof a);
  cli_fmt_time(r->end_time, b, sizeof b);
  cli_fmt_duration(r->end_time - r->start_time, d, sizeof d);
  if (isnan(r->end_time)) printf("%-10s %s, still running or crashed\n", "started", a);
  else printf("%-10s %s .. %s (%s)\n", "time", a, b, d);
  if (r->script_path) printf("%-10s %s\n", "script", r->script_path);
  if (r->script_sha256) printf("%-10s %s%s\n", "sha256", r->script_sha256, r->script_text ? "" : " (text not recorded)");
  if (r->cwd) printf("%-10s %s\n", "cwd", r->cwd);
  printf("%-10s %s", "device", r->device ? r->device : "-");
  if (r->has_seed) printf(", seed %lld", (long long)r->seed);
  putchar('\n');
  if (r->lundi_version || r->host) {
    printf("%-10s lundi %s", "recorded", r->lundi_version ? r->lundi_version : "?");
    if (r->host) printf(" on %s", r->host);
    if (r->pid) printf(", pid %lld", (long long)r->pid);
    putchar('\n');
  }
}

static void print_values(const lundi_run_record *r, int w) {
  char v1[64], v2[64], v3[64];
  if (r->n_params) printf("\nparams\n");
  for (int i = 0; i < r->n_params; i++) {
    const lundi_kv *p = &r->params[i];
    int quote = p->type && !strcmp(p->type, "string");
    const char *value = p->value ? p->value : "";
    char num[64];
    if (p->type && !strcmp(p->type, "float") && *value) { /* 0.98999999999999999 reads 0.99 */
      char *end;
      double d = strtod(value, &end);
      if (!*end) cli_fmt_real(d, num, sizeof num), value = num;
    }
    printf("  %-*s  %s%s%s\n", w, p->key, quote ? "'" : "", value, quote ? "'" : "");
  }
  if (r->n_tags) printf("\ntags\n");
  for (int i = 0; i < r->n_tags; i++) printf("  %-*s  %s\n", w, r->tags[i].key, r->tags[i].value ? r->tags[i].value : "");
  if (r->n_metrics) printf("\nmetrics%*s  %12s  %12s  %12s  %8s\n", w - 5, "", "last", "min", "max", "values");
  for (int i = 0; i < r->n_metrics; i++) {
    const lundi_metric_summary *m = &r->metrics[i];
    snprintf(v1, sizeof v1, "%.6g", m->last);
    snprintf(v2, sizeof v2, "%.6g", m->min);
    snprintf(v3, sizeof v3, "%.6g", m->max);
    printf("  %-*s  %12s  %12s  %12s  %8lld   (last at step %lld)\n", w, m->key, v1, v2, v3, (long long)m->count,
           (long long)m->last_step);
  }
}

static void print_outputs(const lundi_run_record *r, int64_t highlight) {
  if (r->n_outputs) printf("\noutputs\n");
  int nw = 4;
  for (int i = 0; i < r->n_outputs; i++)
    if (r->outputs[i].name && (int)strlen(r->outputs[i].name) > nw) nw = (int)strlen(r->outputs[i].name);
  if (nw > 32) nw = 32;
  for (int i = 0; i < r->n_outputs; i++) {
    const lundi_output_info *o = &r->outputs[i];
    char size[32];
    cli_fmt_bytes(o->size, size, sizeof size);
    printf("%c %4lld  %-10s  %-*s  %-24s  %10s  sha256 %.12s  %s\n", o->id == highlight ? '>' : ' ', (long long)o->id,
           o->kind ? o->kind : "?", nw, o->name ? o->name : "-", o->mime ? o->mime : "-", size,
           o->sha256 ? o->sha256 : "?", o->path ? o->path : "(in the database)");
  }
  if (r->n_plugins) printf("\nplugins\n");
  for (int i = 0; i < r->n_plugins; i++) {
    const lundi_plugin_use *p = &r->plugins[i];
    printf("  %-12s  %s", p->kind ? p->kind : "?", p->name ? p->name : "?");
    if (p->version) printf(" %s", p->version);
    if (p->origin) printf("  (%s)", p->origin);
    if (p->params && strcmp(p->params, "{}")) printf("  %s", p->params);
    putchar('\n');
  }
  /* what a rerun reloads and checks: plugin (--plugin), path (LUNDI_PLUGIN_PATH), lua */
  if (r->n_files) printf("\nfiles loaded\n");
  for (int i = 0; i < r->n_files; i++)
    printf("  %-6s  %s  sha256 %s\n", r->files[i].role ? r->files[i].role : "?", r->files[i].path,
           r->files[i].sha256 ? r->files[i].sha256 : "?");
}

int cli_show_run(lundi_store *s, const char *ref, int64_t highlight) {
  lundi_run_record *r = NULL;
  if (lundi_history_run(s, ref, &r) != 0) return cli_fail("%s", lundi_last_error());
  print_header(r);
  print_values(r, key_width(r));
  print_outputs(r, highlight);
  lundi_run_record_free(r);
  return CLI_OK;
}

/* Both commands take one positional argument (besides the global options). */
static int one_arg(cli_opts *o, int argc, char **argv, int at, const char *cmd, const char **arg) {
  *arg = NULL;
  for (int i = at + 1; i < argc;) {
    if (cli_is_help(argv[i])) {
      cli_print_help(stdout, cli_find_command(cmd));
      return 1;
    }
    int r = argv[i][0] == '-' && argv[i][1] && !(argv[i][1] >= '0' && argv[i][1] <= '9')
                ? cli_global_option(o, argc, argv, &i, cmd)
                : 0;
    if (r < 0) return CLI_USAGE;
    if (r > 0) continue;
    if (argv[i][0] == '-' && !(argv[i][1] >= '0' && argv[i][1] <= '9'))
      return cli_usage_error(cmd, "unknown option '%s'", argv[i]);
    if (*arg) return cli_usage_error(cmd, "'%s' takes one argument (got '%s' and '%s')", cmd, *arg, argv[i]);
    *arg = argv[i++];
  }
  if (!*arg)
    return cli_usage_error(cmd, !strcmp(cmd, "show") ? "which run? (an id, a uuid, 'last'; 'lundi runs' lists them)"
                                                     : "which image? (lundi which IMAGE.png)");
  return 0;
}

int cli_cmd_show(cli_opts *o, int argc, char **argv, int at) {
  const char *ref;
  int rc = one_arg(o, argc, argv, at, "show", &ref);
  if (rc) return rc == 1 ? CLI_OK : rc;
  lundi_store *s = cli_open_store(o, 1);
  if (!s) return CLI_FAIL;
  rc = cli_show_run(s, ref, -1);
  lundi_store_close(s);
  return rc;
}

int cli_cmd_which(cli_opts *o, int argc, char **argv, int at) {
  const char *png;
  int rc = one_arg(o, argc, argv, at, "which", &png);
  if (rc) return rc == 1 ? CLI_OK : rc;
  lundi_store *s = cli_open_store(o, 1);
  if (!s) return CLI_FAIL;
  int64_t run, out;
  if (lundi_history_which(s, png, &run, &out) != 0) {
    rc = cli_fail("%s", lundi_last_error());
  } else {
    char ref[32];
    snprintf(ref, sizeof ref, "%lld", (long long)run);
    if (out >= 0) printf("%s: output %lld of run %lld\n\n", png, (long long)out, (long long)run);
    else printf("%s: run %lld (no recorded output has these bytes)\n\n", png, (long long)run);
    rc = cli_show_run(s, ref, out);
  }
  lundi_store_close(s);
  return rc;
}
