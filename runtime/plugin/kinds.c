/* Names of plugin kinds and parameter types, plus small string helpers for the registry. */
#include "plugin/plugin_internal.h"

#include <stdlib.h>
#include <string.h>

static const char *const kind_names[LUNDI_KIND_COUNT] = {"scheduler", "denoiser", "conditioner", "sampler"};

const char *lundi_plugin_kind_name(lundi_plugin_kind k) {
  return (int)k >= 0 && k < LUNDI_KIND_COUNT ? kind_names[k] : "?";
}

/* Accepts the singular and the plural ("schedulers"), as a command line would. */
int lundi_plugin_kind_parse(const char *s, lundi_plugin_kind *out) {
  for (int k = 0; s && k < LUNDI_KIND_COUNT; k++) {
    size_t n = strlen(kind_names[k]);
    if (strncmp(s, kind_names[k], n) == 0 && (s[n] == 0 || (s[n] == 's' && s[n + 1] == 0))) {
      if (out) *out = (lundi_plugin_kind)k;
      return 0;
    }
  }
  return lundi_set_error(LUNDI_EINVAL, "unknown plugin kind '%s' (valid: scheduler, denoiser, conditioner, sampler)",
                         s ? s : "(null)");
}

const char *lundi_param_type_name(lundi_param_type t) {
  switch (t) {
  case LUNDI_PARAM_INT: return "int";
  case LUNDI_PARAM_FLOAT: return "float";
  case LUNDI_PARAM_BOOL: return "bool";
  case LUNDI_PARAM_STRING: return "string";
  case LUNDI_PARAM_CHOICE: return "choice";
  }
  return "?";
}

char *lundi__strdup(const char *s) {
  if (!s) s = "";
  size_t n = strlen(s) + 1;
  char *d = malloc(n);
  if (d) memcpy(d, s, n);
  return d;
}

/* Levenshtein distance, capped: names longer than 63 characters are never suggested. */
static int edit_distance(const char *a, const char *b) {
  size_t la = strlen(a), lb = strlen(b);
  if (la > 63 || lb > 63) return 1 << 20;
  int row[64];
  for (size_t j = 0; j <= lb; j++) row[j] = (int)j;
  for (size_t i = 1; i <= la; i++) {
    int diag = row[0];
    row[0] = (int)i;
    for (size_t j = 1; j <= lb; j++) {
      int up = row[j];
      int best = diag + (a[i - 1] != b[j - 1]);
      if (up + 1 < best) best = up + 1;
      if (row[j - 1] + 1 < best) best = row[j - 1] + 1;
      row[j] = best;
      diag = up;
    }
  }
  return row[lb];
}

const char *lundi__suggest(const char *key, const char *const *names, int n) {
  const char *best = NULL;
  int bd = 1 << 20;
  for (int i = 0; key && i < n; i++) {
    int d = edit_distance(key, names[i]);
    if (d < bd) {
      bd = d;
      best = names[i];
    }
  }
  if (!best) return NULL;
  size_t len = strlen(key) > strlen(best) ? strlen(key) : strlen(best);
  /* Close enough to be a typo: two edits, or a third of the longer name. */
  int limit = len / 3 > 2 ? (int)(len / 3) : 2;
  return bd > 0 && bd <= limit ? best : NULL;
}
