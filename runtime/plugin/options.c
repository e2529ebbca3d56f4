/* Script options (lundi/options.h): the typed conversion behind lundi.options. It sits beside
 * the plugin parameters, whose "did you mean" it shares. */
#include "lundi/options.h"

#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "lundi/tensor.h"
#include "core/strbuf.h"
#include "plugin/suggest.h"

const char *lundi_opt_type_name(lundi_opt_type t) {
  switch (t) {
  case LUNDI_OPT_INT: return "integer";
  case LUNDI_OPT_NUMBER: return "number";
  case LUNDI_OPT_BOOL: return "boolean";
  case LUNDI_OPT_STRING: return "string";
  }
  return "?";
}

int lundi_options_find(const char *owner, const lundi_opt_spec *specs, int n, const char *key) {
  for (int i = 0; key && i < n; i++)
    if (strcmp(specs[i].name, key) == 0) return i;
  char known[768] = "";
  size_t at = 0;
  const char *names[256];
  int nn = n < 256 ? n : 256;
  for (int i = 0; i < n; i++) {
    if (i < nn) names[i] = specs[i].name;
    int w = snprintf(known + at, sizeof known - at, "%s%s", i ? ", " : "", specs[i].name);
    if (w < 0 || (size_t)w >= sizeof known - at) break;
    at += (size_t)w;
  }
  const char *near = lundi__suggest(key, names, nn);
  char hint[96] = "";
  if (near) snprintf(hint, sizeof hint, " (did you mean --%s?)", near);
  lundi_set_error(LUNDI_EINVAL, "%s: unknown parameter --%s%s (known: %s)", owner, key ? key : "(null)", hint, known);
  return -1;
}

/* Lua's tostring of a number: integers plainly, floats by "%.14g" with ".0" when that reads
 * as an integer, so a string option given as a number keeps the text scripts always saw. */
static const char *number_text(const lundi_opt_value *v, char *buf, size_t cap) {
  if (v->type == LUNDI_OPT_INT) {
    snprintf(buf, cap, "%lld", (long long)v->i);
    return buf;
  }
  snprintf(buf, cap, "%.14g", v->f);
  if (buf[strspn(buf, "-0123456789")] == 0 && strlen(buf) + 3 <= cap) strcat(buf, ".0");
  return buf;
}

/* The given value as text, for messages and for STRING results. */
static const char *value_text(const lundi_opt_value *v, char *buf, size_t cap) {
  switch (v->type) {
  case LUNDI_OPT_STRING: return v->s ? v->s : "";
  case LUNDI_OPT_BOOL: return v->b ? "true" : "false";
  default: return number_text(v, buf, cap);
  }
}

/* Text that reads wholly as an integer or a number. 0: no; 1: integer (*i); 2: float (*f). */
static int parse_number(const char *s, int64_t *i, double *f) {
  if (!s || !*s) return 0;
  char *end;
  errno = 0;
  long long ll = strtoll(s, &end, 10);
  if (*end == 0 && errno == 0) {
    *i = ll;
    return 1;
  }
  errno = 0;
  double d = strtod(s, &end);
  if (*end == 0 && errno == 0) {
    *f = d;
    return 2;
  }
  return 0;
}

static int integral(double f, int64_t *i) {
  if (!(f >= -9223372036854775808.0 && f < 9223372036854775808.0) || f != floor(f)) return 0;
  *i = (int64_t)f;
  return 1;
}

int lundi_options_convert(const char *owner, const lundi_opt_spec *spec, const lundi_opt_value *given,
                          lundi_opt_value *out, char *buf, size_t cap) {
  char tmp[64];
  const char *text = value_text(given, tmp, sizeof tmp), *key = spec->name;
  memset(out, 0, sizeof *out);
  out->type = spec->type;
  int64_t i = 0;
  double f = 0;
  int kind = given->type == LUNDI_OPT_INT ? (i = given->i, 1)
             : given->type == LUNDI_OPT_NUMBER ? (f = given->f, 2)
             : given->type == LUNDI_OPT_STRING ? parse_number(given->s, &i, &f) : 0;
  switch (spec->type) {
  case LUNDI_OPT_STRING:
    snprintf(buf, cap, "%s", text);
    out->s = given->type == LUNDI_OPT_STRING ? given->s : buf;
    return 0;
  case LUNDI_OPT_BOOL:
    if (given->type == LUNDI_OPT_BOOL) out->b = given->b;
    else if (given->type == LUNDI_OPT_STRING && (!strcmp(text, "true") || !strcmp(text, "false")))
      out->b = text[0] == 't';
    else
      return lundi_set_error(LUNDI_EINVAL, "%s: --%s must be a boolean (true or false), got '%s'", owner, key, text);
    return 0;
  case LUNDI_OPT_INT:
    if (kind == 1 || (kind == 2 && integral(f, &i))) {
      out->i = i;
      return 0;
    }
    if (kind == 2) return lundi_set_error(LUNDI_EINVAL, "%s: --%s must be an integer, got '%s'", owner, key, text);
    return lundi_set_error(LUNDI_EINVAL, "%s: --%s must be a number, got '%s' (--%s takes an integer)", owner, key,
                           text, key);
  case LUNDI_OPT_NUMBER:
    if (kind == 1) {
      out->type = LUNDI_OPT_INT; /* kept an integer, as given */
      out->i = i;
      return 0;
    }
    if (kind == 2) {
      out->f = f;
      return 0;
    }
    return lundi_set_error(LUNDI_EINVAL, "%s: --%s must be a number, got '%s'", owner, key, text);
  }
  return lundi_set_error(LUNDI_EINVAL, "%s: --%s has a bad type", owner, key);
}

int lundi_options_given(const char *owner, const lundi_opt_spec *specs, int n, const char *key,
                        const lundi_opt_value *given, const char *got, lundi_opt_value *out, char *buf,
                        size_t cap) {
  int i = lundi_options_find(owner, specs, n, key);
  if (i < 0) return -1;
  if (!given) {
    lundi_set_error(LUNDI_EINVAL, "%s: --%s must be a %s, got a %s", owner, key,
                    lundi_opt_type_name(specs[i].type), got);
    return -1;
  }
  return lundi_options_convert(owner, &specs[i], given, out, buf, cap) != 0 ? -1 : i;
}

int lundi_options_force_type(const char *owner, lundi_opt_spec *spec, const char *type) {
  int t = 0;
  while (t <= LUNDI_OPT_STRING && strcmp(type, lundi_opt_type_name((lundi_opt_type)t))) t++;
  if (t > LUNDI_OPT_STRING)
    return lundi_set_error(LUNDI_EINVAL,
                           "lundi.options: %s: DEFAULTS.%s: type must be integer, number, boolean or string, got '%s'",
                           owner, spec->name, type);
  spec->type = (lundi_opt_type)t;
  lundi_opt_value check;
  char buf[64];
  if (lundi_options_convert(owner, spec, &spec->def, &check, buf, sizeof buf) != 0 ||
      (spec->type != LUNDI_OPT_NUMBER && spec->type != spec->def.type))
    return lundi_set_error(LUNDI_EINVAL, "lundi.options: %s: the default of DEFAULTS.%s is not of type %s", owner,
                           spec->name, type);
  return 0;
}

static int by_name(const void *a, const void *b) {
  return strcmp(((const lundi_opt_spec *)a)->name, ((const lundi_opt_spec *)b)->name);
}

void lundi_options_sort(lundi_opt_spec *specs, int n) {
  if (n > 1) qsort(specs, (size_t)n, sizeof *specs, by_name);
}

int lundi_options_own_help(const lundi_opt_spec *specs, int n) {
  for (int i = 0; i < n; i++)
    if (!strcmp(specs[i].name, "help")) return 1;
  return 0;
}

char *lundi_options_help(const char *owner, const char *about, const lundi_opt_spec *specs, int n) {
  lundi__strbuf t = {0};
  lundi__strbuf_printf(&t, "usage: lundi run %s [--key=value ...]\n", owner);
  if (about && *about) lundi__strbuf_printf(&t, "\n%s\n", about);
  lundi__strbuf_printf(&t, "\nparameters (--key=value; shown with their defaults):\n");
  enum { COL = 28 };
  for (int i = 0; i < n; i++) {
    char buf[64], head[160];
    const lundi_opt_value *d = &specs[i].def;
    const char *v = value_text(d, buf, sizeof buf);
    if (d->type == LUNDI_OPT_STRING) snprintf(head, sizeof head, "--%s=\"%s\"", specs[i].name, v);
    else snprintf(head, sizeof head, "--%s=%s", specs[i].name, v);
    const char *h = specs[i].help ? specs[i].help : "";
    if (!*h) {
      lundi__strbuf_printf(&t, "  %s\n", head);
      continue;
    }
    if (strlen(head) > COL) lundi__strbuf_printf(&t, "  %s\n  %*s", head, COL, "");
    else lundi__strbuf_printf(&t, "  %-*s", COL, head);
    /* one help line after another, each continuation under the first */
    for (const char *line = h; line;) {
      const char *nl = strchr(line, '\n');
      int len = nl ? (int)(nl - line) : (int)strlen(line);
      lundi__strbuf_printf(&t, "  %.*s\n", len, line);
      line = nl ? nl + 1 : NULL;
      if (line) lundi__strbuf_printf(&t, "  %*s", COL, "");
    }
  }
  lundi__strbuf_printf(&t, "  --help%*s  this text\n", COL - 6, "");
  char *help = lundi__strbuf_take(&t);
  if (!help) lundi_set_error(LUNDI_ENOMEM, "%s: out of memory for the help text", owner);
  return help;
}
