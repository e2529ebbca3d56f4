/* lundi_params_to_json: {"key": value, ...} in schema order, built by hand so numbers keep
 * their canonical text (the same as lundi_params_text) and the order is the schema's; and
 * lundi__params_brief, the same values as an instance's tostring shows them. */
#include "core/strbuf.h"
#include "plugin/spec_text.h"
#include "plugin/plugin_internal.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static void put_json_string(lundi__strbuf *b, const char *s) {
  lundi__strbuf_puts(b, "\"");
  for (const unsigned char *c = (const unsigned char *)s; *c; c++) {
    char esc[8];
    if (*c == '"' || *c == '\\') {
      esc[0] = '\\';
      esc[1] = (char)*c;
      lundi__strbuf_put(b, esc, 2);
    } else if (*c < 0x20) {
      snprintf(esc, sizeof esc, "\\u%04x", *c);
      lundi__strbuf_puts(b, esc);
    } else {
      lundi__strbuf_put(b, (const char *)c, 1);
    }
  }
  lundi__strbuf_puts(b, "\"");
}

char *lundi_params_to_json(const lundi_params *p) {
  if (!p) {
    lundi_set_error(LUNDI_EINVAL, "lundi_params_to_json: NULL parameter set");
    return NULL;
  }
  lundi__strbuf b = {0};
  lundi__strbuf_puts(&b, "{");
  for (int i = 0; i < p->n; i++) {
    if (i) lundi__strbuf_puts(&b, ", ");
    put_json_string(&b, p->specs[i].name);
    lundi__strbuf_puts(&b, ": ");
    lundi_param_type t = p->specs[i].type;
    if (t == LUNDI_PARAM_STRING || t == LUNDI_PARAM_CHOICE)
      put_json_string(&b, p->v[i].text);
    else
      lundi__strbuf_puts(&b, p->v[i].text); /* ints, finite floats and true/false are valid JSON as written */
  }
  lundi__strbuf_puts(&b, "}");
  char *json = lundi__strbuf_take(&b);
  if (!json) lundi_set_error(LUNDI_ENOMEM, "%s: out of memory writing parameters as JSON", p->owner);
  return json;
}

char *lundi__params_brief(const lundi_params *p) {
  lundi__strbuf b = {0};
  for (int i = 0; i < p->n; i++) {
    lundi_param_type t = p->specs[i].type;
    const char *q = t == LUNDI_PARAM_STRING || t == LUNDI_PARAM_CHOICE ? "\"" : "";
    lundi__strbuf_printf(&b, "%s%s=%s%s%s", i ? ", " : "", p->specs[i].name, q, p->v[i].text, q);
  }
  char *text = lundi__strbuf_take(&b);
  if (!text) lundi_set_error(LUNDI_ENOMEM, "%s: out of memory describing the parameters", p->owner);
  return text;
}
