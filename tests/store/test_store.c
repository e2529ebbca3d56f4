/* The store's writing side: open, pragmas, schema version and migration, refusals that
 * leave files untouched, the round trip of every table, and the metric flush policy. */
#include "store_util.h"

#include "lundi/history.h"

#include <signal.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>

static void sha256_known_answers(void) {
  char h[65];
  lundi_sha256_hex("abc", 3, h); /* FIPS 180-2 example */
  CHECK(strcmp(h, "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad") == 0);
  lundi_sha256_hex("", 0, h);
  CHECK(strcmp(h, "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855") == 0);
}

static void default_path(void) {
  unsetenv("LUNDI_DB");
  CHECK(strcmp(lundi_store_default_path(NULL), "./lundi.db") == 0);
  setenv("LUNDI_DB", "/x/y.db", 1);
  CHECK(strcmp(lundi_store_default_path(NULL), "/x/y.db") == 0);
  CHECK(strcmp(lundi_store_default_path("a.db"), "a.db") == 0);
  unsetenv("LUNDI_DB");
}

static void open_creates_schema(void) {
  const char *p = t_path("new.db");
  lundi_store *s = lundi_store_open(p, 0);
  CHECK(s != NULL);
  if (!s) return;
  CHECK(lundi_store_schema_version(s) == LUNDI_STORE_SCHEMA_VERSION);
  CHECK(strcmp(lundi_store_path(s), p) == 0);
  sqlite3 *db = lundi__store_db(s);
  CHECK(q_text_is(db, "PRAGMA journal_mode", "wal"));
  CHECK(q_int(db, "PRAGMA foreign_keys") == 1);
  CHECK(q_int(db, "PRAGMA synchronous") == 1); /* NORMAL */
  CHECK(q_int(db, "PRAGMA user_version") == LUNDI_STORE_SCHEMA_VERSION);
  const char *tables[] = {"runs", "params", "metrics", "metric_summary", "tags", "outputs", "plugins_used",
                          "plugin_files"};
  for (int i = 0; i < 8; i++) {
    char sql[200];
    snprintf(sql, sizeof sql, "SELECT count(*) FROM sqlite_schema WHERE type='table' AND name='%s'", tables[i]);
    CHECK(q_int(db, sql) == 1);
  }
  CHECK(q_int(db, "SELECT count(*) FROM pragma_table_info('outputs') WHERE name='metadata'") == 1);
  /* Hot-path indexes: the query planner must use them, not scan. */
  struct { const char *sql, *index; } plans[] = {
      {"SELECT * FROM metrics WHERE run_id=1 AND key='loss' ORDER BY step", "metrics_run_key_step"},
      {"SELECT * FROM runs WHERE status='finished'", "runs_status"},
      {"SELECT * FROM runs ORDER BY start_time DESC LIMIT 5", "runs_start_time"},
      {"SELECT run_id FROM params WHERE key='sampler' AND value='ddim'", "params_key_value"},
      {"SELECT run_id FROM tags WHERE key='model' AND value='unet'", "tags_key_value"},
      {"SELECT run_id FROM metric_summary WHERE key='loss' AND last_value < 0.05", "metric_summary_key_last"},
      {"SELECT id FROM outputs WHERE sha256='ab'", "outputs_sha256"},
  };
  for (size_t i = 0; i < sizeof plans / sizeof plans[0]; i++) {
    char sql[400];
    snprintf(sql, sizeof sql, "EXPLAIN QUERY PLAN %s", plans[i].sql);
    sqlite3_stmt *st = NULL;
    int found = 0;
    sqlite3_prepare_v2(db, sql, -1, &st, NULL);
    while (sqlite3_step(st) == SQLITE_ROW)
      if (strstr((const char *)sqlite3_column_text(st, 3), plans[i].index)) found = 1;
    sqlite3_finalize(st);
    if (!found) fprintf(stderr, "no %s in the plan of %s\n", plans[i].index, plans[i].sql);
    CHECK(found);
  }
  lundi_store_close(s);
  /* Reopening changes nothing and keeps the version. */
  s = lundi_store_open(p, 0);
  CHECK(s && lundi_store_schema_version(s) == LUNDI_STORE_SCHEMA_VERSION);
  lundi_store_close(s);
  s = lundi_store_open(p, LUNDI_STORE_READONLY);
  CHECK(s != NULL);
  CHECK(lundi_run_begin(s, NULL) == NULL); /* read-only handles record nothing */
  lundi_store_close(s);
  lundi_store_close(NULL);
}

/* Builds a version-1 file the way an older lundi left it, with rows in every table. */
static void make_v1(const char *p) {
  sqlite3 *db = NULL;
  sqlite3_open(p, &db);
  sqlite3_exec(db, "PRAGMA journal_mode=WAL", NULL, NULL, NULL);
  CHECK(lundi__store_migrate(db, 1) == 0);
  CHECK(q_int(db, "PRAGMA user_version") == 1);
  CHECK(q_int(db, "SELECT count(*) FROM sqlite_schema WHERE name='metric_summary'") == 0);
  const char *rows =
      "INSERT INTO runs(id, uuid, name, status, start_time, end_time, host, pid) VALUES"
      " (1, 'u-1', 'a', 'finished', 10, 20, 'h', 1), (2, 'u-2', 'b', 'failed', 30, 40, 'h', 1);"
      "INSERT INTO params VALUES (1, 'lr', '0.1', 'float'), (2, 'sampler', 'ddim', 'string');"
      "INSERT INTO tags VALUES (1, 'model', 'unet');"
      "INSERT INTO outputs(run_id, kind, name, mime, sha256, size, data) VALUES"
      " (1, 'text', 'note', 'text/plain', 'x', 2, X'6869');"
      "INSERT INTO plugins_used VALUES (1, 'sampler', 'ddim', '1', '{}', 'builtin');"
      /* loss for run 1: steps logged out of order, a tie at step 3 (the later wins) */
      "INSERT INTO metrics(rowid, run_id, key, step, value, wall_time) VALUES"
      " (1, 1, 'loss', 0, 1.0, 11), (2, 1, 'loss', 3, 0.5, 12), (3, 1, 'loss', 1, 0.25, 13),"
      " (4, 1, 'loss', 3, 0.75, 14), (5, 1, 'lr', 0, 0.001, 11), (6, 2, 'loss', 7, 2.0, 31);";
  CHECK(sqlite3_exec(db, rows, NULL, NULL, NULL) == SQLITE_OK);
  sqlite3_close(db);
}

static void migrate_from_v1(void) {
  const char *p = t_path("v1.db");
  make_v1(p);
  lundi_store *s = lundi_store_open(p, 0);
  CHECK(s != NULL);
  if (!s) return;
  sqlite3 *db = lundi__store_db(s);
  CHECK(q_int(db, "PRAGMA user_version") == LUNDI_STORE_SCHEMA_VERSION);
  CHECK(q_int(db, "SELECT count(*) FROM runs") == 2);
  CHECK(q_text_is(db, "SELECT status FROM runs WHERE uuid='u-2'", "failed"));
  CHECK(q_int(db, "SELECT count(*) FROM params") == 2);
  CHECK(q_int(db, "SELECT count(*) FROM tags") == 1);
  CHECK(q_int(db, "SELECT count(*) FROM plugins_used") == 1);
  CHECK(q_int(db, "SELECT count(*) FROM metrics") == 6);
  CHECK(q_text_is(db, "SELECT data FROM outputs", "hi"));
  CHECK(q_int(db, "SELECT count(*) FROM outputs WHERE metadata IS NULL") == 1);
  /* Backfilled summary: count, last by highest step (latest on ties), min, max. */
  CHECK(q_int(db, "SELECT count(*) FROM metric_summary") == 3);
  CHECK(q_int(db, "SELECT count FROM metric_summary WHERE run_id=1 AND key='loss'") == 4);
  CHECK(q_int(db, "SELECT last_step FROM metric_summary WHERE run_id=1 AND key='loss'") == 3);
  CHECK_NEAR(q_double(db, "SELECT last_value FROM metric_summary WHERE run_id=1 AND key='loss'"), 0.75, 0);
  CHECK_NEAR(q_double(db, "SELECT min_value FROM metric_summary WHERE run_id=1 AND key='loss'"), 0.25, 0);
  CHECK_NEAR(q_double(db, "SELECT max_value FROM metric_summary WHERE run_id=1 AND key='loss'"), 1.0, 0);
  CHECK_NEAR(q_double(db, "SELECT last_value FROM metric_summary WHERE run_id=2 AND key='loss'"), 2.0, 0);
  /* New rows keep the summary current on top of the backfill. */
  lundi_run *r = lundi_run_begin(s, NULL);
  CHECK(r != NULL);
  CHECK(lundi_run_log(r, "loss", 1, 0.125) == 0);
  CHECK(lundi_run_end(r, LUNDI_RUN_FINISHED, NULL) == 0);
  CHECK(q_int(db, "SELECT count(*) FROM runs") == 3);
  lundi_store_close(s);
}

/* A version-2 file (before runs.cwd and plugin_files) migrates; its runs read with no cwd
 * and no files, and new runs record both. */
static void migrate_from_v2(void) {
  const char *p = t_path("v2.db");
  sqlite3 *db = NULL;
  sqlite3_open(p, &db);
  sqlite3_exec(db, "PRAGMA journal_mode=WAL", NULL, NULL, NULL);
  CHECK(lundi__store_migrate(db, 2) == 0);
  CHECK(q_int(db, "SELECT count(*) FROM pragma_table_info('runs') WHERE name='cwd'") == 0);
  CHECK(sqlite3_exec(db, "INSERT INTO runs(id, uuid, name, status, start_time, host, pid)"
                         " VALUES (1, 'u-1', 'old', 'finished', 10, 'h', 1)", NULL, NULL, NULL) == SQLITE_OK);
  sqlite3_close(db);
  lundi_store *s = lundi_store_open(p, 0);
  CHECK(s != NULL);
  if (!s) return;
  db = lundi__store_db(s);
  CHECK(q_int(db, "PRAGMA user_version") == LUNDI_STORE_SCHEMA_VERSION);
  CHECK(q_int(db, "SELECT count(*) FROM runs WHERE cwd IS NULL") == 1);
  CHECK(q_int(db, "SELECT count(*) FROM plugin_files") == 0);
  lundi_run_record *rec = NULL;
  CHECK(lundi_history_run(s, "1", &rec) == 0);
  CHECK(rec && rec->cwd == NULL && rec->n_files == 0 && rec->files == NULL);
  lundi_run_record_free(rec);
  lundi_run *r = lundi_run_begin(s, NULL);
  CHECK(r != NULL);
  CHECK(lundi_run_end(r, LUNDI_RUN_FINISHED, NULL) == 0);
  CHECK(q_int(db, "SELECT count(*) FROM runs WHERE cwd IS NOT NULL") == 1);
  lundi_store_close(s);
}

/* lundi_run_plugin_file: absolute path, sha256 of the bytes, the role; the first row of a
 * path is kept; a bad role or an unreadable file is an error naming it. lundi_history_run
 * reads them back in order, with the working directory. */
static void plugin_files(void) {
  const char *p = t_path("files.db");
  char here[4096], a[600], b[600];
  CHECK(getcwd(here, sizeof here) != NULL);
  snprintf(a, sizeof a, "%s", t_path("a.so"));
  snprintf(b, sizeof b, "%s", t_path("b.lua"));
  write_file(a, "abc", 3);
  write_file(b, "", 0);
  char h[65];
  CHECK(lundi_sha256_file(a, h) == 0 && !strcmp(h, "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad"));
  CHECK(lundi_sha256_file(t_path("none"), h) != 0 && h[0] == 0);
  lundi_store *s = lundi_store_open(p, 0);
  CHECK(s != NULL);
  if (!s) return;
  lundi_run *r = lundi_run_begin(s, NULL);
  CHECK(r != NULL);
  if (!r) return;
  CHECK(chdir(t_dir) == 0); /* a relative path is taken from the working directory */
  CHECK(lundi_run_plugin_file(r, "./a.so", "plugin") == 0);
  CHECK(chdir(here) == 0);
  CHECK(lundi_run_plugin_file(r, b, "lua") == 0);
  CHECK(lundi_run_plugin_file(r, a, "path") == 0); /* recorded already: kept as first */
  CHECK(lundi_run_plugin_file(r, a, "script") == LUNDI_EINVAL);
  CHECK(strstr(lundi_last_error(), "role 'script'") != NULL);
  CHECK_ERR(lundi_run_plugin_file(r, t_path("gone.so"), "plugin") != 0, "gone.so");
  CHECK(lundi_run_end(r, LUNDI_RUN_FINISHED, NULL) == 0);
  lundi_run_record *rec = NULL;
  CHECK(lundi_history_run(s, "last", &rec) == 0);
  if (rec) {
    CHECK(rec->cwd && !strcmp(rec->cwd, here));
    CHECK(rec->n_files == 2);
    if (rec->n_files == 2) {
      char *ra = realpath(a, NULL), *rb = realpath(b, NULL);
      CHECK(ra && !strcmp(rec->files[0].path, ra) && !strcmp(rec->files[0].role, "plugin"));
      CHECK(!strcmp(rec->files[0].sha256, "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad"));
      CHECK(rb && !strcmp(rec->files[1].path, rb) && !strcmp(rec->files[1].role, "lua"));
      CHECK(!strcmp(rec->files[1].sha256, "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855"));
      free(ra), free(rb);
    }
  }
  lundi_run_record_free(rec);
  lundi_store_close(s);
}

static void newer_version_refused(void) {
  const char *p = t_path("new.db");
  lundi_store_close(lundi_store_open(p, 0));
  sqlite3 *db = raw_open(p);
  sqlite3_exec(db, "PRAGMA user_version = 7", NULL, NULL, NULL);
  sqlite3_close(db);
  char before[65], after[65];
  file_sha(p, before);
  CHECK_ERR(lundi_store_open(p, 0), "has schema version 7; this lundi");
  CHECK(strstr(lundi_last_error(), "supports up to 3; upgrade lundi") != NULL);
  CHECK(strstr(lundi_last_error(), p) != NULL);
  CHECK_ERR(lundi_store_open(p, LUNDI_STORE_READONLY), "upgrade lundi");
  file_sha(p, after);
  CHECK(strcmp(before, after) == 0);
}

static void corrupt_random_bytes(void) {
  const char *p = t_path("junk.db");
  unsigned char junk[8192];
  srand(7);
  for (size_t i = 0; i < sizeof junk; i++) junk[i] = (unsigned char)rand();
  write_file(p, junk, sizeof junk);
  char before[65], after[65];
  file_sha(p, before);
  CHECK_ERR(lundi_store_open(p, 0), "is not a usable lundi database (file is not a database)");
  CHECK(strstr(lundi_last_error(), p) && strstr(lundi_last_error(), "left untouched"));
  CHECK(lundi_last_error_code() == LUNDI_EFORMAT);
  CHECK_ERR(lundi_store_open(p, LUNDI_STORE_READONLY), "not a usable lundi database");
  file_sha(p, after);
  CHECK(strcmp(before, after) == 0);
  CHECK(access(t_path("junk.db-wal"), F_OK) != 0);
  /* An SQLite file that is not ours is refused the same way. */
  const char *q = t_path("other.db");
  sqlite3 *db = raw_open(q);
  sqlite3_exec(db, "CREATE TABLE t(x); INSERT INTO t VALUES (1)", NULL, NULL, NULL);
  sqlite3_close(db);
  file_sha(q, before);
  CHECK_ERR(lundi_store_open(q, 0), "not a lundi store");
  file_sha(q, after);
  CHECK(strcmp(before, after) == 0);
}

static void corrupt_truncated(void) {
  const char *p = t_path("trunc.db");
  lundi_store *s = lundi_store_open(p, 0);
  lundi_run *r = lundi_run_begin(s, NULL);
  for (int i = 0; i < 20000; i++) lundi_run_log(r, "loss", i, 1.0 / (i + 1));
  CHECK(lundi_run_end(r, LUNDI_RUN_FINISHED, NULL) == 0);
  lundi_store_close(s); /* checkpoints the WAL into the file and removes -wal */
  size_t n = 0;
  unsigned char *b = read_all(p, &n);
  CHECK(n > 100000);
  write_file(p, b, n / 2);
  free(b);
  char before[65], after[65];
  file_sha(p, before);
  CHECK_ERR(lundi_store_open(p, 0), "truncated");
  CHECK(strstr(lundi_last_error(), p) && strstr(lundi_last_error(), "left untouched"));
  file_sha(p, after);
  CHECK(strcmp(before, after) == 0);
}

/* Root ignores file modes, so the permission checks run in a child that drops to nobody. */
static int as_nobody(void (*fn)(void)) {
  pid_t pid = fork();
  if (pid == 0) {
    if (geteuid() == 0 && (setgid(65534) != 0 || setuid(65534) != 0)) _exit(3);
    t_failures = 0;
    fn();
    _exit(t_failures ? 1 : 0);
  }
  int st = 0;
  waitpid(pid, &st, 0);
  return WIFEXITED(st) ? WEXITSTATUS(st) : 99;
}

static const char *ro_path;
static void ro_child_file(void) {
  char before[65], after[65];
  file_sha(ro_path, before);
  CHECK_ERR(lundi_store_open(ro_path, 0), "is read-only");
  CHECK(strstr(lundi_last_error(), ro_path) && strstr(lundi_last_error(), "--no-record"));
  /* Reading a WAL file whose directory is writable but file is not works read-only. */
  lundi_store *s = lundi_store_open(ro_path, LUNDI_STORE_READONLY);
  CHECK(s != NULL);
  if (s) CHECK(q_int(lundi__store_db(s), "SELECT count(*) FROM metrics") == 3);
  lundi_store_close(s);
  file_sha(ro_path, after);
  CHECK(strcmp(before, after) == 0);
}
static void ro_child_dir(void) {
  CHECK_ERR(lundi_store_open(ro_path, 0), "is not writable");
  CHECK(strstr(lundi_last_error(), "-wal/-shm"));
  lundi_store *s = lundi_store_open(ro_path, LUNDI_STORE_READONLY);
  CHECK(s != NULL);
  if (s) CHECK(q_int(lundi__store_db(s), "SELECT count(*) FROM metrics") == 3);
  lundi_store_close(s);
}

static void read_only_file(void) {
  const char *p = t_path("ro.db");
  lundi_store *s = lundi_store_open(p, 0);
  lundi_run *r = lundi_run_begin(s, NULL);
  for (int i = 0; i < 3; i++) lundi_run_log(r, "loss", i, i);
  lundi_run_end(r, LUNDI_RUN_FINISHED, NULL);
  lundi_store_close(s);
  ro_path = p;
  chmod(t_dir, 0777);
  chmod(p, 0444);
  CHECK(as_nobody(ro_child_file) == 0);
  chmod(p, 0666);
  chmod(t_dir, 0555);
  CHECK(as_nobody(ro_child_dir) == 0);
  chmod(t_dir, 0700);
  CHECK_ERR(lundi_store_open(t_path("absent.db"), LUNDI_STORE_READONLY), "does not exist");
}

static void round_trip(void) {
  const char *p = t_path("rt.db");
  lundi_store *s = lundi_store_open(p, 0);
  CHECK(s != NULL);
  if (!s) return;
  const char *script = "print('hi')\n";
  lundi_run_info info = {.name = "trial", .script_path = "/x/t.lua", .script_text = script,
                         .device = "cpu", .seed = 42};
  double t0 = lundi__store_now();
  lundi_run *r = lundi_run_begin(s, &info);
  CHECK(r != NULL);
  if (!r) return;
  int64_t id = lundi_run_id(r);
  char uuid[37];
  snprintf(uuid, sizeof uuid, "%s", lundi_run_uuid(r));
  CHECK(strlen(uuid) == 36 && uuid[14] == '4' && strchr("89ab", uuid[19]));
  sqlite3 *db = lundi__store_db(s);
  char sql[300];
  snprintf(sql, sizeof sql, "SELECT status FROM runs WHERE id=%lld", (long long)id);
  CHECK(q_text_is(db, sql, "running"));
  CHECK(lundi_run_param(r, "lr", "0.1", "float") == 0);
  CHECK(lundi_run_param(r, "lr", "0.2", "float") == 0); /* last wins */
  CHECK(lundi_run_param(r, "steps", "50", "int") == 0);
  CHECK(lundi_run_param(r, "q", "it's; DROP TABLE runs; --", "string") == 0);
  CHECK(lundi_run_param(r, "x", "1", "complex") == LUNDI_EINVAL);
  CHECK(lundi_run_tag(r, "model", "unet") == 0);
  CHECK(lundi_run_plugin(r, "sampler", "ddim", "1.0", "{\"eta\":0}", "builtin") == 0);
  for (int i = 0; i < 10; i++) CHECK(lundi_run_log(r, "loss", i, 1.0 / (i + 1)) == 0);
  CHECK(lundi_run_log(r, "nan", 0, NAN) == 0);
  CHECK(lundi_run_log(r, "nan", 1, INFINITY) == 0);
  CHECK(lundi_run_log(r, "", 1, 1) == LUNDI_EINVAL);
  int64_t small_id = -1, big_id = -1;
  CHECK(lundi_run_output(r, "text", "note", "text/plain", "hello", 5, "{\"a\":1}", &small_id) == 0);
  size_t big = LUNDI_STORE_INLINE_MAX + 1;
  unsigned char *data = malloc(big);
  for (size_t i = 0; i < big; i++) data[i] = (unsigned char)(i * 31 + 7);
  char sha[65];
  lundi_sha256_hex(data, big, sha);
  CHECK(lundi_run_output(r, "checkpoint", "ck", "application/x-safetensors", data, big, NULL, &big_id) == 0);
  CHECK(lundi_run_output(r, "file", "ck2", NULL, data, big, NULL, NULL) == 0); /* same blob twice */
  CHECK(lundi_run_output(r, "video", "v", NULL, "x", 1, NULL, NULL) == LUNDI_EINVAL);
  CHECK(small_id > 0 && big_id > small_id);
  CHECK(lundi_run_end(r, LUNDI_RUN_FINISHED, "done") == 0);
  CHECK(lundi_run_end(NULL, LUNDI_RUN_FINISHED, NULL) == 0);

  snprintf(sql, sizeof sql, "SELECT name || '|' || script_path || '|' || script_sha256 || '|' || script_text"
                            " || '|' || device || '|' || seed || '|' || status || '|' || exit_message"
                            " || '|' || lundi_version || '|' || pid FROM runs WHERE id=%lld", (long long)id);
  char want[400], ssha[65];
  lundi_sha256_hex(script, strlen(script), ssha);
  snprintf(want, sizeof want, "trial|/x/t.lua|%s|%s|cpu|42|finished|done|%s|%d", ssha, script,
           lundi_version(), (int)getpid());
  CHECK(q_text_is(db, sql, want));
  double st = q_double(db, "SELECT start_time FROM runs"), et = q_double(db, "SELECT end_time FROM runs");
  CHECK(st >= t0 - 1 && et >= st && et <= lundi__store_now() + 1);
  CHECK(q_text_is(db, "SELECT group_concat(key || '=' || value || ':' || type, ',') FROM"
                      " (SELECT * FROM params ORDER BY key)",
                  "lr=0.2:float,q=it's; DROP TABLE runs; --:string,steps=50:int"));
  CHECK(q_text_is(db, "SELECT value FROM tags WHERE key='model'", "unet"));
  CHECK(q_text_is(db, "SELECT kind||name||version||params||origin FROM plugins_used",
                  "samplerddim1.0{\"eta\":0}builtin"));
  CHECK(q_int(db, "SELECT count(*) FROM metrics WHERE key='loss'") == 10);
  CHECK_NEAR(q_double(db, "SELECT sum(value) FROM metrics WHERE key='loss'"), 2.9289682539682538, 1e-12);
  CHECK(q_int(db, "SELECT count(*) FROM metrics WHERE key='nan' AND value IS NULL") == 1); /* SQLite: NaN is NULL */
  CHECK(q_double(db, "SELECT value FROM metrics WHERE key='nan' AND step=1") > 1e308);
  CHECK(q_int(db, "SELECT count(*) FROM metrics m JOIN runs r ON r.id = m.run_id"
                  " WHERE m.wall_time < r.start_time OR m.wall_time > r.end_time") == 0);
  CHECK(q_int(db, "SELECT count FROM metric_summary WHERE key='loss'") == 10);
  CHECK_NEAR(q_double(db, "SELECT last_value FROM metric_summary WHERE key='loss'"), 0.1, 1e-15);
  CHECK_NEAR(q_double(db, "SELECT min_value FROM metric_summary WHERE key='loss'"), 0.1, 1e-15);
  CHECK_NEAR(q_double(db, "SELECT max_value FROM metric_summary WHERE key='loss'"), 1.0, 0);
  CHECK(q_int(db, "SELECT count FROM metric_summary WHERE key='nan'") == 2);
  CHECK(q_double(db, "SELECT min_value FROM metric_summary WHERE key='nan'") > 1e308);
  /* Outputs: inline below the threshold, a blob file above it. */
  CHECK(q_text_is(db, "SELECT data FROM outputs WHERE name='note'", "hello"));
  CHECK(q_text_is(db, "SELECT metadata FROM outputs WHERE name='note'", "{\"a\":1}"));
  CHECK(q_int(db, "SELECT size FROM outputs WHERE name='note'") == 5);
  char hsha[65];
  lundi_sha256_hex("hello", 5, hsha);
  CHECK(q_text_is(db, "SELECT sha256 FROM outputs WHERE name='note'", hsha));
  CHECK(q_int(db, "SELECT count(*) FROM outputs WHERE name='ck' AND data IS NULL") == 1);
  CHECK(q_text_is(db, "SELECT sha256 FROM outputs WHERE name='ck'", sha));
  CHECK(q_int(db, "SELECT size FROM outputs WHERE name='ck'") == (sqlite3_int64)big);
  char rel[200], blob[600];
  snprintf(rel, sizeof rel, "rt.db.blobs/%.2s/%s", sha, sha);
  CHECK(q_text_is(db, "SELECT path FROM outputs WHERE name='ck'", rel));
  CHECK(q_text_is(db, "SELECT path FROM outputs WHERE name='ck2'", rel));
  snprintf(blob, sizeof blob, "%s/%s", t_dir, rel);
  char fsha[65];
  file_sha(blob, fsha);
  CHECK(strcmp(fsha, sha) == 0);
  free(data);
  /* Foreign keys cascade from runs. */
  CHECK(sqlite3_exec(db, "DELETE FROM runs", NULL, NULL, NULL) == SQLITE_OK);
  CHECK(q_int(db, "SELECT (SELECT count(*) FROM metrics) + (SELECT count(*) FROM params) +"
                  " (SELECT count(*) FROM outputs) + (SELECT count(*) FROM metric_summary)") == 0);
  lundi_store_close(s);
}

static void flush_every_n(void) {
  lundi_store *s = lundi_store_open(t_path("n.db"), 0);
  lundi_run *r = lundi_run_begin(s, NULL);
  sqlite3 *db = raw_open(t_path("n.db")); /* another connection sees only what is committed */
  for (int i = 0; i < LUNDI_RUN_FLUSH_EVERY - 1; i++) CHECK(lundi_run_log(r, "a", i, i) == 0);
  CHECK(q_int(db, "SELECT count(*) FROM metrics") == 0);
  CHECK(lundi_run_log(r, "a", LUNDI_RUN_FLUSH_EVERY, 0) == 0);
  CHECK(q_int(db, "SELECT count(*) FROM metrics") == LUNDI_RUN_FLUSH_EVERY);
  CHECK(q_int(db, "SELECT count FROM metric_summary") == LUNDI_RUN_FLUSH_EVERY);
  CHECK(lundi_run_log(r, "a", 1, 5) == 0);
  CHECK(q_int(db, "SELECT count(*) FROM metrics") == LUNDI_RUN_FLUSH_EVERY);
  CHECK(lundi_run_flush(r) == 0);
  CHECK(q_int(db, "SELECT count(*) FROM metrics") == LUNDI_RUN_FLUSH_EVERY + 1);
  CHECK(lundi_run_flush(r) == 0); /* empty: nothing to do */
  CHECK(lundi_run_log(r, "b", 0, 1) == 0);
  CHECK(lundi_run_end(r, LUNDI_RUN_INTERRUPTED, NULL) == 0);
  CHECK(q_int(db, "SELECT count(*) FROM metrics") == LUNDI_RUN_FLUSH_EVERY + 2);
  CHECK(q_text_is(db, "SELECT status FROM runs", "interrupted"));
  sqlite3_close(db);
  lundi_store_close(s);
}

static void flush_after_one_second(void) {
  lundi_store *s = lundi_store_open(t_path("t.db"), 0);
  lundi_run *r = lundi_run_begin(s, NULL);
  sqlite3 *db = raw_open(t_path("t.db"));
  CHECK(lundi_run_log(r, "a", 0, 1) == 0);
  CHECK(lundi_run_log(r, "a", 1, 1) == 0);
  CHECK(q_int(db, "SELECT count(*) FROM metrics") == 0);
  struct timespec ts = {1, 100000000};
  nanosleep(&ts, NULL);
  CHECK(q_int(db, "SELECT count(*) FROM metrics") == 0); /* no timer thread: a log call flushes */
  CHECK(lundi_run_log(r, "a", 2, 1) == 0);
  CHECK(q_int(db, "SELECT count(*) FROM metrics") == 3);
  CHECK(lundi_run_log(r, "a", 3, 1) == 0);
  CHECK(q_int(db, "SELECT count(*) FROM metrics") == 3);
  lundi_run_end(r, LUNDI_RUN_FINISHED, NULL);
  sqlite3_close(db);
  lundi_store_close(s);
}

/* A flush that cannot write (the database hits its page limit: SQLITE_FULL, as on a full
 * disk) keeps every value; once space is back the next flush writes them all. */
static void failed_flush_keeps_buffer(void) {
  lundi_store *s = lundi_store_open(t_path("full.db"), 0);
  lundi_run *r = lundi_run_begin(s, NULL);
  sqlite3 *db = lundi__store_db(s);
  sqlite3_int64 pages = q_int(db, "PRAGMA page_count");
  char sql[80];
  snprintf(sql, sizeof sql, "PRAGMA max_page_count = %lld", (long long)pages);
  q_int(db, sql);
  int failures = 0;
  for (int i = 0; i < 3 * LUNDI_RUN_FLUSH_EVERY; i++)
    if (lundi_run_log(r, "loss", i, i) != 0) {
      failures++;
      CHECK(strstr(lundi_last_error(), "full") != NULL);
      CHECK(strstr(lundi_last_error(), "kept in memory") != NULL);
    }
  CHECK(failures >= 1 && failures <= 3); /* retried once per batch, not on every call */
  CHECK_ERR(lundi_run_flush(r) != 0, "database or disk is full");
  CHECK(strstr(lundi_last_error(), "full.db") != NULL);
  CHECK(q_int(db, "SELECT count(*) FROM metrics") == 0);
  q_int(db, "PRAGMA max_page_count = 1000000");
  CHECK(lundi_run_flush(r) == 0);
  CHECK(q_int(db, "SELECT count(*) FROM metrics") == 3 * LUNDI_RUN_FLUSH_EVERY);
  CHECK(q_int(db, "SELECT sum(step) FROM metrics") == (3LL * LUNDI_RUN_FLUSH_EVERY - 1) * 3 * LUNDI_RUN_FLUSH_EVERY / 2);
  CHECK(q_int(db, "SELECT count FROM metric_summary") == 3 * LUNDI_RUN_FLUSH_EVERY);
  CHECK(lundi_run_end(r, LUNDI_RUN_FINISHED, NULL) == 0);
  lundi_store_close(s);
}

/* A run left "running" by a pid that is gone is reaped on open; a live one is not. */
static void reap_dead_pid(void) {
  const char *p = t_path("reap.db");
  lundi_store *s = lundi_store_open(p, 0);
  lundi_run *live = lundi_run_begin(s, NULL);
  lundi_run *dead = lundi_run_begin(s, NULL);
  CHECK(lundi_run_log(dead, "loss", 0, 1) == 0);
  CHECK(lundi_run_flush(dead) == 0);
  pid_t child = fork();
  if (child == 0) _exit(0);
  waitpid(child, NULL, 0); /* child's pid is now free */
  sqlite3 *db = lundi__store_db(s);
  char sql[160];
  snprintf(sql, sizeof sql, "UPDATE runs SET pid = %d WHERE id = %lld", (int)child, (long long)lundi_run_id(dead));
  CHECK(sqlite3_exec(db, sql, NULL, NULL, NULL) == SQLITE_OK);
  double wall = q_double(db, "SELECT wall_time FROM metrics");
  lundi_store *s2 = lundi_store_open(p, 0);
  CHECK(s2 != NULL);
  snprintf(sql, sizeof sql, "SELECT status || ': ' || exit_message FROM runs WHERE id = %lld", (long long)lundi_run_id(dead));
  char want[100];
  snprintf(want, sizeof want, "failed: crashed (process %d is gone)", (int)child);
  CHECK(q_text_is(db, sql, want));
  snprintf(sql, sizeof sql, "SELECT end_time FROM runs WHERE id = %lld", (long long)lundi_run_id(dead));
  CHECK_NEAR(q_double(db, sql), wall, 1e-6);
  snprintf(sql, sizeof sql, "SELECT status FROM runs WHERE id = %lld", (long long)lundi_run_id(live));
  CHECK(q_text_is(db, sql, "running"));
  /* A run from another host is never judged, even with a dead pid. */
  snprintf(sql, sizeof sql, "UPDATE runs SET host = 'elsewhere', pid = %d WHERE id = %lld", (int)child,
           (long long)lundi_run_id(live));
  sqlite3_exec(db, sql, NULL, NULL, NULL);
  lundi_store_close(lundi_store_open(p, 0));
  snprintf(sql, sizeof sql, "SELECT status FROM runs WHERE id = %lld", (long long)lundi_run_id(live));
  CHECK(q_text_is(db, sql, "running"));
  snprintf(sql, sizeof sql, "UPDATE runs SET host = (SELECT host FROM runs WHERE id = %lld), pid = %d,"
           " start_time = 1000 WHERE id = %lld", (long long)lundi_run_id(dead), (int)getppid(),
           (long long)lundi_run_id(live));
  /* A live pid held by a process younger than the run means the pid was reused: our
   * parent is alive, but started long after 1970. */
  sqlite3_exec(db, sql, NULL, NULL, NULL);
  lundi_store_close(lundi_store_open(p, 0));
  CHECK(q_text_is(db, "SELECT status FROM runs WHERE start_time = 1000", "failed"));
  lundi_run_end(live, LUNDI_RUN_FINISHED, NULL);
  lundi_run_end(dead, LUNDI_RUN_FINISHED, NULL);
  lundi_store_close(s2);
  lundi_store_close(s);
}

static const test_case cases[] = {
    {"sha256_known_answers", sha256_known_answers},
    {"default_path", default_path},
    {"open_creates_schema", open_creates_schema},
    {"migrate_from_v1", migrate_from_v1},
    {"migrate_from_v2", migrate_from_v2},
    {"plugin_files", plugin_files},
    {"newer_version_refused", newer_version_refused},
    {"corrupt_random_bytes", corrupt_random_bytes},
    {"corrupt_truncated", corrupt_truncated},
    {"read_only_file", read_only_file},
    {"round_trip", round_trip},
    {"flush_every_n", flush_every_n},
    {"flush_after_one_second", flush_after_one_second},
    {"failed_flush_keeps_buffer", failed_flush_keeps_buffer},
    {"reap_dead_pid", reap_dead_pid},
};
TEST_MAIN(cases)
