/* Parameters as scripts give them: a spec from the text fields of lundi.register's params
 * entries, and values a script sets, so the Lua binding only hands values over and the rules
 * live here. A script's value is a lundi_opt_value (lundi/options.h): INT, NUMBER, BOOL or
 * STRING. */
#ifndef LUNDI_PLUGIN_SPEC_TEXT_H
#define LUNDI_PLUGIN_SPEC_TEXT_H

#include <stddef.h>

#include "lundi/options.h"
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
/* Sets key of p to a script's value: a number (an INT parameter needs an integral one), a
 * boolean, or text parsed by the parameter's type. v NULL: a value of a type no parameter takes,
 * got naming it ("table"), refused by lundi__params_type_error. */
int lundi__params_set_value(lundi_params *p, const char *owner, const char *key,
                            const lundi_opt_value *v, const char *got);
/* v as text in buf (INT %lld, NUMBER %.17g) or borrowed (true / false, a STRING's own text);
 * *type (when not NULL) its name as a parameter type: "int", "float", "bool", "string". */
const char *lundi__value_text(const lundi_opt_value *v, char buf[64], const char **type);

/* "steps=10, mode=\"fancy\"": the current values, strings and choices quoted, for a
 * plugin instance's tostring. NULL when out of memory; free() the result. */
char *lundi__params_brief(const lundi_params *p);

#endif
