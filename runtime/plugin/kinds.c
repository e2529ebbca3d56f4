/* Names of plugin kinds and parameter types, plus lundi__strdup for the registry. */
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
