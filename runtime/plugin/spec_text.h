/* Parameters as scripts give them: a spec from the text fields of lundi.register's params
 * entries, so the Lua binding only hands strings over and the rules live here. */
#ifndef LUNDI_PLUGIN_SPEC_TEXT_H
#define LUNDI_PLUGIN_SPEC_TEXT_H

#include <stddef.h>

#include "lundi/plugin.h"

/* Each field NULL when the script left it out. min and max are numbers as text. */
typedef struct lundi__spec_text {
  const char *name, *type, *choices, *default_value, *min, *max, *help;
} lundi__spec_text;

/* Fills *out from in: type is one of int, float, bool, string, choice; an absent default is
 * the first choice, "false", "" or "0" by type; min or max alone leaves the other side open
 * (neither: unbounded); an absent help is "". Strings point into in, or into first (cap
 * bytes, at least strlen(choices) + 1) for the first choice. where prefixes the messages
 * ("params[1] ('n'): "). The schema itself is checked when the plugin is registered. */
int lundi__param_spec_from_text(const char *where, const lundi__spec_text *in,
                                lundi_param_spec *out, char *first, size_t cap);

/* For a value of a type no parameter takes (got: "table"): the unknown-parameter message when
 * p has no key, else "owner: parameter 'key' expects T, got <got>". Returns LUNDI_EINVAL. */
int lundi__params_type_error(const lundi_params *p, const char *owner, const char *key,
                             const char *got);
/* "steps=10, mode=\"fancy\"": the current values, strings and choices quoted, for a
 * plugin instance's tostring. NULL when out of memory; free() the result. */
char *lundi__params_brief(const lundi_params *p);

#endif
