/* The filter language (grammar and semantics in lundi/history.h) compiled by recursive
 * descent straight into SQL text with ? placeholders; every user value is bound.
 *
 * A comparison on a metric/param/tag outside any NOT is emitted as
 *   r.id IN (SELECT run_id FROM T WHERE key = ? AND value <op> ?)
 * so SQLite can drive the search from the (key, value) indexes. Under NOT it is the
 * correlated scalar (SELECT value FROM T WHERE run_id = r.id AND key = ?) <op> ?, which
 * is NULL for a run without the key. Both agree: outside NOT, AND and OR are monotone, so
 * "false" and "unknown" select the same runs. */
#include "store/query_internal.h"

#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "lundi/error.h"

#define MAX_TEXT 65536
#define MAX_DEPTH 64
#define MAX_COMPARISONS 256
#define MAX_IN 1000

typedef struct parser {
  qlex lx;
  qtok tok;
  qsql *q;
  int depth, n_cmp;
  char **fields;
  int n_fields, cap_fields;
} parser;

typedef enum vkind { V_NUM, V_STR, V_BOOL } vkind;
typedef struct qval {
  vkind kind;
  int is_int, b;
  int64_t i;
  double d;
  char *s; /* V_STR: decoded; V_NUM: the number as written */
  size_t n;
  int col;
} qval;

static int advance(parser *p) { return q_lex_next(&p->lx, &p->tok); }

static int err(parser *p, int col, const char *fmt, const char *a, const char *b) {
  return q_lex_error(&p->lx, col, fmt, a, b, col);
}

static const char *tok_text(parser *p, char *buf, size_t cap) {
  if (p->tok.type == QT_END) return "the end";
  snprintf(buf, cap, "'%.*s'", p->tok.len > 40 ? 40 : (int)p->tok.len, p->tok.p);
  return buf;
}

static int note_field(parser *p, const qfield *f) {
  for (int i = 0; i < p->n_fields; i++)
    if (strlen(p->fields[i]) == f->src_len && !memcmp(p->fields[i], f->src, f->src_len)) return 0;
  if (p->n_fields == p->cap_fields) {
    int c = p->cap_fields ? p->cap_fields * 2 : 8;
    char **n = realloc(p->fields, (size_t)c * sizeof *n);
    if (!n) return lundi_set_error(LUNDI_ENOMEM, "out of memory");
    p->fields = n, p->cap_fields = c;
  }
  if (!(p->fields[p->n_fields] = strndup(f->src, f->src_len))) return lundi_set_error(LUNDI_ENOMEM, "out of memory");
  p->n_fields++;
  return 0;
}

/* ---- values ---- */

static int read_value(parser *p, qval *v, const char *after) {
  memset(v, 0, sizeof *v);
  qtok *t = &p->tok;
  v->col = t->col;
  char buf[64];
  if (t->type == QT_NUM) {
    v->kind = V_NUM, v->is_int = t->is_int, v->i = t->i, v->d = t->d;
    v->s = strndup(t->p, t->len), v->n = t->len;
  } else if (t->type == QT_STR) {
    v->kind = V_STR, v->s = t->str, v->n = t->str_len;
    t->str = NULL;
  } else if (q_is_kw(t, "true") || q_is_kw(t, "false")) {
    v->kind = V_BOOL, v->b = q_is_kw(t, "true");
    v->s = strdup(v->b ? "true" : "false"), v->n = strlen(v->s);
  } else if (t->type == QT_WORD && t->first_quote && t->n_segs == 1) {
    return q_lex_error(&p->lx, t->col, "expected a value after %s at column %d (text takes single quotes: '%s')",
                       after, t->col, t->segs[0].text);
  } else if (t->type == QT_WORD && t->n_segs == 1 && !t->segs[0].quoted) {
    return q_lex_error(&p->lx, t->col, "expected a value after %s at column %d, found %s (quote text: '%s')",
                       after, t->col, tok_text(p, buf, sizeof buf), t->segs[0].text);
  } else {
    return q_lex_error(&p->lx, t->col, "expected a value after %s at column %d, found %s", after, t->col,
                       tok_text(p, buf, sizeof buf));
  }
  if (!v->s) return lundi_set_error(LUNDI_ENOMEM, "out of memory");
  return advance(p);
}

static void free_values(qval *v, int n) {
  for (int i = 0; i < n; i++) free(v[i].s);
}

/* 'YYYY-MM-DD', optionally followed by ' HH:MM' or 'THH:MM', optionally ':SS[.fff]'. */
static int is_date(const char *s) {
  int y, mo, d, h, mi, n = 0;
  double sec;
  char sep;
  if (sscanf(s, "%4d-%2d-%2d%n", &y, &mo, &d, &n) != 3 || n != 10) return 0;
  if (mo < 1 || mo > 12 || d < 1 || d > 31) return 0;
  if (!s[10]) return 1;
  int m = 0;
  if (sscanf(s + 10, "%c%2d:%2d%n", &sep, &h, &mi, &m) != 3 || (sep != ' ' && sep != 'T') || m != 6) return 0;
  if (h > 23 || mi > 59) return 0;
  const char *r = s + 16;
  if (!*r) return 1;
  if (sscanf(r, ":%lf%n", &sec, &m) != 1 || r[m] || sec < 0 || sec >= 61) return 0;
  return 1;
}

/* ---- one comparison ---- */

typedef enum cmode { M_NUM, M_TEXT, M_TIME_TEXT } cmode;

static const char *const op_sql[] = {" = ", " <> ", " < ", " <= ", " > ", " >= "};
static const char *const op_name[] = {"=", "!=", "<", "<=", ">", ">="};

/* Binds v in the comparison's mode and appends its placeholder expression. */
static void emit_value(parser *p, const qval *v, cmode mode) {
  qsql *q = p->q;
  if (mode == M_NUM) {
    q_add(q, "?");
    if (v->kind == V_BOOL) q_bind_int(q, v->b);
    else if (v->is_int) q_bind_int(q, v->i);
    else q_bind_real(q, v->d);
  } else if (mode == M_TIME_TEXT) {
    if (v->kind == V_STR) {
      q_add(q, "((julianday(?, 'utc') - 2440587.5) * 86400.0)");
      q_bind_text(q, v->s, v->n);
    } else {
      q_add(q, "?");
      if (v->is_int) q_bind_int(q, v->i);
      else q_bind_real(q, v->d);
    }
  } else {
    q_add(q, "?");
    q_bind_text(q, v->s, v->n);
  }
}

/* LIKE pattern (%, _, backslash escapes) -> GLOB pattern, for case-sensitive matching. */
static char *like_to_glob(const char *s, size_t n) {
  char *g = malloc(n * 3 + 1), *o = g;
  if (!g) return NULL;
  for (size_t i = 0; i < n; i++) {
    char c = s[i];
    int lit = 0;
    if (c == '\\' && i + 1 < n) c = s[++i], lit = 1;
    if (!lit && c == '%') *o++ = '*';
    else if (!lit && c == '_') *o++ = '?';
    else if (c == '*' || c == '?' || c == '[') *o++ = '[', *o++ = c, *o++ = ']';
    else *o++ = c;
  }
  *o = 0;
  return g;
}

typedef enum ckind { C_OP, C_LIKE, C_ILIKE, C_IN, C_NULL } ckind;

typedef struct cmp {
  qfield f;
  ckind kind;
  qop op;
  int negated;  /* NOT LIKE, NOT IN, IS NOT NULL */
  qval v[MAX_IN];
  int n;
} cmp;

static int check_types(parser *p, cmp *c, cmode *mode) {
  char name[128];
  snprintf(name, sizeof name, "%.*s", (int)(c->f.src_len > 100 ? 100 : c->f.src_len), c->f.src);
  int all_num = 1, any_str = 0;
  for (int i = 0; i < c->n; i++) {
    if (c->v[i].kind != V_NUM) all_num = 0;
    if (c->v[i].kind == V_STR) any_str = 1;
  }
  qtype at = c->f.kind == Q_ATTR ? q_attrs[c->f.attr].type : Q_TEXT;
  int numeric_field = c->f.kind == Q_METRIC || (c->f.kind == Q_ATTR && at != Q_TEXT);
  if (c->kind == C_LIKE || c->kind == C_ILIKE) {
    if (numeric_field)
      return err(p, c->f.col, "%s compares text; %s is a number (column %d)", c->kind == C_LIKE ? "LIKE" : "ILIKE",
                 name);
    *mode = M_TEXT;
    return 0;
  }
  if (c->kind == C_NULL) {
    *mode = M_TEXT;
    return 0;
  }
  if (numeric_field) {
    for (int i = 0; i < c->n; i++) {
      if (c->v[i].kind != V_STR) continue;
      if (at == Q_TIME && is_date(c->v[i].s)) continue;
      const char *want = at == Q_TIME ? "a number of unix seconds or a date 'YYYY-MM-DD[ HH:MM[:SS]]'" : "a number";
      return q_lex_error(&p->lx, c->v[i].col, "%s is a number: compare it with %s, not '%s' (column %d)", name, want,
                         c->v[i].s, c->v[i].col);
    }
    *mode = at == Q_TIME && any_str ? M_TIME_TEXT : M_NUM;
    return 0;
  }
  *mode = (c->f.kind == Q_PARAM || c->f.kind == Q_PLUGIN) && all_num ? M_NUM : M_TEXT;
  if (c->f.kind == Q_ATTR && !strcmp(q_attrs[c->f.attr].name, "status"))
    for (int i = 0; i < c->n; i++) {
      const char *s = c->v[i].s;
      if (strcmp(s, "running") && strcmp(s, "finished") && strcmp(s, "failed") && strcmp(s, "interrupted") &&
          strcmp(s, "crashed"))
        return q_lex_error(&p->lx, c->v[i].col,
                           "unknown status '%s' at column %d (running, finished, failed, interrupted or crashed)", s,
                           c->v[i].col);
    }
  return 0;
}

/* The right-hand side: " = ?", " NOT IN (?, ?)", " GLOB ?", ... */
static int emit_rhs(parser *p, cmp *c, cmode mode) {
  qsql *q = p->q;
  switch (c->kind) {
  case C_OP:
    q_add(q, op_sql[c->op]);
    emit_value(p, &c->v[0], mode);
    return 0;
  case C_LIKE:
  case C_ILIKE: {
    const qval *v = &c->v[0];
    size_t bs = 0;
    for (size_t i = v->n; i > 0 && v->s[i - 1] == '\\'; i--) bs++;
    if (bs % 2)
      return q_lex_error(&p->lx, v->col, "the pattern at column %d ends with a lone backslash (write \\\\ for one)",
                         v->col);
    if (c->kind == C_ILIKE) {
      q_add(q, c->negated ? " NOT LIKE ? ESCAPE '\\'" : " LIKE ? ESCAPE '\\'");
      q_bind_text(q, v->s, v->n);
    } else {
      char *g = like_to_glob(v->s, v->n);
      if (!g) return lundi_set_error(LUNDI_ENOMEM, "out of memory");
      q_add(q, c->negated ? " NOT GLOB ?" : " GLOB ?");
      q_bind_text(q, g, strlen(g));
      free(g);
    }
    return 0;
  }
  case C_IN:
    q_add(q, c->negated ? " NOT IN (" : " IN (");
    for (int i = 0; i < c->n; i++) {
      if (i) q_add(q, ", ");
      emit_value(p, &c->v[i], mode);
    }
    q_add(q, ")");
    return 0;
  case C_NULL: q_add(q, c->negated ? " IS NOT NULL" : " IS NULL"); return 0;
  }
  return 0;
}

/* Any plugin of the kind matches: r.id IN (its plugins where the value compares). IS NULL
 * is "none of that kind has it", so it is the NOT IN of IS NOT NULL. */
static int emit_plugin_cmp(parser *p, cmp *c, cmode mode) {
  qsql *q = p->q;
  int none = c->kind == C_NULL && !c->negated;
  q_add(q, none ? "r.id NOT IN (" : "r.id IN (");
  q_add(q, "SELECT run_id FROM plugins_used WHERE kind = ?");
  q_bind_text(q, c->f.key, strlen(c->f.key));
  q_add(q, c->f.sub ? " AND json_extract(params, ?)" : " AND name");
  if (c->f.sub) q_bind_text(q, c->f.sub, strlen(c->f.sub));
  int rc = 0;
  if (c->kind == C_NULL) q_add(q, " IS NOT NULL");
  else rc = emit_rhs(p, c, mode);
  q_add(q, ")");
  return rc;
}

static int emit_cmp(parser *p, cmp *c, int neg) {
  cmode mode;
  if (check_types(p, c, &mode)) return lundi_last_error_code();
  qsql *q = p->q;
  static const char *const agg_col[] = {"last_value", "min_value", "max_value", "count"};
  const char *table = NULL, *col = NULL, *extra = "";
  switch (c->f.kind) {
  case Q_METRIC: table = "metric_summary", col = agg_col[c->f.agg]; break;
  case Q_PARAM:
    table = "params";
    if (mode == M_NUM) col = "CAST(value AS REAL)", extra = " AND type IN ('int','float')";
    else col = "value";
    break;
  case Q_TAG: table = "tags", col = "value"; break;
  case Q_ATTR:
    q_add(q, "(");
    q_add(q, q_attrs[c->f.attr].sql);
    int rc = emit_rhs(p, c, mode);
    q_add(q, ")");
    return rc;
  case Q_PLUGIN: return emit_plugin_cmp(p, c, mode);
  }
  if (!neg && c->kind != C_NULL) {
    q_add(q, "r.id IN (SELECT run_id FROM ");
    q_add(q, table);
    q_add(q, " WHERE key = ?");
    q_bind_text(q, c->f.key, strlen(c->f.key));
    q_add(q, extra);
    q_add(q, " AND ");
    q_add(q, col);
  } else {
    q_add(q, "((SELECT ");
    q_add(q, col);
    q_add(q, " FROM ");
    q_add(q, table);
    q_add(q, " WHERE run_id = r.id AND key = ?");
    q_bind_text(q, c->f.key, strlen(c->f.key));
    q_add(q, extra);
    q_add(q, ")");
  }
  int rc = emit_rhs(p, c, mode);
  q_add(q, ")");
  return rc;
}

static int parse_comparison(parser *p, int neg) {
  char buf[64];
  qtok *t = &p->tok;
  if (t->type == QT_END)
    return q_lex_error(&p->lx, t->col, "the filter ends at column %d where a comparison should follow", t->col);
  if (t->type == QT_RP) return q_lex_error(&p->lx, t->col, "unexpected ')' at column %d", t->col);
  if (q_is_kw(t, "and") || q_is_kw(t, "or"))
    return q_lex_error(&p->lx, t->col, "expected a comparison at column %d, found '%.*s'", t->col, (int)t->len, t->p);
  if (++p->n_cmp > MAX_COMPARISONS)
    return q_lex_error(&p->lx, t->col, "too many comparisons (more than %d) at column %d", MAX_COMPARISONS, t->col);
  cmp *c = calloc(1, sizeof *c);
  if (!c) return lundi_set_error(LUNDI_ENOMEM, "out of memory");
  int rc = q_field_from_tok(&p->lx, t, &c->f);
  if (!rc) rc = note_field(p, &c->f);
  char fname[128];
  snprintf(fname, sizeof fname, "'%.*s'", (int)(c->f.src_len > 100 ? 100 : c->f.src_len), c->f.src);
  if (!rc) rc = advance(p);
  if (rc) goto done;
  if (t->type == QT_OP) {
    char after[8];
    snprintf(after, sizeof after, "'%s'", op_name[t->op]);
    c->kind = C_OP, c->op = t->op, c->n = 1;
    if (!(rc = advance(p))) rc = read_value(p, &c->v[0], after);
    goto emit;
  }
  if (q_is_kw(t, "not")) {
    c->negated = 1;
    if ((rc = advance(p))) goto done;
    if (!q_is_kw(t, "like") && !q_is_kw(t, "ilike") && !q_is_kw(t, "in")) {
      rc = q_lex_error(&p->lx, t->col, "expected LIKE, ILIKE or IN after NOT at column %d, found %s", t->col,
                       tok_text(p, buf, sizeof buf));
      goto done;
    }
  }
  if (q_is_kw(t, "like") || q_is_kw(t, "ilike")) {
    c->kind = q_is_kw(t, "like") ? C_LIKE : C_ILIKE;
    const char *kw = c->kind == C_LIKE ? "LIKE" : "ILIKE";
    if ((rc = advance(p))) goto done;
    if (t->type != QT_STR) {
      rc = q_lex_error(&p->lx, t->col, "expected a quoted pattern after %s at column %d, found %s", kw, t->col,
                       tok_text(p, buf, sizeof buf));
      goto done;
    }
    c->n = 1;
    rc = read_value(p, &c->v[0], kw);
  } else if (q_is_kw(t, "in")) {
    c->kind = C_IN;
    if ((rc = advance(p))) goto done;
    if (t->type != QT_LP) {
      rc = q_lex_error(&p->lx, t->col, "expected '(' after IN at column %d, found %s", t->col,
                       tok_text(p, buf, sizeof buf));
      goto done;
    }
    if ((rc = advance(p))) goto done;
    for (;;) {
      if (c->n == MAX_IN) {
        rc = q_lex_error(&p->lx, t->col, "more than %d values in the IN list at column %d", MAX_IN, t->col);
        goto done;
      }
      if ((rc = read_value(p, &c->v[c->n], c->n ? "','" : "'IN ('"))) goto done;
      c->n++;
      if (t->type == QT_RP) break;
      if (t->type != QT_COMMA) {
        rc = q_lex_error(&p->lx, t->col, "expected ',' or ')' in the IN list at column %d, found %s", t->col,
                         tok_text(p, buf, sizeof buf));
        goto done;
      }
      if ((rc = advance(p))) goto done;
    }
    rc = advance(p);
  } else if (q_is_kw(t, "is") && !c->negated) {
    c->kind = C_NULL;
    if ((rc = advance(p))) goto done;
    if (q_is_kw(t, "not")) {
      c->negated = 1;
      if ((rc = advance(p))) goto done;
    }
    if (!q_is_kw(t, "null")) {
      rc = q_lex_error(&p->lx, t->col, "expected NULL or NOT NULL after IS at column %d, found %s", t->col,
                       tok_text(p, buf, sizeof buf));
      goto done;
    }
    rc = advance(p);
  } else {
    rc = q_lex_error(&p->lx, t->col,
                     "expected an operator after %s at column %d, found %s (=, !=, <, <=, >, >=, LIKE, ILIKE, "
                     "IN (...), IS NULL)",
                     fname, t->col, tok_text(p, buf, sizeof buf));
  }
emit:
  if (!rc) rc = emit_cmp(p, c, neg);
done:
  free_values(c->v, c->n);
  q_field_clear(&c->f);
  free(c);
  return rc;
}

/* ---- boolean structure ---- */

static int parse_or(parser *p, int neg);

static int parse_factor(parser *p, int neg) {
  qtok *t = &p->tok;
  if (++p->depth > MAX_DEPTH)
    return q_lex_error(&p->lx, t->col, "the filter nests deeper than %d levels at column %d", MAX_DEPTH, t->col);
  int rc;
  if (q_is_kw(t, "not")) {
    q_add(p->q, "NOT ");
    if (!(rc = advance(p))) rc = parse_factor(p, !neg);
  } else if (t->type == QT_LP) {
    int col = t->col;
    if ((rc = advance(p))) return rc;
    if ((rc = parse_or(p, neg))) return rc;
    if (t->type != QT_RP) {
      char buf[64];
      return q_lex_error(&p->lx, t->col, "expected ')' at column %d to close the '(' at column %d, found %s", t->col,
                         col, tok_text(p, buf, sizeof buf));
    }
    rc = advance(p);
  } else {
    rc = parse_comparison(p, neg);
  }
  p->depth--;
  return rc;
}

static int parse_and(parser *p, int neg) {
  q_add(p->q, "(");
  int rc = parse_factor(p, neg);
  while (!rc && q_is_kw(&p->tok, "and")) {
    q_add(p->q, " AND ");
    if (!(rc = advance(p))) rc = parse_factor(p, neg);
  }
  q_add(p->q, ")");
  return rc;
}

static int parse_or(parser *p, int neg) {
  q_add(p->q, "(");
  int rc = parse_and(p, neg);
  while (!rc && q_is_kw(&p->tok, "or")) {
    q_add(p->q, " OR ");
    if (!(rc = advance(p))) rc = parse_and(p, neg);
  }
  q_add(p->q, ")");
  return rc;
}

static int blank(const char *s) {
  if (!s) return 1;
  while (isspace((unsigned char)*s)) s++;
  return !*s;
}

int lundi_filter_compile(const char *expr, lundi_filter *out, int *err_column) {
  memset(out, 0, sizeof *out);
  if (err_column) *err_column = 0;
  qsql q = {0};
  parser p = {.q = &q};
  int rc = 0;
  if (blank(expr)) {
    q_add(&q, "1");
  } else if (strlen(expr) > MAX_TEXT) {
    rc = lundi_set_error(LUNDI_EINVAL, "the filter is too long (%zu bytes; at most %d)", strlen(expr), MAX_TEXT);
  } else {
    p.lx = (qlex){.text = expr, .len = strlen(expr)};
    if (!(rc = advance(&p)) && !(rc = parse_or(&p, 0)) && p.tok.type != QT_END) {
      char buf[64];
      if (p.tok.type == QT_RP)
        rc = q_lex_error(&p.lx, p.tok.col, "unexpected ')' at column %d (no '(' to close)", p.tok.col);
      else
        rc = q_lex_error(&p.lx, p.tok.col, "expected AND or OR at column %d, found %s", p.tok.col,
                         tok_text(&p, buf, sizeof buf));
    }
  }
  if (!rc && q.oom) rc = lundi_set_error(LUNDI_ENOMEM, "out of memory compiling the filter");
  q_tok_clear(&p.tok);
  if (rc) {
    if (err_column) *err_column = p.lx.err_column;
    for (int i = 0; i < p.n_fields; i++) free(p.fields[i]);
    free(p.fields);
    q_free(&q);
    return rc;
  }
  out->sql = q.s;
  out->binds = q.binds;
  out->n_binds = q.n_binds;
  out->fields = p.fields;
  out->n_fields = p.n_fields;
  return 0;
}

void lundi_filter_free(lundi_filter *f) {
  if (!f) return;
  free(f->sql);
  for (int i = 0; i < f->n_binds; i++) free(f->binds[i].s);
  free(f->binds);
  for (int i = 0; i < f->n_fields; i++) free(f->fields[i]);
  free(f->fields);
  memset(f, 0, sizeof *f);
}

/* ---- ORDER BY and column lists ---- */

static int add_name(char ***names, int *n, const char *s, size_t len) {
  char **g = realloc(*names, (size_t)(*n + 1) * sizeof *g);
  if (!g) return lundi_set_error(LUNDI_ENOMEM, "out of memory");
  *names = g;
  if (!(g[*n] = strndup(s, len))) return lundi_set_error(LUNDI_ENOMEM, "out of memory");
  ++*n;
  return 0;
}

int q_compile_order(const char *text, qsql *q, int *err_column, char ***names, int *n_names) {
  *err_column = 0;
  if (blank(text)) {
    q_add(q, " ORDER BY r.start_time IS NULL, r.start_time DESC, r.id DESC");
    return 0;
  }
  if (strlen(text) > MAX_TEXT) return lundi_set_error(LUNDI_EINVAL, "--order-by is too long");
  qlex lx = {.text = text, .len = strlen(text)};
  qtok t = {0};
  int rc = 0, n = 0;
  q_add(q, " ORDER BY ");
  while (!(rc = q_lex_next(&lx, &t))) {
    qfield f;
    if (t.type == QT_END && n == 0) {
      rc = q_lex_error(&lx, t.col, "expected a field at column %d", t.col);
      break;
    }
    if ((rc = q_field_from_tok(&lx, &t, &f))) break;
    if ((rc = add_name(names, n_names, f.src, f.src_len))) {
      q_field_clear(&f);
      break;
    }
    if (++n > MAX_COMPARISONS) {
      q_field_clear(&f);
      rc = q_lex_error(&lx, t.col, "too many fields at column %d", t.col);
      break;
    }
    if ((rc = q_lex_next(&lx, &t))) {
      q_field_clear(&f);
      break;
    }
    int desc = 0;
    if (q_is_kw(&t, "desc") || q_is_kw(&t, "asc")) {
      desc = q_is_kw(&t, "desc");
      if ((rc = q_lex_next(&lx, &t))) {
        q_field_clear(&f);
        break;
      }
    }
    q_field_scalar(q, &f);
    q_add(q, " IS NULL, ");
    q_field_scalar(q, &f);
    q_add(q, desc ? " DESC, " : " ASC, ");
    q_field_clear(&f);
    if (t.type == QT_END) break;
    if (t.type != QT_COMMA) {
      rc = q_lex_error(&lx, t.col, "expected ASC, DESC or ',' at column %d, found '%.*s'", t.col,
                       (int)(t.len > 40 ? 40 : t.len), t.p);
      break;
    }
  }
  q_tok_clear(&t);
  if (rc) *err_column = lx.err_column;
  else q_add(q, "r.id DESC");
  return rc;
}

int q_parse_columns(const char *text, qfield **fields, int *n, int *err_column) {
  *fields = NULL;
  *n = 0;
  *err_column = 0;
  if (strlen(text) > MAX_TEXT) return lundi_set_error(LUNDI_EINVAL, "--columns is too long");
  qlex lx = {.text = text, .len = strlen(text)};
  qtok t = {0};
  int rc = 0, cap = 0;
  while (!(rc = q_lex_next(&lx, &t))) {
    if (*n == cap) {
      cap = cap ? cap * 2 : 8;
      qfield *g = realloc(*fields, (size_t)cap * sizeof *g);
      if (!g) {
        rc = lundi_set_error(LUNDI_ENOMEM, "out of memory");
        break;
      }
      *fields = g;
    }
    if ((rc = q_field_from_tok(&lx, &t, &(*fields)[*n]))) break;
    ++*n;
    if ((rc = q_lex_next(&lx, &t))) break;
    if (t.type == QT_END) break;
    if (t.type != QT_COMMA) {
      rc = q_lex_error(&lx, t.col, "expected ',' between fields at column %d, found '%.*s'", t.col,
                       (int)(t.len > 40 ? 40 : t.len), t.p);
      break;
    }
  }
  q_tok_clear(&t);
  if (rc) {
    *err_column = lx.err_column;
    for (int i = 0; i < *n; i++) q_field_clear(&(*fields)[i]);
    free(*fields);
    *fields = NULL;
    *n = 0;
  }
  return rc;
}
