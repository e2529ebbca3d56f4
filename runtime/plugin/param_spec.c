/* Reading one parameter's spec for listings (lundi.plugins(), the CLI): its range and its
 * choices one by one, so no caller splits "a|b|c" itself. */
#include <string.h>

#include "lundi/plugin.h"

int lundi_param_has_range(const lundi_param_spec *s) {
  return (s->type == LUNDI_PARAM_INT || s->type == LUNDI_PARAM_FLOAT) && !(s->min == 0 && s->max == 0);
}

const char *lundi_param_choice(const lundi_param_spec *s, int i, size_t *len) {
  if (s->type != LUNDI_PARAM_CHOICE || !s->choices || i < 0) return NULL;
  const char *c = s->choices;
  for (; i > 0; i--) {
    c = strchr(c, '|');
    if (!c) return NULL;
    c++;
  }
  *len = strcspn(c, "|");
  return c;
}
