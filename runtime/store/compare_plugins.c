/* The plugin rows of a comparison: plugins.<kind> (the names a run created, in order) and
 * plugins.<kind>.<name>.<param> (each parameter as configured), so two runs that differ only
 * in their scheduler's eta show it. */
#include "store/query_internal.h"

#include <cjson/cJSON.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "lundi/error.h"

static int cmp_str(const void *a, const void *b) { return strcmp(*(char *const *)a, *(char *const *)b); }

/* Appends a malloc'd copy of "plugins.<a>[.<b>[.<c>]]" to keys. */
static int add_key(char ***keys, int *n, int *cap, const char *a, const char *b, const char *c) {
  if (*n == *cap) {
    int nc = *cap ? *cap * 2 : 16;
    char **k = realloc(*keys, (size_t)nc * sizeof *k);
    if (!k) return -1;
    *keys = k, *cap = nc;
  }
  size_t len = 8 + strlen(a) + (b ? strlen(b) + 1 : 0) + (c ? strlen(c) + 1 : 0) + 1;
  char *s = malloc(len);
  if (!s) return -1;
  snprintf(s, len, "plugins.%s%s%s%s%s", a, b ? "." : "", b ? b : "", c ? "." : "", c ? c : "");
  (*keys)[(*n)++] = s;
  return 0;
}

/* The cell of run rec for key ("plugins.scheduler" or "plugins.scheduler.ddim.eta"). */
static int plugin_cell(const lundi_run_record *rec, const char *key, lundi_cell *cell) {
  char names[1024] = "";
  for (int i = 0; i < rec->n_plugins; i++) {
    const lundi_plugin_use *p = &rec->plugins[i];
    if (!p->kind || !p->name) continue;
    char head[256];
    snprintf(head, sizeof head, "plugins.%s", p->kind);
    if (!strcmp(key, head)) {
      size_t used = strlen(names);
      snprintf(names + used, sizeof names - used, "%s%s", used ? ", " : "", p->name);
      continue;
    }
    size_t hl = strlen(head), nl = strlen(p->name);
    if (strncmp(key, head, hl) || key[hl] != '.' || strncmp(key + hl + 1, p->name, nl) || key[hl + 1 + nl] != '.')
      continue;
    cJSON *j = p->params ? cJSON_Parse(p->params) : NULL;
    const cJSON *v = j ? cJSON_GetObjectItemCaseSensitive(j, key + hl + nl + 2) : NULL;
    int rc = 0;
    if (cJSON_IsNumber(v)) cell->type = LUNDI_CELL_REAL, cell->d = v->valuedouble;
    else if (cJSON_IsString(v)) cell->type = LUNDI_CELL_TEXT, rc = !(cell->s = strdup(v->valuestring));
    else if (cJSON_IsBool(v)) cell->type = LUNDI_CELL_TEXT, rc = !(cell->s = strdup(cJSON_IsTrue(v) ? "true" : "false"));
    cJSON_Delete(j);
    if (v) return rc ? -1 : 0;
  }
  if (*names) {
    cell->type = LUNDI_CELL_TEXT;
    if (!(cell->s = strdup(names))) return -1;
  }
  return 0;
}

int q_compare_plugin_keys(lundi_run_record *const *runs, int n_runs, char ***out, int *n_out) {
  char **keys = NULL;
  int n = 0, cap = 0, oom = 0;
  for (int r = 0; r < n_runs && !oom; r++)
    for (int i = 0; i < runs[r]->n_plugins && !oom; i++) {
      const lundi_plugin_use *p = &runs[r]->plugins[i];
      if (!p->kind || !p->name) continue;
      oom |= add_key(&keys, &n, &cap, p->kind, NULL, NULL);
      cJSON *j = p->params ? cJSON_Parse(p->params) : NULL;
      for (const cJSON *e = j ? j->child : NULL; e && !oom; e = e->next)
        if (e->string) oom |= add_key(&keys, &n, &cap, p->kind, p->name, e->string);
      cJSON_Delete(j);
    }
  if (n > 1) qsort(keys, (size_t)n, sizeof *keys, cmp_str);
  int d = 0;
  for (int i = 0; i < n; i++) {
    if (d && !strcmp(keys[d - 1], keys[i])) free(keys[i]);
    else keys[d++] = keys[i];
  }
  if (oom) {
    for (int i = 0; i < d; i++) free(keys[i]);
    free(keys);
    return lundi_set_error(LUNDI_ENOMEM, "out of memory");
  }
  *out = keys, *n_out = d;
  return 0;
}

int q_compare_plugin_cell(const lundi_run_record *rec, const char *key, lundi_cell *cell) {
  return plugin_cell(rec, key, cell) ? lundi_set_error(LUNDI_ENOMEM, "out of memory") : 0;
}
