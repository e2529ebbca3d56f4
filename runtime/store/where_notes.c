/* Why a --where matched nothing, when the reason is a key no run has: a mistyped
 * params.stepz otherwise reads as "no runs match", which sends the user looking at values. */
#include "store/query_internal.h"
#include "store/store_internal.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "lundi/error.h"

static const char *const kind_word[] = {"metrics", "params", "tags"};
static const char *const kind_table[] = {"metric_summary", "params", "tags"};

/* Appends "no run has params.stepz (did you mean params.steps?)\n" when key is absent. */
static int note_key(sqlite3 *db, const qfield *f, char *out, size_t cap) {
  char sql[160];
  snprintf(sql, sizeof sql, "SELECT DISTINCT key FROM %s", kind_table[f->kind]);
  sqlite3_stmt *st = NULL;
  if (sqlite3_prepare_v2(db, sql, -1, &st, NULL) != SQLITE_OK) return q_sqlerr(db, "listing keys");
  const char *word = kind_word[f->kind];
  char best[256] = "";
  int best_d = 99, found = 0;
  while (!found && sqlite3_step(st) == SQLITE_ROW) {
    const char *k = (const char *)sqlite3_column_text(st, 0);
    if (!k) continue;
    if (!strcmp(k, f->key)) found = 1;
    int d = q_distance(k, f->key);
    size_t longer = strlen(k) > strlen(f->key) ? strlen(k) : strlen(f->key);
    if (d < best_d && d <= 2 && (size_t)d * 3 <= longer) {
      best_d = d;
      snprintf(best, sizeof best, "%s", k);
    }
  }
  sqlite3_finalize(st);
  if (found) return 0;
  size_t used = strlen(out);
  if (*best) snprintf(out + used, cap - used, "no run has %s.%s (did you mean %s.%s?)\n", word, f->key, word, best);
  else snprintf(out + used, cap - used, "no run has %s.%s\n", word, f->key);
  return 0;
}

int lundi_history_missing_keys(lundi_store *s, const char *where, char **note) {
  *note = NULL;
  sqlite3 *db = lundi__store_db(s);
  if (!db) return lundi_set_error(LUNDI_EINVAL, "lundi_history_missing_keys: no store");
  lundi_filter f;
  int col = 0, rc = lundi_filter_compile(where, &f, &col);
  if (rc) return rc;
  char text[2048] = ""; /* a note per field the filter reads: short */
  for (int i = 0; i < f.n_fields && !rc; i++) {
    qfield *fields = NULL;
    int n = 0;
    if ((rc = q_parse_columns(f.fields[i], &fields, &n, &col))) break;
    if (n == 1 && fields[0].kind <= Q_TAG) rc = note_key(db, &fields[0], text, sizeof text);
    for (int k = 0; k < n; k++) q_field_clear(&fields[k]);
    free(fields);
  }
  lundi_filter_free(&f);
  if (rc || !*text) return rc;
  if (!(*note = strdup(text))) return lundi_set_error(LUNDI_ENOMEM, "out of memory");
  return 0;
}
