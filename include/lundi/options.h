/* Script options: typed defaults, values given on a command line (text) or by a host (typed),
 * unknown keys refused with "did you mean", and help text generated from the table.
 * lundi.options(DEFAULTS, params) in Lua is a thin binding of these (runtime/plugin/options.c). */
#ifndef LUNDI_OPTIONS_H
#define LUNDI_OPTIONS_H

#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

typedef enum lundi_opt_type {
  LUNDI_OPT_INT = 0, /* an integer; integral floats and integer text are taken */
  LUNDI_OPT_NUMBER,  /* any number; an integer given stays an integer (value type INT) */
  LUNDI_OPT_BOOL,    /* true/false, or the text "true"/"false" */
  LUNDI_OPT_STRING   /* text; a number or boolean given is taken as its text */
} lundi_opt_type;
const char *lundi_opt_type_name(lundi_opt_type t); /* "integer", "number", "boolean", "string" */

typedef struct lundi_opt_value {
  lundi_opt_type type; /* of this value: INT, NUMBER (a float in f), BOOL or STRING */
  int64_t i;
  double f;
  int b;
  const char *s; /* STRING: borrowed */
} lundi_opt_value;

typedef struct lundi_opt_spec {
  const char *name; /* the key: --name=value */
  lundi_opt_type type;
  lundi_opt_value def;
  const char *help; /* may be NULL; newlines continue the text on the next lines */
} lundi_opt_spec;

/* The index of key in specs[0..n), else -1 with the error "<owner>: unknown parameter --key
 * (did you mean --near?) (known: a, b, ...)". */
int lundi_options_find(const char *owner, const lundi_opt_spec *specs, int n, const char *key);
/* given converted to spec's type into *out; a wrong value fails naming owner, the key and the
 * type wanted ("mnist.lua: --steps must be a number, got 'many' (--steps takes an integer)").
 * A STRING result made from a number or boolean is written to buf (Lua's tostring form). */
int lundi_options_convert(const char *owner, const lundi_opt_spec *spec, const lundi_opt_value *given,
                          lundi_opt_value *out, char *buf, size_t cap);
/* A key = value a script gave: the index of key (lundi_options_find) with given converted into
 * *out (lundi_options_convert), else -1 with the error set. given NULL: a value of no option
 * type, got naming it ("<owner>: --steps must be a integer, got a table"). */
int lundi_options_given(const char *owner, const lundi_opt_spec *specs, int n, const char *key,
                        const lundi_opt_value *given, const char *got, lundi_opt_value *out, char *buf,
                        size_t cap);
/* Gives spec (its default already read) the type named type ("integer", "number", "boolean",
 * "string"), as a DEFAULTS entry {default, help, type = T} asks; refuses an unknown name and a
 * default not of that type (an integer default may be a "number"). */
int lundi_options_force_type(const char *owner, lundi_opt_spec *spec, const char *type);
/* Sorts specs by name: the order of the help text when the table they came from has none. */
void lundi_options_sort(lundi_opt_spec *specs, int n);
/* Whether one of specs is named "help": then --help is the script's own option, not the help. */
int lundi_options_own_help(const lundi_opt_spec *specs, int n);
/* Help text for specs in the order given: a usage line naming owner, about (may be NULL), and
 * one "--name=default  help" entry each. NULL when out of memory; free() the result. */
char *lundi_options_help(const char *owner, const char *about, const lundi_opt_spec *specs, int n);

#ifdef __cplusplus
}
#endif
#endif
