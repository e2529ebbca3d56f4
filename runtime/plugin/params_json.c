/* lundi_params_to_json: {"key": value, ...} in schema order, built by hand so numbers keep
 * their canonical text (the same as lundi_params_text) and the order is the schema's. */
#include "plugin/plugin_internal.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

typedef struct sbuf {
  char *s;
  size_t n, cap;
  int oom;
} sbuf;

static void put(sbuf *b, const char *s, size_t n) {
  if (b->oom) return;
  if (b->n + n + 1 > b->cap) {
    size_t cap = (b->cap ? b->cap * 2 : 128) + n;
    char *ns = realloc(b->s, cap);
    if (!ns) {
      b->oom = 1;
      return;
    }
    b->s = ns;
    b->cap = cap;
  }
  memcpy(b->s + b->n, s, n);
  b->n += n;
  b->s[b->n] = 0;
}

static void puts_(sbuf *b, const char *s) { put(b, s, strlen(s)); }

static void put_json_string(sbuf *b, const char *s) {
  puts_(b, "\"");
  for (const unsigned char *c = (const unsigned char *)s; *c; c++) {
    char esc[8];
    if (*c == '"' || *c == '\\') {
      esc[0] = '\\';
      esc[1] = (char)*c;
      put(b, esc, 2);
    } else if (*c < 0x20) {
      snprintf(esc, sizeof esc, "\\u%04x", *c);
      puts_(b, esc);
    } else {
      put(b, (const char *)c, 1);
    }
  }
  puts_(b, "\"");
}

char *lundi_params_to_json(const lundi_params *p) {
  if (!p) {
    lundi_set_error(LUNDI_EINVAL, "lundi_params_to_json: NULL parameter set");
    return NULL;
  }
  sbuf b = {0};
  puts_(&b, "{");
  for (int i = 0; i < p->n; i++) {
    if (i) puts_(&b, ", ");
    put_json_string(&b, p->specs[i].name);
    puts_(&b, ": ");
    lundi_param_type t = p->specs[i].type;
    if (t == LUNDI_PARAM_STRING || t == LUNDI_PARAM_CHOICE)
      put_json_string(&b, p->v[i].text);
    else
      puts_(&b, p->v[i].text); /* ints, finite floats and true/false are valid JSON as written */
  }
  puts_(&b, "}");
  if (b.oom) {
    free(b.s);
    lundi_set_error(LUNDI_ENOMEM, "%s: out of memory writing parameters as JSON", p->owner);
    return NULL;
  }
  return b.s;
}
