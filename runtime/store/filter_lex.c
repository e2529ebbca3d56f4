/* The filter language's tokens (words with quoted segments, numbers, 'strings',
 * operators) and its fields. Every error names the 1-based column in characters. */
#include "store/query_internal.h"

#include <ctype.h>
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "lundi/error.h"

const qattr q_attrs[] = {
  {"id", "r.id", Q_NUM},
  {"uuid", "r.uuid", Q_TEXT},
  {"name", "r.name", Q_TEXT},
  {"status", "lundi_status(r.status, r.pid, r.host, r.start_time)", Q_TEXT},
  {"start_time", "r.start_time", Q_TIME},
  {"end_time", "r.end_time", Q_TIME},
  {"duration", "(r.end_time - r.start_time)", Q_NUM},
  {"seed", "r.seed", Q_NUM},
  {"device", "r.device", Q_TEXT},
  {"script", "r.script_path", Q_TEXT},
  {"script_sha256", "r.script_sha256", Q_TEXT},
  {"lundi_version", "r.lundi_version", Q_TEXT},
  {"host", "r.host", Q_TEXT},
  {"exit_message", "r.exit_message", Q_TEXT},
};
const int q_n_attrs = (int)(sizeof q_attrs / sizeof q_attrs[0]);
const char q_fields_hint[] =
    "fields: metrics.<key>, params.<key>, tags.<key>, plugins.<kind>[.<param>], id, uuid, name, status, start_time, "
    "end_time, duration, seed, device, script, script_sha256, lundi_version, host, exit_message";

/* ---- SQL text and values ---- */

static int grow(void **p, int *cap, int need, size_t elem) {
  if (need <= *cap) return 0;
  int c = *cap ? *cap * 2 : 8;
  while (c < need) c *= 2;
  void *n = realloc(*p, (size_t)c * elem);
  if (!n) return -1;
  *p = n;
  *cap = c;
  return 0;
}

void q_add(qsql *q, const char *text) {
  size_t n = strlen(text);
  if (q->oom) return;
  if (q->n + n + 1 > q->cap) {
    size_t c = q->cap ? q->cap * 2 : 256;
    while (c < q->n + n + 1) c *= 2;
    char *s = realloc(q->s, c);
    if (!s) {
      q->oom = 1;
      return;
    }
    q->s = s;
    q->cap = c;
  }
  memcpy(q->s + q->n, text, n + 1);
  q->n += n;
}

static lundi_cell *new_bind(qsql *q) {
  if (q->oom || grow((void **)&q->binds, &q->cap_binds, q->n_binds + 1, sizeof *q->binds)) {
    q->oom = 1;
    return NULL;
  }
  lundi_cell *c = &q->binds[q->n_binds++];
  memset(c, 0, sizeof *c);
  return c;
}

void q_bind_text(qsql *q, const char *s, size_t n) {
  lundi_cell *c = new_bind(q);
  if (!c) return;
  c->type = LUNDI_CELL_TEXT;
  c->s = strndup(s, n);
  if (!c->s) q->oom = 1, c->type = LUNDI_CELL_NULL;
}

void q_bind_int(qsql *q, int64_t v) {
  lundi_cell *c = new_bind(q);
  if (c) c->type = LUNDI_CELL_INT, c->i = v;
}

void q_bind_real(qsql *q, double v) {
  lundi_cell *c = new_bind(q);
  if (c) c->type = LUNDI_CELL_REAL, c->d = v;
}

void q_free(qsql *q) {
  free(q->s);
  for (int i = 0; i < q->n_binds; i++) free(q->binds[i].s);
  free(q->binds);
  memset(q, 0, sizeof *q);
}

void q_append(qsql *q, const char *sql, const lundi_cell *binds, int n_binds) {
  q_add(q, sql);
  for (int i = 0; i < n_binds; i++) {
    const lundi_cell *b = &binds[i];
    if (b->type == LUNDI_CELL_TEXT) q_bind_text(q, b->s, strlen(b->s));
    else if (b->type == LUNDI_CELL_INT) q_bind_int(q, b->i);
    else if (b->type == LUNDI_CELL_REAL) q_bind_real(q, b->d);
    else new_bind(q);
  }
}

/* ---- lexing ---- */

int q_lex_column(const qlex *lx, size_t pos) {
  int col = 1;
  for (size_t i = 0; i < pos && i < lx->len; i++)
    if (((unsigned char)lx->text[i] & 0xC0) != 0x80) col++;
  return col;
}

int q_lex_error(qlex *lx, int col, const char *fmt, ...) {
  char msg[1024];
  va_list ap;
  va_start(ap, fmt);
  vsnprintf(msg, sizeof msg, fmt, ap);
  va_end(ap);
  lx->err_column = col;
  return lundi_set_error(LUNDI_EINVAL, "%s", msg);
}

void q_tok_clear(qtok *t) {
  for (int i = 0; i < t->n_segs; i++) free(t->segs[i].text);
  free(t->str);
  memset(t, 0, sizeof *t);
}

static int plain_char(int c) {
  return isalnum(c) || c == '_' || c == '-' || c == '/' || c == ':';
}

/* A quoted part: q is ` " or ', the quote doubled inside. *out malloc'd. */
static int quoted(qlex *lx, char q, char **out, size_t *out_len) {
  size_t start = lx->pos++;
  size_t cap = 16, n = 0;
  char *s = malloc(cap);
  if (!s) return lundi_set_error(LUNDI_ENOMEM, "out of memory");
  for (;;) {
    if (lx->pos >= lx->len) {
      free(s);
      const char *what = q == '\'' ? "string" : "quoted key";
      return q_lex_error(lx, q_lex_column(lx, start), "unterminated %s starting at column %d (the closing %c is missing)",
                         what, q_lex_column(lx, start), q);
    }
    char c = lx->text[lx->pos++];
    if (c == q) {
      if (lx->pos < lx->len && lx->text[lx->pos] == q) lx->pos++;
      else break;
    }
    if (n + 2 > cap) {
      char *g = realloc(s, cap *= 2);
      if (!g) {
        free(s);
        return lundi_set_error(LUNDI_ENOMEM, "out of memory");
      }
      s = g;
    }
    s[n++] = c;
  }
  s[n] = 0;
  *out = s;
  if (out_len) *out_len = n;
  return 0;
}

static int lex_word(qlex *lx, qtok *t) {
  t->type = QT_WORD;
  t->first_quote = lx->text[lx->pos] == '"';
  for (;;) {
    if (t->n_segs == (int)(sizeof t->segs / sizeof t->segs[0]))
      return q_lex_error(lx, t->col, "field at column %d has too many '.'-separated parts", t->col);
    char c = lx->text[lx->pos];
    int i = t->n_segs;
    if (c == '`' || c == '"') {
      if (quoted(lx, c, &t->segs[i].text, NULL)) return lundi_last_error_code();
      t->segs[i].quoted = 1;
    } else {
      size_t s = lx->pos;
      while (lx->pos < lx->len && plain_char((unsigned char)lx->text[lx->pos])) lx->pos++;
      t->segs[i].text = strndup(lx->text + s, lx->pos - s);
      if (!t->segs[i].text) return lundi_set_error(LUNDI_ENOMEM, "out of memory");
    }
    t->n_segs++;
    if (lx->pos < lx->len && lx->text[lx->pos] == '.') {
      lx->pos++;
      char n = lx->pos < lx->len ? lx->text[lx->pos] : 0;
      if (!(n == '`' || n == '"' || plain_char((unsigned char)n)))
        return q_lex_error(lx, q_lex_column(lx, lx->pos), "expected a key after '%.*s' at column %d",
                           (int)(lx->pos - (size_t)(t->p - lx->text)), t->p, q_lex_column(lx, lx->pos));
      continue;
    }
    break;
  }
  t->len = lx->pos - (size_t)(t->p - lx->text);
  return 0;
}

static int lex_number(qlex *lx, qtok *t) {
  const char *s = lx->text;
  size_t p = lx->pos;
  if (s[p] == '-' || s[p] == '+') p++;
  int digits = 0, isint = 1;
  while (p < lx->len && isdigit((unsigned char)s[p])) p++, digits++;
  if (p < lx->len && s[p] == '.') {
    isint = 0;
    p++;
    while (p < lx->len && isdigit((unsigned char)s[p])) p++, digits++;
  }
  if (digits && p < lx->len && (s[p] == 'e' || s[p] == 'E')) {
    size_t e = p + 1;
    if (e < lx->len && (s[e] == '+' || s[e] == '-')) e++;
    if (e < lx->len && isdigit((unsigned char)s[e])) {
      isint = 0;
      p = e;
      while (p < lx->len && isdigit((unsigned char)s[p])) p++;
    }
  }
  size_t end = p;
  while (end < lx->len && (isalnum((unsigned char)s[end]) || s[end] == '_' || s[end] == '.')) end++;
  if (!digits || end != p)
    return q_lex_error(lx, t->col, "malformed number '%.*s' at column %d", (int)(end - lx->pos), s + lx->pos,
                       t->col);
  char buf[64];
  size_t n = p - lx->pos;
  if (n >= sizeof buf) return q_lex_error(lx, t->col, "number at column %d is too long", t->col);
  memcpy(buf, s + lx->pos, n);
  buf[n] = 0;
  t->type = QT_NUM;
  errno = 0;
  if (isint) {
    long long v = strtoll(buf, NULL, 10);
    if (errno == 0) t->is_int = 1, t->i = v;
  }
  t->d = strtod(buf, NULL);
  lx->pos = p;
  t->len = n;
  return 0;
}

int q_lex_next(qlex *lx, qtok *t) {
  q_tok_clear(t);
  while (lx->pos < lx->len && isspace((unsigned char)lx->text[lx->pos])) lx->pos++;
  t->p = lx->text + lx->pos;
  t->col = q_lex_column(lx, lx->pos);
  if (lx->pos >= lx->len) {
    t->type = QT_END;
    return 0;
  }
  const char *s = lx->text;
  char c = s[lx->pos], n = lx->pos + 1 < lx->len ? s[lx->pos + 1] : 0;
  if (isalpha((unsigned char)c) || c == '_' || c == '`' || c == '"') return lex_word(lx, t);
  if (isdigit((unsigned char)c) || (c == '.' && isdigit((unsigned char)n)) ||
      ((c == '-' || c == '+') && (isdigit((unsigned char)n) || n == '.')))
    return lex_number(lx, t);
  if (c == '\'') {
    t->type = QT_STR;
    if (quoted(lx, '\'', &t->str, &t->str_len)) return lundi_last_error_code();
    t->len = lx->pos - (size_t)(t->p - s);
    return 0;
  }
  t->len = 1;
  lx->pos++;
  switch (c) {
  case '(': t->type = QT_LP; return 0;
  case ')': t->type = QT_RP; return 0;
  case ',': t->type = QT_COMMA; return 0;
  case '=':
    t->type = QT_OP, t->op = QO_EQ;
    if (n == '=') lx->pos++, t->len = 2;
    return 0;
  case '<':
    t->type = QT_OP, t->op = QO_LT;
    if (n == '=') t->op = QO_LE, lx->pos++, t->len = 2;
    else if (n == '>') t->op = QO_NE, lx->pos++, t->len = 2;
    return 0;
  case '>':
    t->type = QT_OP, t->op = QO_GT;
    if (n == '=') t->op = QO_GE, lx->pos++, t->len = 2;
    return 0;
  case '!':
    if (n == '=') {
      t->type = QT_OP, t->op = QO_NE, lx->pos++, t->len = 2;
      return 0;
    }
    break;
  }
  if (c == ';' || c == '-')
    return q_lex_error(lx, t->col, "unexpected '%c' at column %d (a filter is comparisons joined by AND / OR; "
                       "quote text with '...')", c, t->col);
  if (isprint((unsigned char)c))
    return q_lex_error(lx, t->col, "unexpected character '%c' at column %d", c, t->col);
  return q_lex_error(lx, t->col, "unexpected byte 0x%02x at column %d", (unsigned char)c, t->col);
}

int q_is_kw(const qtok *t, const char *kw) {
  return t->type == QT_WORD && t->n_segs == 1 && !t->segs[0].quoted && !strcasecmp(t->segs[0].text, kw);
}

/* ---- fields ---- */

void q_field_clear(qfield *f) {
  free(f->key);
  free(f->sub);
  memset(f, 0, sizeof *f);
}

int q_distance(const char *a, const char *b) {
  size_t la = strlen(a), lb = strlen(b);
  if (la > 31 || lb > 31) return 99;
  int d[32][32];
  for (size_t i = 0; i <= la; i++) d[i][0] = (int)i;
  for (size_t j = 0; j <= lb; j++) d[0][j] = (int)j;
  for (size_t i = 1; i <= la; i++)
    for (size_t j = 1; j <= lb; j++) {
      int v = d[i - 1][j - 1] + (tolower((unsigned char)a[i - 1]) != tolower((unsigned char)b[j - 1]));
      if (d[i - 1][j] + 1 < v) v = d[i - 1][j] + 1;
      if (d[i][j - 1] + 1 < v) v = d[i][j - 1] + 1;
      d[i][j] = v;
    }
  return d[la][lb];
}

/* "did you mean 'metrics.loss'? " or "". */
static void suggest(const qtok *t, char *out, size_t cap) {
  out[0] = 0;
  const char *s0 = t->segs[0].text;
  static const char *const prefixes[] = {"metrics", "params", "tags", "attributes"};
  if (t->n_segs >= 2) {
    for (int i = 0; i < 4; i++)
      if (q_distance(s0, prefixes[i]) <= 2) {
        int at = snprintf(out, cap, "did you mean '%s", prefixes[i]);
        for (int k = 1; k < t->n_segs && at < (int)cap; k++)
          at += snprintf(out + at, cap - (size_t)at, ".%s", t->segs[k].text);
        if (at < (int)cap) snprintf(out + at, cap - (size_t)at, "'? ");
        return;
      }
    return;
  }
  int best = 3;
  for (int i = 0; i < q_n_attrs; i++) {
    int d = q_distance(s0, q_attrs[i].name);
    if (d < best && (size_t)d * 2 < strlen(q_attrs[i].name))
      best = d, snprintf(out, cap, "did you mean '%s'? ", q_attrs[i].name);
  }
  if (!out[0])
    for (int i = 0; i < 3; i++)
      if (!strcasecmp(s0, prefixes[i]))
        snprintf(out, cap, "%s needs a key: %s.<key>; ", prefixes[i], prefixes[i]);
}

static int join_key(const qtok *t, int from, int to, char **out) {
  size_t n = 0;
  for (int i = from; i < to; i++) n += strlen(t->segs[i].text) + 1;
  char *k = malloc(n + 1);
  if (!k) return lundi_set_error(LUNDI_ENOMEM, "out of memory");
  k[0] = 0;
  for (int i = from; i < to; i++) {
    if (i > from) strcat(k, ".");
    strcat(k, t->segs[i].text);
  }
  *out = k;
  return 0;
}

/* plugins.<kind>[.<param>]: the kind checked here, the param as a JSON path. */
static int plugin_field(qlex *lx, const qtok *t, qfield *f) {
  static const char *const kinds[] = {"scheduler", "denoiser", "conditioner", "sampler"};
  const char *k = t->segs[1].text;
  int ok = 0;
  for (int i = 0; i < 4; i++) ok |= !strcmp(k, kinds[i]);
  if (!ok)
    return q_lex_error(lx, t->col, "unknown plugin kind '%s' in '%.*s' at column %d (scheduler, denoiser, "
                       "conditioner or sampler)", k, (int)t->len, t->p, t->col);
  f->kind = Q_PLUGIN;
  if (!(f->key = strdup(k))) return lundi_set_error(LUNDI_ENOMEM, "out of memory");
  if (t->n_segs == 2) return 0;
  char *param = NULL;
  if (join_key(t, 2, t->n_segs, &param)) return lundi_last_error_code();
  size_t n = strlen(param), at = 0;
  char *path = malloc(2 * n + 5);
  if (!path) {
    free(param);
    return lundi_set_error(LUNDI_ENOMEM, "out of memory");
  }
  path[at++] = '$', path[at++] = '.', path[at++] = '"';
  for (size_t i = 0; i < n; i++) {
    if (param[i] == '"' || param[i] == '\\') path[at++] = '\\';
    path[at++] = param[i];
  }
  path[at++] = '"', path[at] = 0;
  free(param);
  f->sub = path;
  return 0;
}

int q_field_from_tok(qlex *lx, const qtok *t, qfield *f) {
  memset(f, 0, sizeof f[0]);
  f->src = t->p;
  f->src_len = t->len;
  f->col = t->col;
  if (t->type != QT_WORD)
    return q_lex_error(lx, t->col, "expected a field at column %d, found '%.*s' (%s)", t->col, (int)t->len, t->p,
                       q_fields_hint);
  const char *s0 = t->segs[0].text;
  int q0 = t->segs[0].quoted;
  if (!q0 && t->n_segs >= 2) {
    qkind k = Q_ATTR;
    if (!strcasecmp(s0, "metrics")) k = Q_METRIC;
    else if (!strcasecmp(s0, "params")) k = Q_PARAM;
    else if (!strcasecmp(s0, "tags")) k = Q_TAG;
    if (k != Q_ATTR) {
      int end = t->n_segs;
      if (k == Q_METRIC && end >= 3 && !t->segs[end - 1].quoted) {
        static const char *const aggs[] = {"last", "min", "max", "count"};
        for (int a = 0; a < 4; a++)
          if (!strcasecmp(t->segs[end - 1].text, aggs[a])) f->agg = (qagg)a, end--;
      }
      f->kind = k;
      if (join_key(t, 1, end, &f->key)) return lundi_last_error_code();
      if (!*f->key) {
        q_field_clear(f);
        return q_lex_error(lx, t->col, "empty key in '%.*s' at column %d", (int)t->len, t->p, t->col);
      }
      return 0;
    }
  }
  if (!q0 && t->n_segs >= 2 && !strcasecmp(s0, "plugins")) return plugin_field(lx, t, f);
  const char *attr = NULL;
  if (t->n_segs == 1 && !q0) attr = s0;
  else if (t->n_segs == 2 && !q0 && (!strcasecmp(s0, "attributes") || !strcasecmp(s0, "attribute")))
    attr = t->segs[1].text;
  for (int i = 0; attr && i < q_n_attrs; i++)
    if (!strcasecmp(attr, q_attrs[i].name)) {
      f->kind = Q_ATTR;
      f->attr = i;
      return 0;
    }
  char hint[160];
  suggest(t, hint, sizeof hint);
  return q_lex_error(lx, t->col, "unknown field '%.*s' at column %d (%s%s)", (int)t->len, t->p, t->col, hint,
                     q_fields_hint);
}

void q_field_scalar(qsql *q, const qfield *f) {
  static const char *const agg_col[] = {"last_value", "min_value", "max_value", "count"};
  switch (f->kind) {
  case Q_METRIC:
    q_add(q, "(SELECT ");
    q_add(q, agg_col[f->agg]);
    q_add(q, " FROM metric_summary WHERE run_id = r.id AND key = ?)");
    break;
  case Q_PARAM:
    q_add(q, "(SELECT CASE type WHEN 'int' THEN CAST(value AS INTEGER) WHEN 'float' THEN CAST(value AS REAL)"
             " ELSE value END FROM params WHERE run_id = r.id AND key = ?)");
    break;
  case Q_TAG: q_add(q, "(SELECT value FROM tags WHERE run_id = r.id AND key = ?)"); break;
  case Q_ATTR: q_add(q, q_attrs[f->attr].sql); return;
  case Q_PLUGIN: /* the first of that kind the run created */
    q_add(q, f->sub ? "(SELECT json_extract(params, ?)" : "(SELECT name");
    if (f->sub) q_bind_text(q, f->sub, strlen(f->sub));
    q_add(q, " FROM plugins_used WHERE run_id = r.id AND kind = ? ORDER BY rowid LIMIT 1)");
    break;
  }
  q_bind_text(q, f->key, strlen(f->key));
}
