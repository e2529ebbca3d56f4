/* Typed parameter values checked against a schema. Every setter validates completely before
 * it touches the stored value, so a refused set leaves the old value in place. */
#include "plugin/plugin_internal.h"
#include "plugin/spec_text.h"

#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

static const char *owner_of(const lundi_params *p) { return p && p->owner ? p->owner : "parameters"; }

static const char *type_phrase(lundi_param_type t) {
  switch (t) {
  case LUNDI_PARAM_INT: return "an int";
  case LUNDI_PARAM_FLOAT: return "a float";
  case LUNDI_PARAM_BOOL: return "a bool (true/false, yes/no, on/off, 1/0)";
  case LUNDI_PARAM_STRING: return "a string";
  case LUNDI_PARAM_CHOICE: return "a choice";
  }
  return "?";
}

static int is_ident(const char *s) {
  if (!s || !((*s >= 'a' && *s <= 'z') || *s == '_')) return 0;
  for (; *s; s++)
    if (!((*s >= 'a' && *s <= 'z') || (*s >= '0' && *s <= '9') || *s == '_')) return 0;
  return 1;
}

/* Shortest "%.Ng" that reads back as the same double ("0.0001", not "0.00010000000000000000479"). */
static void format_float(double v, char *buf, size_t n) {
  if (v == floor(v) && fabs(v) < 1e15) { /* "1000", not "1e+03" */
    snprintf(buf, n, "%.0f", v);
    return;
  }
  for (int prec = 1; prec <= 17; prec++) {
    snprintf(buf, n, "%.*g", prec, v);
    if (strtod(buf, NULL) == v) return;
  }
}

static int parse_int(const char *s, int64_t *out) {
  const char *q = s;
  if (*q == '+' || *q == '-') q++;
  if (!*q) return -1;
  for (; *q; q++)
    if (*q < '0' || *q > '9') return -1;
  errno = 0;
  long long v = strtoll(s, NULL, 10);
  if (errno == ERANGE) return -1;
  *out = v;
  return 0;
}

static int parse_float(const char *s, double *out) {
  char *end;
  if (!*s || *s == ' ' || *s == '\t' || *s == '\n') return -1;
  double v = strtod(s, &end);
  if (*end || !isfinite(v)) return -1;
  *out = v;
  return 0;
}

static int parse_bool(const char *s, int *out) {
  static const char *const yes[] = {"true", "1", "yes", "on"}, *const no[] = {"false", "0", "no", "off"};
  for (int i = 0; i < 4; i++) {
    if (strcasecmp(s, yes[i]) == 0) return *out = 1, 0;
    if (strcasecmp(s, no[i]) == 0) return *out = 0, 0;
  }
  return -1;
}

/* Whether s is one of the '|'-separated entries of choices. */
static int in_choices(const char *choices, const char *s) {
  size_t n = strlen(s);
  for (const char *c = choices; c;) {
    const char *bar = strchr(c, '|');
    size_t len = bar ? (size_t)(bar - c) : strlen(c);
    if (len == n && strncmp(c, s, n) == 0) return 1;
    c = bar ? bar + 1 : NULL;
  }
  return 0;
}

static int bad_choice(const char *owner, const lundi_param_spec *s, const char *v) {
  char list[512];
  size_t k = 0;
  for (const char *c = s->choices; *c && k + 3 < sizeof list; c++) {
    if (*c == '|') {
      list[k++] = ',';
      list[k++] = ' ';
    } else {
      list[k++] = *c;
    }
  }
  list[k] = 0;
  return lundi_set_error(LUNDI_EINVAL, "%s: parameter '%s' must be one of %s; got \"%s\"", owner, s->name, list, v);
}

static int bounded(const lundi_param_spec *s) { return !(s->min == 0 && s->max == 0); }

static int check_range(const char *owner, const lundi_param_spec *s, double v, const char *shown) {
  if (bounded(s) && (v < s->min || v > s->max))
    return lundi_set_error(LUNDI_EINVAL, "%s: parameter '%s' must be in the range [%g, %g]; got %s", owner, s->name,
                           s->min, s->max, shown);
  return 0;
}

static int type_error(const char *owner, const lundi_param_spec *s, const char *got) {
  return lundi_set_error(LUNDI_EINVAL, "%s: parameter '%s' expects %s, got %s", owner, s->name, type_phrase(s->type), got);
}

/* Replaces value i; only runs after the new value has been validated. */
static int store(lundi_params *p, int i, int64_t iv, double fv, int bv, const char *text) {
  char *t = lundi__strdup(text);
  if (!t) return lundi_set_error(LUNDI_ENOMEM, "%s: out of memory setting parameter '%s'", owner_of(p), p->specs[i].name);
  free(p->v[i].text);
  p->v[i] = (lundi__pval){.i = iv, .f = fv, .b = bv, .text = t};
  return 0;
}

static int set_text_at(lundi_params *p, int i, const char *text) {
  const lundi_param_spec *s = &p->specs[i];
  const char *owner = owner_of(p);
  char shown[600], buf[64];
  snprintf(shown, sizeof shown, "\"%s\"", text);
  switch (s->type) {
  case LUNDI_PARAM_INT: {
    int64_t v;
    if (parse_int(text, &v)) return type_error(owner, s, shown);
    snprintf(buf, sizeof buf, "%lld", (long long)v);
    if (check_range(owner, s, (double)v, buf)) return LUNDI_EINVAL;
    return store(p, i, v, (double)v, 0, buf);
  }
  case LUNDI_PARAM_FLOAT: {
    double v;
    if (parse_float(text, &v)) return type_error(owner, s, shown);
    format_float(v, buf, sizeof buf);
    if (check_range(owner, s, v, buf)) return LUNDI_EINVAL;
    return store(p, i, 0, v, 0, buf);
  }
  case LUNDI_PARAM_BOOL: {
    int b;
    if (parse_bool(text, &b)) return type_error(owner, s, shown);
    return store(p, i, 0, 0, b, b ? "true" : "false");
  }
  case LUNDI_PARAM_CHOICE:
    if (!in_choices(s->choices, text)) return bad_choice(owner, s, text);
    return store(p, i, 0, 0, 0, text);
  case LUNDI_PARAM_STRING: return store(p, i, 0, 0, 0, text);
  }
  return lundi_set_error(LUNDI_EINVAL, "%s: parameter '%s' has an unknown type", owner, s->name);
}

static int find(const lundi_params *p, const char *key) {
  for (int i = 0; key && i < p->n; i++)
    if (strcmp(p->specs[i].name, key) == 0) return i;
  return -1;
}

/* The message suggests a close name and lists every valid one. */
static int unknown_key(const lundi_params *p, const char *key) {
  const char *names[64];
  int nn = p->n < 64 ? p->n : 64;
  for (int i = 0; i < nn; i++) names[i] = p->specs[i].name;
  const char *near = lundi__suggest(key, names, nn);
  char list[700];
  size_t k = 0;
  list[0] = 0;
  for (int i = 0; i < p->n && k < sizeof list; i++)
    k += (size_t)snprintf(list + k, sizeof list - k, "%s%s", i ? ", " : "", p->specs[i].name);
  char hint[200] = "";
  if (near) snprintf(hint, sizeof hint, " (did you mean '%s'?)", near);
  return lundi_set_error(LUNDI_EINVAL, "%s: unknown parameter '%s'%s; valid parameters: %s", owner_of(p),
                         key ? key : "(null)", hint, p->n ? list : "(none)");
}

static int lookup(const lundi_params *p, const char *key, int *idx) {
  if (!p) return lundi_set_error(LUNDI_EINVAL, "parameters: NULL parameter set (setting '%s')", key ? key : "(null)");
  if ((*idx = find(p, key)) < 0) return unknown_key(p, key);
  return 0;
}

int lundi__params_type_error(const lundi_params *p, const char *owner, const char *key, const char *got) {
  int i;
  if (lookup(p, key, &i) != 0) return LUNDI_EINVAL;
  return lundi_set_error(LUNDI_EINVAL, "%s: parameter '%s' expects %s, got %s", owner, key,
                         lundi_param_type_name(p->specs[i].type), got);
}

int lundi__schema_check(const char *owner, const lundi_param_spec *specs, int n) {
  if (!owner) owner = "parameters";
  if (n < 0 || (n > 0 && !specs))
    return lundi_set_error(LUNDI_EINVAL, "%s: bad parameter schema (%d entries, table %s)", owner, n,
                           specs ? "present" : "NULL");
  for (int i = 0; i < n; i++) {
    const lundi_param_spec *s = &specs[i];
    if (!is_ident(s->name))
      return lundi_set_error(LUNDI_EINVAL, "%s: parameter %d has the name '%s'; names must match [a-z_][a-z0-9_]*",
                             owner, i, s->name ? s->name : "(null)");
    for (int j = 0; j < i; j++)
      if (strcmp(specs[j].name, s->name) == 0)
        return lundi_set_error(LUNDI_EINVAL, "%s: parameter '%s' is declared twice (entries %d and %d)", owner,
                               s->name, j, i);
    if ((int)s->type < LUNDI_PARAM_INT || s->type > LUNDI_PARAM_CHOICE)
      return lundi_set_error(LUNDI_EINVAL, "%s: parameter '%s' has an unknown type %d", owner, s->name, (int)s->type);
    if (!s->default_value)
      return lundi_set_error(LUNDI_EINVAL, "%s: parameter '%s' has no default value", owner, s->name);
    if (s->type == LUNDI_PARAM_INT || s->type == LUNDI_PARAM_FLOAT) {
      if (!isfinite(s->min) || !isfinite(s->max) || s->min > s->max)
        return lundi_set_error(LUNDI_EINVAL, "%s: parameter '%s' has a bad range [%g, %g]", owner, s->name, s->min,
                               s->max);
    }
    if (s->type == LUNDI_PARAM_CHOICE) {
      const char *c = s->choices;
      int ok = c && *c && c[strlen(c) - 1] != '|' && *c != '|' && !strstr(c, "||");
      if (!ok)
        return lundi_set_error(LUNDI_EINVAL, "%s: choice parameter '%s' needs choices like \"a|b|c\", got \"%s\"",
                               owner, s->name, c ? c : "(null)");
    }
  }
  return 0;
}

void lundi_params_free(lundi_params *p) {
  if (!p) return;
  for (int i = 0; i < p->n; i++) {
    if (p->v) free(p->v[i].text);
    free((char *)p->specs[i].name);
    free((char *)p->specs[i].default_value);
    free((char *)p->specs[i].choices);
    free((char *)p->specs[i].help);
  }
  free(p->v);
  free(p->specs);
  free(p->owner);
  free(p);
}

/* Deep copy of the schema: a params object never depends on who built it. */
static lundi_params *alloc_like(const char *owner, const lundi_param_spec *specs, int n) {
  lundi_params *p = calloc(1, sizeof *p);
  if (!p) return NULL;
  p->owner = lundi__strdup(owner ? owner : "parameters");
  p->specs = calloc(n > 0 ? (size_t)n : 1, sizeof *p->specs);
  p->v = calloc(n > 0 ? (size_t)n : 1, sizeof *p->v);
  if (!p->owner || !p->specs || !p->v) {
    lundi_params_free(p);
    return NULL;
  }
  p->n = n;
  int ok = 1;
  for (int i = 0; i < n; i++) {
    lundi_param_spec *d = &p->specs[i];
    *d = specs[i];
    d->name = lundi__strdup(specs[i].name);
    d->default_value = lundi__strdup(specs[i].default_value);
    d->choices = specs[i].choices ? lundi__strdup(specs[i].choices) : NULL;
    d->help = lundi__strdup(specs[i].help);
    ok = ok && d->name && d->default_value && d->help && (d->choices || !specs[i].choices);
  }
  if (!ok) {
    lundi_params_free(p);
    return NULL;
  }
  return p;
}

lundi_params *lundi_params_new(const char *owner, const lundi_param_spec *specs, int n) {
  if (lundi__schema_check(owner, specs, n)) return NULL;
  lundi_params *p = alloc_like(owner, specs, n);
  if (!p) {
    lundi_set_error(LUNDI_ENOMEM, "%s: out of memory for %d parameters", owner ? owner : "parameters", n);
    return NULL;
  }
  p->tag = specs;
  for (int i = 0; i < n; i++) {
    if (set_text_at(p, i, p->specs[i].default_value)) {
      char msg[1024];
      snprintf(msg, sizeof msg, "%s", lundi_last_error());
      lundi_params_free(p);
      lundi_set_error(LUNDI_EINVAL, "bad default value: %s", msg);
      return NULL;
    }
  }
  return p;
}

lundi_params *lundi_params_copy(const lundi_params *p) {
  if (!p) {
    lundi_set_error(LUNDI_EINVAL, "lundi_params_copy: NULL parameter set");
    return NULL;
  }
  lundi_params *c = alloc_like(p->owner, p->specs, p->n);
  for (int i = 0; c && i < p->n; i++) {
    c->v[i] = p->v[i];
    if (!(c->v[i].text = lundi__strdup(p->v[i].text))) {
      lundi_params_free(c);
      c = NULL;
    }
  }
  if (!c) {
    lundi_set_error(LUNDI_ENOMEM, "%s: out of memory copying parameters", owner_of(p));
    return NULL;
  }
  c->tag = p->tag;
  return c;
}

int lundi_params_set(lundi_params *p, const char *key, const char *text) {
  int i = -1;
  if (lookup(p, key, &i)) return LUNDI_EINVAL;
  if (!text) return lundi_set_error(LUNDI_EINVAL, "%s: parameter '%s' was given no value", owner_of(p), key);
  return set_text_at(p, i, text);
}

int lundi_params_set_number(lundi_params *p, const char *key, double v) {
  int i = -1;
  if (lookup(p, key, &i)) return LUNDI_EINVAL;
  const lundi_param_spec *s = &p->specs[i];
  char buf[64];
  format_float(v, buf, sizeof buf);
  if (s->type == LUNDI_PARAM_INT) {
    /* 2^63 is exactly representable; anything at or beyond it does not fit an int64. */
    if (!isfinite(v) || v != floor(v) || v >= 9223372036854775808.0 || v < -9223372036854775808.0)
      return type_error(owner_of(p), s, buf);
    int64_t iv = (int64_t)v;
    snprintf(buf, sizeof buf, "%lld", (long long)iv);
    if (check_range(owner_of(p), s, v, buf)) return LUNDI_EINVAL;
    return store(p, i, iv, (double)iv, 0, buf);
  }
  if (s->type == LUNDI_PARAM_FLOAT) {
    if (!isfinite(v)) return type_error(owner_of(p), s, buf);
    if (check_range(owner_of(p), s, v, buf)) return LUNDI_EINVAL;
    return store(p, i, 0, v, 0, buf);
  }
  char got[100];
  snprintf(got, sizeof got, "the number %s", buf);
  return type_error(owner_of(p), s, got);
}

int lundi_params_set_bool(lundi_params *p, const char *key, int v) {
  int i = -1;
  if (lookup(p, key, &i)) return LUNDI_EINVAL;
  const lundi_param_spec *s = &p->specs[i];
  if (s->type != LUNDI_PARAM_BOOL) return type_error(owner_of(p), s, v ? "the bool true" : "the bool false");
  return store(p, i, 0, 0, v != 0, v ? "true" : "false");
}

int lundi_params_set_string(lundi_params *p, const char *key, const char *str) {
  int i = -1;
  if (lookup(p, key, &i)) return LUNDI_EINVAL;
  const lundi_param_spec *s = &p->specs[i];
  if (!str) return lundi_set_error(LUNDI_EINVAL, "%s: parameter '%s' was given a NULL string", owner_of(p), key);
  if (s->type == LUNDI_PARAM_STRING) return store(p, i, 0, 0, 0, str);
  if (s->type == LUNDI_PARAM_CHOICE) {
    if (!in_choices(s->choices, str)) return bad_choice(owner_of(p), s, str);
    return store(p, i, 0, 0, 0, str);
  }
  char got[600];
  snprintf(got, sizeof got, "the string \"%s\"", str);
  return type_error(owner_of(p), s, got);
}

/* Getters: misuse is a bug in the plugin that calls them, and the message says so. */
static const lundi__pval *get(const lundi_params *p, const char *key, int t1, int t2, const char *as) {
  if (!p) {
    lundi_set_error(LUNDI_EINVAL, "plugin bug: parameter '%s' read from a NULL parameter set", key ? key : "(null)");
    return NULL;
  }
  int i = find(p, key);
  if (i < 0) {
    lundi_set_error(LUNDI_EINVAL, "plugin bug: %s reads parameter '%s', which is not in its schema", owner_of(p),
                    key ? key : "(null)");
    return NULL;
  }
  int t = (int)p->specs[i].type;
  if (t != t1 && t != t2) {
    lundi_set_error(LUNDI_EINVAL, "plugin bug: %s reads parameter '%s' as %s, but it is declared as %s", owner_of(p),
                    key, as, lundi_param_type_name(p->specs[i].type));
    return NULL;
  }
  return &p->v[i];
}

int64_t lundi_params_int(const lundi_params *p, const char *key) {
  const lundi__pval *v = get(p, key, LUNDI_PARAM_INT, LUNDI_PARAM_INT, "an int");
  return v ? v->i : 0;
}

double lundi_params_float(const lundi_params *p, const char *key) {
  const lundi__pval *v = get(p, key, LUNDI_PARAM_FLOAT, LUNDI_PARAM_INT, "a float");
  return v ? v->f : 0;
}

int lundi_params_bool(const lundi_params *p, const char *key) {
  const lundi__pval *v = get(p, key, LUNDI_PARAM_BOOL, LUNDI_PARAM_BOOL, "a bool");
  return v ? v->b : 0;
}

const char *lundi_params_string(const lundi_params *p, const char *key) {
  const lundi__pval *v = get(p, key, LUNDI_PARAM_STRING, LUNDI_PARAM_CHOICE, "a string");
  return v ? v->text : NULL;
}

int lundi_params_count(const lundi_params *p) { return p ? p->n : 0; }

const lundi_param_spec *lundi_params_spec(const lundi_params *p, int i) {
  if (!p || i < 0 || i >= p->n) {
    lundi_set_error(LUNDI_EINVAL, "%s: no parameter at index %d (%d parameters)", owner_of(p), i, p ? p->n : 0);
    return NULL;
  }
  return &p->specs[i];
}

const char *lundi_params_text(const lundi_params *p, int i) {
  return lundi_params_spec(p, i) ? p->v[i].text : NULL;
}
