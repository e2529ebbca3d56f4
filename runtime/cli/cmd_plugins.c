/* lundi plugins [KIND] [--format text|json]: every registered plugin and its schema. */
#include <cjson/cJSON.h>
#include <stdlib.h>
#include <string.h>

#include "cli.h"

const char cli_plugins_help[] =
    "usage: lundi plugins [OPTIONS] [KIND] [--format text|json]\n"
    "\n"
    "Lists the plugins: the built-in ones, those in the directories of LUNDI_PLUGIN_PATH\n"
    "and those loaded with --plugin FILE.so. For each plugin: kind, name, version,\n"
    "description and origin, then each parameter's name, type, default, range or\n"
    "choices, and help. KIND (scheduler, denoiser, conditioner or sampler) shows only\n"
    "that kind.\n"
    "\n"
    "  --format text|json   text (the default) or a JSON array\n";

static const char *kind_names[LUNDI_KIND_COUNT];
#define LIMITS_MAX 24

/* "scheduler" or "schedulers". */
static int parse_kind(const char *s, lundi_plugin_kind *out) {
  if (lundi_plugin_kind_parse(s, out) == 0) return 0;
  size_t n = strlen(s);
  if (n > 1 && s[n - 1] == 's') {
    char buf[64];
    snprintf(buf, sizeof buf, "%.*s", (int)(n - 1), s);
    if (lundi_plugin_kind_parse(buf, out) == 0) return 0;
  }
  return -1;
}

/* "[1, 1000]", "linear|cosine" or "" (buf must hold 128 bytes). */
static const char *limits(const lundi_param_spec *s, char *buf, size_t cap) {
  buf[0] = 0;
  if (s->type == LUNDI_PARAM_CHOICE && s->choices) snprintf(buf, cap, "%s", s->choices);
  else if ((s->type == LUNDI_PARAM_INT || s->type == LUNDI_PARAM_FLOAT) && !(s->min == 0 && s->max == 0))
    snprintf(buf, cap, "[%g, %g]", s->min, s->max);
  return buf;
}

static const char *shown_default(const lundi_param_spec *s) {
  return s->default_value && *s->default_value ? s->default_value : "\"\"";
}

static void print_text(const lundi_plugin *pl) {
  const lundi_plugin_desc *d = lundi_plugin_info(pl);
  printf("%s %s %s \xe2\x80\x94 %s (%s)\n", lundi_plugin_kind_name(d->kind), d->name,
         d->version ? d->version : "?", d->description ? d->description : "",
         lundi_plugin_origin(pl));
  /* Columns are aligned within a plugin. A range or choice list longer than LIMITS_MAX
   * would push every help text far right: it goes on a line of its own instead. */
  int wn = 0, wt = 0, wd = 0, wl = 0;
  char lim[128];
  for (int i = 0; i < d->n_params; i++) {
    const lundi_param_spec *s = &d->params[i];
    int n = (int)strlen(s->name), t = (int)strlen(lundi_param_type_name(s->type));
    int df = (int)strlen(shown_default(s)), l = (int)strlen(limits(s, lim, sizeof lim));
    wn = n > wn ? n : wn, wt = t > wt ? t : wt, wd = df > wd ? df : wd;
    if (l <= LIMITS_MAX && l > wl) wl = l;
  }
  for (int i = 0; i < d->n_params; i++) {
    const lundi_param_spec *s = &d->params[i];
    limits(s, lim, sizeof lim);
    int own_line = (int)strlen(lim) > LIMITS_MAX;
    const char *help = s->help ? s->help : "";
    char row[1024];
    int n = snprintf(row, sizeof row, "  %-*s  %-*s  %-*s  %-*s%s%s", wn, s->name, wt,
                     lundi_param_type_name(s->type), wd, shown_default(s), wl, own_line ? "" : lim,
                     wl ? "  " : "", help);
    n = n < 0 ? 0 : n >= (int)sizeof row ? (int)sizeof row - 1 : n;
    while (n > 0 && row[n - 1] == ' ') n--; /* no trailing blanks from empty columns */
    printf("%.*s\n", n, row);
    if (own_line) printf("  %*s%s\n", wn + wt + wd + 6, "", lim);
  }
}

static cJSON *to_json(const lundi_plugin *pl) {
  const lundi_plugin_desc *d = lundi_plugin_info(pl);
  cJSON *o = cJSON_CreateObject();
  cJSON_AddStringToObject(o, "kind", lundi_plugin_kind_name(d->kind));
  cJSON_AddStringToObject(o, "name", d->name);
  cJSON_AddStringToObject(o, "version", d->version ? d->version : "");
  cJSON_AddStringToObject(o, "description", d->description ? d->description : "");
  cJSON_AddStringToObject(o, "origin", lundi_plugin_origin(pl));
  cJSON *ps = cJSON_AddArrayToObject(o, "params");
  for (int i = 0; i < d->n_params; i++) {
    const lundi_param_spec *s = &d->params[i];
    cJSON *p = cJSON_CreateObject();
    cJSON_AddStringToObject(p, "name", s->name);
    cJSON_AddStringToObject(p, "type", lundi_param_type_name(s->type));
    const char *dv = s->default_value ? s->default_value : "";
    if (s->type == LUNDI_PARAM_INT || s->type == LUNDI_PARAM_FLOAT)
      cJSON_AddNumberToObject(p, "default", strtod(dv, NULL));
    else if (s->type == LUNDI_PARAM_BOOL)
      cJSON_AddBoolToObject(p, "default", !strcmp(dv, "true") || !strcmp(dv, "1"));
    else
      cJSON_AddStringToObject(p, "default", dv);
    if ((s->type == LUNDI_PARAM_INT || s->type == LUNDI_PARAM_FLOAT) && !(s->min == 0 && s->max == 0)) {
      cJSON_AddNumberToObject(p, "min", s->min);
      cJSON_AddNumberToObject(p, "max", s->max);
    }
    if (s->type == LUNDI_PARAM_CHOICE && s->choices) {
      cJSON *c = cJSON_AddArrayToObject(p, "choices");
      const char *a = s->choices;
      while (*a) {
        const char *bar = strchr(a, '|');
        size_t n = bar ? (size_t)(bar - a) : strlen(a);
        char buf[128];
        snprintf(buf, sizeof buf, "%.*s", (int)n, a);
        cJSON_AddItemToArray(c, cJSON_CreateString(buf));
        a += n + (bar ? 1 : 0);
      }
    }
    cJSON_AddStringToObject(p, "help", s->help ? s->help : "");
    cJSON_AddItemToArray(ps, p);
  }
  return o;
}

static int list(lundi_registry *r, int kind, int json) {
  cJSON *arr = json ? cJSON_CreateArray() : NULL;
  int shown = 0, n = lundi_registry_count(r);
  for (int k = 0; k < LUNDI_KIND_COUNT; k++) { /* by kind, then registration order */
    if (kind >= 0 && k != kind) continue;
    for (int i = 0; i < n; i++) {
      const lundi_plugin *pl = lundi_registry_at(r, i);
      if ((int)lundi_plugin_info(pl)->kind != k) continue;
      if (json) {
        cJSON_AddItemToArray(arr, to_json(pl));
      } else {
        if (shown) printf("\n");
        print_text(pl);
      }
      shown++;
    }
  }
  if (json) {
    char *s = cJSON_Print(arr);
    if (s) printf("%s\n", s);
    free(s);
    cJSON_Delete(arr);
    return s ? CLI_OK : cli_fail("out of memory");
  }
  if (!shown && kind >= 0) printf("no %s plugins are registered\n", kind_names[kind]);
  else if (!shown) printf("no plugins are registered (load some with --plugin FILE.so or LUNDI_PLUGIN_PATH)\n");
  return CLI_OK;
}

int cli_cmd_plugins(cli_opts *o, int argc, char **argv, int at) {
  for (int k = 0; k < LUNDI_KIND_COUNT; k++) kind_names[k] = lundi_plugin_kind_name((lundi_plugin_kind)k);
  const char *kind_arg = NULL, *format = "text";
  for (int i = at + 1; i < argc;) {
    const char *a = argv[i];
    if (cli_is_help(a)) {
      cli_print_help(stdout, cli_find_command("plugins"));
      return CLI_OK;
    }
    if (!strcmp(a, "--format") || !strncmp(a, "--format=", 9)) {
      if (a[8] == '=') format = a + 9;
      else if (i + 1 < argc) format = argv[++i];
      else return cli_usage_error("plugins", "option --format needs a value (text or json)");
      if (strcmp(format, "text") && strcmp(format, "json"))
        return cli_usage_error("plugins", "invalid --format '%s' (expected text or json)", format);
      i++;
      continue;
    }
    int r = a[0] == '-' ? cli_global_option(o, argc, argv, &i, "plugins") : 0;
    if (r < 0) return CLI_USAGE;
    if (r > 0) continue;
    if (a[0] == '-') return cli_usage_error("plugins", "unknown option '%s'", a);
    if (kind_arg) return cli_usage_error("plugins", "one KIND at most (got '%s' and '%s')", kind_arg, a);
    kind_arg = a;
    i++;
  }
  lundi_plugin_kind kind = LUNDI_KIND_COUNT;
  if (kind_arg && parse_kind(kind_arg, &kind) != 0) {
    const char *guess = cli_suggest(kind_arg, kind_names, LUNDI_KIND_COUNT);
    return cli_usage_error("plugins", "unknown plugin kind '%s' (%s%s%svalid kinds: scheduler, "
                           "denoiser, conditioner, sampler)", kind_arg, guess ? "did you mean '" : "",
                           guess ? guess : "", guess ? "'? " : "");
  }
  cli_apply(o);
  lundi_registry *r = cli_load_registry(o);
  if (!r) return CLI_FAIL;
  int rc = cli_check_device(o);
  if (!rc) rc = list(r, kind_arg ? (int)kind : -1, !strcmp(format, "json"));
  lundi_registry_free(r);
  return rc;
}
