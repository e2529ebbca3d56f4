/* `lundi sql`: one statement, read-only by three locks: the connection is opened with
 * SQLITE_OPEN_READONLY and query_only, an authorizer refuses writes, ATTACH/DETACH and
 * PRAGMAs that set a value at prepare time, and sqlite3_stmt_readonly is checked before
 * the first step. */
#include "store/query_internal.h"

#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "lundi/error.h"

typedef struct auth_ctx {
  char why[256];
} auth_ctx;

/* PRAGMAs that take an argument but only read. */
static int reading_pragma(const char *name) {
  static const char *const ok[] = {"table_info",   "table_xinfo",       "index_list",        "index_info",
                                   "index_xinfo",  "foreign_key_list",  "foreign_key_check", "integrity_check",
                                   "quick_check",  "table_list",        "function_list",     "pragma_list",
                                   "module_list",  "collation_list",    "database_list",     "compile_options"};
  for (size_t i = 0; i < sizeof ok / sizeof ok[0]; i++)
    if (!strcasecmp(name, ok[i])) return 1;
  return 0;
}

static int authorize(void *ud, int action, const char *a, const char *b, const char *db, const char *trigger) {
  (void)db, (void)trigger;
  auth_ctx *ctx = ud;
  const char *what = NULL;
  switch (action) {
  case SQLITE_SELECT:
  case SQLITE_READ:
  case SQLITE_FUNCTION:
  case SQLITE_RECURSIVE:
  case SQLITE_TRANSACTION:
  case SQLITE_SAVEPOINT: return SQLITE_OK;
  case SQLITE_PRAGMA:
    if (!b || reading_pragma(a)) return SQLITE_OK;
    snprintf(ctx->why, sizeof ctx->why, "PRAGMA %s with a value", a);
    return SQLITE_DENY;
  case SQLITE_ATTACH: what = "ATTACH"; break;
  case SQLITE_DETACH: what = "DETACH"; break;
  case SQLITE_INSERT: what = "INSERT into"; break;
  case SQLITE_UPDATE: what = "UPDATE of"; break;
  case SQLITE_DELETE: what = "DELETE from"; break;
  case SQLITE_ALTER_TABLE: what = "ALTER TABLE"; break;
  case SQLITE_ANALYZE: what = "ANALYZE"; break;
  case SQLITE_REINDEX: what = "REINDEX"; break;
  default: what = "CREATE/DROP of"; break;
  }
  if (a && action != SQLITE_ATTACH) snprintf(ctx->why, sizeof ctx->why, "%s %s", what, a);
  else snprintf(ctx->why, sizeof ctx->why, "%s", what);
  return SQLITE_DENY;
}

static int refused(const char *why) {
  return lundi_set_error(LUNDI_EINVAL,
                         "refused: %s; 'lundi sql' only reads (SELECT, read-only PRAGMAs, EXPLAIN) and nothing was "
                         "changed",
                         why);
}

static const char *skip_blank(const char *s) {
  for (;;) {
    while (isspace((unsigned char)*s) || *s == ';') s++;
    if (s[0] == '-' && s[1] == '-') {
      while (*s && *s != '\n') s++;
    } else if (s[0] == '/' && s[1] == '*') {
      const char *e = strstr(s + 2, "*/");
      s = e ? e + 2 : s + strlen(s);
    } else {
      return s;
    }
  }
}

int lundi_history_sql(const char *db_path, const char *sql, lundi_table *out) {
  memset(out, 0, sizeof *out);
  db_path = lundi_store_default_path(db_path);
  if (!sql || !*skip_blank(sql)) return lundi_set_error(LUNDI_EINVAL, "no SQL statement given");
  struct stat sb;
  if (stat(db_path, &sb) != 0)
    return lundi_set_error(LUNDI_EIO, "%s does not exist; nothing has been recorded there yet (pick the file with --db)",
                           db_path);
  sqlite3 *db = NULL;
  if (sqlite3_open_v2(db_path, &db, SQLITE_OPEN_READONLY | SQLITE_OPEN_NOMUTEX, NULL) != SQLITE_OK) {
    int rc = lundi_set_error(LUNDI_EIO, "cannot open %s: %s", db_path, db ? sqlite3_errmsg(db) : "out of memory");
    sqlite3_close(db);
    return rc;
  }
  sqlite3_busy_timeout(db, 5000);
  int rc = 0;
  if (sqlite3_exec(db, "PRAGMA query_only = 1", NULL, NULL, NULL) != SQLITE_OK) {
    rc = q_sqlerr(db, "opening read-only");
    sqlite3_close(db);
    return rc;
  }
  auth_ctx ctx = {{0}};
  sqlite3_set_authorizer(db, authorize, &ctx);
  sqlite3_stmt *st = NULL;
  const char *tail = NULL;
  int prc = sqlite3_prepare_v2(db, sql, -1, &st, &tail);
  if (prc != SQLITE_OK) {
    if (ctx.why[0]) rc = refused(ctx.why);
    else rc = lundi_set_error(LUNDI_EINVAL, "SQL error: %s", sqlite3_errmsg(db));
  } else if (!st) {
    rc = lundi_set_error(LUNDI_EINVAL, "no SQL statement given");
  } else if (tail && *skip_blank(tail)) {
    rc = lundi_set_error(LUNDI_EINVAL, "one statement at a time: found more after it: '%.40s'", skip_blank(tail));
  } else if (!sqlite3_stmt_readonly(st)) {
    rc = refused("a statement that writes");
  } else {
    rc = q_collect(db, st, out);
    if (rc) lundi_table_free(out);
  }
  sqlite3_finalize(st);
  sqlite3_close(db);
  return rc;
}
