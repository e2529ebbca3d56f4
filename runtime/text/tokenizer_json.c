/* Saving and loading tokenizers as JSON (cJSON), written atomically:
 *   {"kind": "bpe", "format": 1, "vocab_size": 1000,
 *    "specials": {"mask": 996, "eos": 997, "pad": 998, "bos": 999},
 *    "merges": [[116, 104], [32, 116], ...]}
 * "bytes" has no merges; "gpt2" names the package and loads from the cache. The file is
 * untrusted: every field is checked and an error names the file and the field. */
#include <cjson/cJSON.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/atomic_file.h"
#include "core/error.h"
#include "core/file.h"
#include "core/strbuf.h"
#include "text/tokenizer_internal.h"

#define FORMAT 1
#define MAX_FILE ((size_t)256 << 20)

static const char *const special_key[LUNDI_TOKEN_SPECIAL_COUNT] = {"mask", "eos", "pad", "bos"};

int lundi_tokenizer_save(const lundi_tokenizer *t, const char *path) {
  if (!t || !path) return lundi__err(LUNDI_EINVAL, "tokenizer_save: %s is NULL", t ? "path" : "tokenizer");
  lundi__strbuf b = {0};
  lundi__strbuf_printf(&b, "{\"kind\": \"%s\", \"format\": %d, \"vocab_size\": %d,\n",
                       lundi_tokenizer_kind(t), FORMAT, (int)t->vocab);
  if (t->kind == LUNDI__TOK_GPT2) lundi__strbuf_puts(&b, " \"package\": \"" LUNDI_GPT2_PACKAGE "\",\n");
  lundi__strbuf_puts(&b, " \"specials\": {");
  for (int i = 0; i < LUNDI_TOKEN_SPECIAL_COUNT; i++)
    lundi__strbuf_printf(&b, "%s\"%s\": %d", i ? ", " : "", special_key[i], (int)t->special[i]);
  lundi__strbuf_puts(&b, "}");
  if (t->kind == LUNDI__TOK_BPE) {
    lundi__strbuf_puts(&b, ",\n \"merges\": [");
    for (int32_t i = 0; i < t->n_merges; i++)
      lundi__strbuf_printf(&b, "%s[%d, %d]", i ? (i % 8 ? ", " : ",\n  ") : "\n  ",
                           (int)t->merge_list[i][0], (int)t->merge_list[i][1]);
    lundi__strbuf_puts(&b, "]");
  }
  lundi__strbuf_puts(&b, "}\n");
  size_t n = b.n;
  char *text = lundi__strbuf_take(&b);
  if (!text) return lundi__err(LUNDI_ENOMEM, "tokenizer_save: out of memory");
  int rc = lundi__write_file_atomic(path, text, n, "tokenizer_save");
  free(text);
  return rc;
}

/* An integer in [lo, hi] or -1 with the error set. */
static int get_int(const cJSON *v, long lo, long hi, const char *where, const char *field,
                   long *out) {
  double x = cJSON_IsNumber(v) ? v->valuedouble : NAN;
  if (!(x >= (double)lo && x <= (double)hi && x == floor(x)))
    return lundi__err(LUNDI_EFORMAT, "%s: %s should be an integer in %ld..%ld", where, field, lo, hi);
  *out = (long)x;
  return 0;
}

static lundi_tokenizer *load_bpe(const cJSON *root, const char *where) {
  const cJSON *m = cJSON_GetObjectItemCaseSensitive(root, "merges");
  if (!cJSON_IsArray(m))
    return lundi__errp(LUNDI_EFORMAT, "%s: \"merges\" should be an array of [left, right] id pairs",
                       where);
  int n = cJSON_GetArraySize(m);
  if (n > LUNDI__BPE_MAX_MERGES)
    return lundi__errp(LUNDI_EFORMAT, "%s: %d merges; at most %d are allowed", where, n,
                       LUNDI__BPE_MAX_MERGES);
  int32_t (*merges)[2] = malloc(((size_t)n + 1) * sizeof *merges);
  if (!merges) return lundi__errp(LUNDI_ENOMEM, "%s: out of memory for %d merges", where, n);
  int i = 0;
  for (const cJSON *e = m->child; e; e = e->next, i++) {
    char field[64];
    snprintf(field, sizeof field, "merges[%d]", i);
    if (!cJSON_IsArray(e) || cJSON_GetArraySize(e) != 2) {
      free(merges);
      return lundi__errp(LUNDI_EFORMAT, "%s: %s should be a pair [left, right] of ids", where, field);
    }
    for (int k = 0; k < 2; k++) {
      long v = 0;
      snprintf(field, sizeof field, "merges[%d][%d]", i, k);
      if (get_int(cJSON_GetArrayItem(e, k), 0, 255 + i, where, field, &v)) {
        free(merges);
        return NULL;
      }
      merges[i][k] = (int32_t)v;
    }
  }
  lundi_tokenizer *t = lundi__bpe_build((const int32_t(*)[2])merges, n, where);
  free(merges);
  return t;
}

/* The optional vocab_size and specials must agree with what the kind implies. */
static int check_declared(const cJSON *root, const lundi_tokenizer *t, const char *where) {
  const cJSON *v = cJSON_GetObjectItemCaseSensitive(root, "vocab_size");
  long x = 0;
  if (v && get_int(v, 0, INT32_MAX, where, "vocab_size", &x)) return LUNDI_EFORMAT;
  if (v && x != t->vocab)
    return lundi__err(LUNDI_EFORMAT, "%s: vocab_size is %ld but the %s tokenizer it describes has %d ids",
                      where, x, lundi_tokenizer_kind(t), (int)t->vocab);
  const cJSON *s = cJSON_GetObjectItemCaseSensitive(root, "specials");
  if (s && !cJSON_IsObject(s))
    return lundi__err(LUNDI_EFORMAT, "%s: \"specials\" should be an object", where);
  for (int i = 0; s && i < LUNDI_TOKEN_SPECIAL_COUNT; i++) {
    const cJSON *e = cJSON_GetObjectItemCaseSensitive(s, special_key[i]);
    char field[32];
    snprintf(field, sizeof field, "specials.%s", special_key[i]);
    if (e && get_int(e, 0, INT32_MAX, where, field, &x)) return LUNDI_EFORMAT;
    if (e && x != t->special[i])
      return lundi__err(LUNDI_EFORMAT, "%s: %s is %ld, but this %s tokenizer puts it at %d", where,
                        field, x, lundi_tokenizer_kind(t), (int)t->special[i]);
  }
  return 0;
}

lundi_tokenizer *lundi__tokenizer_parse(const char *data, size_t size, const char *where) {
  const char *end = NULL;
  cJSON *root = cJSON_ParseWithLengthOpts(data, size, &end, 0);
  lundi_tokenizer *t = NULL;
  if (!root) {
    size_t at = end && end >= data ? (size_t)(end - data) : 0;
    return lundi__errp(LUNDI_EFORMAT, "%s is not valid JSON (near byte %zu of %zu)", where, at, size);
  }
  size_t at = (size_t)(end - data); /* only whitespace may follow the value */
  while (at < size && (data[at] == ' ' || data[at] == '\n' || data[at] == '\r' || data[at] == '\t')) at++;
  if (at < size) {
    cJSON_Delete(root);
    return lundi__errp(LUNDI_EFORMAT, "%s is not valid JSON (trailing data at byte %zu of %zu)",
                       where, at, size);
  }
  const cJSON *kind = cJSON_GetObjectItemCaseSensitive(root, "kind");
  const cJSON *format = cJSON_GetObjectItemCaseSensitive(root, "format");
  long fmt = FORMAT;
  if (!cJSON_IsObject(root)) {
    lundi__errp(LUNDI_EFORMAT, "%s should hold a JSON object {\"kind\": ...}", where);
  } else if (!cJSON_IsString(kind)) {
    lundi__errp(LUNDI_EFORMAT, "%s has no \"kind\" string (\"bytes\", \"bpe\" or \"gpt2\")", where);
  } else if (format && get_int(format, 1, 1000000, where, "format", &fmt)) {
  } else if (fmt != FORMAT) {
    lundi__errp(LUNDI_EFORMAT, "%s has format %ld; this lundi reads format %d", where, fmt, FORMAT);
  } else if (!strcmp(kind->valuestring, "bytes")) {
    t = lundi_tokenizer_bytes();
  } else if (!strcmp(kind->valuestring, "bpe")) {
    t = load_bpe(root, where);
  } else if (!strcmp(kind->valuestring, "gpt2")) {
    const cJSON *pkg = cJSON_GetObjectItemCaseSensitive(root, "package");
    if (pkg && (!cJSON_IsString(pkg) || strcmp(pkg->valuestring, LUNDI_GPT2_PACKAGE)))
      lundi__errp(LUNDI_EFORMAT, "%s: package should be \"%s\"", where, LUNDI_GPT2_PACKAGE);
    else
      t = lundi_tokenizer_gpt2(NULL, NULL);
  } else {
    lundi__errp(LUNDI_EFORMAT, "%s: unknown kind \"%.40s\" (expected \"bytes\", \"bpe\" or \"gpt2\")",
                where, kind->valuestring);
  }
  if (t && check_declared(root, t, where)) {
    lundi_tokenizer_free(t);
    t = NULL;
  }
  cJSON_Delete(root);
  return t;
}

lundi_tokenizer *lundi_tokenizer_load(const char *path) {
  if (!path) return lundi__errp(LUNDI_EINVAL, "tokenizer_load: path is NULL");
  char where[4200];
  snprintf(where, sizeof where, "tokenizer '%s'", path);
  uint8_t *data;
  size_t size;
  if (lundi__read_file(path, MAX_FILE, &data, &size, NULL)) {
    lundi__err_prefix("tokenizer_load");
    return NULL;
  }
  lundi_tokenizer *t = lundi__tokenizer_parse((const char *)data, size, where);
  free(data);
  return t;
}
