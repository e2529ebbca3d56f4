/* The "parameters" text of saved images (lundi/session.h). The line lengths are those the
 * Lua module always had: a prompt keeps 1022 bytes, each "Key: value" 511. */
#include "lundi/session.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

typedef struct text {
  char *p;
  size_t n, cap;
  int failed;
} text;

static void add(text *t, const char *s) {
  size_t k = strlen(s);
  if (t->failed) return;
  if (t->n + k + 1 > t->cap) {
    size_t cap = t->cap ? t->cap : 128;
    while (cap < t->n + k + 1) cap *= 2;
    char *p = realloc(t->p, cap);
    if (!p) {
      t->failed = 1;
      return;
    }
    t->p = p;
    t->cap = cap;
  }
  memcpy(t->p + t->n, s, k + 1);
  t->n += k;
}

/* ", Key: value" (no comma first) when value is set. */
static void add_field(text *t, int *first, const char *label, const char *value) {
  if (!value) return;
  char line[512];
  snprintf(line, sizeof line, "%s%s: %s", *first ? "" : ", ", label, value);
  add(t, line);
  *first = 0;
}

char *lundi_session_parameters_text(const lundi_image_params *ps, int width, int height) {
  static const lundi_image_params none = {0};
  if (!ps) ps = &none;
  text t = {0};
  add(&t, ""); /* an empty text is still a string */
  if (ps->prompt) {
    char line[1024];
    snprintf(line, sizeof line, "%s\n", ps->prompt);
    add(&t, line);
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
  if (t.failed) {
    free(t.p);
    lundi_set_error(LUNDI_ENOMEM, "save_image: out of memory for the parameters text");
    return NULL;
  }
  return t.p;
}
