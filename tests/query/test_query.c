/* The query side of the store (lundi/history.h) on the fixture of fixture.h: the filter
 * language (every operator, precedence, quoting, types, errors with their columns,
 * malicious input), ordering and columns, run references, run records, metric series,
 * comparison, export, provenance of PNGs, gc and read-only SQL. */
#include "fixture.h"
#include "harness.h"
#include "lundi/history.h"
#include "lundi/image.h"

#include <cjson/cJSON.h>
#include <ctype.h>
#include <ftw.h>
#include <time.h>
#include <sqlite3.h>
#include <sys/stat.h>
#include <unistd.h>
#include <utime.h>

static char dir[256], db[320];
static char U[5][37];
static lundi_store *S;

static int rm_one(const char *p, const struct stat *sb, int flag, struct FTW *f) {
  (void)sb, (void)flag, (void)f;
  return remove(p);
}

static void teardown(void) {
  lundi_store_close(S);
  S = NULL;
  if (dir[0] && !getenv("LUNDI_TEST_KEEP")) nftw(dir, rm_one, 16, FTW_DEPTH | FTW_PHYS);
  dir[0] = 0;
}

/* A fresh fixture store in a temporary directory, opened read-only (or writable). */
static void setup(int writable) {
  snprintf(dir, sizeof dir, "/tmp/lundi-query-test-XXXXXX");
  if (!mkdtemp(dir)) {
    perror("mkdtemp");
    exit(2);
  }
  atexit(teardown);
  snprintf(db, sizeof db, "%s/runs.db", dir);
  if (qfix_build(db, U) != 0) {
    fprintf(stderr, "cannot build the fixture\n");
    exit(2);
  }
  S = lundi_store_open(db, writable ? 0 : LUNDI_STORE_READONLY);
  if (!S) {
    fprintf(stderr, "open: %s\n", lundi_last_error());
    exit(2);
  }
}

/* The names of the runs matching where, in id order, comma-separated; on an error
 * "ERR<col>: message". */
static const char *names_q(const char *where, const char *order, int64_t limit, int deleted) {
  static char buf[4096];
  lundi_runs_query q = {.where = where, .order_by = order ? order : "id", .columns = "name", .limit = limit,
                        .include_deleted = deleted};
  lundi_table t;
  if (lundi_history_runs(S, &q, &t) != 0) {
    snprintf(buf, sizeof buf, "ERR%d: %s", q.err_column, lundi_last_error());
    return buf;
  }
  buf[0] = 0;
  for (int64_t r = 0; r < t.n_rows; r++) {
    const lundi_cell *c = lundi_table_at(&t, r, 0);
    if (r) strcat(buf, ",");
    strcat(buf, c->type == LUNDI_CELL_TEXT ? c->s : "?");
  }
  lundi_table_free(&t);
  return buf;
}
static const char *names(const char *where) { return names_q(where, NULL, 0, 0); }

#define EXPECT(where, want)                                                                        \
  do {                                                                                             \
    const char *got_ = names(where);                                                               \
    if (strcmp(got_, want)) {                                                                      \
      t_failures++;                                                                                \
      fprintf(stderr, "%s:%d: %s\n  got  %s\n  want %s\n", __FILE__, __LINE__, where, got_, want); \
    }                                                                                              \
  } while (0)

/* An error mentioning needle at column col. */
#define EXPECT_ERR(where, needle, col)                                                             \
  do {                                                                                             \
    lundi_filter f_;                                                                               \
    int c_ = -1;                                                                                   \
    int rc_ = lundi_filter_compile(where, &f_, &c_);                                               \
    if (rc_ == 0 || !strstr(lundi_last_error(), needle) || c_ != (col)) {                          \
      t_failures++;                                                                                \
      fprintf(stderr, "%s:%d: %s\n  rc %d, column %d (want %d), message: %s\n  want: %s\n",          \
              __FILE__, __LINE__, where, rc_, c_, col, rc_ ? lundi_last_error() : "(none)", needle);  \
    }                                                                                              \
    if (rc_ == 0) lundi_filter_free(&f_);                                                          \
  } while (0)

static void t_operators(void) {
  setup(0);
  EXPECT("metrics.loss < 0.05", "alpha,gamma");
  EXPECT("metrics.loss <= 0.03", "alpha,gamma");
  EXPECT("metrics.loss > 0.05", "beta");
  EXPECT("metrics.loss >= 0.08", "beta");
  EXPECT("metrics.loss = 0.08", "beta");
  EXPECT("metrics.loss == 0.03", "alpha");
  EXPECT("metrics.loss != 0.08", "alpha,gamma");
  EXPECT("metrics.loss <> 0.08", "alpha,gamma");
  EXPECT("metrics.loss.min < 0.075", "alpha,beta,gamma");
  EXPECT("metrics.loss.max >= 0.5", "alpha");
  EXPECT("metrics.loss.count = 7", "beta");
  EXPECT("metrics.loss.last = 0.08", "beta");
  EXPECT("metrics.acc > 0.9", "alpha");
  EXPECT("params.sampler = 'ddim'", "alpha,gamma");
  EXPECT("params.sampler LIKE 'dd%'", "alpha,gamma");
  EXPECT("params.sampler ILIKE 'dd%'", "alpha,gamma,delta");
  EXPECT("params.sampler NOT LIKE 'dd%'", "beta,delta");
  EXPECT("params.sampler NOT ILIKE 'DD%'", "beta");
  EXPECT("params.sampler LIKE 'e_ler'", "beta");
  EXPECT("params.sampler LIKE '_'", "");
  EXPECT("params.sampler LIKE '%'", "alpha,beta,gamma,delta");
  EXPECT("params.sampler IN ('euler', 'DDIM')", "beta,delta");
  EXPECT("params.sampler NOT IN ('ddim')", "beta,delta");
  EXPECT("tags.model LIKE 'unet%'", "alpha,beta");
  EXPECT("tags.model ILIKE '%XL'", "gamma");
  EXPECT("tags.note = 'it''s'", "alpha");
  EXPECT("status = 'finished'", "alpha,beta");
  EXPECT("status != 'finished'", "gamma,delta");
  EXPECT("status IN ('failed', 'interrupted')", "gamma,delta");
  EXPECT("name LIKE '%ta'", "beta,delta");
  EXPECT("id >= 3", "gamma,delta");
  EXPECT("seed = 42", "delta");
  EXPECT("device = 'vulkan:0'", "delta");
  EXPECT("exit_message = 'boom'", "gamma");
  EXPECT("duration >= 0", "alpha,beta,gamma,delta");
  EXPECT("start_time > 1000000000", "alpha,beta,gamma,delta");
  EXPECT("start_time > '2000-01-01'", "alpha,beta,gamma,delta");
  EXPECT("end_time < '2000-01-01 12:00'", "");
  EXPECT("script = '/tmp/scripts/train.lua'", "alpha,beta,gamma,delta");
  EXPECT("attributes.status = 'failed'", "gamma");
  EXPECT("tags.model IS NULL", "delta");
  EXPECT("params.lr IS NOT NULL", "alpha,beta,gamma");
  EXPECT("metrics.acc IS NULL", "gamma,delta");
  EXPECT("params.ema = true", "alpha");
  EXPECT("params.ema = false", "");
  char q[128];
  snprintf(q, sizeof q, "uuid = '%s'", U[1]);
  EXPECT(q, "beta");
  EXPECT("name = 'gone'", "");
  const char *got = names_q("name = 'gone'", NULL, 0, 1);
  CHECK(!strcmp(got, "gone"));
  teardown();
}

static void t_logic(void) {
  setup(0);
  /* AND binds tighter than OR: with OR first this would be gamma only */
  EXPECT("params.sampler = 'euler' or params.sampler = 'ddim' and metrics.loss < 0.02", "beta,gamma");
  EXPECT("(params.sampler = 'euler' or params.sampler = 'ddim') and metrics.loss < 0.02", "gamma");
  EXPECT("metrics.loss < 0.02 and params.sampler = 'ddim' or params.sampler = 'euler'", "beta,gamma");
  EXPECT("not status = 'finished'", "gamma,delta");
  EXPECT("not (status = 'finished' or status = 'failed')", "delta");
  EXPECT("not not status = 'failed'", "gamma");
  EXPECT("NOT params.sampler = 'ddim'", "beta,delta");
  /* a run without the key matches neither the comparison nor its negation */
  EXPECT("tags.model = 'DiT-xl'", "gamma");
  EXPECT("not tags.model = 'DiT-xl'", "alpha,beta");
  EXPECT("not metrics.loss < 0.05", "beta");
  EXPECT("not (metrics.loss < 0.05 or tags.model = 'x')", "beta");
  EXPECT("PARAMS.sampler = 'ddim' AND Metrics.loss < 0.02", "gamma");
  EXPECT("status = 'finished' AnD (name = 'alpha' Or name = 'beta')", "alpha,beta");
  EXPECT("((((status = 'failed'))))", "gamma");
  EXPECT("   ", "alpha,beta,gamma,delta");
  EXPECT("status='failed'or(id=1)", "alpha,gamma");
  teardown();
}

static void t_quoting(void) {
  setup(0);
  EXPECT("params.`my key` = 'x y'", "alpha");
  EXPECT("params.\"my key\" = 'x y'", "alpha");
  EXPECT("tags.`odd key` = '100%_done'", "delta");
  EXPECT("tags.`odd key` LIKE '100\\%\\_done'", "delta");
  EXPECT("tags.`odd key` LIKE '100\\%x%'", "");
  EXPECT("tags.`odd key` LIKE '1__\\%%'", "delta");
  EXPECT("metrics.`x.min` = 4", "delta");
  EXPECT("metrics.`x.min`.min = 3", "delta");
  EXPECT("metrics.x.min = 3", ""); /* the key "x", its minimum */
  EXPECT("params.`a``b` = 'c'", "");
  EXPECT("tags.note = 'it''s'", "alpha");
  EXPECT("tags.note = 'it'", "");
  EXPECT("name = '\xc3\xbcn\xc3\xaf'", "");
  EXPECT("name = ''", "");
  /* columns count characters, not bytes */
  EXPECT_ERR("name = '\xc3\xa9' and foo = 1", "unknown field 'foo' at column 16", 16);
  teardown();
}

static void t_types(void) {
  setup(0);
  EXPECT("params.steps = 50", "alpha");         /* delta's '50' is a string param */
  EXPECT("params.steps = '50'", "alpha,delta"); /* as text, both */
  EXPECT("params.steps > 30", "alpha,gamma");   /* numeric: 50 and 100 */
  EXPECT("params.steps > '30'", "alpha,delta"); /* text: '50' > '30', '100' < '30' */
  EXPECT("params.lr < 0.005", "alpha");          /* gamma's 'auto' is not a number */
  EXPECT("params.lr = 'auto'", "gamma");
  EXPECT("params.steps IN (20, 100)", "beta,gamma");
  EXPECT("params.steps IN (20, '50')", "alpha,beta,delta");
  EXPECT("params.cfg = 7.5", "alpha,beta");
  EXPECT("params.steps = 5e1", "alpha");
  EXPECT("params.steps = 50.0", "alpha");
  EXPECT("metrics.loss < 5e-2", "alpha,gamma");
  EXPECT("metrics.loss < .05", "alpha,gamma");
  EXPECT("metrics.loss > -1", "alpha,beta,gamma");
  EXPECT("metrics.loss > -1e3 and metrics.loss < +0.02", "gamma");
  EXPECT("seed = 42.0", "delta");
  EXPECT("metrics.loss.count = true", ""); /* true is 1 */
  teardown();
}

static void t_errors(void) {
  EXPECT_ERR("metric.loss < 0.05", "unknown field 'metric.loss' at column 1 (did you mean 'metrics.loss'?", 1);
  EXPECT_ERR("metric.loss < 0.05", "fields: metrics.<key>, params.<key>, tags.<key>", 1);
  EXPECT_ERR("metrics.loss < 0.05 and params.sampler = 'ddim", "unterminated string starting at column 42", 42);
  EXPECT_ERR("metrics.loss < ", "expected a value after '<' at column 16", 16);
  EXPECT_ERR("metrics.loss <= and", "expected a value after '<=' at column 17, found 'and'", 17);
  EXPECT_ERR("params.sampler = \"ddim\"", "text takes single quotes: 'ddim'", 18);
  EXPECT_ERR("params.sampler = ddim", "quote text: 'ddim'", 18);
  EXPECT_ERR("(status = 'finished'", "expected ')' at column 21 to close the '(' at column 1", 21);
  EXPECT_ERR("status = 'finished')", "unexpected ')' at column 20", 20);
  EXPECT_ERR("status = 'finished' name = 'a'", "expected AND or OR at column 21, found 'name'", 21);
  EXPECT_ERR("status", "expected an operator after 'status' at column 7, found the end", 7);
  EXPECT_ERR("status = 'finsihed'", "unknown status 'finsihed' at column 10", 10);
  EXPECT_ERR("metrics.loss = 'abc'", "metrics.loss is a number: compare it with a number, not 'abc'", 16);
  EXPECT_ERR("start_time > 'yesterday'", "or a date 'YYYY-MM-DD", 14);
  EXPECT_ERR("metrics.loss LIKE 'a%'", "LIKE compares text; metrics.loss is a number", 1);
  EXPECT_ERR("metrics.", "expected a key after 'metrics.' at column 9", 9);
  EXPECT_ERR("params.x LIKE 5", "expected a quoted pattern after LIKE at column 15", 15);
  EXPECT_ERR("params.x IN 'a'", "expected '(' after IN at column 13", 13);
  EXPECT_ERR("params.x IN ('a' 'b')", "expected ',' or ')' in the IN list at column 18", 18);
  EXPECT_ERR("params.x IN ()", "expected a value after 'IN (' at column 14", 14);
  EXPECT_ERR("params.x IS 5", "expected NULL or NOT NULL after IS at column 13", 13);
  EXPECT_ERR("params.x NOT = 1", "expected LIKE, ILIKE or IN after NOT at column 14", 14);
  EXPECT_ERR("name = 'a' and", "the filter ends at column 15 where a comparison should follow", 15);
  EXPECT_ERR("status = 'failed' and or id = 1", "expected a comparison at column 23, found 'or'", 23);
  EXPECT_ERR("12 = status", "expected a field at column 1, found '12'", 1);
  EXPECT_ERR("metrics.loss < 0.05abc", "malformed number '0.05abc' at column 16", 16);
  EXPECT_ERR("status = 'x' ; drop", "unexpected ';' at column 14", 14);
  EXPECT_ERR("params.x LIKE 'a\\'", "ends with a lone backslash", 15);
  EXPECT_ERR("name @ 'x'", "unexpected character '@' at column 6", 6);
  EXPECT_ERR("name = 'x' and \xff", "unexpected byte 0xff at column 16", 16);
  EXPECT_ERR("stauts = 'x'", "did you mean 'status'?", 1);
  EXPECT_ERR("metrics = 1", "metrics needs a key: metrics.<key>", 1);
  EXPECT_ERR("params.`abc = 1", "unterminated quoted key starting at column 8", 8);
  EXPECT_ERR("params.x = 'a' and tags.`` = 'b'", "empty key in 'tags.``' at column 20", 20);

  /* nesting: 60 levels work, 100 are refused */
  char deep[1024];
  size_t n = 0;
  for (int i = 0; i < 60; i++) deep[n++] = '(';
  n += (size_t)sprintf(deep + n, "id = 1");
  for (int i = 0; i < 60; i++) deep[n++] = ')';
  deep[n] = 0;
  lundi_filter f;
  CHECK(lundi_filter_compile(deep, &f, NULL) == 0);
  lundi_filter_free(&f);
  n = 0;
  for (int i = 0; i < 100; i++) deep[n++] = '(';
  deep[n] = 0;
  EXPECT_ERR(deep, "nests deeper than 64 levels at column 65", 65);
  n = 0;
  for (int i = 0; i < 100; i++) n += (size_t)sprintf(deep + n, "not ");
  sprintf(deep + n, "id = 1");
  EXPECT_ERR(deep, "nests deeper than 64 levels at column 257", 257); /* the 65th 'not' */

  char *many = malloc(300 * 16);
  n = 0;
  for (int i = 0; i < 300; i++) n += (size_t)sprintf(many + n, "%sid = %d", i ? " or " : "", i);
  int at = (int)(strstr(many, " id = 256 ") - many) + 2; /* the 257th comparison */
  char msg[80];
  snprintf(msg, sizeof msg, "too many comparisons (more than 256) at column %d", at);
  EXPECT_ERR(many, msg, at);
  free(many);
  char *huge = malloc(70001);
  memset(huge, 'a', 70000);
  huge[70000] = 0;
  EXPECT_ERR(huge, "the filter is too long (70000 bytes; at most 65536)", 0);
  free(huge);
}

static void t_order_errors(void) {
  setup(0);
  lundi_runs_query q = {.order_by = "metrics.loss sideways"};
  lundi_table t;
  CHECK(lundi_history_runs(S, &q, &t) != 0);
  CHECK(q.err_option && !strcmp(q.err_option, "order_by") && q.err_column == 14);
  CHECK(strstr(lundi_last_error(), "expected ASC, DESC or ',' at column 14"));
  q = (lundi_runs_query){.columns = "name,,id"};
  CHECK(lundi_history_runs(S, &q, &t) != 0);
  CHECK(q.err_option && !strcmp(q.err_option, "columns") && q.err_column == 6);
  CHECK(strstr(lundi_last_error(), "expected a field at column 6"));
  q = (lundi_runs_query){.where = "nme = 'x'"};
  CHECK(lundi_history_runs(S, &q, &t) != 0);
  CHECK(q.err_option && !strcmp(q.err_option, "where") && q.err_column == 1);
  CHECK(strstr(lundi_last_error(), "did you mean 'name'?"));
  teardown();
}

/* Row counts of every table plus the integrity check, as one string. */
static void db_state(char *out, size_t cap) {
  sqlite3 *h = NULL;
  sqlite3_open_v2(db, &h, SQLITE_OPEN_READONLY, NULL);
  const char *sql =
      "SELECT (SELECT count(*) FROM runs) || ',' || (SELECT count(*) FROM params) || ',' ||"
      " (SELECT count(*) FROM metrics) || ',' || (SELECT count(*) FROM metric_summary) || ',' ||"
      " (SELECT count(*) FROM tags) || ',' || (SELECT count(*) FROM outputs) || ',' ||"
      " (SELECT count(*) FROM plugins_used) || ',' || (SELECT count(*) FROM sqlite_schema) || ',' ||"
      " (SELECT group_concat(name) FROM runs) || ',' || (SELECT integrity_check FROM pragma_integrity_check)";
  sqlite3_stmt *st = NULL;
  out[0] = 0;
  if (sqlite3_prepare_v2(h, sql, -1, &st, NULL) == SQLITE_OK && sqlite3_step(st) == SQLITE_ROW)
    snprintf(out, cap, "%s", (const char *)sqlite3_column_text(st, 0));
  else
    snprintf(out, cap, "error: %s", sqlite3_errmsg(h));
  sqlite3_finalize(st);
  sqlite3_close(h);
}

static void t_malicious(void) {
  setup(1); /* writable: the worst case */
  char before[512], after[512];
  db_state(before, sizeof before);
  CHECK(strstr(before, ",ok") != NULL);
  const char *attacks[] = {
    "'; DROP TABLE runs; --",
    "name = 'x'; DROP TABLE runs; --",
    "name = ''; DROP TABLE runs; --'",
    "params.x = ''; DROP TABLE runs; --'",
    "name = 'x' or 1=1",
    "name = 'x' --",
    "name = 'x' /* */",
    "\"; DELETE FROM runs; --",
    "params.`x`; DROP TABLE runs; --` = 1",
    "params.\"x\"\"; DELETE FROM runs; --\" = 'y'",
    "name = char(65)",
    "name = (SELECT 1)",
    "name = 'x' UNION SELECT * FROM runs",
    "name = 'x')) OR ((1=1",
    "id = 1 or id IN (SELECT id FROM runs)",
    "tags.`'` = '''; DELETE FROM tags; --'",
    "name LIKE '%'' OR ''1''=''1'",
    "params.sampler IN ('a'); DROP TABLE params; --')",
    "'",
    "\"",
    "`",
    "((((((((",
    "))))",
    "name = 'a' and (",
    "name = x'41'",
    "status = 'finished' or sqlite_version() = 1",
    "name = ?",
    "name = :x",
    "name = $x",
    "metrics.loss < 1; ATTACH DATABASE '/tmp/evil.db' AS evil",
  };
  for (size_t i = 0; i < sizeof attacks / sizeof attacks[0]; i++) {
    const char *got = names(attacks[i]);
    /* an error, or a correct (here: empty or all-matching) result, never more */
    int ok = !strncmp(got, "ERR", 3) || !strcmp(got, "") || !strcmp(got, "alpha,beta,gamma,delta");
    if (!ok) {
      t_failures++;
      fprintf(stderr, "attack %zu (%s): %s\n", i, attacks[i], got);
    }
  }
  /* these parse: their text is a value or a key, and matches nothing */
  CHECK(!strncmp(names("name = ''; DROP TABLE runs; --'"), "ERR10: unexpected ';' at column 10", 34));
  EXPECT("params.x = '''; DROP TABLE runs; --'", "");
  EXPECT("params.`x; DROP TABLE runs; --` = 1", "");
  EXPECT("name LIKE '%'' OR ''1''=''1'", "");
  EXPECT("name = 'x' or id = 1", "alpha");
  db_state(after, sizeof after);
  CHECK(!strcmp(before, after));
  if (strcmp(before, after)) fprintf(stderr, "before %s\nafter  %s\n", before, after);
  struct stat sb;
  CHECK(stat("/tmp/evil.db", &sb) != 0);
  teardown();
}

static void t_parameterised(void) {
  lundi_filter f;
  const char *expr = "params.`x'; DROP` = 'y''; DELETE FROM runs; --' and tags.t LIKE 'DROP%' and name IN ('a','b')";
  CHECK(lundi_filter_compile(expr, &f, NULL) == 0);
  CHECK(strstr(f.sql, "DROP") == NULL && strstr(f.sql, "DELETE") == NULL && strstr(f.sql, "'y") == NULL);
  int marks = 0;
  for (const char *p = f.sql; *p; p++) marks += *p == '?';
  CHECK(marks == f.n_binds);
  CHECK(f.n_binds == 6);
  CHECK(f.binds[0].type == LUNDI_CELL_TEXT && !strcmp(f.binds[0].s, "x'; DROP"));
  CHECK(f.binds[1].type == LUNDI_CELL_TEXT && !strcmp(f.binds[1].s, "y'; DELETE FROM runs; --"));
  CHECK(f.binds[3].type == LUNDI_CELL_TEXT && !strcmp(f.binds[3].s, "DROP*")); /* LIKE as GLOB */
  CHECK(f.n_fields == 3 && !strcmp(f.fields[0], "params.`x'; DROP`") && !strcmp(f.fields[2], "name"));
  lundi_filter_free(&f);
  CHECK(lundi_filter_compile(NULL, &f, NULL) == 0 && !strcmp(f.sql, "1") && f.n_binds == 0);
  lundi_filter_free(&f);
  CHECK(lundi_filter_compile("metrics.loss < 1 and metrics.loss > 0", &f, NULL) == 0 && f.n_fields == 1);
  lundi_filter_free(&f);
}

static void t_order_limit(void) {
  setup(0);
  CHECK(!strcmp(names_q(NULL, "metrics.loss", 0, 0), "gamma,alpha,beta,delta"));
  CHECK(!strcmp(names_q(NULL, "metrics.loss DESC", 0, 0), "beta,alpha,gamma,delta")); /* missing: last */
  CHECK(!strcmp(names_q(NULL, "metrics.loss asc", 2, 0), "gamma,alpha"));
  CHECK(!strcmp(names_q(NULL, "params.steps", 0, 0), "beta,alpha,gamma,delta")); /* numbers numerically */
  CHECK(!strcmp(names_q(NULL, "", 0, 0), "delta,gamma,beta,alpha"));            /* newest first */
  CHECK(!strcmp(names_q(NULL, "start_time DESC", 0, 0), "delta,gamma,beta,alpha"));
  CHECK(!strcmp(names_q(NULL, "name", 2, 0), "alpha,beta"));
  CHECK(!strcmp(names_q(NULL, "status, name desc", 0, 0), "gamma,beta,alpha,delta"));
  CHECK(!strcmp(names_q(NULL, "id desc", 0, 0), "delta,gamma,beta,alpha"));
  CHECK(!strcmp(names_q(NULL, "metrics.acc desc, id", 0, 0), "alpha,beta,gamma,delta"));
  CHECK(!strcmp(names_q("metrics.loss < 1", "metrics.loss", 1, 0), "gamma"));
  CHECK(!strcmp(names_q(NULL, "id", 100, 1), "alpha,beta,gamma,delta,gone"));
  teardown();
}

static void t_columns(void) {
  setup(0);
  lundi_runs_query q = {.columns = "name, metrics.loss, params.steps, tags.model, params.ema", .order_by = "id"};
  lundi_table t;
  CHECK(lundi_history_runs(S, &q, &t) == 0);
  CHECK(t.n_cols == 5 && t.n_rows == 4);
  CHECK(!strcmp(t.cols[1], "metrics.loss") && !strcmp(t.cols[3], "tags.model"));
  const lundi_cell *c = lundi_table_at(&t, 0, 1);
  CHECK(c->type == LUNDI_CELL_REAL && fabs(c->d - 0.03) < 1e-12);
  c = lundi_table_at(&t, 0, 2);
  CHECK(c->type == LUNDI_CELL_INT && c->i == 50);
  c = lundi_table_at(&t, 3, 2);
  CHECK(c->type == LUNDI_CELL_TEXT && !strcmp(c->s, "50")); /* delta's string param */
  CHECK(lundi_table_at(&t, 3, 3)->type == LUNDI_CELL_NULL);
  c = lundi_table_at(&t, 0, 4);
  CHECK(c->type == LUNDI_CELL_TEXT && !strcmp(c->s, "true"));
  CHECK(lundi_table_at(&t, 4, 0) == NULL);
  lundi_table_free(&t);
  /* default columns, then the fields where and order_by read */
  q = (lundi_runs_query){.where = "metrics.loss < 1 and status = 'finished'", .order_by = "params.steps desc, name"};
  CHECK(lundi_history_runs(S, &q, &t) == 0);
  const char *want[] = {"id", "uuid", "name", "status", "start_time", "duration", "metrics.loss", "params.steps"};
  CHECK(t.n_cols == 8);
  for (int i = 0; i < 8 && i < t.n_cols; i++) CHECK(!strcmp(t.cols[i], want[i]));
  CHECK(t.n_rows == 2);
  c = lundi_table_at(&t, 0, 1);
  CHECK(c && c->type == LUNDI_CELL_TEXT && !strcmp(c->s, U[0])); /* alpha: steps 50 > 20 */
  c = lundi_table_at(&t, 0, 5);
  CHECK(c && c->type == LUNDI_CELL_REAL && c->d >= 0);
  lundi_table_free(&t);
  teardown();
}

static void t_resolve(void) {
  setup(1);
  int64_t id = -1;
  CHECK(lundi_history_resolve(S, "2", &id) == 0 && id == 2);
  CHECK(lundi_history_resolve(S, U[2], &id) == 0 && id == 3);
  char prefix[40];
  snprintf(prefix, sizeof prefix, "%.8s", U[3]);
  CHECK(lundi_history_resolve(S, prefix, &id) == 0 && id == 4);
  for (char *p = prefix; *p; p++) *p = (char)toupper((unsigned char)*p);
  CHECK(lundi_history_resolve(S, prefix, &id) == 0 && id == 4);
  CHECK(lundi_history_resolve(S, "last", &id) == 0 && id == 4); /* 5 is deleted */
  CHECK(lundi_history_resolve(S, "-1", &id) == 0 && id == 4);
  CHECK(lundi_history_resolve(S, "-2", &id) == 0 && id == 3);
  CHECK(lundi_history_resolve(S, "beta", &id) == 0 && id == 2);
  CHECK(lundi_history_resolve(S, "5", &id) == 0 && id == 5); /* deleted runs stay reachable by id */
  char want[512];
  snprintf(want, sizeof want, "no run 999 in %s; 'lundi runs' lists them", db);
  CHECK_ERR(lundi_history_resolve(S, "999", &id), want);
  CHECK_ERR(lundi_history_resolve(S, "zzzz", &id), "no run zzzz in");
  CHECK_ERR(lundi_history_resolve(S, "-9", &id), "fewer than 9 runs");
  CHECK_ERR(lundi_history_resolve(S, "", &id), "which run?");
  /* two uuids with one prefix */
  sqlite3 *h = NULL;
  sqlite3_open(db, &h);
  sqlite3_exec(h, "UPDATE runs SET uuid = 'abcd0000-0000-4000-8000-000000000001' WHERE id = 1;"
                  "UPDATE runs SET uuid = 'abcd1111-0000-4000-8000-000000000002' WHERE id = 2;",
               NULL, NULL, NULL);
  sqlite3_close(h);
  CHECK_ERR(lundi_history_resolve(S, "abcd", &id), "run 'abcd' is ambiguous");
  CHECK(lundi_history_resolve(S, "abcd1", &id) == 0 && id == 2);
  teardown();
}

static void t_run_record(void) {
  setup(0);
  lundi_run_record *r = NULL;
  CHECK(lundi_history_run(S, "1", &r) == 0 && r);
  if (!r) return teardown();
  CHECK(!strcmp(r->uuid, U[0]) && !strcmp(r->name, "alpha") && !strcmp(r->status, "finished"));
  CHECK(!strcmp(r->script_path, "/tmp/scripts/train.lua") && strlen(r->script_sha256) == 64);
  CHECK(r->script_text && strstr(r->script_text, "params.steps"));
  char sha[65];
  lundi_sha256_hex(r->script_text, strlen(r->script_text), sha);
  CHECK(!strcmp(sha, r->script_sha256));
  CHECK(r->end_time >= r->start_time && r->exit_message == NULL && !r->deleted);
  CHECK(r->n_params == 6);
  int found = 0;
  for (int i = 0; i < r->n_params; i++)
    if (!strcmp(r->params[i].key, "lr")) found = !strcmp(r->params[i].value, "0.001") && !strcmp(r->params[i].type, "float");
  CHECK(found);
  CHECK(r->n_tags == 2 && !strcmp(r->tags[0].key, "model") && !strcmp(r->tags[1].value, "it's"));
  CHECK(r->n_metrics == 2 && !strcmp(r->metrics[1].key, "loss"));
  if (r->n_metrics == 2) {
    lundi_metric_summary *m = &r->metrics[1];
    CHECK(m->count == 6 && m->last_step == 5);
    CHECK_NEAR(m->last, 0.03, 1e-12);
    CHECK_NEAR(m->min, 0.03, 1e-12);
    CHECK_NEAR(m->max, 0.5, 1e-12);
  }
  CHECK(r->n_outputs == 3);
  if (r->n_outputs == 3) {
    CHECK(!strcmp(r->outputs[0].name, "sample") && !strcmp(r->outputs[0].kind, "image") && !r->outputs[0].path);
    CHECK(!strcmp(r->outputs[0].mime, "image/png") && r->outputs[0].metadata && strstr(r->outputs[0].metadata, "width"));
    CHECK(r->outputs[2].size == 300000 && r->outputs[2].path && strstr(r->outputs[2].path, "runs.db.blobs/"));
    uint8_t *data = NULL;
    size_t n = 0;
    CHECK(lundi_history_output_data(S, r->outputs[2].id, &data, &n) == 0 && n == 300000);
    uint8_t *want = qfix_big(3);
    CHECK(data && want && !memcmp(data, want, n));
    free(data);
    free(want);
    CHECK(lundi_history_output_data(S, r->outputs[1].id, &data, &n) == 0 && n == 6 && !memcmp(data, "hello\n", 6));
    free(data);
  }
  CHECK(r->n_plugins == 1 && !strcmp(r->plugins[0].name, "ddim") && !strcmp(r->plugins[0].params, "{\"eta\":0}"));
  lundi_run_record_free(r);
  CHECK(lundi_history_run(S, "3", &r) == 0 && r && !strcmp(r->exit_message, "boom") && r->n_outputs == 0);
  lundi_run_record_free(r);
  CHECK(lundi_history_run(S, "4", &r) == 0 && r && r->has_seed && r->seed == 42 && !strcmp(r->device, "vulkan:0"));
  lundi_run_record_free(r);
  CHECK(lundi_history_run(S, "5", &r) == 0 && r && r->deleted == 1);
  lundi_run_record_free(r);
  CHECK_ERR(lundi_history_run(S, "77", &r), "no run 77");
  CHECK(r == NULL);
  CHECK_ERR(lundi_history_output_data(S, 999, &(uint8_t *){NULL}, &(size_t){0}), "no output 999");
  teardown();
}

static void t_metric_series(void) {
  setup(0);
  lundi_metric_series m;
  CHECK(lundi_history_metric(S, 1, "loss", &m) == 0 && m.n == 6);
  double want[] = {0.5, 0.3, 0.2, 0.1, 0.05, 0.03};
  for (int i = 0; i < 6 && i < m.n; i++) {
    CHECK(m.steps[i] == i);
    CHECK_NEAR(m.values[i], want[i], 1e-12);
    CHECK(m.wall_times[i] > 1e9);
  }
  lundi_metric_series_free(&m);
  CHECK(lundi_history_metric(S, 4, "x.min", &m) == 0 && m.n == 3 && m.values[1] == 3);
  lundi_metric_series_free(&m);
  CHECK_ERR(lundi_history_metric(S, 1, "nope", &m), "run 1 has no metric 'nope' (it has: acc, loss)");
  CHECK(m.n == 0 && m.steps == NULL);
  teardown();
}

static int row_of(const lundi_comparison *c, const char *field) {
  for (int i = 0; i < c->n_rows; i++)
    if (!strcmp(c->fields[i], field)) return i;
  return -1;
}

static void t_compare(void) {
  setup(0);
  const char *refs[] = {"alpha", "2", "gamma"};
  lundi_comparison c;
  CHECK(lundi_history_compare(S, refs, 3, &c) == 0 && c.n_runs == 3);
  int r = row_of(&c, "params.sampler");
  CHECK(r >= 0 && c.differs[r] && c.best[r] == -1);
  r = row_of(&c, "params.cfg"); /* 7.5, 7.5, missing */
  CHECK(r >= 0 && c.differs[r] && c.cells[r * 3 + 2].type == LUNDI_CELL_NULL && c.cells[r * 3].type == LUNDI_CELL_REAL);
  r = row_of(&c, "metrics.loss"); /* 0.03, 0.08, 0.01: lowest is best */
  CHECK(r >= 0 && c.differs[r] && c.best[r] == 2);
  r = row_of(&c, "metrics.acc"); /* 0.91, 0.85, missing: highest is best */
  CHECK(r >= 0 && c.best[r] == 0);
  r = row_of(&c, "status");
  CHECK(r == 0 && c.differs[r]);
  r = row_of(&c, "script_sha256");
  CHECK(r >= 0 && !c.differs[r]);
  CHECK(row_of(&c, "tags.model") > row_of(&c, "params.steps") && row_of(&c, "metrics.acc") > row_of(&c, "tags.note"));
  lundi_comparison_free(&c);
  const char *same[] = {"1", "1"};
  CHECK(lundi_history_compare(S, same, 2, &c) == 0);
  for (int i = 0; i < c.n_rows; i++) CHECK(!c.differs[i] && c.best[i] == -1);
  lundi_comparison_free(&c);
  const char *bad[] = {"1", "nope"};
  CHECK_ERR(lundi_history_compare(S, bad, 2, &c), "no run nope");
  CHECK(c.n_runs == 0 && c.runs == NULL);
  CHECK(lundi_metric_higher_is_better("val/Accuracy") && lundi_metric_higher_is_better("psnr") &&
        !lundi_metric_higher_is_better("loss"));
  teardown();
}

static char *slurp(const char *path, size_t *n) {
  uint8_t *d = NULL;
  if (lundi_file_read_all(path, &d, n) != 0) return NULL;
  char *s = realloc(d, *n + 1);
  if (s) s[*n] = 0;
  return s;
}

static void t_export(void) {
  setup(0);
  char out[400], *manifest = NULL;
  snprintf(out, sizeof out, "%s/export/a", dir);
  CHECK(lundi_history_export(S, 1, out, &manifest) == 0);
  CHECK(manifest && strstr(manifest, "/export/a/manifest.json"));
  size_t n;
  char *text = manifest ? slurp(manifest, &n) : NULL;
  cJSON *m = text ? cJSON_Parse(text) : NULL;
  CHECK(m != NULL);
  if (m) {
    cJSON *run = cJSON_GetObjectItem(m, "run");
    CHECK(!strcmp(cJSON_GetObjectItem(run, "uuid")->valuestring, U[0]));
    CHECK(!strcmp(cJSON_GetObjectItem(run, "status")->valuestring, "finished"));
    cJSON *params = cJSON_GetObjectItem(m, "params");
    CHECK(cJSON_GetObjectItem(params, "steps")->valuedouble == 50);
    CHECK(cJSON_IsTrue(cJSON_GetObjectItem(params, "ema")));
    CHECK(!strcmp(cJSON_GetObjectItem(params, "sampler")->valuestring, "ddim"));
    cJSON *loss = cJSON_GetObjectItem(cJSON_GetObjectItem(m, "metrics"), "loss");
    CHECK(fabs(cJSON_GetObjectItem(loss, "last")->valuedouble - 0.03) < 1e-12);
    CHECK(cJSON_GetObjectItem(loss, "count")->valuedouble == 6);
    cJSON *outs = cJSON_GetObjectItem(m, "outputs");
    CHECK(cJSON_GetArraySize(outs) == 3);
    const char *want_files[] = {"sample.png", "notes.txt", "big.bin"};
    for (int i = 0; i < cJSON_GetArraySize(outs); i++) {
      cJSON *o = cJSON_GetArrayItem(outs, i);
      const char *file = cJSON_GetObjectItem(o, "file")->valuestring;
      CHECK(!strcmp(file, want_files[i]));
      char path[600];
      snprintf(path, sizeof path, "%s/%s", out, file);
      uint8_t *d = NULL;
      size_t dn = 0;
      CHECK(lundi_file_read_all(path, &d, &dn) == 0);
      char sha[65];
      lundi_sha256_hex(d, dn, sha);
      CHECK(!strcmp(sha, cJSON_GetObjectItem(o, "sha256")->valuestring));
      CHECK(dn == (size_t)cJSON_GetObjectItem(o, "size")->valuedouble);
      free(d);
    }
    CHECK(cJSON_IsObject(cJSON_GetObjectItem(cJSON_GetArrayItem(outs, 0), "metadata")));
    cJSON *plugin = cJSON_GetArrayItem(cJSON_GetObjectItem(m, "plugins"), 0);
    CHECK(cJSON_GetObjectItem(cJSON_GetObjectItem(plugin, "params"), "eta") != NULL);
    CHECK(!strcmp(cJSON_GetObjectItem(m, "script")->valuestring, "train.lua"));
    char path[600];
    snprintf(path, sizeof path, "%s/train.lua", out);
    char *script = slurp(path, &n);
    CHECK(script && !strcmp(script, "-- train\nprint(params.steps)\n"));
    free(script);
  }
  cJSON_Delete(m);
  free(text);
  free(manifest);
  /* a changed blob file is caught by its sha256 */
  lundi_run_record *r = NULL;
  CHECK(lundi_history_run(S, "1", &r) == 0);
  char blob[600];
  snprintf(blob, sizeof blob, "%s/%s", dir, r->outputs[2].path);
  FILE *f = fopen(blob, "r+b");
  CHECK(f != NULL);
  if (f) fputc('X', f), fclose(f);
  snprintf(out, sizeof out, "%s/export/b", dir);
  CHECK_ERR(lundi_history_export(S, 1, out, NULL), "is corrupt: its sha256 is");
  unlink(blob);
  CHECK_ERR(lundi_history_output_data(S, r->outputs[2].id, &(uint8_t *){NULL}, &(size_t){0}), "cannot read the blob file");
  lundi_run_record_free(r);
  CHECK_ERR(lundi_history_export(S, 1, "/proc/nope/x", NULL), "cannot create the directory");
  teardown();
}

static void write_bytes(const char *path, const void *d, size_t n) {
  FILE *f = fopen(path, "wb");
  if (f) fwrite(d, 1, n, f), fclose(f);
}

static void t_which(void) {
  setup(0);
  char path[400];
  size_t n;
  int64_t run = -9, out = -9;
  /* the very file that was saved */
  uint8_t *png = qfix_png(U[0], &n);
  snprintf(path, sizeof path, "%s/a.png", dir);
  write_bytes(path, png, n);
  free(png);
  CHECK(lundi_history_which(S, path, &run, &out) == 0 && run == 1 && out == 1);
  /* other pixels, the same chunk: found by the output name in the chunk */
  uint8_t px[4 * 4] = {0};
  lundi_image im = {4, 4, 1, px};
  char chunk[100];
  snprintf(chunk, sizeof chunk, "{\"run\":\"%s\",\"output\":\"sample\"}", U[0]);
  lundi_png_text t = {"lundi", chunk};
  CHECK(lundi_png_write_file(path, &im, &t, 1) == 0);
  CHECK(lundi_history_which(S, path, &run, &out) == 0 && run == 1 && out == 1);
  /* a bare uuid chunk, unknown output */
  t.value = U[1];
  CHECK(lundi_png_write_file(path, &im, &t, 1) == 0);
  CHECK(lundi_history_which(S, path, &run, &out) == 0 && run == 2 && out == -1);
  /* a run of another database */
  t.value = "{\"run\":\"01234567-89ab-4cde-8f01-23456789abcd\"}";
  CHECK(lundi_png_write_file(path, &im, &t, 1) == 0);
  CHECK_ERR(lundi_history_which(S, path, &run, &out), "comes from run 01234567-89ab-4cde-8f01-23456789abcd, which is not in");
  /* no chunk at all */
  CHECK(lundi_png_write_file(path, &im, NULL, 0) == 0);
  CHECK_ERR(lundi_history_which(S, path, &run, &out), "has no 'lundi' chunk");
  snprintf(path, sizeof path, "%s/not.png", dir);
  write_bytes(path, "hello", 5);
  CHECK(lundi_history_which(S, path, &run, &out) != 0);
  teardown();
}

typedef struct gc_log {
  int outputs, files;
  char last_file[600];
} gc_log;

static void on_gc(void *ud, const char *what, const char *name, int64_t bytes) {
  gc_log *g = ud;
  (void)bytes;
  if (!strcmp(what, "output")) g->outputs++;
  else g->files++, snprintf(g->last_file, sizeof g->last_file, "%s", name);
}

static int exists(const char *p) {
  struct stat sb;
  return stat(p, &sb) == 0;
}

static void t_gc(void) {
  setup(1);
  lundi_run_record *alpha = NULL, *gone = NULL;
  CHECK(lundi_history_run(S, "1", &alpha) == 0 && lundi_history_run(S, "5", &gone) == 0);
  if (!alpha || !gone) return teardown();
  char keep[600], gone_blob[600], orphan[700], young[600], sub[600];
  snprintf(keep, sizeof keep, "%s/%s", dir, alpha->outputs[2].path);
  snprintf(gone_blob, sizeof gone_blob, "%s/%s", dir, gone->outputs[1].path);
  snprintf(sub, sizeof sub, "%s/runs.db.blobs/ee", dir);
  mkdir(sub, 0777);
  snprintf(orphan, sizeof orphan, "%s/eeee", sub);
  snprintf(young, sizeof young, "%s/runs.db.blobs/ee/ffff", dir);
  write_bytes(orphan, "0123456789", 10);
  write_bytes(young, "01234", 5);
  struct utimbuf old = {time(NULL) - 7200, time(NULL) - 7200};
  utime(orphan, &old);
  utime(gone_blob, &old);
  CHECK(exists(keep) && exists(gone_blob) && exists(orphan) && exists(young));

  lundi_gc_report rep;
  gc_log log = {0};
  CHECK(lundi_history_gc(S, 1, 3600, on_gc, &log, &rep) == 0); /* dry run */
  CHECK(rep.outputs_removed == 2 && rep.files_removed == 2 && rep.files_young == 1);
  CHECK(rep.bytes_freed == 6 + 300000 + 10);
  CHECK(log.outputs == 2 && log.files == 2);
  CHECK(exists(keep) && exists(gone_blob) && exists(orphan) && exists(young));
  char state[512];
  db_state(state, sizeof state);
  CHECK(!strncmp(state, "5,", 2) && strstr(state, ",5,1,") != NULL); /* 5 outputs, 1 plugin row */

  memset(&log, 0, sizeof log);
  CHECK(lundi_history_gc(S, 0, 3600, on_gc, &log, &rep) == 0);
  CHECK(rep.outputs_removed == 2 && rep.files_removed == 2 && rep.files_young == 1);
  CHECK(exists(keep) && !exists(gone_blob) && !exists(orphan) && exists(young));
  db_state(state, sizeof state);
  CHECK(!strncmp(state, "5,", 2) && strstr(state, ",3,1,") != NULL && strstr(state, ",ok"));
  uint8_t *d = NULL;
  size_t n = 0;
  CHECK(lundi_history_output_data(S, alpha->outputs[2].id, &d, &n) == 0 && n == 300000);
  free(d);
  /* again: nothing left but the young file; with no grace it goes too */
  CHECK(lundi_history_gc(S, 0, 3600, NULL, NULL, &rep) == 0 && rep.outputs_removed == 0 && rep.files_removed == 0);
  CHECK(lundi_history_gc(S, 0, 0, NULL, NULL, &rep) == 0 && rep.files_removed == 1 && !exists(young) && exists(keep));
  CHECK(!exists(sub)); /* the emptied directory went too */
  lundi_run_record_free(alpha);
  lundi_run_record_free(gone);
  /* a read-only store refuses */
  lundi_store *ro = lundi_store_open(db, LUNDI_STORE_READONLY);
  CHECK_ERR(lundi_history_gc(ro, 0, 0, NULL, NULL, NULL), "opened read-only");
  lundi_store_close(ro);
  teardown();
}

static void t_set_tag_deleted(void) {
  setup(1);
  CHECK(lundi_history_set_tag(S, 2, "rerun_of", "x") == 0);
  CHECK(lundi_history_set_tag(S, 2, "rerun_of", "y") == 0);
  EXPECT("tags.rerun_of = 'y'", "beta");
  CHECK_ERR(lundi_history_set_tag(S, 99, "k", "v"), "no run 99");
  CHECK(lundi_history_set_deleted(S, 2, 1) == 0);
  EXPECT("tags.rerun_of = 'y'", "");
  CHECK(lundi_history_set_deleted(S, 2, 0) == 0);
  EXPECT("tags.rerun_of = 'y'", "beta");
  teardown();
}

static void file_sha(const char *path, char out[65]) {
  uint8_t *d = NULL;
  size_t n = 0;
  lundi_file_read_all(path, &d, &n);
  lundi_sha256_hex(d, n, out);
  free(d);
}

static void t_sql(void) {
  setup(0);
  lundi_store_close(S); /* nothing else holds the file */
  S = NULL;
  char before_sha[65], after_sha[65], before[512], after[512];
  file_sha(db, before_sha);
  db_state(before, sizeof before);
  lundi_table t;
  CHECK(lundi_history_sql(db, "SELECT count(*) AS n FROM runs", &t) == 0);
  CHECK(t.n_rows == 1 && t.n_cols == 1 && !strcmp(t.cols[0], "n") && t.cells[0].type == LUNDI_CELL_INT && t.cells[0].i == 5);
  lundi_table_free(&t);
  CHECK(lundi_history_sql(db, "  SELECT name, 1.5, NULL, x'00ff' FROM runs ORDER BY id; -- done\n", &t) == 0);
  CHECK(t.n_rows == 5 && t.n_cols == 4 && !strcmp(t.cells[0].s, "alpha") && t.cells[1].type == LUNDI_CELL_REAL);
  CHECK(t.cells[2].type == LUNDI_CELL_NULL && !strcmp(t.cells[3].s, "<2 bytes>"));
  lundi_table_free(&t);
  CHECK(lundi_history_sql(db, "PRAGMA table_info(runs)", &t) == 0 && t.n_rows > 10);
  lundi_table_free(&t);
  CHECK(lundi_history_sql(db, "PRAGMA user_version", &t) == 0 && t.cells[0].i == LUNDI_STORE_SCHEMA_VERSION);
  lundi_table_free(&t);
  CHECK(lundi_history_sql(db, "WITH x AS (SELECT 1 AS a) SELECT a FROM x", &t) == 0 && t.n_rows == 1);
  lundi_table_free(&t);
  struct {
    const char *sql, *needle;
  } refused[] = {
    {"INSERT INTO runs(uuid, status) VALUES ('x', 'running')", "refused: INSERT into runs"},
    {"DELETE FROM runs", "refused: DELETE from runs"},
    {"UPDATE runs SET name = 'x'", "refused: UPDATE of runs"},
    {"DROP TABLE runs", "refused: "},
    {"CREATE TABLE t(x)", "refused: "},
    {"CREATE TEMP TABLE t(x)", "refused: "},
    {"ALTER TABLE runs ADD COLUMN y", "refused: ALTER TABLE"},
    {"ATTACH DATABASE '/tmp/lundi-evil.db' AS evil", "refused: ATTACH"},
    {"PRAGMA journal_mode = DELETE", "refused: PRAGMA journal_mode with a value"},
    {"PRAGMA user_version = 5", "refused: PRAGMA user_version with a value"},
    {"PRAGMA query_only = 0", "refused: PRAGMA query_only"},
    {"REINDEX", "refused: REINDEX"},
    {"ANALYZE", "refused: ANALYZE"},
    {"VACUUM", "refused: a statement that writes"},
    {"SELECT 1; DROP TABLE runs", "one statement at a time"},
    {"SELECT * FROM nope", "SQL error: no such table: nope"},
    {"   ; -- nothing", "no SQL statement given"},
    {"REPLACE INTO tags VALUES (1, 'a', 'b')", "refused: INSERT into tags"},
  };
  for (size_t i = 0; i < sizeof refused / sizeof refused[0]; i++) {
    lundi_clear_error();
    int rc = lundi_history_sql(db, refused[i].sql, &t);
    if (rc == 0 || !strstr(lundi_last_error(), refused[i].needle)) {
      t_failures++;
      fprintf(stderr, "%s: rc %d: %s (want %s)\n", refused[i].sql, rc, lundi_last_error(), refused[i].needle);
    }
    if (rc == 0) lundi_table_free(&t);
  }
  CHECK(!exists("/tmp/lundi-evil.db"));
  CHECK_ERR(lundi_history_sql("/nonexistent/x.db", "SELECT 1", &t), "does not exist");
  file_sha(db, after_sha);
  db_state(after, sizeof after);
  CHECK(!strcmp(before_sha, after_sha));
  CHECK(!strcmp(before, after) && strstr(after, ",ok"));
  teardown();
}

/* plugins.<kind> and plugins.<kind>.<param>: any plugin of the kind matches (a run may
 * train with one scheduler and sample with another). */
static void t_plugins(void) {
  setup(1);
  lundi_run *r = lundi_run_begin(S, &(lundi_run_info){.name = "two_scheds"});
  CHECK(r && lundi_run_plugin(r, "scheduler", "ddpm", "1", "{\"beta_end\":0.02}", "builtin") == 0);
  CHECK(lundi_run_plugin(r, "scheduler", "ddim", "1", "{\"eta\":0.5,\"timestep_spacing\":\"leading\"}", "builtin") == 0);
  CHECK(lundi_run_end(r, LUNDI_RUN_FINISHED, NULL) == 0);
  EXPECT("plugins.sampler = 'ddim'", "alpha");
  EXPECT("plugins.scheduler = 'ddim'", "two_scheds");
  EXPECT("plugins.scheduler = 'ddpm' and plugins.scheduler.eta > 0.25", "two_scheds");
  EXPECT("plugins.scheduler.eta = 0.5", "two_scheds");
  EXPECT("plugins.sampler.eta = 0", "alpha");
  EXPECT("plugins.scheduler.timestep_spacing LIKE 'lead%'", "two_scheds");
  EXPECT("plugins.scheduler IN ('euler', 'ddpm')", "two_scheds");
  EXPECT("plugins.scheduler IS NOT NULL", "two_scheds");
  EXPECT("plugins.sampler.eta IS NULL and name IN ('alpha', 'two_scheds')", "two_scheds");
  EXPECT("not plugins.sampler = 'ddim' and name IN ('alpha', 'beta')", "beta");
  EXPECT_ERR("plugins.sched = 'x'", "unknown plugin kind 'sched'", 1);
  /* compare: the names per kind and each parameter, differences marked */
  const char *refs[] = {"alpha", "two_scheds"};
  lundi_comparison c;
  CHECK(lundi_history_compare(S, refs, 2, &c) == 0);
  int seen = 0;
  for (int i = 0; i < c.n_rows; i++) {
    const lundi_cell *a = &c.cells[i * 2], *b = &c.cells[i * 2 + 1];
    if (!strcmp(c.fields[i], "plugins.scheduler")) {
      seen++;
      CHECK(a->type == LUNDI_CELL_NULL && b->type == LUNDI_CELL_TEXT && !strcmp(b->s, "ddpm, ddim") && c.differs[i]);
    }
    if (!strcmp(c.fields[i], "plugins.scheduler.ddim.eta")) {
      seen++;
      CHECK(b->type == LUNDI_CELL_REAL && b->d == 0.5 && c.differs[i]);
    }
    if (!strcmp(c.fields[i], "plugins.sampler.ddim.eta")) {
      seen++;
      CHECK(a->type == LUNDI_CELL_REAL && a->d == 0);
    }
  }
  CHECK(seen == 3);
  lundi_comparison_free(&c);
}

static const test_case TESTS[] = {
  {"operators", t_operators},     {"logic", t_logic},         {"quoting", t_quoting},
  {"types", t_types},             {"errors", t_errors},       {"order_errors", t_order_errors},
  {"malicious", t_malicious},     {"parameterised", t_parameterised},
  {"order_limit", t_order_limit}, {"columns", t_columns},     {"resolve", t_resolve},
  {"run_record", t_run_record},   {"metric_series", t_metric_series},
  {"compare", t_compare},         {"export", t_export},       {"which", t_which},
  {"gc", t_gc},                   {"set_tag_deleted", t_set_tag_deleted},
  {"sql", t_sql},                 {"plugins", t_plugins},
};
TEST_MAIN(TESTS)
