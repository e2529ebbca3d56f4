/* The "parameters" text of saved images (lundi/session.h). The line lengths are those the
 * Lua module always had: a prompt keeps 1022 bytes, each "Key: value" 511. */
#include "core/strbuf.h"
#include "lundi/session.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* ", Key: value" (no comma first) when value is set. */
static void add_field(lundi__strbuf *t, int *first, const char *label, const char *value) {
  if (!value) return;
  char line[512];
  snprintf(line, sizeof line, "%s%s: %s", *first ? "" : ", ", label, value);
  lundi__strbuf_puts(t, line);
  *first = 0;
}

const char *lundi_image_param_int(char out[64], int64_t v) {
  snprintf(out, 64, "%lld", (long long)v);
  return out;
}

const char *lundi_image_param_float(char out[64], double v) {
  snprintf(out, 64, "%.10g", v);
  return out;
}

char *lundi_session_parameters_text(const lundi_image_params *ps, int width, int height) {
  static const lundi_image_params none = {0};
  if (!ps) ps = &none;
  lundi__strbuf t = {0};
  if (ps->prompt) {
    char line[1024];
    snprintf(line, sizeof line, "%s\n", ps->prompt);
    lundi__strbuf_puts(&t, line);
  }
  int first = 1;
  add_field(&t, &first, "Steps", ps->steps);
  add_field(&t, &first, "Sampler", ps->sampler);
  add_field(&t, &first, "CFG scale", ps->cfg_scale);
  add_field(&t, &first, "Seed", ps->seed);
  char size[64];
  snprintf(size, sizeof size, "%dx%d", width, height);
  add_field(&t, &first, "Size", size);
  add_field(&t, &first, "Model hash", ps->model_hash);
  char *text = lundi__strbuf_take(&t); /* "" when there is nothing to say */
  if (!text) lundi_set_error(LUNDI_ENOMEM, "save_image: out of memory for the parameters text");
  return text;
}
