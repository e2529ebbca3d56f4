/* lundi__param_spec_from_text, lundi__params_set_value, lundi__value_text: see spec_text.h. */
#include "plugin/spec_text.h"

#include <float.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "lundi/error.h"

static int parse_bound(const char *where, const char *text, double *out) {
  char *end;
  *out = strtod(text, &end);
  if (end == text || *end)
    return lundi_set_error(LUNDI_EINVAL, "%smin and max must be numbers", where);
  return 0;
}

int lundi__param_spec_from_text(const char *where, const lundi__spec_text *in,
                                lundi_param_spec *out, char *first, size_t cap) {
  memset(out, 0, sizeof *out);
  out->name = in->name;
  static const char *const types[] = {"int", "float", "bool", "string", "choice"};
  int ti = -1;
  for (int k = 0; in->type && k < 5; k++)
    if (strcmp(in->type, types[k]) == 0) ti = k;
  if (ti < 0)
    return lundi_set_error(LUNDI_EINVAL,
                           "%stype must be one of int, float, bool, string, choice; got %s", where,
                           in->type ? in->type : "nothing");
  out->type = (lundi_param_type)ti;
  out->choices = in->choices;
  out->default_value = in->default_value;
  if (!out->default_value && out->type == LUNDI_PARAM_CHOICE && in->choices) {
    size_t n = strcspn(in->choices, "|");
    if (n >= cap) return lundi_set_error(LUNDI_EINVAL, "%sno room for the first choice", where);
    memcpy(first, in->choices, n);
    first[n] = '\0';
    out->default_value = first;
  } else if (!out->default_value) {
    out->default_value = out->type == LUNDI_PARAM_BOOL     ? "false"
                         : out->type == LUNDI_PARAM_STRING ? ""
                                                           : "0";
  }
  /* either bound alone leaves the other side open; min == max == 0 means unbounded */
  out->min = in->min || in->max ? -DBL_MAX : 0;
  out->max = in->min || in->max ? DBL_MAX : 0;
  if (in->min && parse_bound(where, in->min, &out->min) != 0) return LUNDI_EINVAL;
  if (in->max && parse_bound(where, in->max, &out->max) != 0) return LUNDI_EINVAL;
  out->help = in->help ? in->help : "";
  return 0;
}

int lundi__params_set_value(lundi_params *p, const char *owner, const char *key,
                            const lundi_opt_value *v, const char *got) {
  if (!v) return lundi__params_type_error(p, owner, key, got);
  switch (v->type) {
  case LUNDI_OPT_INT: return lundi_params_set_number(p, key, (double)v->i);
  case LUNDI_OPT_NUMBER: return lundi_params_set_number(p, key, v->f);
  case LUNDI_OPT_BOOL: return lundi_params_set_bool(p, key, v->b);
  default: return lundi_params_set(p, key, v->s);
  }
}

const char *lundi__value_text(const lundi_opt_value *v, char buf[64], const char **type) {
  static const char *const names[] = {"int", "float", "bool", "string"};
  if (type) *type = names[v->type];
  switch (v->type) {
  case LUNDI_OPT_INT: snprintf(buf, 64, "%lld", (long long)v->i); return buf;
  case LUNDI_OPT_NUMBER: snprintf(buf, 64, "%.17g", v->f); return buf;
  case LUNDI_OPT_BOOL: return v->b ? "true" : "false";
  default: return v->s;
  }
}
